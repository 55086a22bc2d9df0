// Every bound of the daemon and client in one place; each name carries its unit.

/** Largest RPC record accepted on a stream (RPC_MAXDATASIZE in the reference). */
export const MAX_RECORD_BYTES = 9000;
/** Fragments in one record; zero-length fragments must not stall a parser forever. */
export const MAX_FRAGMENTS_PER_RECORD = 64;
/** Largest UDP datagram we read a call from (anything larger cannot be a valid call). */
export const MAX_DATAGRAM_BYTES = 65535;
/** opaque_auth body cap (RFC 5531). */
export const MAX_AUTH_BYTES = 400;
/** AUTH_SYS machine name cap (RFC 5531). */
export const MAX_MACHINENAME_BYTES = 255;
/** AUTH_SYS auxiliary gids cap (RFC 5531). */
export const MAX_AUTH_GIDS = 16;
/** netid string cap (the reference uses a small fixed buffer; no netid is longer). */
export const MAX_NETID_BYTES = 64;
/** Universal address cap (INET6_ADDRSTRLEN + port + slack; unix paths up to 108). */
export const MAX_UADDR_BYTES = 128;
/** r_owner cap. */
export const MAX_OWNER_BYTES = 64;
/** netbuf body cap for TADDR2UADDR (largest sockaddr is sockaddr_storage). */
export const MAX_NETBUF_BYTES = 128;
/** Registrations in the whole table. */
export const MAX_REGISTRATIONS = 200_000;
/** Distinct (prog, vers, netid) rows in each GETSTAT addrinfo table. */
export const MAX_STAT_ADDR_ROWS = 256;
/** Distinct rows in each GETSTAT rmtcall table. */
export const MAX_STAT_RMT_ROWS = 256;
/** Simultaneous stream (TCP + unix) connections. */
export const MAX_CONNECTIONS = 1024;
/** A stream connection idle this long is closed. */
export const CONNECTION_IDLE_MS = 30_000;
/** Bytes queued for a client that does not read before we close it. */
export const MAX_PENDING_OUTPUT_BYTES = 256 * 1024;
/** Cap on a reply we are willing to encode (a full DUMP of a big table over TCP). */
export const MAX_REPLY_BYTES = 64 * 1024 * 1024;
/** Largest reply read by the client library. */
export const MAX_CLIENT_REPLY_BYTES = 64 * 1024 * 1024;
/** Largest reply sent over UDP (UDPMSGSIZE in libtirpc); larger results get SYSTEM_ERR. */
export const MAX_UDP_REPLY_BYTES = 8800;
/** Remote calls (CALLIT/BCAST/INDIRECT): largest argument body forwarded (RPC_MAXDATASIZE). */
export const MAX_FORWARD_ARGS_BYTES = 9000;
/** Largest result body relayed back: what fits in a UDP reply beside the header and address. */
export const MAX_FORWARD_RESULT_BYTES = 8600;
/** Default size of the forwarding table (calls in flight at once). */
export const DEFAULT_FORWARDS_IN_FLIGHT = 64;
/** Largest forwarding table an administrator may configure. */
export const MAX_FORWARDS_IN_FLIGHT = 4096;
/** Default wait for a forwarded call's reply before it is given up. */
export const DEFAULT_FORWARD_TIMEOUT_MS = 5_000;
/** Longest configurable wait for a forwarded call's reply. */
export const MAX_FORWARD_TIMEOUT_MS = 60_000;
/** Entries in a configured forwarding deny/allow list. */
export const MAX_FORWARD_RULES = 256;
/** -l call log lines per second (a burst of this many, refilled each second); the rest are counted. */
export const MAX_CALL_LOG_LINES_PER_SECOND = 50;
/** Simultaneous connections to the metrics HTTP endpoint. */
export const MAX_METRICS_CONNECTIONS = 8;
/** A metrics request (headers and body) must arrive within this long. */
export const METRICS_REQUEST_TIMEOUT_MS = 5_000;
/** Lines read from /etc/rpc for program names in the call log. */
export const MAX_RPC_NAMES = 4096;
/** Inherited sockets accepted from the service manager (LISTEN_FDS). */
export const MAX_INHERITED_SOCKETS = 64;
