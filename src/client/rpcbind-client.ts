// Typed client for program 100000: portmap v2 and rpcbind v3/v4 procedures over any transport.

import type { XdrReader } from '../xdr/index.js';
import { MAX_DATAGRAM_BYTES, MAX_NETBUF_BYTES, MAX_REGISTRATIONS, MAX_UADDR_BYTES } from '../limits.js';
import { PMAP_PROG, PmapProc, RpcbProc } from '../proto/index.js';
import {
  decodePmapCallResult,
  decodePmapList,
  decodeRmtCallRes,
  decodeRpcbEntryList,
  decodeRpcbList,
  decodeRpcbStatByVers,
  encodeMapping,
  encodeNetbuf,
  encodeRmtCallArgs,
  encodeRpcb,
} from '../proto/index.js';
import type {
  Netbuf,
  PmapCallResult,
  PmapMapping,
  RmtCallArgs,
  RmtCallRes,
  Rpcb,
  RpcbEntry,
  RpcbStatByVers,
} from '../proto/index.js';
import { connectLocal, connectTransport } from './connect.js';
import type { ConnectOptions } from './connect.js';
import { RpcClient, voidArgs } from './rpc-client.js';
import type { RpcTransport } from './rpc-transport.js';

/** Rows accepted in a GETSTAT table (the reference keeps far fewer). */
const MAX_CLIENT_STAT_ROWS = 4096;

const bool = (r: XdrReader): boolean => r.bool();
const uint = (r: XdrReader): number => r.uint32();
const uaddr = (r: XdrReader): string => r.string(MAX_UADDR_BYTES);

export type RpcbindConnectOptions = (ConnectOptions | { netid: 'local-auto'; timeoutMs?: number }) & {
  /** Version used by calls that exist in several versions (default 4, falls back per call). */
  timeoutMs?: number;
};

export class RpcbindClient {
  readonly rpc: RpcClient;

  constructor(transport: RpcTransport, opts: { timeoutMs?: number } = {}) {
    this.rpc = new RpcClient(
      transport,
      PMAP_PROG,
      4,
      opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {},
    );
  }

  /** Connects to rpcbind: { netid: 'local-auto' } tries the abstract socket, then the path. */
  static async connect(opts: RpcbindConnectOptions): Promise<RpcbindClient> {
    const t =
      opts.netid === 'local-auto'
        ? await connectLocal(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {})
        : await connectTransport(opts);
    return new RpcbindClient(t, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  }

  get netid(): string {
    return this.rpc.netid;
  }

  close(): void {
    this.rpc.close();
  }

  ping(vers = 4): Promise<void> {
    return this.rpc.nullCall(vers);
  }

  // ---- version 2 (portmap) ----

  getPort(m: PmapMapping): Promise<number> {
    return this.rpc.call(PmapProc.GETPORT, (w) => encodeMapping(w, m), uint, 2);
  }

  pmapSet(m: PmapMapping): Promise<boolean> {
    return this.rpc.call(PmapProc.SET, (w) => encodeMapping(w, m), bool, 2);
  }

  pmapUnset(m: PmapMapping): Promise<boolean> {
    return this.rpc.call(PmapProc.UNSET, (w) => encodeMapping(w, m), bool, 2);
  }

  pmapDump(): Promise<PmapMapping[]> {
    return this.rpc.call(PmapProc.DUMP, voidArgs, (r) => decodePmapList(r, MAX_REGISTRATIONS), 2);
  }

  pmapCallit(a: RmtCallArgs): Promise<PmapCallResult> {
    return this.rpc.call(
      PmapProc.CALLIT,
      (w) => encodeRmtCallArgs(w, a),
      (r) => decodePmapCallResult(r, MAX_DATAGRAM_BYTES),
      2,
    );
  }

  // ---- versions 3 and 4 (rpcbind) ----

  set(b: Rpcb, vers: 3 | 4 = 4): Promise<boolean> {
    return this.rpc.call(RpcbProc.SET, (w) => encodeRpcb(w, b), bool, vers);
  }

  unset(b: Rpcb, vers: 3 | 4 = 4): Promise<boolean> {
    return this.rpc.call(RpcbProc.UNSET, (w) => encodeRpcb(w, b), bool, vers);
  }

  /** Universal address of the service, '' when not registered. */
  getAddr(b: Rpcb, vers: 3 | 4 = 4): Promise<string> {
    return this.rpc.call(RpcbProc.GETADDR, (w) => encodeRpcb(w, b), uaddr, vers);
  }

  dump(vers: 3 | 4 = 4): Promise<Rpcb[]> {
    return this.rpc.call(RpcbProc.DUMP, voidArgs, (r) => decodeRpcbList(r, MAX_REGISTRATIONS), vers);
  }

  /** v3 CALLIT / v4 BCAST (same procedure number). */
  callit(a: RmtCallArgs, vers: 3 | 4 = 3): Promise<RmtCallRes> {
    return this.rpc.call(
      RpcbProc.CALLIT,
      (w) => encodeRmtCallArgs(w, a),
      (r) => decodeRmtCallRes(r, MAX_DATAGRAM_BYTES),
      vers,
    );
  }

  getTime(vers: 3 | 4 = 4): Promise<number> {
    return this.rpc.call(RpcbProc.GETTIME, voidArgs, uint, vers);
  }

  uaddr2taddr(addr: string, vers: 3 | 4 = 4): Promise<Netbuf> {
    return this.rpc.call(
      RpcbProc.UADDR2TADDR,
      (w) => w.string(addr),
      (r) => ({ maxlen: r.uint32(), buf: Buffer.from(r.opaque(MAX_NETBUF_BYTES)) }),
      vers,
    );
  }

  taddr2uaddr(n: Netbuf, vers: 3 | 4 = 4): Promise<string> {
    return this.rpc.call(RpcbProc.TADDR2UADDR, (w) => encodeNetbuf(w, n), uaddr, vers);
  }

  getVersAddr(b: Rpcb): Promise<string> {
    return this.rpc.call(RpcbProc.GETVERSADDR, (w) => encodeRpcb(w, b), uaddr, 4);
  }

  indirect(a: RmtCallArgs): Promise<RmtCallRes> {
    return this.rpc.call(
      RpcbProc.INDIRECT,
      (w) => encodeRmtCallArgs(w, a),
      (r) => decodeRmtCallRes(r, MAX_DATAGRAM_BYTES),
      4,
    );
  }

  getAddrList(b: Rpcb): Promise<RpcbEntry[]> {
    return this.rpc.call(
      RpcbProc.GETADDRLIST,
      (w) => encodeRpcb(w, b),
      (r) => decodeRpcbEntryList(r, MAX_REGISTRATIONS),
      4,
    );
  }

  getStat(): Promise<RpcbStatByVers> {
    return this.rpc.call(RpcbProc.GETSTAT, voidArgs, (r) => decodeRpcbStatByVers(r, MAX_CLIENT_STAT_ROWS), 4);
  }
}
