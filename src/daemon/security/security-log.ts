// The audit log and detection: registrations (who, what), denials, rate-limit trips, DUMPs
// from remote hosts and GETPORT sweeps become structured events (a stable `event` name and
// flat fields: docs/hardening.md lists them) and counters. The log has its own token bucket,
// so a flood produces a count of suppressed events, not a flood of lines.

import {
  SECURITY_LOG_BURST_EVENTS,
  SECURITY_LOG_EVENTS_PER_SECOND,
  SWEEP_DISTINCT_PROGRAMS,
  SWEEP_MAX_TRACKED_SOURCES,
  SWEEP_WINDOW_MS,
} from '../../limits.js';
import type { CallerContext } from '../../rpc/index.js';
import type { DenialReason, OperationClass, RegistrationEvent, SecurityObserver } from '../../rpcbind/index.js';
import type { SecurityCounters } from '../../transport/security-counters.js';
import type { DaemonLog, EventFields } from '../observability/logger.js';

/** The names of the security events, as they appear in the `event` field and in text lines. */
const SECURITY_EVENTS = [
  'access-denied',
  'rate-limited',
  'remote-dump',
  'registration',
  'lookup-sweep',
  'security-events-suppressed',
] as const;
export type SecurityEventName = (typeof SECURITY_EVENTS)[number];

interface SweepState {
  startMs: number;
  progs: Set<number>;
  reported: boolean;
}

/** The caller's fields of every event: transport, and address and port or the local uid. */
function callerFields(ctx: CallerContext): EventFields {
  if (ctx.netid === 'local') return { transport: 'local', uid: ctx.uid ?? 'unknown' };
  return { transport: ctx.netid, caller: ctx.peerAddress, port: ctx.peerPort };
}

export class SecurityLog implements SecurityObserver {
  readonly #log: Pick<DaemonLog, 'event'>;
  readonly #counters: SecurityCounters;
  readonly #now: () => number;
  #tokens = SECURITY_LOG_BURST_EVENTS;
  #lastMs: number;
  #suppressedSinceLast = 0;
  readonly #sweeps = new Map<string, SweepState>();

  constructor(log: Pick<DaemonLog, 'event'>, counters: SecurityCounters, now: () => number = Date.now) {
    this.#log = log;
    this.#counters = counters;
    this.#now = now;
    this.#lastMs = now();
  }

  /** Writes one security event unless the log's own rate is exceeded. */
  event(level: 'info' | 'warn', name: SecurityEventName, fields: EventFields): void {
    const now = this.#now();
    this.#tokens = Math.min(
      SECURITY_LOG_BURST_EVENTS,
      this.#tokens + ((now - this.#lastMs) * SECURITY_LOG_EVENTS_PER_SECOND) / 1000,
    );
    this.#lastMs = now;
    if (this.#tokens < 1) {
      this.#suppressedSinceLast++;
      this.#counters.logSuppressed++;
      return;
    }
    this.#tokens -= 1;
    if (this.#suppressedSinceLast > 0) {
      this.#log.event('security-events-suppressed', { count: this.#suppressedSinceLast }, 'warn');
      this.#suppressedSinceLast = 0;
    }
    this.#log.event(name, fields, level);
  }

  denied(ctx: CallerContext, cls: OperationClass, vers: number, proc: number, reason: DenialReason): void {
    if (reason === 'not-local') this.#counters.deniedNotLocal++;
    else if (reason === 'forward-rule') this.#counters.deniedForwardRule++;
    else this.#counters.deniedAccessRule++;
    this.event('warn', 'access-denied', { class: cls, version: vers, procedure: proc, reason, ...callerFields(ctx) });
  }

  remoteDump(ctx: CallerContext, vers: number, procName: string): void {
    this.#counters.remoteDumps++;
    this.event('info', 'remote-dump', { procedure: procName, version: vers, ...callerFields(ctx) });
  }

  registration(ctx: CallerContext, { op, prog, vers, netid, addr, result }: RegistrationEvent): void {
    if (result === 'full') this.#counters.quotaRefused++;
    this.event(result === 'ok' ? 'info' : 'warn', 'registration', {
      op,
      program: prog,
      version: vers,
      netid,
      address: addr === '' ? undefined : addr,
      result,
      ...callerFields(ctx),
    });
  }

  /** A call over the rate limit: a datagram dropped, or a stream held back until a token is due. */
  rateLimited(ctx: CallerContext, transport: 'udp' | 'stream'): void {
    this.event('warn', 'rate-limited', { action: transport === 'udp' ? 'dropped' : 'throttled', ...callerFields(ctx) });
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
      this.event('warn', 'lookup-sweep', {
        programs: SWEEP_DISTINCT_PROGRAMS,
        windowSeconds: SWEEP_WINDOW_MS / 1000,
        ...callerFields(ctx),
      });
    }
  }
}
