// Generic RPC dispatch: header checks, (prog, vers) then procedure lookup, and the one place
// that turns outcomes into replies (decode error -> GARBAGE_ARGS, unknown -> PROG_UNAVAIL /
// PROG_MISMATCH / PROC_UNAVAIL, bug -> SYSTEM_ERR).

import { XdrError, type XdrReader, XdrWriter } from '../xdr/index.js';
import { AcceptStat, AuthStat } from './constants.js';
import type { CallHeader } from './rpc-message.js';
import { decodeCall, writeAcceptedHeader, writeAuthError, writeProgMismatch, writeRpcMismatch } from './rpc-message.js';

/** A non-SUCCESS outcome a handler can choose instead of a result. */
export class RpcOutcome {
  private constructor(
    readonly kind: 'no-reply' | 'accept-error' | 'auth-error' | 'prog-mismatch',
    readonly stat: number,
    readonly low = 0,
    readonly high = 0,
  ) {}
  static readonly NO_REPLY = new RpcOutcome('no-reply', 0);
  static readonly WEAK_AUTH = new RpcOutcome('auth-error', AuthStat.AUTH_TOOWEAK);
  static acceptError(stat: AcceptStat): RpcOutcome {
    return new RpcOutcome('accept-error', stat);
  }
  static authError(stat: AuthStat): RpcOutcome {
    return new RpcOutcome('auth-error', stat);
  }
  static progMismatch(low: number, high: number): RpcOutcome {
    return new RpcOutcome('prog-mismatch', AcceptStat.PROG_MISMATCH, low, high);
  }
}

export type HandlerResult<R> = R | RpcOutcome;

export interface Procedure<Ctx, A, R> {
  readonly name: string;
  decode(r: XdrReader): A;
  encode(w: XdrWriter, result: R): void;
  handle(args: A, ctx: Ctx, call: CallHeader): HandlerResult<R> | Promise<HandlerResult<R>>;
}

// Procedures of one version have different argument and result types; the table erases them
// (method parameters are bivariant, so any Procedure<Ctx, A, R> fits).
export type AnyProcedure<Ctx> = Procedure<Ctx, unknown, unknown>;

interface ProgramVersion<P> {
  /** Indexed by procedure number; holes are PROC_UNAVAIL. */
  readonly procedures: ReadonlyArray<P | undefined>;
}

/**
 * A program: its versions' procedure tables, and hooks that see a call before its arguments
 * are decoded. `proc` is the called procedure, undefined when the version has none of that
 * number (the call is then answered PROC_UNAVAIL once admitted).
 */
export interface Program<Ctx, P extends AnyProcedure<Ctx> = AnyProcedure<Ctx>> {
  readonly prog: number;
  readonly low: number;
  readonly high: number;
  readonly versions: ReadonlyMap<number, ProgramVersion<P>>;
  /** Called for every call that reaches this program (after the header checks). */
  onCall?(call: CallHeader, proc: P | undefined, ctx: Ctx): void;
  /** Access control: an outcome refuses the call, undefined admits it. */
  admit?(call: CallHeader, proc: P | undefined, ctx: Ctx): RpcOutcome | undefined;
  /** The largest reply an admitted call may get (no amplification over datagrams). */
  replyCap?(proc: P | undefined, ctx: Ctx, requestBytes: number, maxReplyBytes: number): number;
}

/** How a call ended, for logs and metrics (RFC 5531 reply kinds, lower case). */
type CallResult =
  | 'success'
  | 'garbage_args'
  | 'prog_unavail'
  | 'prog_mismatch'
  | 'proc_unavail'
  | 'system_err'
  | 'auth_error'
  | 'rpc_mismatch'
  | 'no_reply';

export interface CompletedCall<Ctx> {
  /** undefined when the header itself could not be decoded. */
  readonly call: CallHeader | undefined;
  /** The procedure's declared name, when the procedure exists. */
  readonly procName: string | undefined;
  /** Decoded arguments, when decoding got that far. */
  readonly args: unknown;
  readonly ctx: Ctx;
  readonly result: CallResult;
}

export interface DispatchEvents<Ctx = unknown> {
  dropped?(reason: string): void;
  systemError?(err: unknown, call: CallHeader): void;
  /** Called once per call that gets a reply or is deliberately left unanswered. */
  completed?(c: CompletedCall<Ctx>): void;
}

/** The reply bytes, in parts when a large part is shared rather than copied (XdrWriter.shared). */
export type Reply = Buffer | Buffer[] | undefined;

/** A reply as one buffer (parts joined): for datagrams, which leave whole anyway, and tests. */
export function replyBytes(r: Reply): Buffer | undefined {
  return Array.isArray(r) ? Buffer.concat(r) : r;
}

export class Dispatcher<Ctx> {
  readonly #programs = new Map<number, Program<Ctx>>();
  readonly #events: DispatchEvents<Ctx>;

  constructor(events: DispatchEvents<Ctx> = {}) {
    this.#events = events;
  }

  addProgram<P extends AnyProcedure<Ctx>>(p: Program<Ctx, P>): void {
    this.#programs.set(p.prog, p);
  }

  /**
   * Handles one message. Returns the reply bytes, undefined for no reply, or a promise of
   * either when the handler is asynchronous. Never throws for anything the peer sent.
   */
  dispatch(msg: Buffer, ctx: Ctx, maxReplyBytes: number): Reply | Promise<Reply> {
    const completed = this.#events.completed;
    if (!completed) return this.#dispatch(msg, ctx, maxReplyBytes, undefined);
    const track: Tracking = { call: undefined, procName: undefined, args: undefined, result: 'success' };
    const reply = this.#dispatch(msg, ctx, maxReplyBytes, track);
    const report = (r: Reply): Reply => {
      if (track.result === 'no_reply' && track.call === undefined) return r; // dropped, not a call
      completed({
        call: track.call,
        procName: track.procName,
        args: track.args,
        ctx,
        result: r === undefined ? 'no_reply' : track.result,
      });
      return r;
    };
    return reply instanceof Promise ? reply.then(report) : report(reply);
  }

  #dispatch(msg: Buffer, ctx: Ctx, maxReplyBytes: number, t: Tracking | undefined): Reply | Promise<Reply> {
    const d = decodeCall(msg);
    switch (d.kind) {
      case 'drop':
        this.#events.dropped?.(d.reason);
        if (t) t.result = 'no_reply';
        return undefined;
      case 'garbage':
        if (t) t.result = 'garbage_args';
        return this.#acceptError(d.xid, AcceptStat.GARBAGE_ARGS);
      case 'reject': {
        if (t) t.result = d.reply === 'RPC_MISMATCH' ? 'rpc_mismatch' : 'auth_error';
        const w = new XdrWriter(32);
        if (d.reply === 'RPC_MISMATCH') writeRpcMismatch(w, d.xid);
        else writeAuthError(w, d.xid, d.authStat);
        return w.toBuffer();
      }
      case 'call':
        break;
    }
    const call = d.call;
    if (t) t.call = call;
    const program = this.#programs.get(call.prog);
    if (!program) return this.#acceptError(call.xid, AcceptStat.PROG_UNAVAIL, t);
    const version = program.versions.get(call.vers);
    if (!version) {
      if (t) t.result = 'prog_mismatch';
      const w = new XdrWriter(40);
      writeProgMismatch(w, call.xid, program.low, program.high);
      return w.toBuffer();
    }
    const proc = version.procedures[call.proc];
    program.onCall?.(call, proc, ctx);
    const refusal = program.admit?.(call, proc, ctx);
    if (refusal) return this.#finish(undefined, call, refusal, maxReplyBytes, t);
    if (program.replyCap) maxReplyBytes = program.replyCap(proc, ctx, msg.length, maxReplyBytes);
    if (!proc) return this.#acceptError(call.xid, AcceptStat.PROC_UNAVAIL, t);
    if (t) t.procName = proc.name;
    let args: unknown;
    try {
      args = proc.decode(d.args);
    } catch (e) {
      if (e instanceof XdrError) return this.#acceptError(call.xid, AcceptStat.GARBAGE_ARGS, t);
      return this.#systemError(e, call, t);
    }
    if (t) t.args = args;
    let result: unknown;
    try {
      result = proc.handle(args, ctx, call);
    } catch (e) {
      return this.#systemError(e, call, t);
    }
    if (result instanceof Promise) {
      return result.then(
        (r: unknown) => this.#finish(proc, call, r, maxReplyBytes, t),
        (e: unknown) => this.#systemError(e, call, t),
      );
    }
    return this.#finish(proc, call, result, maxReplyBytes, t);
  }

  #finish(
    proc: AnyProcedure<Ctx> | undefined,
    call: CallHeader,
    result: unknown,
    maxReplyBytes: number,
    t: Tracking | undefined,
  ): Reply {
    if (result instanceof RpcOutcome) {
      switch (result.kind) {
        case 'no-reply':
          return undefined;
        case 'accept-error':
          return this.#acceptError(call.xid, result.stat as AcceptStat, t);
        case 'auth-error': {
          if (t) t.result = 'auth_error';
          const w = new XdrWriter(24);
          writeAuthError(w, call.xid, result.stat as AuthStat);
          return w.toBuffer();
        }
        case 'prog-mismatch': {
          if (t) t.result = 'prog_mismatch';
          const w = new XdrWriter(40);
          writeProgMismatch(w, call.xid, result.low, result.high);
          return w.toBuffer();
        }
      }
    }
    if (!proc) return this.#acceptError(call.xid, AcceptStat.SYSTEM_ERR);
    const w = new XdrWriter(256, maxReplyBytes);
    try {
      writeAcceptedHeader(w, call.xid, AcceptStat.SUCCESS);
      proc.encode(w, result);
    } catch (e) {
      if (e instanceof XdrError) return this.#acceptError(call.xid, AcceptStat.SYSTEM_ERR, t);
      return this.#systemError(e, call, t);
    }
    // The writer is this call's own and is dropped here: hand out its bytes without a copy
    // (bench/run.ts getport2-udp, getaddr4-udp).
    return w.parts();
  }

  #acceptError(xid: number, stat: AcceptStat, t?: Tracking): Buffer {
    if (t) t.result = ACCEPT_RESULT[stat] ?? 'system_err';
    const w = new XdrWriter(24);
    writeAcceptedHeader(w, xid, stat);
    return w.view();
  }

  #systemError(err: unknown, call: CallHeader, t?: Tracking): Buffer {
    this.#events.systemError?.(err, call);
    return this.#acceptError(call.xid, AcceptStat.SYSTEM_ERR, t);
  }
}

interface Tracking {
  call: CallHeader | undefined;
  procName: string | undefined;
  args: unknown;
  result: CallResult;
}

const ACCEPT_RESULT: Partial<Record<AcceptStat, CallResult>> = {
  [AcceptStat.SUCCESS]: 'success',
  [AcceptStat.PROG_UNAVAIL]: 'prog_unavail',
  [AcceptStat.PROG_MISMATCH]: 'prog_mismatch',
  [AcceptStat.PROC_UNAVAIL]: 'proc_unavail',
  [AcceptStat.GARBAGE_ARGS]: 'garbage_args',
  [AcceptStat.SYSTEM_ERR]: 'system_err',
};
