// Stream transports (TCP over IPv4/IPv6 and the local unix socket): the listeners, accept, a
// per-source share of TCP connections and a shared connection cap (the least active connection
// is reaped to make room). Each connection is served by a StreamConnection (stream-connection.ts:
// framing, ordered replies, deadlines, throttle, backpressure, output cap).

import net from 'node:net';
import {
  CONNECTION_IDLE_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_SOURCE,
  MAX_PENDING_OUTPUT_BYTES,
  MAX_RECORD_BYTES,
  RECORD_DEADLINE_MS,
} from '../limits.js';
import type { CallerContext, Netid } from '../rpc/index.js';
import { normalizeAddress } from '../net/index.js';
import type { MessageHandler, TransportLog } from './handler.js';
import { describeListenError } from './handler.js';
import { peerCred } from './peer-cred.js';
import { StreamConnection, type ConnectionCounters, type ConnectionSettings } from './stream-connection.js';
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

/** The counters this service and its connections increment (a subset of SecurityCounters). */
export type StreamCounters = ConnectionCounters &
  Pick<SecurityCounters, 'connectionsReaped' | 'connectionsPerSourceRefused'>;

export type StreamLimits = Required<
  Pick<StreamServiceOptions, 'maxConnections' | 'maxConnectionsPerSource' | 'idleMs' | 'recordDeadlineMs'>
>;

export class StreamService {
  readonly #o: Required<Pick<StreamServiceOptions, 'log' | 'maxConnections' | 'maxConnectionsPerSource'>>;
  /** Read by every connection; setAdmit() and setLimits() change it for open ones too. */
  readonly #shared: ConnectionSettings;
  readonly #servers: net.Server[] = [];
  /** Open connections, least recently active first (moved to the end on every chunk read). */
  readonly #conns = new Set<StreamConnection>();
  /** Open TCP connections per non-loopback source address (an entry per source with one). */
  readonly #perSource = new Map<string, number>();
  readonly #counters: StreamCounters;
  readonly #onConnection: ((netid: Netid, accepted: boolean) => void) | undefined;
  readonly #hooks: Pick<StreamServiceOptions, 'onListening' | 'refuse' | 'onShareExceeded'>;

  constructor(o: StreamServiceOptions) {
    this.#o = {
      log: o.log,
      maxConnections: o.maxConnections ?? MAX_CONNECTIONS,
      maxConnectionsPerSource: o.maxConnectionsPerSource ?? MAX_CONNECTIONS_PER_SOURCE,
    };
    this.#counters = o.counters ?? newSecurityCounters();
    this.#shared = {
      handler: o.handler,
      log: o.log,
      counters: this.#counters,
      maxRecordBytes: o.maxRecordBytes ?? MAX_RECORD_BYTES,
      maxPendingOutputBytes: o.maxPendingOutputBytes ?? MAX_PENDING_OUTPUT_BYTES,
      recordDeadlineMs: o.recordDeadlineMs ?? RECORD_DEADLINE_MS,
      idleMs: o.idleMs ?? CONNECTION_IDLE_MS,
      admit: o.admit,
      throttleMs: o.throttleMs ?? (() => 10),
      touch: (c) => {
        this.#conns.delete(c);
        this.#conns.add(c);
      },
    };
    this.#onConnection = o.onConnection;
    this.#hooks = { onListening: o.onListening, refuse: o.refuse, onShareExceeded: o.onShareExceeded };
  }

  /** Replaces the rate-limit check and its wait (policy reload); open connections keep running. */
  setAdmit(admit: ((ctx: CallerContext) => boolean) | undefined, throttleMs: () => number = () => 10): void {
    this.#shared.admit = admit;
    this.#shared.throttleMs = throttleMs;
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
    this.#shared.recordDeadlineMs = l.recordDeadlineMs;
    if (l.idleMs !== this.#shared.idleMs) {
      this.#shared.idleMs = l.idleMs;
      for (const c of this.#conns) c.socket.setTimeout(l.idleMs);
    }
    while (this.#conns.size > l.maxConnections) this.#reapLeastActive();
  }

  /** Closes the least recently active connection. */
  #reapLeastActive(): void {
    const victim = this.#conns.values().next().value;
    if (victim === undefined) return;
    this.#conns.delete(victim);
    victim.socket.destroy();
    this.#counters.connectionsReaped++;
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
    // Until the connection installs the socket's 'error' handler, all here runs in this one
    // callback, and destroy() without an error emits none.
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
    if (this.#conns.size >= this.#o.maxConnections && this.#conns.size > 0) {
      // Make room by closing the least recently active connection: idle holders of slots
      // lose them, clients that are being served keep theirs.
      this.#reapLeastActive();
      this.#o.log.debug(
        `${netid}: connection limit ${this.#o.maxConnections} reached; closed the least active connection`,
      );
    }
    this.#onConnection?.(netid, true);
    const conn = new StreamConnection(sock, callerContext(sock, netid), this.#shared);
    this.#conns.add(conn);
    sock.on('close', () => this.#conns.delete(conn));
  }

  /**
   * Closes every TCP connection from `source` (a source just shed: its connections would only
   * keep being throttled). Returns how many.
   */
  closeFrom(source: string): number {
    let n = 0;
    for (const { socket: sock } of this.#conns) {
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
    for (const c of this.#conns) c.socket.destroy();
    this.#conns.clear();
    await Promise.all(closed);
  }

  /** Stops accepting without waiting. */
  stopListening(): void {
    for (const s of this.#servers) s.close();
  }
}

/** Who is calling: the peer's addresses over TCP, its credentials over the local socket. */
function callerContext(sock: net.Socket, netid: Netid): CallerContext {
  if (netid === 'local') return { netid, peerAddress: '', peerPort: 0, localAddress: '', uid: peerCred(sock)?.uid };
  return {
    netid,
    peerAddress: normalizeAddress(sock.remoteAddress ?? ''),
    peerPort: sock.remotePort ?? 0,
    localAddress: normalizeAddress(sock.localAddress ?? ''),
    uid: undefined,
  };
}

function isV4Mapped(addr: string | undefined): boolean {
  return addr?.startsWith('::ffff:') === true && addr.includes('.');
}
