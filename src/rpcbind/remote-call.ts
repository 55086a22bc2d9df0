// CALLIT (v2, v3), BCAST (v4) and INDIRECT (v4): the checks and answers of the binding core.
// The forwarding itself is the daemon's (state.remoteCall); without it the daemon answers as
// Debian's rpcbind does without -r: CALLIT/BCAST are never answered, INDIRECT over UDP reports
// why it cannot be served, and nothing is answered over stream transports. With forwarding on,
// INDIRECT is also served over TCP and the local socket (forwarded over UDP, answered on the
// stream); CALLIT/BCAST stay datagram-only, as in the reference.

import { XdrError } from '../xdr/index.js';
import type { XdrReader, XdrWriter } from '../xdr/index.js';
import { AcceptStat, RpcOutcome } from '../rpc/index.js';
import type { BindingState, RemoteCallRequest, RemoteCallResult } from './binding-state.js';
import type { CallerContext, CallHeader } from '../rpc/index.js';
import { DEFAULT_FORWARD_RULES } from './forward-rules.js';
import type { RpcbProcedure } from './procedure-table.js';
import { decodeRmtCallArgs, type RmtCallArgs } from '../proto/index.js';

/** Target procedures never forwarded (the reference's list); NULL is always allowed. */
export function isForwardingDenied(prog: number, proc: number, insecure: boolean): boolean {
  return DEFAULT_FORWARD_RULES.denies(prog, proc, insecure);
}

function decodeLenient(r: XdrReader): RmtCallArgs | undefined {
  try {
    return decodeRmtCallArgs(r);
  } catch (e) {
    if (e instanceof XdrError) return undefined;
    throw e;
  }
}

const encodeResult = (w: XdrWriter, enc: (w: XdrWriter) => void): void => enc(w);

/** The UDP netid a remote call arriving on `netid` is looked up and forwarded on. */
function forwardNetid(netid: CallerContext['netid']): 'udp' | 'udp6' {
  return netid === 'udp6' || netid === 'tcp6' ? 'udp6' : 'udp';
}

/** CALLIT (v2, v3), BCAST (v4, number 5 like CALLIT) or INDIRECT (v4): class callit, open to all. */
export function remoteCallProcedure(
  state: BindingState,
  version: number,
  num: number,
  name: RemoteCallRequest['procedure'],
): RpcbProcedure<RmtCallArgs | undefined, (w: XdrWriter) => void> {
  const indirect = name === 'INDIRECT';
  const quiet = (stat: AcceptStat): RemoteCallResult => (indirect ? RpcOutcome.acceptError(stat) : RpcOutcome.NO_REPLY);
  const handle = (
    args: RmtCallArgs | undefined,
    ctx: CallerContext,
    call: CallHeader,
  ): RemoteCallResult | Promise<RemoteCallResult> => {
    const datagram = ctx.netid === 'udp' || ctx.netid === 'udp6';
    // Over streams only a forwarding INDIRECT is served (the reference serves none).
    if (!datagram && !(indirect && state.remoteCall)) return RpcOutcome.NO_REPLY;
    if (!args) return quiet(AcceptStat.GARBAGE_ARGS);
    const rules = state.policy.forwardRules ?? DEFAULT_FORWARD_RULES;
    if (rules.denies(args.prog, args.proc, state.policy.insecure)) {
      // Decided on the decoded target, so after admission; reported the same way.
      state.security?.denied(ctx, 'callit', call.vers, call.proc, 'forward-rule');
      return RpcOutcome.WEAK_AUTH;
    }
    const netid = forwardNetid(ctx.netid);
    const target = state.registry.find(args.prog, args.vers, netid);
    const exact = target !== undefined && target.vers === args.vers;
    // The reference records only calls that arrive over UDP in the rmtcall table.
    if (datagram) {
      state.stats.remoteCallDone(version, {
        prog: args.prog,
        vers: args.vers,
        proc: args.proc,
        netid,
        success: exact,
        indirect,
      });
    }
    if (!target) return quiet(AcceptStat.PROG_UNAVAIL);
    if (!exact) {
      if (!indirect) return RpcOutcome.NO_REPLY;
      const [low, high] = state.registry.versionRange(args.prog, netid);
      return RpcOutcome.progMismatch(low, high);
    }
    if (!state.remoteCall) return quiet(AcceptStat.SYSTEM_ERR);
    return state.remoteCall({ version, procedure: name, args, call, ctx, target });
  };
  return { num, name, class: 'callit', localOnly: false, decode: decodeLenient, encode: encodeResult, handle };
}
