// UDP transport: one socket per local address, so every reply leaves from the address its
// request was sent to (Node cannot choose a reply's source address on a wildcard socket, and
// libtirpc clients use connected sockets that drop replies from any other address), plus,
// beside them, wildcard sockets (SO_REUSEADDR on all): the kernel hands a unicast datagram to
// the socket bound to its destination; broadcasts, which no unicast-bound socket matches, and
// datagrams to an address not bound yet go to the wildcard. refresh() follows address changes.

import dgram from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIPv4 } from 'node:net';
import { MAX_UDP_REPLY_BYTES } from '../limits.js';
import { replyBytes } from '../rpc/index.js';
import type { CallerContext, Reply } from '../rpc/index.js';
import { BATCH_DATAGRAMS, type DatagramBatch, type DatagramPeer } from './datagram-batch.js';
import type { MessageHandler, TransportLog } from './handler.js';
import type { SecurityCounters } from './security-counters.js';
import { describeListenError } from './handler.js';
import { UdpAdmission } from './udp-admission.js';

export interface UdpServiceOptions {
  port: number;
  /** The addresses to serve now ("127.0.0.1", "::1", "fe80::1%eth0", ...). */
  addresses: () => readonly string[];
  handler: MessageHandler;
  log: TransportLog;
  /**
   * Wildcard addresses ('0.0.0.0', '::') to bind at start beside the per-address sockets, for
   * broadcasts; kept whatever the address list says.
   */
  wildcards?: readonly string[];
  /** Our address facing a caller (for datagrams that came in through a wildcard socket). */
  facing?: (peer: string) => string;
  /** Whether a source address is one of this host's own (its replies are never capped). */
  isOwnAddress?: (addr: string) => boolean;
  /**
   * Whether an address that cannot be bound yet (EADDRNOTAVAIL: an IPv6 address still in
   * duplicate address detection, say) is skipped until the next refresh instead of failing start.
   */
  tolerateUnavailable: boolean;
  /**
   * SO_REUSEADDR on our sockets, so per-address sockets can sit beside a wildcard socket, ours
   * or the service manager's (the kernel delivers unicast to the most specific one).
   */
  reuseAddr?: boolean;
  /** The service manager passed a wildcard socket (which serves an address we cannot bind). */
  inheritedWildcard?: boolean;
  /** Rate limiting: false drops the datagram unread. Swappable through setAdmit(). */
  admit?: ((ctx: CallerContext) => boolean) | undefined;
  /** Every socket once it is bound or adopted (receive buffer, kernel filter: flood-guard.ts). */
  onSocket?: (sock: dgram.Socket) => void;
  /** Counts the datagrams dropped by admit() and by the amplification guard, and send errors. */
  counters?: Pick<SecurityCounters, 'udpRateLimited' | 'udpAmplificationDropped' | 'udpSendErrors'>;
}

/** Batches per wake-up before the event loop gets a turn (TCP, timers, other sockets). */
const MAX_DRAIN_ROUNDS = 4;

/** What a datagram's handling needs to know of the socket it arrived on. */
interface Where {
  sock: dgram.Socket;
  netid: 'udp' | 'udp6';
  local: string;
  /** Bound to 0.0.0.0 or ::: the local address is the one facing each caller. */
  wildcard: boolean;
  /** The socket's descriptor for batched I/O; -1 when Node does not tell it. */
  fd: number;
}

interface Bound {
  sock: dgram.Socket;
  ready: boolean;
  /** Passed in by the service manager, or a wildcard: kept whatever the address list says. */
  pinned?: boolean;
}

export class UdpService {
  readonly #o: UdpServiceOptions;
  readonly #bound = new Map<string, Bound>();
  #closed = false;
  readonly #gate: UdpAdmission;
  #batch: DatagramBatch | undefined;

  constructor(o: UdpServiceOptions) {
    this.#o = o;
    this.#gate = new UdpAdmission(o.admit, o.counters);
  }

  /** Replaces the rate-limit check (policy reload). */
  setAdmit(admit: ((ctx: CallerContext) => boolean) | undefined): void {
    this.#gate.setAdmit(admit);
  }

  /** Binds every current address; rejects with a one-line message if any of them fails. */
  async start(): Promise<void> {
    await Promise.all(this.#o.addresses().map((a) => this.#bind(a, true)));
    for (const w of this.#o.wildcards ?? []) {
      await this.#bind(w, true);
      const b = this.#bound.get(w);
      if (b) b.pinned = true;
    }
  }

  /** Adopts an already-bound datagram socket (socket activation). */
  adopt(sock: dgram.Socket, address: string): void {
    this.#attach(sock, address);
    this.#bound.set(address, { sock, ready: true, pinned: true });
  }

  get addresses(): string[] {
    return [...this.#bound.keys()];
  }

  /** Binds the addresses that appeared and releases those that went away. */
  refresh(): void {
    if (this.#closed) return;
    const want = new Set(this.#o.addresses());
    for (const a of want) if (!this.#bound.has(a)) void this.#bind(a, false).catch(() => {});
    for (const [a, b] of this.#bound) {
      if (!want.has(a) && !b.pinned) {
        this.#bound.delete(a);
        b.sock.close();
        this.#o.log.info(`udp: address ${a} went away; stopped serving it`);
      }
    }
  }

  #bind(address: string, strict: boolean): Promise<void> {
    const v6 = address.includes(':');
    const sock = dgram.createSocket({
      type: v6 ? 'udp6' : 'udp4',
      ipv6Only: v6,
      reuseAddr: this.#o.reuseAddr === true,
      lookup: literalLookup,
    });
    const entry: Bound = { sock, ready: false };
    this.#bound.set(address, entry);
    return new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        this.#bound.delete(address);
        sock.close();
        const msg = describeListenError(`cannot bind udp ${fmt(address)}:${this.#o.port}`, e);
        const code = (e as NodeJS.ErrnoException).code;
        // An inherited wildcard socket still serves the address: a clash is not fatal then.
        const unavailable = code === 'EADDRNOTAVAIL' || (this.#o.inheritedWildcard === true && code === 'EADDRINUSE');
        if (strict && !(unavailable && this.#o.tolerateUnavailable)) reject(new Error(msg));
        else {
          this.#o.log.warn(msg);
          resolve();
        }
      };
      sock.once('error', onError);
      sock.bind({ port: this.#o.port, address, exclusive: true }, () => {
        sock.off('error', onError);
        entry.ready = true;
        this.#attach(sock, address);
        if (!strict) this.#o.log.info(`udp: now serving ${fmt(address)}:${this.#o.port}`);
        resolve();
      });
    });
  }

  /**
   * Reads datagrams in batches from now on where the platform allows (see datagram-batch.ts):
   * after Node delivers one datagram, the ones queued behind it are read and answered together.
   */
  enableBatching(batch: DatagramBatch | null): void {
    this.#batch = batch ?? undefined;
  }

  #attach(sock: dgram.Socket, address: string): void {
    const scope = address.indexOf('%');
    const local = scope >= 0 ? address.slice(0, scope) : address;
    const netid = local.includes(':') ? 'udp6' : 'udp';
    const wildcard = local === '0.0.0.0' || local === '::';
    const where: Where = { sock, netid, local, wildcard, fd: socketFd(sock) };
    sock.on('error', (e) => {
      // Once bound, what dgram reports here are sends that failed (send() has no callback).
      if (this.#o.counters) this.#o.counters.udpSendErrors++;
      this.#o.log.warn(`udp ${fmt(address)}: ${e.message}`);
    });
    this.#o.onSocket?.(sock);
    sock.on('message', (msg, rinfo) => {
      const reply = this.#answer(where, msg, rinfo.address, rinfo.port);
      if (reply !== undefined) this.#send(where, reply, rinfo.address, rinfo.port);
      if (this.#batch && where.fd >= 0) this.#drain(this.#batch, where);
    });
  }

  /**
   * Reads and answers what is waiting on the socket, a batch at a time, a bounded number of
   * times. A reply ready at once joins the batch's next flush.
   */
  #drain(batch: DatagramBatch, where: Where): void {
    const onDatagram = (data: Buffer, peer: DatagramPeer, slot: number): void => {
      const reply = this.#answer(where, data, peer.address, peer.port);
      if (reply !== undefined) batch.queue(where.fd, reply, slot);
    };
    for (let round = 0; round < MAX_DRAIN_ROUNDS && !this.#closed; round++) {
      const n = batch.drain(where.fd, onDatagram);
      batch.flush(where.fd);
      if (n < BATCH_DATAGRAMS) break;
    }
  }

  /**
   * One datagram: admit, handle. Returns a reply ready at once for the caller to send (through
   * Node or the batch); a later reply leaves through Node on its own.
   */
  #answer(where: Where, msg: Buffer, peerAddress: string, peerPort: number): Buffer | undefined {
    // A dual-stack wildcard (socket activation) hands IPv4 peers over as ::ffff:a.b.c.d.
    const mapped = where.netid === 'udp6' && peerAddress.startsWith('::ffff:') && peerAddress.includes('.');
    const peer = mapped ? peerAddress.slice(7) : peerAddress;
    const ctx: CallerContext = {
      netid: mapped ? 'udp' : where.netid,
      peerAddress: peer,
      peerPort,
      localAddress: where.wildcard && this.#o.facing ? this.#o.facing(peer) : where.local,
      uid: undefined,
      peerIsThisHost: this.#o.isOwnAddress?.(peer) === true,
    };
    if (!this.#gate.admits(ctx)) return undefined;
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.#o.handler(msg, ctx, MAX_UDP_REPLY_BYTES);
    } catch (e) {
      this.#o.log.error(`udp: handler failed: ${(e as Error).stack ?? String(e)}`);
      return undefined;
    }
    if (!(reply instanceof Promise)) return this.#sendable(msg.length, reply);
    // Answered later, outside any batch: through Node.
    reply.then(
      (r) => {
        const bytes = this.#sendable(msg.length, r);
        if (bytes !== undefined) this.#send(where, bytes, peerAddress, peerPort);
      },
      (e: unknown) => this.#o.log.error(`udp: handler failed: ${String(e)}`),
    );
    return undefined;
  }

  /** The reply's bytes if it is to be sent: not when there is none, it would amplify, or we closed. */
  #sendable(requestBytes: number, reply: Reply): Buffer | undefined {
    // Not a call, or deliberately unanswered: the dispatcher reports both (calls metric, debug log).
    const bytes = replyBytes(reply);
    if (bytes === undefined || !this.#gate.mayAnswer(requestBytes, bytes) || this.#closed) return undefined;
    return bytes;
  }

  #send(where: Where, reply: Buffer, peerAddress: string, peerPort: number): void {
    // No completion callback: with one, dgram schedules a tick for every send that already
    // finished synchronously (bench/run.ts getport2-udp). A failed send surfaces as the
    // socket's 'error' event, which is logged.
    where.sock.send(reply, peerPort, peerAddress);
  }

  close(): void {
    this.#closed = true;
    for (const b of this.#bound.values()) {
      try {
        b.sock.close();
      } catch {
        // already closed
      }
    }
    this.#bound.clear();
  }
}

/**
 * dgram resolves every destination through its lookup function, and dns.lookup answers even an
 * IP literal on the next tick. Reply destinations are always literals (the sender's address):
 * answer those at once, so the send happens inside the receive callback (bench/run.ts
 * getport2-udp: the profile showed afterDns/nextTick around every send).
 */
export function literalLookup(
  address: string,
  options: LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  // No hostname holds a colon: treat such a string as an IPv6 literal without net.isIPv6, whose
  // large regular expression costs 15-30 ms to compile on first use (bench/profile-start.ts).
  // Anything malformed fails in bind() or send() instead.
  if (address.includes(':')) {
    callback(null, address, 6);
    return;
  }
  if (isIPv4(address)) {
    callback(null, address, 4);
    return;
  }
  dnsLookup(address, typeof options === 'number' ? { family: options } : options, callback);
}

/**
 * The descriptor under a bound dgram socket. Node keeps its handle in an internal state
 * object (the public `_handle` getter is deprecated and warns); -1 when it cannot be found.
 */
export function socketFd(sock: dgram.Socket): number {
  const state = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  if (state === undefined) return -1;
  const handle = (sock as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[state]?.handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : -1;
}

function fmt(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
