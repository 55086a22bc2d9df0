// The binding rules that depend on who is calling (is it local, may its UDP reply be larger
// than its call, which owner string does a registration get). The context itself is rpc/caller.ts.

import type { CallerContext } from '../rpc/caller.js';
import { isLoopbackAddress } from '../net/ip-address.js';

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
