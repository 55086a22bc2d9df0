// Which datagrams the UDP service answers: the rate limiter's verdict on a caller before its
// datagram is handled, and the short-datagram amplification guard on the reply. No socket here.

import { MIN_RPC_CALL_BYTES } from '../limits.js';
import type { CallerContext } from '../rpc/index.js';
import type { SecurityCounters } from './security-counters.js';

/** The counters the gate increments (a subset of the daemon's SecurityCounters). */
export type UdpAdmissionCounters = Pick<SecurityCounters, 'udpRateLimited' | 'udpAmplificationDropped'>;

/**
 * Whether a reply of `replyBytes` to a datagram of `requestBytes` would amplify: a datagram too
 * short to be a call (answered with GARBAGE_ARGS or a denial) must not earn a reply larger than
 * itself, or spoofed tiny datagrams would be amplified toward their forged source.
 */
export function amplifies(requestBytes: number, replyBytes: number): boolean {
  return requestBytes < MIN_RPC_CALL_BYTES && replyBytes > requestBytes;
}

export class UdpAdmission {
  #admit: ((ctx: CallerContext) => boolean) | undefined;
  readonly #counters: UdpAdmissionCounters | undefined;

  constructor(admit: ((ctx: CallerContext) => boolean) | undefined, counters?: UdpAdmissionCounters) {
    this.#admit = admit;
    this.#counters = counters;
  }

  /** Replaces the rate-limit check (policy reload); undefined admits every datagram. */
  setAdmit(admit: ((ctx: CallerContext) => boolean) | undefined): void {
    this.#admit = admit;
  }

  /** Whether a datagram from this caller is handled at all; one refused is dropped unread. */
  admits(ctx: CallerContext): boolean {
    if (this.#admit === undefined || this.#admit(ctx)) return true;
    if (this.#counters) this.#counters.udpRateLimited++;
    return false;
  }

  /** Whether `reply` may answer a datagram of `requestBytes` (see amplifies()). */
  mayAnswer(requestBytes: number, reply: Buffer): boolean {
    if (!amplifies(requestBytes, reply.length)) return true;
    if (this.#counters) this.#counters.udpAmplificationDropped++;
    return false;
  }
}
