// Program 100000 assembled: versions 2, 3 and 4 with their procedure tables, the per-call
// statistics hook, and the portmapper's own registrations.

import { RpcOutcome } from '../rpc/index.js';
import type { Program, ProgramVersion } from '../rpc/index.js';
import { classify } from './access-policy.js';
import { isLocalCaller, mayAmplify } from './caller.js';
import type { BindingState } from './binding-state.js';
import type { CallerContext } from '../rpc/index.js';
import { PMAP_PROG, RPCB_HIGH_VERS, RPCB_LOW_VERS, RPCB_VERS4, RpcbProc } from '../proto/index.js';
import { pmapProcedures } from './procedures-v2.js';
import { rpcbProcedures } from './procedures-rpcb.js';
import type { Registration } from './registry.js';
import { formatUaddr } from '../proto/index.js';

export function createRpcbindProgram(state: BindingState): Program<CallerContext> {
  const versions = new Map<number, ProgramVersion<CallerContext>>([
    [2, { procedures: pmapProcedures(state) }],
    [3, { procedures: rpcbProcedures(state, 3) }],
    [4, { procedures: rpcbProcedures(state, 4) }],
  ]);
  return {
    prog: PMAP_PROG,
    low: RPCB_LOW_VERS,
    high: RPCB_HIGH_VERS,
    versions,
    onCall: (vers, proc) => state.stats.procedureCalled(vers, proc),
    admit: (vers, proc, ctx, requestBytes, maxReplyBytes) => {
      const access = state.policy.access;
      const cls = classify(vers, proc);
      // SET, UNSET and GETSTAT stay local-only without -i (the procedures check again);
      // refusing here puts every refusal through one audited path.
      const localOnly = cls === 'register' || (vers === RPCB_VERS4 && proc === RpcbProc.GETSTAT);
      if (localOnly && !state.policy.insecure && !isLocalCaller(ctx)) {
        state.security?.denied(ctx, cls, vers, proc, 'not-local');
        return RpcOutcome.WEAK_AUTH;
      }
      if (access && access.decide(cls, ctx) === 'deny') {
        state.security?.denied(ctx, cls, vers, proc, 'access-rule');
        return RpcOutcome.WEAK_AUTH;
      }
      if (cls === 'dump' && !isLocalCaller(ctx)) state.security?.remoteDump(ctx, vers, proc);
      if (ctx.netid !== 'udp' && ctx.netid !== 'udp6') return maxReplyBytes;
      return access ? access.replyCap(cls, ctx, requestBytes, maxReplyBytes) : defaultReplyCap(ctx, requestBytes, maxReplyBytes);
    },
  };
}

/**
 * Without a policy: loopback and this host's own addresses get full replies over UDP, everyone
 * else no more than they sent.
 */
function defaultReplyCap(ctx: CallerContext, requestBytes: number, maxReplyBytes: number): number {
  return mayAmplify(ctx) ? maxReplyBytes : Math.min(requestBytes, maxReplyBytes);
}

export interface SelfRegistrationOptions {
  port: number;
  /** Path of the local socket, or undefined when none is served. */
  socketPath: string | undefined;
  ipv4: boolean;
  ipv6: boolean;
}

/**
 * The portmapper's own entries in the order Linux rpcbind lists them: tcp6, udp6, tcp, udp
 * (each newest version first), then local.
 */
export function selfRegistrations(o: SelfRegistrationOptions): Registration[] {
  const out: Registration[] = [];
  const add = (netid: string, addr: string, versions: number[]): void => {
    for (const vers of versions) out.push({ prog: PMAP_PROG, vers, netid, addr, owner: 'superuser' });
  };
  if (o.ipv6) {
    add('tcp6', formatUaddr('::', o.port), [4, 3]);
    add('udp6', formatUaddr('::', o.port), [4, 3]);
  }
  if (o.ipv4) {
    add('tcp', formatUaddr('0.0.0.0', o.port), [4, 3, 2]);
    add('udp', formatUaddr('0.0.0.0', o.port), [4, 3, 2]);
  }
  if (o.socketPath !== undefined) add('local', o.socketPath, [4, 3]);
  return out;
}
