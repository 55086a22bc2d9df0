// Stream transports (TCP over IPv4/IPv6 and the local unix socket): record marking in, replies
// out in request order, with a shared connection cap (the least active connection is reaped to
// make room), an idle timeout, a per-record size cap and deadline, per-record rate limiting
// (throttling by pausing the socket) and an output cap for peers that stop reading.

import net from 'node:net';
import {
  CONNECTION_IDLE_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_SOURCE,
  MAX_PENDING_OUTPUT_BYTES,
  MAX_RECORD_BYTES,
  MAX_REPLY_BYTES,
  RECORD_DEADLINE_MS,
} from '../limits.js';
import { RecordDecoder, encodeRecord, writeRecordMark } from '../rpc/index.js';
import type { Reply } from '../rpc/index.js';
import type { CallerContext, Netid } from '../rpc/index.js';
import { normalizeAddress } from '../net/index.js';
import type { MessageHandler, TransportLog } from './handler.js';
import { describeListenError } from './handler.js';
import { peerCred } from './peer-cred.js';
import { newSecurityCounters, type SecurityCounters } from './security-counters.js';

export interface StreamServiceOptions {
  handler: MessageHandler;
  log: TransportLog;
  maxConnections?: number;
  /** TCP connections from one non-loopback address; more are closed at once. */
  maxConnectionsPerSource?: number;
  idleMs?: number;
  maxRecordBytes?: number;
  maxPendingOutputBytes?: number;
  /** A record must be complete this long after its first byte arrived. */
  recordDeadlineMs?: number;
  /** Rate limiting per record: false pauses the stream for throttleMs(). */
  admit?: ((ctx: CallerContext) => boolean) | undefined;
  throttleMs?: () => number;
  counters?: StreamCounters;
  /** Told of every connection accepted (true) or refused at once (false); for metrics. */
  onConnection?: ((netid: Netid, accepted: boolean) => void) | undefined;
  /** Every listener once it listens (TCP ones get the kernel filter: flood-guard.ts). */
  onListening?: ((srv: net.Server, netid: Netid) => void) | undefined;
  /** Sources closed at accept, before anything else is spent on them (shed sources). */
  refuse?: ((source: string) => boolean) | undefined;
  /** Told of each connection closed because its source already held its share. */
  onShareExceeded?: ((source: string) => void) | undefined;
}

/** The counters this service increments (a subset of the daemon's SecurityCounters). */
export type StreamCounters = Pick<
  SecurityCounters,
  | 'streamThrottled'
  | 'connectionsReaped'
  | 'connectionsPerSourceRefused'
  | 'recordDeadlineClosed'
  | 'outputCapClosed'
  | 'idleClosed'
  | 'framingClosed'
>;

export type StreamLimits = Required<
  Pick<StreamServiceOptions, 'maxConnections' | 'maxConnectionsPerSource' | 'idleMs' | 'recordDeadlineMs'>
>;

type Hooks = 'admit' | 'throttleMs' | 'counters' | 'onConnection' | 'onListening' | 'refuse' | 'onShareExceeded';
type Settings = Required<Omit<StreamServiceOptions, Hooks>>;

/**
 * One record from a reply in parts (a large shared part, see XdrWriter.shared): the mark and
 * the parts leave in one writev, nothing copied. Returns what the last write() returned.
 */
function writeParts(sock: net.Socket, parts: readonly Buffer[]): boolean {
  let total = 0;
  for (const p of parts) total += p.length;
  const mark = Buffer.allocUnsafe(4);
  writeRecordMark(mark, total);
  sock.cork();
  let ok = sock.write(mark);
  for (const p of parts) ok = sock.write(p);
  sock.uncork();
  return ok;
}

export class StreamService {
  readonly #o: Settings;
  readonly #servers: net.Server[] = [];
  /** Open connections, least recently active first (touched on every chunk read). */
  readonly #conns = new Map<net.Socket, true>();
  /** Open TCP connections per non-loopback source address (an entry per source with one). */
  readonly #perSource = new Map<string, number>();
  readonly #counters: StreamCounters;
  #admit: ((ctx: CallerContext) => boolean) | undefined;
  #throttleMs: () => number;
  readonly #onConnection: ((netid: Netid, accepted: boolean) => void) | undefined;
  readonly #hooks: Pick<StreamServiceOptions, 'onListening' | 'refuse' | 'onShareExceeded'>;

  constructor(o: StreamServiceOptions) {
    this.#o = {
      maxConnections: MAX_CONNECTIONS,
      maxConnectionsPerSource: MAX_CONNECTIONS_PER_SOURCE,
      idleMs: CONNECTION_IDLE_MS,
      maxRecordBytes: MAX_RECORD_BYTES,
      maxPendingOutputBytes: MAX_PENDING_OUTPUT_BYTES,
      recordDeadlineMs: RECORD_DEADLINE_MS,
      handler: o.handler,
      log: o.log,
      ...definedOnly(o),
    };
    this.#admit = o.admit;
    this.#onConnection = o.onConnection;
    this.#hooks = { onListening: o.onListening, refuse: o.refuse, onShareExceeded: o.onShareExceeded };
    this.#throttleMs = o.throttleMs ?? (() => 10);
    this.#counters = o.counters ?? newSecurityCounters();
  }

  /** Replaces the rate-limit check and its wait (policy reload); open connections keep running. */
  setAdmit(admit: ((ctx: CallerContext) => boolean) | undefined, throttleMs: () => number = () => 10): void {
    this.#admit = admit;
    this.#throttleMs = throttleMs;
  }

  /**
   * New connection limits and timeouts (reload). The connection cap holds at once: connections
   * over it are closed, least recently active first. The idle timeout applies to open connections
   * too; the per-source share to connections accepted from now on; the record deadline to
   * records begun from now on.
   */
  setLimits(l: StreamLimits): void {
    this.#o.maxConnections = l.maxConnections;
    this.#o.maxConnectionsPerSource = l.maxConnectionsPerSource;
    this.#o.recordDeadlineMs = l.recordDeadlineMs;
    if (l.idleMs !== this.#o.idleMs) {
      this.#o.idleMs = l.idleMs;
      for (const c of this.#conns.keys()) c.setTimeout(l.idleMs);
    }
    while (this.#conns.size > l.maxConnections) {
      const victim = this.#conns.keys().next().value!;
      this.#conns.delete(victim);
      victim.destroy();
      this.#counters.connectionsReaped++;
    }
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
        this.#hooks.onListening?.(srv, netid);
        resolve();
      });
    });
  }

  /**
   * Counts a TCP connection against its source's share; false when the source holds its
   * share already. Loopback is exempt (local services and tools). The slot is given back
   * when the connection closes.
   */
  #takeSourceSlot(sock: net.Socket): boolean {
    const source = normalizeAddress(sock.remoteAddress ?? '');
    if (source === '' || source === '127.0.0.1' || source === '::1') return true;
    const held = this.#perSource.get(source) ?? 0;
    if (held >= this.#o.maxConnectionsPerSource) return false;
    this.#perSource.set(source, held + 1);
    sock.once('close', () => {
      const n = (this.#perSource.get(source) ?? 1) - 1;
      if (n <= 0) this.#perSource.delete(source);
      else this.#perSource.set(source, n);
    });
    return true;
  }

  #accept(sock: net.Socket, listenNetid: Netid): void {
    // A dual-stack IPv6 listener (socket activation) also accepts IPv4 peers: they are tcp callers.
    const netid: Netid = listenNetid === 'tcp6' && isV4Mapped(sock.remoteAddress) ? 'tcp' : listenNetid;
    sock.on('error', (e) => this.#o.log.debug(`${netid} connection: ${e.message}`));
    if (netid !== 'local' && this.#hooks.refuse?.(sock.remoteAddress ?? '') === true) {
      // Shed, but let through before the kernel filter was in place: closed unread.
      this.#onConnection?.(netid, false);
      sock.destroy();
      return;
    }
    if (netid !== 'local' && !this.#takeSourceSlot(sock)) {
      this.#counters.connectionsPerSourceRefused++;
      this.#hooks.onShareExceeded?.(normalizeAddress(sock.remoteAddress ?? ''));
      this.#onConnection?.(netid, false);
      sock.destroy();
      return;
    }
    if (this.#conns.size >= this.#o.maxConnections) {
      // Make room by closing the least recently active connection: idle holders of slots
      // lose them, clients that are being served keep theirs.
      const victim = this.#conns.keys().next().value;
      if (victim) {
        this.#conns.delete(victim);
        victim.destroy();
        this.#counters.connectionsReaped++;
        this.#o.log.debug(`${netid}: connection limit ${this.#o.maxConnections} reached; closed the least active connection`);
      }
    }
    this.#onConnection?.(netid, true);
    this.#conns.set(sock, true);
    sock.on('close', () => this.#conns.delete(sock));
    sock.setTimeout(this.#o.idleMs, () => {
      this.#counters.idleClosed++;
      sock.destroy();
    });

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
    let deadline: NodeJS.Timeout | undefined;
    // Records waiting for the rate limiter; the socket is paused while any wait, so this holds
    // at most what one read delivered.
    let backlog: Buffer[] = [];
    let throttle: NodeJS.Timeout | undefined;
    sock.once('close', () => {
      clearTimeout(deadline);
      clearTimeout(throttle);
      backlog = [];
    });

    const write = (reply: Reply): void => {
      if (reply === undefined || sock.destroyed) return;
      if (sock.writableLength > this.#o.maxPendingOutputBytes) {
        this.#o.log.warn(`${netid}: peer is not reading its replies; closing the connection`);
        this.#counters.outputCapClosed++;
        sock.destroy();
        return;
      }
      if (!(Array.isArray(reply) ? writeParts(sock, reply) : sock.write(encodeRecord(reply)))) {
        sock.pause();
        sock.once('drain', () => {
          if (throttle === undefined) sock.resume();
        });
      }
    };

    const serve = (rec: Buffer): boolean => {
      let reply: Reply | Promise<Reply>;
      try {
        reply = this.#o.handler(rec, ctx, MAX_REPLY_BYTES);
      } catch (e) {
        this.#o.log.error(`${netid}: handler failed: ${(e as Error).stack ?? String(e)}`);
        sock.destroy();
        return false;
      }
      if (tail === undefined && !(reply instanceof Promise)) {
        write(reply);
        return true;
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
      return true;
    };

    const drain = (): void => {
      throttle = undefined;
      while (backlog.length > 0 && !sock.destroyed) {
        const admit = this.#admit;
        if (admit && !admit(ctx)) {
          this.#counters.streamThrottled++;
          sock.pause();
          throttle = setTimeout(drain, this.#throttleMs());
          return;
        }
        if (!serve(backlog.shift()!)) return;
      }
      if (!sock.destroyed && sock.writableLength <= this.#o.maxPendingOutputBytes) sock.resume();
    };

    sock.on('data', (chunk: Buffer) => {
      // Most recently active last.
      this.#conns.delete(sock);
      this.#conns.set(sock, true);
      const records = decoder.push(chunk);
      if (!Array.isArray(records)) {
        this.#o.log.debug(`${netid}: ${records}; closing the connection`);
        this.#counters.framingClosed++;
        sock.destroy();
        return;
      }
      if (decoder.midRecord) {
        deadline ??= setTimeout(() => {
          this.#counters.recordDeadlineClosed++;
          this.#o.log.debug(`${netid}: record not completed within ${this.#o.recordDeadlineMs} ms; closing`);
          sock.destroy();
        }, this.#o.recordDeadlineMs);
      } else if (deadline !== undefined) {
        clearTimeout(deadline);
        deadline = undefined;
      }
      if (records.length === 0) return;
      if (throttle !== undefined || backlog.length > 0) {
        backlog.push(...records);
        return;
      }
      // Replies to records that arrived together leave in one writev instead of one write
      // each (bench/run.ts getport2-tcp: the profile showed a writeBuffer syscall per reply).
      const batch = records.length > 1;
      if (batch) sock.cork();
      try {
        if (this.#admit === undefined) {
          for (const rec of records) if (!serve(rec)) return;
          return;
        }
        backlog = records;
        drain();
      } finally {
        if (batch) sock.uncork();
      }
    });
  }

  /**
   * Closes every TCP connection from `source` (a source just shed: its connections would only
   * keep being throttled). Returns how many.
   */
  closeFrom(source: string): number {
    let n = 0;
    for (const sock of this.#conns.keys()) {
      if (sock.remoteAddress !== undefined && normalizeAddress(sock.remoteAddress) === source) {
        sock.destroy();
        n++;
      }
    }
    return n;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const closed = this.#servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const c of this.#conns.keys()) c.destroy();
    this.#conns.clear();
    await Promise.all(closed);
  }

  /** Stops accepting without waiting. */
  stopListening(): void {
    for (const s of this.#servers) s.close();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isV4Mapped(addr: string | undefined): boolean {
  return addr !== undefined && addr.startsWith('::ffff:') && addr.includes('.');
}
