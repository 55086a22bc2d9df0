// The audit log and detection: registrations (who, what), denials, rate-limit trips, DUMPs
// from remote hosts and GETPORT sweeps become "security:" log lines and counters. The log has
// its own token bucket, so a flood produces a count of suppressed lines, not a flood of lines.

import {
  SECURITY_LOG_BURST_EVENTS,
  SECURITY_LOG_EVENTS_PER_SECOND,
  SWEEP_DISTINCT_PROGRAMS,
  SWEEP_MAX_TRACKED_SOURCES,
  SWEEP_WINDOW_MS,
} from '../limits.js';
import type { CallerContext, OperationClass, SecurityObserver } from '../rpcbind/index.js';
import type { TransportLog } from '../transport/handler.js';
import type { SecurityCounters } from '../transport/security-counters.js';

interface SweepState {
  startMs: number;
  progs: Set<number>;
  reported: boolean;
}

export function describeCaller(ctx: CallerContext): string {
  if (ctx.netid === 'local') return `local socket uid ${ctx.uid ?? 'unknown'}`;
  return `${ctx.peerAddress} port ${ctx.peerPort} over ${ctx.netid}`;
}

export class SecurityLog implements SecurityObserver {
  readonly #log: TransportLog;
  readonly #counters: SecurityCounters;
  readonly #now: () => number;
  #tokens = SECURITY_LOG_BURST_EVENTS;
  #lastMs: number;
  #suppressedSinceLast = 0;
  readonly #sweeps = new Map<string, SweepState>();

  constructor(log: TransportLog, counters: SecurityCounters, now: () => number = Date.now) {
    this.#log = log;
    this.#counters = counters;
    this.#now = now;
    this.#lastMs = now();
  }

  /** Writes one security event unless the log's own rate is exceeded. */
  event(level: 'info' | 'warn', msg: string): void {
    const now = this.#now();
    this.#tokens = Math.min(SECURITY_LOG_BURST_EVENTS, this.#tokens + ((now - this.#lastMs) * SECURITY_LOG_EVENTS_PER_SECOND) / 1000);
    this.#lastMs = now;
    if (this.#tokens < 1) {
      this.#suppressedSinceLast++;
      this.#counters.logSuppressed++;
      return;
    }
    this.#tokens -= 1;
    if (this.#suppressedSinceLast > 0) {
      this.#log.warn(`security: ${this.#suppressedSinceLast} events not logged (log rate limit)`);
      this.#suppressedSinceLast = 0;
    }
    this.#log[level](`security: ${msg}`);
  }

  denied(ctx: CallerContext, cls: OperationClass, vers: number, proc: number): void {
    this.#counters.denied++;
    this.event('warn', `denied ${cls} call (version ${vers} procedure ${proc}) from ${describeCaller(ctx)}`);
  }

  remoteDump(ctx: CallerContext, vers: number, proc: number): void {
    this.#counters.remoteDumps++;
    this.event('info', `${proc === 4 ? 'DUMP' : 'GETSTAT'} (version ${vers}) from remote ${describeCaller(ctx)}`);
  }

  registration(ctx: CallerContext, op: 'SET' | 'UNSET', prog: number, vers: number, netid: string, addr: string, result: string): void {
    if (result === 'full') this.#counters.quotaRefused++;
    const what = `${prog} version ${vers} ${netid}${addr ? ` ${addr}` : ''}`;
    this.event(result === 'ok' ? 'info' : 'warn', `${op} ${what} by ${describeCaller(ctx)}: ${result}`);
  }

  rateLimited(ctx: CallerContext, transport: 'udp' | 'stream'): void {
    this.event('warn', `rate limit: ${transport === 'udp' ? 'dropping datagrams' : 'throttling'} from ${describeCaller(ctx)}`);
  }

  lookup(ctx: CallerContext, prog: number): void {
    if (ctx.netid === 'local') return;
    const key = ctx.peerAddress;
    const now = this.#now();
    let s = this.#sweeps.get(key);
    if (!s || now - s.startMs > SWEEP_WINDOW_MS) {
      if (s) this.#sweeps.delete(key);
      else if (this.#sweeps.size >= SWEEP_MAX_TRACKED_SOURCES) this.#sweeps.delete(this.#sweeps.keys().next().value!);
      s = { startMs: now, progs: new Set(), reported: false };
      this.#sweeps.set(key, s);
    }
    if (s.reported || s.progs.has(prog)) return;
    s.progs.add(prog);
    if (s.progs.size >= SWEEP_DISTINCT_PROGRAMS) {
      s.reported = true;
      s.progs.clear(); // the set is no longer needed for this window
      this.#counters.sweeps++;
      this.event('warn', `lookup sweep: ${key} asked for ${SWEEP_DISTINCT_PROGRAMS} different programs within ${SWEEP_WINDOW_MS / 1000} s`);
    }
  }
}
