// CALLIT (v2, v3), BCAST (v4) and INDIRECT (v4): the checks and answers of the binding core.
// The forwarding itself is the daemon's (state.remoteCall); without it the daemon answers as
// Debian's rpcbind does without -r: CALLIT/BCAST are never answered, INDIRECT over UDP reports
// why it cannot be served, and nothing is answered over stream transports.

import { XdrError } from '../xdr/index.js';
import type { XdrReader, XdrWriter } from '../xdr/index.js';
import { AcceptStat, RpcOutcome } from '../rpc/index.js';
import type { BindingState, RemoteCallRequest, RemoteCallResult } from './binding-state.js';
import type { CallerContext } from './caller.js';
import { PMAP_PROG } from './constants.js';
import { declare, type Proc } from './procedure-helpers.js';
import { decodeRmtCallArgs, type RmtCallArgs } from './rpcb-types.js';

/** Target procedures never forwarded (the reference's list); NULL is always allowed. */
export function isForwardingDenied(prog: number, proc: number, insecure: boolean): boolean {
  if (proc === 0) return false;
  switch (prog) {
    case PMAP_PROG:
      return !insecure; // a forwarding loop through ourselves
    case 100003: // NFS
    case 100009: // yppasswd
    case 100011: // rquota
      return true;
    case 100005: // MOUNT: MNT, UMNT
      return proc === 1 || proc === 3;
    case 100007: // ypbind: SETDOM
      return proc === 2;
    case 100004: // NIS: MATCH, FIRST, NEXT, ALL
      return proc === 3 || proc === 4 || proc === 5 || proc === 8;
    default:
      return false;
  }
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

export function remoteCallProcedure(
  state: BindingState,
  version: number,
  procedure: RemoteCallRequest['procedure'],
): Proc<RmtCallArgs | undefined, (w: XdrWriter) => void> {
  const indirect = procedure === 'INDIRECT';
  const quiet = (stat: AcceptStat): RemoteCallResult =>
    indirect ? RpcOutcome.acceptError(stat) : RpcOutcome.NO_REPLY;

  return declare(procedure, decodeLenient, encodeResult, (args, ctx: CallerContext, call) => {
    // Remote calls are served over datagram transports only.
    if (ctx.netid !== 'udp' && ctx.netid !== 'udp6') return RpcOutcome.NO_REPLY;
    if (!args) return quiet(AcceptStat.GARBAGE_ARGS);
    if (isForwardingDenied(args.prog, args.proc, state.policy.insecure)) return RpcOutcome.WEAK_AUTH;
    const target = state.registry.find(args.prog, args.vers, ctx.netid);
    const exact = target !== undefined && target.vers === args.vers;
    state.stats.remoteCallDone(version, args.prog, args.vers, args.proc, ctx.netid, exact, indirect);
    if (!target) return quiet(AcceptStat.PROG_UNAVAIL);
    if (!exact) {
      if (!indirect) return RpcOutcome.NO_REPLY;
      const [low, high] = state.registry.versionRange(args.prog, ctx.netid);
      return RpcOutcome.progMismatch(low, high);
    }
    if (!state.remoteCall) return quiet(AcceptStat.SYSTEM_ERR);
    return state.remoteCall({ version, procedure, args, call, ctx, target });
  });
}
