// rpcbind's address merge: a lookup answers with the service's port on the local address
// through which the caller reached us, so a wildcard registration (0.0.0.0.x.y, ::.x.y) becomes
// reachable and a multi-homed host hands out the address on the caller's network.

import type { CallerContext } from './caller.js';
import { normalizeAddress } from './caller.js';
import { getNetconfig } from './netconfig.js';
import { formatUaddr, parseUaddr } from './uaddr.js';

export function mergeAddress(ctx: CallerContext, regNetid: string, regAddr: string): string {
  const nc = getNetconfig(regNetid);
  if (!nc || nc.protofmly === 'loopback' || ctx.localAddress === '') return regAddr;
  const hp = parseUaddr(regAddr);
  if (!hp) return regAddr;
  let local = normalizeAddress(ctx.localAddress);
  const pct = local.indexOf('%');
  if (pct >= 0) local = local.slice(0, pct);
  const localIsV6 = local.includes(':');
  if (localIsV6 !== (nc.protofmly === 'inet6')) return regAddr;
  return formatUaddr(local, hp.port);
}
