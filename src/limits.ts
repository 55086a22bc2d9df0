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
/**
 * Simultaneous TCP connections from one non-loopback address: one source cannot take the
 * shared slots from everyone else by churning through the least-active reaping.
 */
export const MAX_CONNECTIONS_PER_SOURCE = 64;
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
/** Largest state file read at start (MAX_REGISTRATIONS entries of the largest size fit). */
export const MAX_STATE_FILE_BYTES = 96 * 1024 * 1024;
/** The journal is compacted into a new snapshot once it would grow past this... */
export const JOURNAL_COMPACT_FLOOR_BYTES = 1024 * 1024;
/** ...or past this multiple of the last snapshot's size, whichever is larger (bounded disk use). */
export const JOURNAL_COMPACT_SNAPSHOT_MULTIPLE = 1;
/** Journal space kept allocated ahead of its end (fallocate), so a full disk fails the reserve, not a change. */
export const JOURNAL_RESERVE_BYTES = 64 * 1024;
/** The smallest piece of reserve taken when the file system has less than JOURNAL_RESERVE_BYTES. */
export const JOURNAL_RESERVE_MIN_BYTES = 4 * 1024;
/** First wait before trying again to save the state after a failure; doubled up to the next. */
export const STATE_RETRY_FIRST_MS = 100;
export const STATE_RETRY_MAX_MS = 5_000;
/** Largest rpcbind warm-start file (rpcbind.xdr, portmap.xdr) we import. */
export const MAX_WARMSTART_FILE_BYTES = 64 * 1024 * 1024;
/** One liveness probe attempt (TCP connect or UDP NULL call) waits this long for an answer. */
export const LIVENESS_PROBE_TIMEOUT_MS = 1_000;
/** Attempts before a registration whose service does not answer is dropped. */
export const LIVENESS_PROBE_ATTEMPTS = 3;
/** Probes in flight at once during a liveness check. */
export const LIVENESS_CONCURRENT_PROBES = 64;
/** Probes started between two returns to the event loop (calls are answered in between). */
export const LIVENESS_PROBES_BETWEEN_PAUSES = 256;
/** Smallest --reap-interval. */
export const MIN_REAP_INTERVAL_S = 1;
/** Fragments in one reply record read by the client (servers fragment large DUMPs at ~9000 bytes). */
export const MAX_CLIENT_REPLY_FRAGMENTS = 65_536;
/** Default total timeout of one client call. */
export const CLIENT_CALL_TIMEOUT_MS = 10_000;
/** The smallest complete RPC call (header with two empty AUTH_NONE bodies). */
export const MIN_RPC_CALL_BYTES = 40;
/** A stream record must be complete this long after its first byte (slow-loris clients). */
export const RECORD_DEADLINE_MS = 10_000;
/** Per-source call rate (UDP and streams) before calls are dropped / the stream is throttled. */
export const RATE_PER_SOURCE_CALLS_PER_SECOND = 500;
/** Calls a source may make at once before the per-second rate applies. */
export const RATE_PER_SOURCE_BURST_CALLS = 1000;
/** Calls per second from all rate-limited sources together. */
export const RATE_GLOBAL_CALLS_PER_SECOND = 20_000;
/** Sources the rate limiter remembers (least recently seen forgotten first). */
export const RATE_MAX_TRACKED_SOURCES = 16_384;
/**
 * Sources shed at once (their packets dropped by a BPF filter in the kernel): 256 IPv6
 * sources take 2,313 of the kernel's 4,096 filter instructions.
 */
export const SHED_MAX_SOURCES = 256;
/** A source is shed after being over its rate limit this long without a pause of SHED_SPELL_GAP_MS... */
export const SHED_AFTER_OVER_LIMIT_MS = 500;
/** ...and refused at least this many times meanwhile. */
export const SHED_MIN_REFUSALS = 50;
export const SHED_SPELL_GAP_MS = 1_000;
/** A first shedding lasts this long; each repeat offence doubles it, up to SHED_MAX_SECONDS. */
export const SHED_FIRST_SECONDS = 10;
export const SHED_MAX_SECONDS = 600;
/** An offender not shed again for this long starts over at SHED_FIRST_SECONDS. */
export const SHED_FORGET_MS = 3_600_000;
/** Sources over their limit (and past offenders) the shedding remembers. */
export const SHED_MAX_TRACKED_SOURCES = 4096;
/** Receive buffer asked for on every UDP socket (SO_RCVBUFFORCE, else SO_RCVBUF up to rmem_max). */
export const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Largest --udp-receive-buffer. */
export const MAX_UDP_RECEIVE_BUFFER_BYTES = 256 * 1024 * 1024;
/**
 * Registrations one owner may hold. An NFS server registers ~60 (nfs, mountd, nlockmgr,
 * status, nfsacl, rquotad: 4 netids per version), a libtirpc service 4 per version.
 */
export const MAX_REGISTRATIONS_PER_OWNER = 4096;
/** Security events written to the log per second (a flood is summarised, not logged). */
export const SECURITY_LOG_EVENTS_PER_SECOND = 10;
/** Security events that may be written at once before the per-second rate applies. */
export const SECURITY_LOG_BURST_EVENTS = 50;
/** Distinct programs one source may look up within SWEEP_WINDOW_MS before it is a sweep. */
export const SWEEP_DISTINCT_PROGRAMS = 32;
export const SWEEP_WINDOW_MS = 60_000;
/** Sources the sweep detector remembers. */
export const SWEEP_MAX_TRACKED_SOURCES = 4096;
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
