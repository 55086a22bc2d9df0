// One stream connection (TCP or the local socket): record marking in, replies out in request
// order, a per-record deadline, an idle timeout, per-record rate limiting (the throttle) and an
// output cap for a peer that stops reading. Reading is stopped for a set of reasons with one
// pause() and one resume() site, and one 'drain' listener serves the connection's whole life.

import type net from 'node:net';
import { MAX_REPLY_BYTES } from '../limits.js';
import { RecordDecoder, encodeRecord, writeRecordMark } from '../rpc/index.js';
import type { CallerContext, Reply } from '../rpc/index.js';
import type { MessageHandler, TransportLog } from './handler.js';
import type { SecurityCounters } from './security-counters.js';

/** The counters a connection increments (a subset of the daemon's SecurityCounters). */
export type ConnectionCounters = Pick<
  SecurityCounters,
  'streamThrottled' | 'recordDeadlineClosed' | 'outputCapClosed' | 'idleClosed' | 'framingClosed'
>;

/**
 * What every connection of a service shares. The service changes it on reload and connections
 * read it when they need it: a new rate limiter or record deadline reaches open connections
 * (the deadline for records begun from then on; the idle timeout is set on the socket itself).
 */
export interface ConnectionSettings {
  handler: MessageHandler;
  log: TransportLog;
  counters: ConnectionCounters;
  maxRecordBytes: number;
  maxPendingOutputBytes: number;
  /** A record must be complete this long after its first byte arrived. */
  recordDeadlineMs: number;
  idleMs: number;
  /** Rate limiting per record: false stops reading for throttleMs(). */
  admit: ((ctx: CallerContext) => boolean) | undefined;
  throttleMs: () => number;
  /** Told of every chunk read (the service keeps its connections least recently active first). */
  touch?: ((conn: StreamConnection) => void) | undefined;
}

/** Why reading is stopped: a bit each. */
const BACKPRESSURE = 1;
const THROTTLE = 2;

export class StreamConnection {
  readonly socket: net.Socket;
  readonly #ctx: CallerContext;
  readonly #s: ConnectionSettings;
  readonly #decoder: RecordDecoder;
  /** Replies leave in request order: while one is pending, later ones queue behind it. */
  #tail: Promise<void> | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #throttle: NodeJS.Timeout | undefined;
  /**
   * Records waiting for the rate limiter; reading is stopped while any wait, so this holds at
   * most what one read delivered.
   */
  #backlog: Buffer[] = [];
  /** BACKPRESSURE | THROTTLE: why reading is stopped; 0 while reading. */
  #stopped = 0;

  /** Serves `sock` from now on; its 'error' handler is the first listener this installs. */
  constructor(sock: net.Socket, ctx: CallerContext, settings: ConnectionSettings) {
    this.socket = sock;
    this.#ctx = ctx;
    this.#s = settings;
    this.#decoder = new RecordDecoder({ maxRecordBytes: settings.maxRecordBytes });
    sock.on('error', (e) => settings.log.debug(`${ctx.netid} connection: ${e.message}`));
    sock.setTimeout(settings.idleMs, () => {
      settings.counters.idleClosed++;
      sock.destroy();
    });
    sock.once('close', () => {
      clearTimeout(this.#deadline);
      clearTimeout(this.#throttle);
      this.#backlog = [];
    });
    sock.on('drain', () => this.#go(BACKPRESSURE));
    sock.on('data', this.#onData);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#s.touch?.(this);
    const records = this.#decoder.push(chunk);
    if (!Array.isArray(records)) {
      this.#s.log.debug(`${this.#ctx.netid}: ${records}; closing the connection`);
      this.#s.counters.framingClosed++;
      this.socket.destroy();
      return;
    }
    this.#armDeadline();
    if (records.length === 0) return;
    if (this.#throttle !== undefined || this.#backlog.length > 0) {
      this.#backlog.push(...records);
      return;
    }
    // Replies to records that arrived together leave in one writev instead of one write
    // each (bench/run.ts getport2-tcp: the profile showed a writeBuffer syscall per reply).
    const batch = records.length > 1;
    if (batch) this.socket.cork();
    try {
      if (this.#s.admit === undefined) {
        for (const rec of records) if (!this.#serve(rec)) return;
        return;
      }
      this.#backlog = records;
      this.#serveBacklog();
    } finally {
      if (batch) this.socket.uncork();
    }
  };

  /** A record begun and not finished has until its deadline; one finished clears it. */
  #armDeadline(): void {
    if (this.#decoder.midRecord) {
      this.#deadline ??= setTimeout(this.#onDeadline, this.#s.recordDeadlineMs);
    } else if (this.#deadline !== undefined) {
      clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
  }

  readonly #onDeadline = (): void => {
    this.#s.counters.recordDeadlineClosed++;
    this.#s.log.debug(`${this.#ctx.netid}: record not completed within ${this.#s.recordDeadlineMs} ms; closing`);
    this.socket.destroy();
  };

  /** Serves the backlog while the rate limiter admits; stops reading for a while when it does not. */
  readonly #serveBacklog = (): void => {
    this.#throttle = undefined;
    const backlog = this.#backlog;
    while (backlog.length > 0 && !this.socket.destroyed) {
      const admit = this.#s.admit;
      if (admit && !admit(this.#ctx)) {
        this.#s.counters.streamThrottled++;
        this.#stop(THROTTLE);
        this.#throttle = setTimeout(this.#serveBacklog, this.#s.throttleMs());
        return;
      }
      if (!this.#serve(backlog.shift()!)) return;
    }
    this.#go(THROTTLE);
  };

  /** Hands one record to the handler; false when that closed the connection. */
  #serve(rec: Buffer): boolean {
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.#s.handler(rec, this.#ctx, MAX_REPLY_BYTES);
    } catch (e) {
      this.#handlerFailed((e as Error).stack ?? String(e));
      return false;
    }
    if (this.#tail === undefined && !(reply instanceof Promise)) {
      this.#write(reply);
      return true;
    }
    const prev = this.#tail ?? Promise.resolve();
    const next: Promise<void> = prev
      .then(() => reply)
      .then(this.#write, (e: unknown) => this.#handlerFailed(String(e)))
      .finally(() => {
        if (this.#tail === next) this.#tail = undefined;
      });
    this.#tail = next;
    return true;
  }

  #handlerFailed(what: string): void {
    this.#s.log.error(`${this.#ctx.netid}: handler failed: ${what}`);
    this.socket.destroy();
  }

  readonly #write = (reply: Reply): void => {
    const sock = this.socket;
    if (reply === undefined || sock.destroyed) return;
    if (sock.writableLength > this.#s.maxPendingOutputBytes) {
      this.#s.log.warn(`${this.#ctx.netid}: peer is not reading its replies; closing the connection`);
      this.#s.counters.outputCapClosed++;
      sock.destroy();
      return;
    }
    if (!(Array.isArray(reply) ? writeParts(sock, reply) : sock.write(encodeRecord(reply)))) this.#stop(BACKPRESSURE);
  };

  /** The one place reading stops. */
  #stop(why: number): void {
    if (this.#stopped === 0) this.socket.pause();
    this.#stopped |= why;
  }

  /** The one place reading resumes: when the last reason to stop is gone. */
  #go(why: number): void {
    if ((this.#stopped & why) === 0) return;
    this.#stopped &= ~why;
    if (this.#stopped === 0 && !this.socket.destroyed) this.socket.resume();
  }
}

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
