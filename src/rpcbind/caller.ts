// Who is calling: the facts about a call's arrival that the binding rules depend on, and the
// rules derived from them (is it local, which owner string does a registration get).

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

/** Strips the IPv4-mapped prefix so one rule covers both spellings of an IPv4 peer. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/**
 * rpcbind's is_loopback: exactly 127.0.0.1 or ::1 (the reference refuses 127.0.0.2 and the
 * rest of 127/8 too).
 */
export function isLoopbackAddress(addr: string): boolean {
  const a = normalizeAddress(addr);
  return a === '127.0.0.1' || a === '::1';
}

/** Whether a UDP reply to this caller may be larger than its call: loopback or this host. */
export function mayAmplify(ctx: CallerContext): boolean {
  return ctx.peerIsThisHost === true || isLoopbackAddress(ctx.peerAddress);
}

/** Local socket callers and loopback callers are local. */
export function isLocalCaller(ctx: CallerContext): boolean {
  return ctx.netid === 'local' || isLoopbackAddress(ctx.peerAddress);
}

/**
 * The owner recorded for a registration: the peer's uid over the local socket ("superuser" for
 * root), "superuser" for loopback callers from a reserved port, else "unknown".
 */
export function ownerOf(ctx: CallerContext): string {
  if (ctx.uid !== undefined) return ctx.uid === 0 ? 'superuser' : String(ctx.uid);
  if (ctx.netid !== 'local' && isLoopbackAddress(ctx.peerAddress) && ctx.peerPort < 1024) {
    return 'superuser';
  }
  return 'unknown';
}
