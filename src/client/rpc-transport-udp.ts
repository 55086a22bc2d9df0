// RPC over UDP: a connected datagram socket (so ICMP errors surface as ECONNREFUSED), replies
// matched by xid, retransmission with doubling intervals until the caller's total timeout.

import dgram from 'node:dgram';
import { MAX_DATAGRAM_BYTES } from '../limits.js';
import { RpcClientError, errnoOf } from './rpc-client-error.js';
import type { RpcTransport } from './rpc-transport.js';

export interface UdpTransportOptions {
  host: string;
  port: number;
  family: 4 | 6;
  /** First retransmission interval; doubles up to 8 s. */
  retransmitMs?: number;
}

const MAX_RETRANSMIT_MS = 8000;

export class UdpTransport implements RpcTransport {
  readonly netid: 'udp' | 'udp6';
  readonly #sock: dgram.Socket;
  readonly #ready: Promise<void>;
  readonly #retransmitMs: number;
  #pending: { xid: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #closed = false;
  #error: RpcClientError | undefined;

  private constructor(opts: UdpTransportOptions) {
    this.netid = opts.family === 6 ? 'udp6' : 'udp';
    this.#retransmitMs = opts.retransmitMs ?? 1000;
    this.#sock = dgram.createSocket({ type: opts.family === 6 ? 'udp6' : 'udp4', recvBufferSize: MAX_DATAGRAM_BYTES });
    // Error listener first: an unhandled socket error would kill the process.
    this.#sock.on('error', (e) => this.#fail(new RpcClientError('RPC_CANTRECV', { errno: errnoOf(e) })));
    this.#sock.on('message', (msg) => this.#onMessage(msg));
    this.#ready = new Promise((resolve, reject) => {
      const onErr = (e: Error): void =>
        reject(new RpcClientError('RPC_SYSTEMERROR', { phase: 'create', errno: errnoOf(e) }));
      this.#sock.once('error', onErr);
      this.#sock.connect(opts.port, opts.host, () => {
        this.#sock.off('error', onErr);
        resolve();
      });
    });
  }

  static async connect(opts: UdpTransportOptions): Promise<UdpTransport> {
    const t = new UdpTransport(opts);
    try {
      await t.#ready;
    } catch (e) {
      t.close();
      throw e;
    }
    return t;
  }

  #onMessage(msg: Buffer): void {
    const p = this.#pending;
    if (!p || msg.length < 4) return;
    // Replies to earlier (retransmitted or foreign) calls are dropped, as libtirpc does.
    if (msg.readUInt32BE(0) !== p.xid) return;
    this.#pending = undefined;
    p.resolve(msg);
  }

  #fail(e: RpcClientError): void {
    this.#error = e;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(e);
  }

  exchange(xid: number, call: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new RpcClientError('RPC_CANTSEND', { detail: 'transport closed' }));
    if (this.#pending) throw new Error('UdpTransport: one call at a time');
    this.#error = undefined;
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let retrans: NodeJS.Timeout | undefined;
      let interval = this.#retransmitMs;
      const done = (): void => {
        clearTimeout(timer);
        clearTimeout(retrans);
      };
      this.#pending = {
        xid,
        resolve: (b) => {
          done();
          resolve(b);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      const send = (): void => {
        this.#sock.send(call, (err) => {
          if (err) this.#fail(new RpcClientError('RPC_CANTSEND', { errno: errnoOf(err) }));
        });
      };
      const schedule = (): void => {
        retrans = setTimeout(() => {
          if (!this.#pending) return;
          send();
          interval = Math.min(interval * 2, MAX_RETRANSMIT_MS);
          schedule();
        }, interval);
      };
      timer = setTimeout(() => this.#fail(new RpcClientError('RPC_TIMEDOUT')), timeoutMs);
      send();
      schedule();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(this.#error ?? new RpcClientError('RPC_CANTRECV', { detail: 'transport closed' }));
    try {
      this.#sock.close();
    } catch {
      // already closed
    }
  }
}
