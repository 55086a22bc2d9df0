// Keeps abusers off the sockets: a source the rate limiter keeps refusing (or that keeps
// opening connections past its share) is shed, i.e. its packets are dropped by a BPF filter on
// every UDP socket and TCP listener before they are queued (kernel-shed.ts), for a time that
// grows with repeat offences (shed-set.ts). Also gives each UDP socket its receive buffer.
// Where the filter cannot be attached it says so once, and the user-space limits work alone.

import type dgram from 'node:dgram';
import type net from 'node:net';
import {
  SHED_AFTER_OVER_LIMIT_MS,
  SHED_FORGET_MS,
  SHED_MAX_SECONDS,
  SHED_MAX_TRACKED_SOURCES,
  SHED_MIN_REFUSALS,
  SHED_SPELL_GAP_MS,
} from '../../limits.js';
import { normalizeAddress } from '../../net/index.js';
import type { AccessPolicy } from '../../rpcbind/index.js';
import {
  attachFilter,
  buildShedProgram,
  kernelShedUnavailable,
  setReceiveBuffer,
  shedAddress,
  socketDrops,
  type BpfInsn,
  type ShedAddress,
} from '../../transport/kernel-shed.js';
import type { SecurityCounters } from '../../transport/security-counters.js';
import { ShedSet } from '../../transport/shed-set.js';
import { socketFd } from '../../transport/udp-service.js';
import type { DaemonLog } from '../observability/logger.js';
import type { SecurityOptions } from './security-options.js';

/** The socket options the guard uses (kernel-shed.ts; replaced in tests). */
export interface KernelShed {
  unavailable(): string;
  attach(fd: number, program: readonly BpfInsn[]): number;
  receiveBuffer(fd: number, bytes: number): { bytes: number; forced: boolean };
  drops(fd: number): number;
}

const KERNEL: KernelShed = {
  unavailable: kernelShedUnavailable,
  attach: attachFilter,
  receiveBuffer: setReceiveBuffer,
  drops: socketDrops,
};

export interface FloodGuardOptions {
  security: SecurityOptions;
  /** Sources never shed besides loopback (this host's addresses, allow-listed callers). */
  exempt: (source: string) => boolean;
  log: DaemonLog;
  counters: Pick<SecurityCounters, 'sourcesShed'>;
  now?: () => number;
  kernel?: KernelShed;
}

/** What was over its limit: the call rate, or the connections a source may hold. */
export type OverLimit = 'rate' | 'connections';

type Filtered = { kind: 'udp'; sock: dgram.Socket } | { kind: 'tcp'; srv: net.Server };

export class FloodGuard {
  readonly #log: DaemonLog;
  readonly #counters: Pick<SecurityCounters, 'sourcesShed'>;
  readonly #now: () => number;
  readonly #kernel: KernelShed;
  #security: SecurityOptions;
  readonly #exempt: (source: string) => boolean;
  #set: ShedSet;
  readonly #filtered = new Set<Filtered>();
  /** Shed sources as the filter encodes them (the set's keys are display strings). */
  readonly #encoded = new Map<string, ShedAddress>();
  #rebuild: NodeJS.Immediate | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #expiryAt = 0;
  /** The filter cannot be attached here: told once, then never tried again. */
  #unavailable = false;
  #bufferTold = false;
  /** 'shed-set-full' was logged; told again once a place frees up and it fills again. */
  #fullTold = false;
  #closed = false;
  #onShed: ((source: string) => void) | undefined;

  constructor(o: FloodGuardOptions) {
    this.#log = o.log;
    this.#counters = o.counters;
    this.#now = o.now ?? (() => performance.now());
    this.#kernel = o.kernel ?? KERNEL;
    this.#security = o.security;
    this.#exempt = o.exempt;
    this.#set = this.#newSet();
    const why = o.security.shedSources > 0 ? this.#kernel.unavailable() : '';
    if (why !== '') this.#tellUnavailable(why);
  }

  #newSet(): ShedSet {
    return new ShedSet({
      maxSources: this.#security.shedSources,
      afterMs: SHED_AFTER_OVER_LIMIT_MS,
      minRefusals: SHED_MIN_REFUSALS,
      spellGapMs: SHED_SPELL_GAP_MS,
      firstMs: this.#security.shedSeconds * 1000,
      maxMs: SHED_MAX_SECONDS * 1000,
      forgetMs: SHED_FORGET_MS,
      maxTracked: SHED_MAX_TRACKED_SOURCES,
      exempt: (s) => this.#isExempt(s),
    });
  }

  #isExempt(source: string): boolean {
    const a = normalizeAddress(source);
    // 127/8 and ::1 can only come from this host; neither can be encoded wrongly either.
    return a.startsWith('127.') || a === '::1' || shedAddress(a) === undefined || this.#exempt(a);
  }

  /** Told of each source as it is shed (the stream service closes its connections). */
  onShed(fn: (source: string) => void): void {
    this.#onShed = fn;
  }

  /** Sources shed now. */
  get shedCount(): number {
    return this.#set.size;
  }

  isShed(source: string): boolean {
    return this.#set.size > 0 && this.#set.isShed(normalizeAddress(source));
  }

  /** Shed sources now (for logs and tests). */
  shedSources(): string[] {
    return this.#set.sources();
  }

  /** A UDP socket to filter and size; followed until it closes. */
  addDatagramSocket(sock: dgram.Socket): void {
    this.#sizeBuffer(sock);
    this.#follow({ kind: 'udp', sock }, sock);
  }

  #sizeBuffer(sock: dgram.Socket): void {
    const fd = socketFd(sock);
    const want = this.#security.udpReceiveBufferBytes;
    if (fd < 0 || want === 0) return;
    const got = this.#kernel.receiveBuffer(fd, want);
    if (got.bytes < 0) return;
    // The kernel reports twice what it grants (half is its bookkeeping). Said once, for the
    // first socket that is short (an inherited one may be large, our own ones not).
    if (got.bytes < want && !this.#bufferTold) {
      this.#bufferTold = true;
      this.#log.event(
        'udp-receive-buffer',
        { requested: want, bytes: got.bytes, limit: 'net.core.rmem_max (no CAP_NET_ADMIN)' },
        'warn',
      );
    } else if (got.bytes >= want) {
      this.#log.debug(`udp: receive buffer of ${got.bytes} bytes${got.forced ? ' (SO_RCVBUFFORCE)' : ''}`);
    }
  }

  /** A TCP listener: connections from shed sources are refused in the kernel (SYN dropped). */
  addListener(srv: net.Server): void {
    this.#follow({ kind: 'tcp', srv }, srv);
  }

  #follow(f: Filtered, emitter: dgram.Socket | net.Server): void {
    this.#filtered.add(f);
    emitter.once('close', () => this.#filtered.delete(f));
    if (this.#encoded.size > 0) this.#attach(f, buildShedProgram([...this.#encoded.values()]));
  }

  /**
   * `source` was refused once more by its own rate limit (or its connection share); sheds it
   * once that has lasted (see limits.ts SHED_*).
   */
  overLimit(source: string, what: OverLimit = 'rate'): void {
    if (this.#closed) return;
    const key = normalizeAddress(source);
    const d = this.#set.refused(key, this.#now());
    if (d === undefined) {
      if (this.#set.full && !this.#fullTold) {
        this.#fullTold = true;
        this.#log.event('shed-set-full', { max: this.#set.maxSources, source: key }, 'warn');
      }
      return;
    }
    this.#counters.sourcesShed++;
    this.#encoded.set(key, shedAddress(key)!);
    this.#log.event(
      'source-shed',
      { source: key, over: what, seconds: Math.round(d.durationMs / 1000), offence: d.offence },
      'warn',
    );
    this.#schedule();
    // After this call returns: the caller may be handling one of the connections closed here.
    setImmediate(() => this.#onShed?.(key));
  }

  /** New settings (SIGHUP): size, duration and exemptions; shed sources now exempt are let in. */
  reconfigure(security: SecurityOptions): void {
    if (security.udpReceiveBufferBytes !== this.#security.udpReceiveBufferBytes) {
      this.#security = security;
      this.#bufferTold = false;
      for (const f of this.#filtered) if (f.kind === 'udp') this.#sizeBuffer(f.sock);
    }
    if (security.shedSources !== this.#security.shedSources || security.shedSeconds !== this.#security.shedSeconds) {
      this.#security = security;
      for (const s of this.#set.sources()) this.#letIn(s, 'reload');
      this.#set = this.#newSet();
    } else {
      this.#security = security;
      for (const s of this.#set.retain((x) => !this.#isExempt(x))) this.#letIn(s, 'reload');
    }
    this.#schedule();
  }

  #letIn(source: string, reason: 'expired' | 'reload'): void {
    this.#encoded.delete(source);
    this.#fullTold = false;
    this.#log.event('source-unshed', { source, reason }, 'info');
  }

  /** Rebuilds the filter once for all changes of this turn, and re-arms the expiry timer. */
  #schedule(): void {
    if (this.#closed) return;
    if (this.#rebuild === undefined) {
      this.#rebuild = setImmediate(() => {
        this.#rebuild = undefined;
        this.#apply();
      });
    }
    const next = this.#set.nextExpiryMs();
    if (next === undefined) {
      if (this.#expiry) clearTimeout(this.#expiry);
      this.#expiry = undefined;
      return;
    }
    if (this.#expiry !== undefined && this.#expiryAt <= next) return;
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiryAt = next;
    this.#expiry = setTimeout(
      () => {
        this.#expiry = undefined;
        for (const s of this.#set.expire(this.#now())) this.#letIn(s, 'expired');
        this.#schedule();
      },
      Math.max(0, next - this.#now()) + 1,
    );
    this.#expiry.unref();
  }

  #apply(): void {
    if (this.#unavailable || this.#closed) return;
    const program = this.#encoded.size > 0 ? buildShedProgram([...this.#encoded.values()]) : [];
    for (const f of this.#filtered) this.#attach(f, program);
  }

  #attach(f: Filtered, program: readonly BpfInsn[]): void {
    if (this.#unavailable) return;
    const fd = f.kind === 'udp' ? socketFd(f.sock) : listenerFd(f.srv);
    if (fd < 0) return;
    const err = this.#kernel.attach(fd, program);
    if (err !== 0) this.#tellUnavailable(`SO_ATTACH_FILTER failed on a ${f.kind} socket (errno ${err})`);
  }

  #tellUnavailable(reason: string): void {
    this.#unavailable = true;
    this.#log.event(
      'kernel-shed-unavailable',
      { reason, effect: 'abusive sources are dropped by the rate limiter after being read, not in the kernel' },
      'warn',
    );
  }

  /** Datagrams the kernel dropped on the UDP sockets open now (filter, or a full queue); -1 unknown. */
  kernelDrops(): number {
    let sum = 0;
    let any = false;
    for (const f of this.#filtered) {
      if (f.kind !== 'udp') continue;
      const fd = socketFd(f.sock);
      const n = fd >= 0 ? this.#kernel.drops(fd) : -1;
      if (n >= 0) {
        sum += n;
        any = true;
      }
    }
    return any ? sum : -1;
  }

  close(): void {
    this.#closed = true;
    if (this.#rebuild) clearImmediate(this.#rebuild);
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#filtered.clear();
  }
}

/**
 * Sources never shed besides loopback: this host's own addresses (they are local callers, not
 * remote ones) and callers on an allow list of the access policy in force.
 */
export function floodExemptions(
  policy: () => AccessPolicy | undefined,
  isOwnAddress: (a: string) => boolean,
): (source: string) => boolean {
  return (source) => policy()?.allowListed(source) === true || isOwnAddress(source);
}

/** The descriptor of a listening net.Server, or -1. */
function listenerFd(srv: net.Server): number {
  const fd = (srv as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}
