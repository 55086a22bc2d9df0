// Stream transports (TCP over IPv4/IPv6 and the local unix socket): record marking in, replies
// out in request order, with a shared connection cap, an idle timeout, a per-record size cap
// and an output cap for peers that stop reading.

import net from 'node:net';
import { CONNECTION_IDLE_MS, MAX_CONNECTIONS, MAX_PENDING_OUTPUT_BYTES, MAX_RECORD_BYTES, MAX_REPLY_BYTES } from '../limits.js';
import { RecordDecoder, encodeRecord } from '../rpc/index.js';
import type { Reply } from '../rpc/index.js';
import type { CallerContext, Netid } from '../rpcbind/index.js';
import { normalizeAddress } from '../rpcbind/index.js';
import type { MessageHandler, TransportLog } from './handler.js';
import { describeListenError } from './handler.js';
import { peerCred } from './peer-cred.js';

export interface StreamServiceOptions {
  handler: MessageHandler;
  log: TransportLog;
  maxConnections?: number;
  idleMs?: number;
  maxRecordBytes?: number;
  maxPendingOutputBytes?: number;
  /** Told of every connection accepted (true) or refused at the limit (false); for metrics. */
  onConnection?: (netid: Netid, accepted: boolean) => void;
}

export class StreamService {
  readonly #o: Required<StreamServiceOptions>;
  readonly #servers: net.Server[] = [];
  readonly #conns = new Set<net.Socket>();

  constructor(o: StreamServiceOptions) {
    this.#o = {
      onConnection: () => {},
      maxConnections: MAX_CONNECTIONS,
      idleMs: CONNECTION_IDLE_MS,
      maxRecordBytes: MAX_RECORD_BYTES,
      maxPendingOutputBytes: MAX_PENDING_OUTPUT_BYTES,
      ...o,
    };
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Listens on TCP host:port (IPv6 sockets are IPv6-only; IPv4 has its own). */
  listenTcp(host: string, port: number): Promise<void> {
    const netid: Netid = host.includes(':') ? 'tcp6' : 'tcp';
    const what = `cannot listen on tcp ${host.includes(':') ? `[${host}]` : host}:${port}`;
    return this.#listen(netid, what, (srv, cb) =>
      srv.listen({ host, port, ipv6Only: netid === 'tcp6', exclusive: true, backlog: 511 }, cb),
    );
  }

  /** Listens on a unix socket path ('\0name' for the abstract namespace). */
  listenUnix(path: string): Promise<void> {
    return this.#listen('local', `cannot listen on ${path.replace('\0', '@')}`, (srv, cb) =>
      srv.listen({ path, exclusive: true, backlog: 511 }, cb),
    );
  }

  /** Adopts an inherited listening descriptor (socket activation). */
  adoptFd(fd: number, netid: Netid): Promise<void> {
    return this.#listen(netid, `cannot use inherited socket ${fd}`, (srv, cb) => srv.listen({ fd }, cb));
  }

  #listen(netid: Netid, what: string, start: (srv: net.Server, cb: () => void) => void): Promise<void> {
    const srv = net.createServer({ pauseOnConnect: false, noDelay: true }, (sock) => this.#accept(sock, netid));
    return new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        srv.close();
        reject(new Error(describeListenError(what, e)));
      };
      srv.once('error', onError);
      start(srv, () => {
        srv.off('error', onError);
        srv.on('error', (e) => this.#o.log.warn(`${netid} server: ${e.message}`));
        this.#servers.push(srv);
        resolve();
      });
    });
  }

  #accept(sock: net.Socket, listenNetid: Netid): void {
    // A dual-stack IPv6 listener (socket activation) also accepts IPv4 peers: they are tcp callers.
    const netid: Netid = listenNetid === 'tcp6' && isV4Mapped(sock.remoteAddress) ? 'tcp' : listenNetid;
    sock.on('error', (e) => this.#o.log.debug(`${netid} connection: ${e.message}`));
    if (this.#conns.size >= this.#o.maxConnections) {
      this.#o.log.warn(`${netid}: connection limit ${this.#o.maxConnections} reached; refusing a connection`);
      this.#o.onConnection(netid, false);
      sock.destroy();
      return;
    }
    this.#o.onConnection(netid, true);
    this.#conns.add(sock);
    sock.on('close', () => this.#conns.delete(sock));
    sock.setTimeout(this.#o.idleMs, () => sock.destroy());

    let ctx: CallerContext;
    if (netid === 'local') {
      ctx = { netid, peerAddress: '', peerPort: 0, localAddress: '', uid: peerCred(sock)?.uid };
    } else {
      ctx = {
        netid,
        peerAddress: normalizeAddress(sock.remoteAddress ?? ''),
        peerPort: sock.remotePort ?? 0,
        localAddress: normalizeAddress(sock.localAddress ?? ''),
        uid: undefined,
      };
    }
    const decoder = new RecordDecoder({ maxRecordBytes: this.#o.maxRecordBytes });
    // Replies leave in request order: while one is pending, later ones queue behind it.
    let tail: Promise<void> | undefined;

    const write = (reply: Reply): void => {
      if (reply === undefined || sock.destroyed) return;
      if (sock.writableLength > this.#o.maxPendingOutputBytes) {
        this.#o.log.warn(`${netid}: peer is not reading its replies; closing the connection`);
        sock.destroy();
        return;
      }
      if (!sock.write(encodeRecord(reply))) {
        sock.pause();
        sock.once('drain', () => sock.resume());
      }
    };

    sock.on('data', (chunk: Buffer) => {
      const records = decoder.push(chunk);
      if (!Array.isArray(records)) {
        this.#o.log.debug(`${netid}: ${records}; closing the connection`);
        sock.destroy();
        return;
      }
      for (const rec of records) {
        let reply: Reply | Promise<Reply>;
        try {
          reply = this.#o.handler(rec, ctx, MAX_REPLY_BYTES);
        } catch (e) {
          this.#o.log.error(`${netid}: handler failed: ${(e as Error).stack ?? String(e)}`);
          sock.destroy();
          return;
        }
        if (tail === undefined && !(reply instanceof Promise)) {
          write(reply);
          continue;
        }
        const prev = tail ?? Promise.resolve();
        const next: Promise<void> = prev
          .then(() => reply)
          .then(write, (e: unknown) => {
            this.#o.log.error(`${netid}: handler failed: ${String(e)}`);
            sock.destroy();
          })
          .finally(() => {
            if (tail === next) tail = undefined;
          });
        tail = next;
      }
    });
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const closed = this.#servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
    await Promise.all(closed);
  }

  /** Stops accepting without waiting. */
  stopListening(): void {
    for (const s of this.#servers) s.close();
  }
}

function isV4Mapped(addr: string | undefined): boolean {
  return addr !== undefined && addr.startsWith('::ffff:') && addr.includes('.');
}
