// The one admission gate of program 100000, run before a call's arguments are decoded and
// driven by the called procedure's declaration (its class and localOnly): local-only procedures
// without -i, the access lists and hosts files, the remote-DUMP audit, and how large a UDP reply
// may be. Every refusal goes through here, audited; the procedures check none of it again.

import { RpcOutcome } from '../rpc/index.js';
import type { CallHeader, CallerContext } from '../rpc/index.js';
import type { OperationClass } from './access-policy.js';
import type { BindingState } from './binding-state.js';
import { isLocalCaller, mayAmplify } from './caller.js';
import type { AnyRpcbProcedure } from './procedure-table.js';

/** A procedure the version lacks is a query (it gets PROC_UNAVAIL, which is small). */
function classOf(proc: AnyRpcbProcedure | undefined): OperationClass {
  return proc ? proc.class : 'query';
}

/** AUTH_TOOWEAK for a refused call, undefined for an admitted one. */
export function admitCall(
  state: BindingState,
  call: CallHeader,
  proc: AnyRpcbProcedure | undefined,
  ctx: CallerContext,
): RpcOutcome | undefined {
  const cls = classOf(proc);
  if (proc?.localOnly && !state.policy.insecure && !isLocalCaller(ctx)) {
    state.security?.denied(ctx, cls, call.vers, call.proc, 'not-local');
    return RpcOutcome.WEAK_AUTH;
  }
  const access = state.policy.access;
  if (access && access.decide(cls, ctx) === 'deny') {
    state.security?.denied(ctx, cls, call.vers, call.proc, 'access-rule');
    return RpcOutcome.WEAK_AUTH;
  }
  if (proc && cls === 'dump' && !isLocalCaller(ctx)) state.security?.remoteDump(ctx, call.vers, proc.name);
  return undefined;
}

/**
 * The largest reply for an admitted call. Over UDP, without a policy, loopback and this host's
 * own addresses get full replies and everyone else no more than they sent; with one, the policy
 * decides (allow-listed callers also get full replies).
 */
export function replyCap(
  state: BindingState,
  proc: AnyRpcbProcedure | undefined,
  ctx: CallerContext,
  requestBytes: number,
  maxReplyBytes: number,
): number {
  if (ctx.netid !== 'udp' && ctx.netid !== 'udp6') return maxReplyBytes;
  const access = state.policy.access;
  if (access) return access.replyCap(classOf(proc), ctx, requestBytes, maxReplyBytes);
  return mayAmplify(ctx) ? maxReplyBytes : Math.min(requestBytes, maxReplyBytes);
}
