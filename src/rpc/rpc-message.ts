// RPC messages (RFC 5531): decoding calls and encoding every kind of reply (server side),
// encoding calls and decoding replies (client side). Decode failures are values, not throws.

import { XdrError, XdrReader, type XdrWriter } from '../xdr/index.js';
import { AUTH_NONE_EMPTY, decodeAuthSys, decodeOpaqueAuth, encodeOpaqueAuth } from './auth.js';
import type { AuthSysParms, OpaqueAuth } from './auth.js';
import { AcceptStat, AuthFlavor, AuthStat, MsgType, RPC_VERSION, RejectStat, ReplyStat } from './constants.js';

export interface CallHeader {
  xid: number;
  rpcvers: number;
  prog: number;
  vers: number;
  proc: number;
  cred: OpaqueAuth;
  verf: OpaqueAuth;
  /** Present when cred is a well-formed AUTH_SYS credential. */
  authSys: AuthSysParms | undefined;
}

/** What a received message turned out to be. */
export type DecodedMessage =
  | { kind: 'call'; call: CallHeader; args: XdrReader }
  /** A REPLY, or bytes too short to carry an xid and type: never answered. */
  | { kind: 'drop'; reason: 'REPLY' | 'SHORT_HEADER' | 'BAD_MSG_TYPE' }
  /** A call the header check rejects: answered with the given denial. */
  | { kind: 'reject'; xid: number; reply: 'RPC_MISMATCH' }
  | { kind: 'reject'; xid: number; reply: 'AUTH_ERROR'; authStat: AuthStat }
  /** A call whose header could not be decoded past the xid. */
  | { kind: 'garbage'; xid: number };

export function decodeCall(buf: Buffer): DecodedMessage {
  if (buf.length < 8) return { kind: 'drop', reason: 'SHORT_HEADER' };
  const r = new XdrReader(buf);
  const xid = r.uint32();
  const mtype = r.uint32();
  if (mtype === MsgType.REPLY) return { kind: 'drop', reason: 'REPLY' };
  if (mtype !== MsgType.CALL) return { kind: 'drop', reason: 'BAD_MSG_TYPE' };
  let rpcvers: number, prog: number, vers: number, proc: number;
  let cred: OpaqueAuth, verf: OpaqueAuth;
  try {
    rpcvers = r.uint32();
    if (rpcvers !== RPC_VERSION) return { kind: 'reject', xid, reply: 'RPC_MISMATCH' };
    prog = r.uint32();
    vers = r.uint32();
    proc = r.uint32();
  } catch (e) {
    if (e instanceof XdrError) return { kind: 'garbage', xid };
    throw e;
  }
  try {
    cred = decodeOpaqueAuth(r);
    verf = decodeOpaqueAuth(r);
  } catch (e) {
    if (e instanceof XdrError) {
      return { kind: 'reject', xid, reply: 'AUTH_ERROR', authStat: AuthStat.AUTH_BADCRED };
    }
    throw e;
  }
  let authSys: AuthSysParms | undefined;
  switch (cred.flavor) {
    case AuthFlavor.AUTH_NONE:
      break;
    case AuthFlavor.AUTH_SYS:
      try {
        authSys = decodeAuthSys(cred.body);
      } catch (e) {
        if (e instanceof XdrError) {
          return { kind: 'reject', xid, reply: 'AUTH_ERROR', authStat: AuthStat.AUTH_BADCRED };
        }
        throw e;
      }
      break;
    // Flavours we do not implement get the status libtirpc's server gives them.
    case AuthFlavor.AUTH_DH:
      return { kind: 'reject', xid, reply: 'AUTH_ERROR', authStat: AuthStat.AUTH_FAILED };
    case AuthFlavor.RPCSEC_GSS:
      return { kind: 'reject', xid, reply: 'AUTH_ERROR', authStat: AuthStat.AUTH_BADCRED };
    default:
      // AUTH_SHORT and unknown flavours: the client must fall back to one we accept.
      return { kind: 'reject', xid, reply: 'AUTH_ERROR', authStat: AuthStat.AUTH_REJECTEDCRED };
  }
  return {
    kind: 'call',
    call: { xid, rpcvers, prog, vers, proc, cred, verf, authSys },
    args: r,
  };
}

/** Writes the accepted-reply header; the caller appends the results for SUCCESS. */
export function writeAcceptedHeader(w: XdrWriter, xid: number, stat: AcceptStat): void {
  w.uint32(xid).uint32(MsgType.REPLY).uint32(ReplyStat.MSG_ACCEPTED);
  encodeOpaqueAuth(w, AUTH_NONE_EMPTY);
  w.uint32(stat);
}

export function writeProgMismatch(w: XdrWriter, xid: number, low: number, high: number): void {
  writeAcceptedHeader(w, xid, AcceptStat.PROG_MISMATCH);
  w.uint32(low).uint32(high);
}

export function writeRpcMismatch(w: XdrWriter, xid: number): void {
  w.uint32(xid).uint32(MsgType.REPLY).uint32(ReplyStat.MSG_DENIED);
  w.uint32(RejectStat.RPC_MISMATCH).uint32(RPC_VERSION).uint32(RPC_VERSION);
}

export function writeAuthError(w: XdrWriter, xid: number, stat: AuthStat): void {
  w.uint32(xid).uint32(MsgType.REPLY).uint32(ReplyStat.MSG_DENIED);
  w.uint32(RejectStat.AUTH_ERROR).uint32(stat);
}

// ---- client side ----

export interface CallSpec {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred?: OpaqueAuth;
  verf?: OpaqueAuth;
}

export function writeCallHeader(w: XdrWriter, c: CallSpec): void {
  w.uint32(c.xid).uint32(MsgType.CALL).uint32(RPC_VERSION);
  w.uint32(c.prog).uint32(c.vers).uint32(c.proc);
  encodeOpaqueAuth(w, c.cred ?? AUTH_NONE_EMPTY);
  encodeOpaqueAuth(w, c.verf ?? AUTH_NONE_EMPTY);
}

export type DecodedReply =
  | { kind: 'success'; xid: number; results: XdrReader }
  | { kind: 'accepted-error'; xid: number; stat: Exclude<AcceptStat, 0>; low?: number; high?: number }
  | { kind: 'rpc-mismatch'; xid: number; low: number; high: number }
  | { kind: 'auth-error'; xid: number; stat: number };

/** Decodes a reply message; throws XdrError on malformed bytes or a CALL. */
export function decodeReply(buf: Buffer): DecodedReply {
  const r = new XdrReader(buf);
  const xid = r.uint32();
  const mtype = r.uint32();
  if (mtype !== MsgType.REPLY) throw new XdrError('XDR_SHORT', `message type ${mtype} is not REPLY`);
  const rstat = r.uint32();
  if (rstat === ReplyStat.MSG_ACCEPTED) {
    decodeOpaqueAuth(r);
    const stat = r.uint32();
    if (stat === AcceptStat.SUCCESS) return { kind: 'success', xid, results: r };
    if (stat === AcceptStat.PROG_MISMATCH) {
      const low = r.uint32();
      const high = r.uint32();
      return { kind: 'accepted-error', xid, stat, low, high };
    }
    if (stat > AcceptStat.SYSTEM_ERR) throw new XdrError('XDR_SHORT', `accept_stat ${stat}`);
    return { kind: 'accepted-error', xid, stat: stat as Exclude<AcceptStat, 0> };
  }
  if (rstat === ReplyStat.MSG_DENIED) {
    const rj = r.uint32();
    if (rj === RejectStat.RPC_MISMATCH) {
      const low = r.uint32();
      const high = r.uint32();
      return { kind: 'rpc-mismatch', xid, low, high };
    }
    if (rj === RejectStat.AUTH_ERROR) return { kind: 'auth-error', xid, stat: r.uint32() };
    throw new XdrError('XDR_SHORT', `reject_stat ${rj}`);
  }
  throw new XdrError('XDR_SHORT', `reply_stat ${rstat}`);
}
