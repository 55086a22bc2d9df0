// RPC over a stream socket (TCP, or the local unix socket by path or abstract name) with record
// marking. One call at a time; replies with a foreign xid are skipped (bounded); a reply
// record past the cap ends the connection with an error instead of buffering it.

import net from 'node:net';
import { MAX_CLIENT_REPLY_BYTES, MAX_CLIENT_REPLY_FRAGMENTS } from '../limits.js';
import { RecordDecoder, encodeRecord } from '../rpc/index.js';
import { RpcClientError, errnoOf } from './rpc-client-error.js';
import type { Netid, RpcTransport } from './rpc-transport.js';

export type StreamTarget = { kind: 'tcp'; host: string; port: number; family: 4 | 6 } | { kind: 'local'; path: string }; // a path starting with '\0' is an abstract name

export interface StreamTransportOptions {
  maxReplyBytes?: number;
  /** Connect timeout. */
  connectTimeoutMs?: number;
}

/** Replies with another xid tolerated per call before giving up. */
const MAX_STRAY_REPLIES = 16;

export class StreamTransport implements RpcTransport {
  readonly netid: Netid;
  readonly #sock: net.Socket;
  readonly #decoder: RecordDecoder;
  #pending: { xid: number; strays: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #error: RpcClientError | undefined;

  private constructor(sock: net.Socket, netid: Netid, maxReplyBytes: number) {
    this.#sock = sock;
    this.netid = netid;
    this.#decoder = new RecordDecoder({ maxRecordBytes: maxReplyBytes, maxFragments: MAX_CLIENT_REPLY_FRAGMENTS });
    sock.on('data', (chunk) => this.#onData(chunk));
    sock.on('close', () =>
      this.#fail(this.#error ?? new RpcClientError('RPC_CANTRECV', { detail: 'connection closed by server' })),
    );
  }

  static connect(target: StreamTarget, opts: StreamTransportOptions = {}): Promise<StreamTransport> {
    const maxReply = opts.maxReplyBytes ?? MAX_CLIENT_REPLY_BYTES;
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const sock =
        target.kind === 'tcp'
          ? net.connect({ host: target.host, port: target.port, family: target.family })
          : net.connect({ path: target.path });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new RpcClientError('RPC_TIMEDOUT', { phase: 'create' }));
      }, timeoutMs);
      const onErr = (e: Error): void => {
        clearTimeout(timer);
        sock.destroy();
        reject(new RpcClientError('RPC_SYSTEMERROR', { phase: 'create', errno: errnoOf(e) }));
      };
      sock.once('error', onErr);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.off('error', onErr);
        const netid: Netid = target.kind === 'local' ? 'local' : target.family === 6 ? 'tcp6' : 'tcp';
        const t = new StreamTransport(sock, netid, maxReply);
        sock.on('error', (e) => {
          t.#fail(new RpcClientError('RPC_CANTRECV', { errno: errnoOf(e) }));
          sock.destroy();
        });
        resolve(t);
      });
    });
  }

  #onData(chunk: Buffer): void {
    const out = this.#decoder.push(chunk);
    if (typeof out === 'string') {
      this.#fail(new RpcClientError('RPC_CANTDECODERES', { detail: `reply ${out}` }));
      this.#sock.destroy();
      return;
    }
    for (const rec of out) {
      const p = this.#pending;
      if (!p) continue; // unsolicited: ignore
      if (rec.length < 4 || rec.readUInt32BE(0) !== p.xid) {
        if (++p.strays > MAX_STRAY_REPLIES) {
          this.#fail(new RpcClientError('RPC_CANTDECODERES', { detail: 'too many replies with a wrong xid' }));
          this.#sock.destroy();
          return;
        }
        continue;
      }
      this.#pending = undefined;
      p.resolve(rec);
    }
  }

  #fail(e: RpcClientError): void {
    if (!this.#error) this.#error = e;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(e);
  }

  exchange(xid: number, call: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#pending) throw new Error('StreamTransport: one call at a time');
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late reply would desynchronise nothing (xid check) but the stream may be stuck
        // mid-record: drop the connection.
        this.#fail(new RpcClientError('RPC_TIMEDOUT'));
        this.#sock.destroy();
      }, timeoutMs);
      this.#pending = {
        xid,
        strays: 0,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#sock.write(encodeRecord(call));
    });
  }

  close(): void {
    this.#fail(new RpcClientError('RPC_CANTSEND', { detail: 'transport closed' }));
    this.#sock.destroy();
  }
}
