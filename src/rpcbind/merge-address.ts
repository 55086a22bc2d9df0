// rpcbind's address merge: a lookup answers with the service's port on the local address
// through which the caller reached us, so a wildcard registration (0.0.0.0.x.y, ::.x.y) becomes
// reachable and a multi-homed host hands out the address on the caller's network. Like the
// reference, the host part of every IP registration is replaced, wildcard or not. (The
// reference picks the host from the caller's source address and falls back to the first
// non-loopback interface; the address the call arrived on is the one the caller can reach.)

import type { CallerContext } from '../rpc/index.js';
import { normalizeAddress } from '../net/index.js';
import { getNetconfig } from './netconfig.js';
import { formatUaddr, parseUaddr } from '../proto/index.js';

/**
 * The merged address, or undefined when the registration cannot be merged (an unknown or
 * loopback-family netid, an address that does not parse, or a caller on the local socket).
 */
export function mergeAddress(ctx: CallerContext, regNetid: string, regAddr: string): string | undefined {
  const nc = getNetconfig(regNetid);
  if (!nc || nc.protofmly === 'loopback' || ctx.localAddress === '') return undefined;
  const hp = parseUaddr(regAddr);
  if (!hp) return undefined;
  let local = normalizeAddress(ctx.localAddress);
  const pct = local.indexOf('%');
  if (pct >= 0) local = local.slice(0, pct);
  const localIsV6 = local.includes(':');
  if (localIsV6 !== (nc.protofmly === 'inet6')) return undefined;
  return formatUaddr(local, hp.port);
}
