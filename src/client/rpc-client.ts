// A client for one (program, version) over one transport: encodes the call, maps every kind of
// reply onto an RpcClientError code, decodes results with the caller's bounded decoder.

import { XdrError, type XdrReader, XdrWriter } from '../xdr/index.js';
import { AcceptStat, decodeReply, writeCallHeader } from '../rpc/index.js';
import type { OpaqueAuth } from '../rpc/index.js';
import { CLIENT_CALL_TIMEOUT_MS, MAX_RECORD_BYTES } from '../limits.js';
import { RpcClientError } from './rpc-client-error.js';
import type { ClntStatName } from './rpc-client-error.js';
import { newXid } from './rpc-transport.js';
import type { RpcTransport } from './rpc-transport.js';

export type ArgEncoder = (w: XdrWriter) => void;
export type ResultDecoder<T> = (r: XdrReader) => T;

export interface RpcClientOptions {
  timeoutMs?: number;
  cred?: OpaqueAuth;
}

const ACCEPT_TO_CLNT: Record<number, ClntStatName> = {
  [AcceptStat.PROG_UNAVAIL]: 'RPC_PROGUNAVAIL',
  [AcceptStat.PROG_MISMATCH]: 'RPC_PROGVERSMISMATCH',
  [AcceptStat.PROC_UNAVAIL]: 'RPC_PROCUNAVAIL',
  [AcceptStat.GARBAGE_ARGS]: 'RPC_CANTDECODEARGS',
  [AcceptStat.SYSTEM_ERR]: 'RPC_SYSTEMERROR',
};

/**
 * A mismatch reply whose range holds no version (low > high) is malformed: no caller can act on
 * it (rpcinfo would try no version at all and report success), so it fails like any reply that
 * cannot be decoded.
 */
function badRange(low: number | undefined, high: number | undefined): void {
  if (low !== undefined && high !== undefined && low > high) {
    throw new RpcClientError('RPC_CANTDECODERES', { detail: `version range ${low} > ${high}` });
  }
}

export const voidArgs: ArgEncoder = () => undefined;
export const voidResult: ResultDecoder<void> = () => undefined;

export class RpcClient {
  readonly transport: RpcTransport;
  prog: number;
  vers: number;
  timeoutMs: number;
  readonly #cred: OpaqueAuth | undefined;

  constructor(transport: RpcTransport, prog: number, vers: number, opts: RpcClientOptions = {}) {
    this.transport = transport;
    this.prog = prog;
    this.vers = vers;
    this.timeoutMs = opts.timeoutMs ?? CLIENT_CALL_TIMEOUT_MS;
    this.#cred = opts.cred;
  }

  get netid(): string {
    return this.transport.netid;
  }

  /** Calls `proc`; resolves with the decoded result or rejects with an RpcClientError. */
  async call<T>(proc: number, encode: ArgEncoder, decode: ResultDecoder<T>, vers = this.vers): Promise<T> {
    const xid = newXid();
    const w = new XdrWriter(256, MAX_RECORD_BYTES);
    try {
      writeCallHeader(w, { xid, prog: this.prog, vers, proc, ...(this.#cred ? { cred: this.#cred } : {}) });
      encode(w);
    } catch (e) {
      if (e instanceof XdrError) throw new RpcClientError('RPC_CANTENCODEARGS', { detail: e.message });
      throw e;
    }
    const reply = await this.transport.exchange(xid, w.toBuffer(), this.timeoutMs);
    let decoded: ReturnType<typeof decodeReply>;
    try {
      decoded = decodeReply(reply);
    } catch (e) {
      if (e instanceof XdrError) throw new RpcClientError('RPC_CANTDECODERES', { detail: e.message });
      throw e;
    }
    switch (decoded.kind) {
      case 'success':
        try {
          return decode(decoded.results);
        } catch (e) {
          if (e instanceof XdrError) throw new RpcClientError('RPC_CANTDECODERES', { detail: e.message });
          throw e;
        }
      case 'accepted-error': {
        const code = ACCEPT_TO_CLNT[decoded.stat] ?? 'RPC_FAILED';
        badRange(decoded.low, decoded.high);
        throw new RpcClientError(code, { low: decoded.low, high: decoded.high });
      }
      case 'rpc-mismatch':
        badRange(decoded.low, decoded.high);
        throw new RpcClientError('RPC_VERSMISMATCH', { low: decoded.low, high: decoded.high });
      case 'auth-error':
        throw new RpcClientError('RPC_AUTHERROR', { authWhy: decoded.stat });
    }
  }

  /** The NULL procedure of the current (or given) version. */
  nullCall(vers = this.vers): Promise<void> {
    return this.call(0, voidArgs, voidResult, vers);
  }

  close(): void {
    this.transport.close();
  }
}
