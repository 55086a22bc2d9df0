// Generic RPC dispatch: header checks, (prog, vers) then procedure lookup, and the one place
// that turns outcomes into replies (decode error -> GARBAGE_ARGS, unknown -> PROG_UNAVAIL /
// PROG_MISMATCH / PROC_UNAVAIL, bug -> SYSTEM_ERR).

import { XdrError, XdrReader, XdrWriter } from '../xdr/index.js';
import { AcceptStat, AuthStat } from './constants.js';
import type { CallHeader } from './rpc-message.js';
import {
  decodeCall,
  writeAcceptedHeader,
  writeAuthError,
  writeProgMismatch,
  writeRpcMismatch,
} from './rpc-message.js';

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
  handle(args: A, call: CallHeader, ctx: Ctx): HandlerResult<R> | Promise<HandlerResult<R>>;
}

// Procedures of one version have different argument and result types; the table erases them
// (method parameters are bivariant, so any Procedure<Ctx, A, R> fits).
export type AnyProcedure<Ctx> = Procedure<Ctx, unknown, unknown>;

export interface ProgramVersion<Ctx> {
  /** Indexed by procedure number; holes are PROC_UNAVAIL. */
  readonly procedures: ReadonlyArray<AnyProcedure<Ctx> | undefined>;
}

export interface Program<Ctx> {
  readonly prog: number;
  readonly low: number;
  readonly high: number;
  readonly versions: ReadonlyMap<number, ProgramVersion<Ctx>>;
  /** Called for every call that reaches this program (after the header checks). */
  onCall?(vers: number, proc: number, ctx: Ctx): void;
  /**
   * Admission before the arguments are decoded: an outcome refuses the call (access control);
   * a number lowers the reply size cap for it (no amplification over datagrams).
   */
  admit?(vers: number, proc: number, ctx: Ctx, requestBytes: number, maxReplyBytes: number): RpcOutcome | number;
}

export interface DispatchEvents {
  dropped?(reason: string): void;
  systemError?(err: unknown, call: CallHeader): void;
}

export type Reply = Buffer | undefined;

export class Dispatcher<Ctx> {
  readonly #programs = new Map<number, Program<Ctx>>();
  readonly #events: DispatchEvents;

  constructor(events: DispatchEvents = {}) {
    this.#events = events;
  }

  addProgram(p: Program<Ctx>): void {
    this.#programs.set(p.prog, p);
  }

  /**
   * Handles one message. Returns the reply bytes, undefined for no reply, or a promise of
   * either when the handler is asynchronous. Never throws for anything the peer sent.
   */
  dispatch(msg: Buffer, ctx: Ctx, maxReplyBytes: number): Reply | Promise<Reply> {
    const d = decodeCall(msg);
    switch (d.kind) {
      case 'drop':
        this.#events.dropped?.(d.reason);
        return undefined;
      case 'garbage':
        return this.#acceptError(d.xid, AcceptStat.GARBAGE_ARGS);
      case 'reject': {
        const w = new XdrWriter(32);
        if (d.reply === 'RPC_MISMATCH') writeRpcMismatch(w, d.xid);
        else writeAuthError(w, d.xid, d.authStat);
        return w.toBuffer();
      }
      case 'call':
        break;
    }
    const call = d.call;
    const program = this.#programs.get(call.prog);
    if (!program) return this.#acceptError(call.xid, AcceptStat.PROG_UNAVAIL);
    const version = program.versions.get(call.vers);
    if (!version) {
      const w = new XdrWriter(40);
      writeProgMismatch(w, call.xid, program.low, program.high);
      return w.toBuffer();
    }
    program.onCall?.(call.vers, call.proc, ctx);
    if (program.admit) {
      const a = program.admit(call.vers, call.proc, ctx, msg.length, maxReplyBytes);
      if (a instanceof RpcOutcome) return this.#finish(undefined, call, a, maxReplyBytes);
      maxReplyBytes = a;
    }
    const proc = version.procedures[call.proc];
    if (!proc) return this.#acceptError(call.xid, AcceptStat.PROC_UNAVAIL);
    let args: unknown;
    try {
      args = proc.decode(d.args);
    } catch (e) {
      if (e instanceof XdrError) return this.#acceptError(call.xid, AcceptStat.GARBAGE_ARGS);
      return this.#systemError(e, call);
    }
    let result: unknown;
    try {
      result = proc.handle(args, call, ctx);
    } catch (e) {
      return this.#systemError(e, call);
    }
    if (result instanceof Promise) {
      return result.then(
        (r: unknown) => this.#finish(proc, call, r, maxReplyBytes),
        (e: unknown) => this.#systemError(e, call),
      );
    }
    return this.#finish(proc, call, result, maxReplyBytes);
  }

  #finish(proc: AnyProcedure<Ctx> | undefined, call: CallHeader, result: unknown, maxReplyBytes: number): Reply {
    if (result instanceof RpcOutcome) {
      switch (result.kind) {
        case 'no-reply':
          return undefined;
        case 'accept-error':
          return this.#acceptError(call.xid, result.stat as AcceptStat);
        case 'auth-error': {
          const w = new XdrWriter(24);
          writeAuthError(w, call.xid, result.stat as AuthStat);
          return w.toBuffer();
        }
        case 'prog-mismatch': {
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
      if (e instanceof XdrError) return this.#acceptError(call.xid, AcceptStat.SYSTEM_ERR);
      return this.#systemError(e, call);
    }
    return w.toBuffer();
  }

  #acceptError(xid: number, stat: AcceptStat): Buffer {
    const w = new XdrWriter(24);
    writeAcceptedHeader(w, xid, stat);
    return w.toBuffer();
  }

  #systemError(err: unknown, call: CallHeader): Buffer {
    this.#events.systemError?.(err, call);
    return this.#acceptError(call.xid, AcceptStat.SYSTEM_ERR);
  }
}
