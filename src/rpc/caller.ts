// How a call arrived: the transport's netid, the peer and our own address. Built by the
// transports, read by the programs' rules (program 100000's are in rpcbind/caller.ts).

export type Netid = 'udp' | 'tcp' | 'udp6' | 'tcp6' | 'local';

export interface CallerContext {
  /** netid of the transport the call arrived on. */
  readonly netid: Netid;
  /** Peer IP address (IPv4-mapped IPv6 already unwrapped), or '' for the local socket. */
  readonly peerAddress: string;
  readonly peerPort: number;
  /** Our address the call was sent to, or '' for the local socket. */
  readonly localAddress: string;
  /** Peer uid from SO_PEERCRED on the local socket; undefined when unknown. */
  readonly uid: number | undefined;
  /**
   * The peer's address is one of this host's own (set by the UDP transport): a datagram from
   * it cannot be a reflection, since the reply goes back to this host. Counts for the UDP
   * reply cap only, never for SET/UNSET.
   */
  readonly peerIsThisHost?: boolean;
}
