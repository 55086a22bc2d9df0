// A minimal program-100000 client over one stream connection (unix socket or TCP) for tests
// and benchmarks: pipelined calls matched by xid, SET/UNSET/DUMP of v2 and v3/v4.
import { connect, type Socket } from 'node:net';
import { RecordDecoder, decodeReply, encodeRecord, writeCallHeader } from '../../src/rpc/index.js';
import {
  PMAP_PROG,
  PmapProc,
  RpcbProc,
  decodePmapList,
  decodeRpcbList,
  encodeMapping,
  encodeRpcb,
  type PmapMapping,
  type Rpcb,
} from '../../src/proto/index.js';
import { type XdrReader, XdrWriter } from '../../src/xdr/index.js';

const MAX_REPLY_BYTES = 64 * 1024 * 1024;

export class ConnectionClosed extends Error {}

export class RpcbClient {
  #sock: Socket;
  #decoder = new RecordDecoder({ maxRecordBytes: MAX_REPLY_BYTES, maxFragments: 1 << 20 });
  #pending = new Map<number, { resolve: (r: XdrReader) => void; reject: (e: Error) => void }>();
  #xid = Math.floor(Math.random() * 0x7fffffff);
  #closed = false;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on('data', (chunk: Buffer) => {
      const records = this.#decoder.push(chunk);
      if (typeof records === 'string') return this.#fail(new Error(`bad reply stream: ${records}`));
      for (const rec of records) {
        const reply = decodeReply(rec);
        const p = this.#pending.get(reply.xid);
        if (!p) continue;
        this.#pending.delete(reply.xid);
        if (reply.kind === 'success') p.resolve(reply.results);
        else p.reject(new Error(`RPC error: ${JSON.stringify(reply)}`));
      }
    });
    sock.on('close', () => this.#fail(new ConnectionClosed('connection closed')));
  }

  /** `target` is a unix socket path or { host, port }. */
  static open(target: string | { host: string; port: number }, timeoutMs = 3000): Promise<RpcbClient> {
    return new Promise((resolve, reject) => {
      const sock = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error('connect timed out'));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        sock.on('error', () => {}); // 'close' follows and fails pending calls
        resolve(new RpcbClient(sock));
      });
    });
  }

  #fail(e: Error): void {
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    this.#sock.destroy();
  }

  call(vers: number, proc: number, args: (w: XdrWriter) => void = () => {}): Promise<XdrReader> {
    if (this.#closed) return Promise.reject(new ConnectionClosed('connection closed'));
    this.#xid = (this.#xid + 1) >>> 0;
    const xid = this.#xid;
    const w = new XdrWriter(256);
    writeCallHeader(w, { xid, prog: PMAP_PROG, vers, proc });
    args(w);
    return new Promise((resolve, reject) => {
      this.#pending.set(xid, { resolve, reject });
      this.#sock.write(encodeRecord(w.toBuffer()));
    });
  }

  async set(b: Rpcb, vers: 3 | 4 = 3): Promise<boolean> {
    return (await this.call(vers, RpcbProc.SET, (w) => encodeRpcb(w, b))).bool();
  }

  async unset(b: Omit<Rpcb, 'addr'> & { addr?: string }, vers: 3 | 4 = 3): Promise<boolean> {
    return (await this.call(vers, RpcbProc.UNSET, (w) => encodeRpcb(w, { addr: '', ...b }))).bool();
  }

  async dump(vers: 3 | 4 = 3): Promise<Rpcb[]> {
    return decodeRpcbList(await this.call(vers, RpcbProc.DUMP), 1_000_000);
  }

  async pmapSet(m: PmapMapping): Promise<boolean> {
    return (await this.call(2, PmapProc.SET, (w) => encodeMapping(w, m))).bool();
  }

  async pmapUnset(m: PmapMapping): Promise<boolean> {
    return (await this.call(2, PmapProc.UNSET, (w) => encodeMapping(w, m))).bool();
  }

  async pmapDump(): Promise<PmapMapping[]> {
    return decodePmapList(await this.call(2, PmapProc.DUMP), 1_000_000);
  }

  close(): void {
    this.#closed = true;
    this.#sock.destroy();
  }
}

/** The path of `path` inside a TestHost's mount namespace, usable from the test process. */
export function hostPath(holderPid: number, path: string): string {
  return `/proc/${holderPid}/root${path}`;
}
