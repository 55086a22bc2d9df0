// Program 100000 assembled: versions 2, 3 and 4 with the procedure tables built from their
// declarations, the per-call statistics hook, the admission gate, and the portmapper's own
// registrations.

import type { Program } from '../rpc/index.js';
import type { BindingState } from './binding-state.js';
import type { CallerContext } from '../rpc/index.js';
import { PMAP_PROG, PMAP_VERS, RPCB_HIGH_VERS, RPCB_LOW_VERS, RPCB_VERS, RPCB_VERS4 } from '../proto/index.js';
import { admitCall, replyCap } from './admission.js';
import { procedureTable, type AnyRpcbProcedure } from './procedure-table.js';
import { pmapProcedures } from './procedures-v2.js';
import { rpcbProcedures } from './procedures-rpcb.js';
import type { Registration } from './registry.js';
import { formatUaddr } from '../proto/index.js';

export function createRpcbindProgram(state: BindingState): Program<CallerContext, AnyRpcbProcedure> {
  const versions = new Map([
    [PMAP_VERS, { procedures: procedureTable(PMAP_VERS, pmapProcedures(state)) }],
    [RPCB_VERS, { procedures: procedureTable(RPCB_VERS, rpcbProcedures(state, RPCB_VERS)) }],
    [RPCB_VERS4, { procedures: procedureTable(RPCB_VERS4, rpcbProcedures(state, RPCB_VERS4)) }],
  ]);
  return {
    prog: PMAP_PROG,
    low: RPCB_LOW_VERS,
    high: RPCB_HIGH_VERS,
    versions,
    onCall: (call, proc) => {
      if (proc) state.stats.procedureCalled(call.vers, proc.num);
    },
    admit: (call, proc, ctx) => admitCall(state, call, proc, ctx),
    replyCap: (proc, ctx, requestBytes, maxReplyBytes) => replyCap(state, proc, ctx, requestBytes, maxReplyBytes),
  };
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
