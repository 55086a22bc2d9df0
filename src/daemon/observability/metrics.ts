// The daemon's Prometheus series (prom-client), every one named rpcbind_*. Counts the daemon
// keeps anyway (SecurityCounters, the forwarder's counters, the table and connection sizes) are
// not counted a second time: their series read them at scrape time (collect()), so a series
// moves exactly when the daemon's own counter does. What only metrics count (calls, accepted
// connections, state writes, reloads) is recorded through MetricsSink, an increment each.

import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CompletedCall } from '../../rpc/index.js';
import type { CallerContext } from '../../rpc/index.js';
import type { SecurityCounters } from '../../transport/security-counters.js';
import type { ForwarderCounters } from '../forwarder.js';

const METRIC_PREFIX = 'rpcbind_';
const KNOWN_VERSIONS = new Set([2, 3, 4]);
const PMAP_PROG = 100000;

type PromClient = typeof import('prom-client');

/** Where the series read the daemon's live state at scrape time. */
export interface MetricsSources {
  registrations?: () => number;
  openConnections?: () => number;
  security?: Readonly<SecurityCounters>;
  forwarding?: () => { counters: Readonly<ForwarderCounters>; inFlight: number; capacity: number };
  state?: () => StateHealth;
  /** Shedding (flood-guard.ts): sources shed now, and the kernel's drops on the UDP sockets. */
  shed?: { sources: () => number; kernelDrops: () => number };
}

/** The state store's health, read at scrape time. */
export interface StateHealth {
  durable: boolean;
  refusedChanges: number;
  /** Journal space reserved ahead (Infinity where the file system cannot preallocate). */
  reserveBytes: number;
}

/** The recording side of the metrics: what the daemon's parts call. */
export interface MetricsSink {
  setSources(s: MetricsSources): void;
  recordCall(c: CompletedCall<CallerContext>): void;
  recordConnection(transport: string, accepted: boolean): void;
  recordStateWrite(seconds: number, ok: boolean): void;
  recordReload(ok: boolean): void;
}

interface SeriesSpec {
  help: string;
  labelNames: readonly string[];
}

/** The counter series read from SecurityCounters. */
const SECURITY_SERIES = {
  rpcbind_denials_total: {
    help: 'Calls refused with AUTH_TOOWEAK, by reason: access-rule (allow/deny lists, hosts.allow/deny), not-local (SET/UNSET/GETSTAT from a remote caller without -i), forward-rule (a remote call to a target on the forwarding deny list)',
    labelNames: ['reason'],
  },
  rpcbind_rate_limited_calls_total: {
    help: 'Calls over the rate limits: UDP datagrams dropped (transport="udp"), stream records held back until a token was due (transport="stream")',
    labelNames: ['transport'],
  },
  rpcbind_udp_dropped_datagrams_total: {
    help: 'UDP datagrams dropped unanswered, by reason: amplification (the reply would be larger than a datagram too short to be a call), unreadable (longer than a batch slot, or of an unknown address family)',
    labelNames: ['reason'],
  },
  rpcbind_udp_send_errors_total: { help: 'UDP replies the kernel refused to send', labelNames: [] },
  rpcbind_connections_closed_total: {
    help: 'Stream connections closed by the daemon, by reason: limit (least active, at --max-connections), per-source (share held, closed at once), record-timeout, output-cap, idle, framing',
    labelNames: ['reason'],
  },
  rpcbind_registration_quota_refusals_total: {
    help: 'SETs refused because the owner quota or the table is full',
    labelNames: [],
  },
  rpcbind_remote_dumps_total: { help: 'DUMP and GETSTAT calls answered to non-local callers', labelNames: [] },
  rpcbind_lookup_sweeps_total: { help: 'Lookup sweeps detected (one source asking for many programs)', labelNames: [] },
  rpcbind_security_events_suppressed_total: {
    help: 'Security log events not written (the security log rate limit)',
    labelNames: [],
  },
  rpcbind_sources_shed_total: {
    help: 'Times a source was shed: its packets dropped in the kernel for a while (over its limit for 0.5 s)',
    labelNames: [],
  },
} as const satisfies Record<string, SeriesSpec>;

type SecuritySeriesName = keyof typeof SECURITY_SERIES;

/** Every field of SecurityCounters has its series (and labels): complete by type. */
export const SECURITY_COUNTER_SERIES: {
  readonly [K in keyof SecurityCounters]: { series: SecuritySeriesName; labels: Record<string, string> };
} = {
  deniedAccessRule: { series: 'rpcbind_denials_total', labels: { reason: 'access-rule' } },
  deniedNotLocal: { series: 'rpcbind_denials_total', labels: { reason: 'not-local' } },
  deniedForwardRule: { series: 'rpcbind_denials_total', labels: { reason: 'forward-rule' } },
  udpRateLimited: { series: 'rpcbind_rate_limited_calls_total', labels: { transport: 'udp' } },
  streamThrottled: { series: 'rpcbind_rate_limited_calls_total', labels: { transport: 'stream' } },
  udpAmplificationDropped: { series: 'rpcbind_udp_dropped_datagrams_total', labels: { reason: 'amplification' } },
  udpBatchDropped: { series: 'rpcbind_udp_dropped_datagrams_total', labels: { reason: 'unreadable' } },
  udpSendErrors: { series: 'rpcbind_udp_send_errors_total', labels: {} },
  connectionsReaped: { series: 'rpcbind_connections_closed_total', labels: { reason: 'limit' } },
  connectionsPerSourceRefused: { series: 'rpcbind_connections_closed_total', labels: { reason: 'per-source' } },
  recordDeadlineClosed: { series: 'rpcbind_connections_closed_total', labels: { reason: 'record-timeout' } },
  outputCapClosed: { series: 'rpcbind_connections_closed_total', labels: { reason: 'output-cap' } },
  idleClosed: { series: 'rpcbind_connections_closed_total', labels: { reason: 'idle' } },
  framingClosed: { series: 'rpcbind_connections_closed_total', labels: { reason: 'framing' } },
  quotaRefused: { series: 'rpcbind_registration_quota_refusals_total', labels: {} },
  remoteDumps: { series: 'rpcbind_remote_dumps_total', labels: {} },
  sweeps: { series: 'rpcbind_lookup_sweeps_total', labels: {} },
  logSuppressed: { series: 'rpcbind_security_events_suppressed_total', labels: {} },
  sourcesShed: { series: 'rpcbind_sources_shed_total', labels: {} },
};

/** Forwarded calls by outcome, from the forwarder's counters. */
export const FORWARD_OUTCOMES: { readonly [K in Exclude<keyof ForwarderCounters, 'forwarded' | 'stray'>]: string } = {
  answered: 'replied',
  timedOut: 'timeout',
  evicted: 'table-full',
  refused: 'refused',
  duplicates: 'duplicate',
};

export class DaemonMetrics implements MetricsSink {
  readonly registry: Registry;
  readonly #prom: PromClient;
  readonly #calls: Counter<'version' | 'procedure' | 'transport' | 'outcome'>;
  readonly #callChildren = new Map<string, Counter.Internal>();
  readonly #connections: Counter<'transport' | 'result'>;
  readonly #stateWrites: Counter<'result'>;
  readonly #stateWriteSeconds: Histogram;
  readonly #reloads: Counter<'result'>;
  #registrations: () => number = () => 0;
  #openConnections: () => number = () => 0;
  #shedSources: () => number = () => 0;
  #kernelDrops: () => number = () => 0;
  #security: Readonly<SecurityCounters> | undefined;
  #forwarding: MetricsSources['forwarding'];
  #state: (() => StateHealth) | undefined;
  #defaultsOn = false;

  /** Declares every series: a table of declarations, which counts as data for the size rule. */
  constructor(prom: PromClient) {
    this.#prom = prom;
    this.registry = new prom.Registry();
    const registers = [this.registry];
    this.#calls = new prom.Counter({
      name: 'rpcbind_calls_total',
      help: 'Calls answered (or deliberately left unanswered), by version, procedure, transport and outcome',
      labelNames: ['version', 'procedure', 'transport', 'outcome'],
      registers,
    });
    const self = this;
    this.#gauge('rpcbind_registrations', 'Entries in the registration table (including the portmapper itself)', () =>
      this.#registrations(),
    );
    this.#gauge('rpcbind_connections_open', 'Stream (TCP and local socket) connections open now', () =>
      this.#openConnections(),
    );
    this.#gauge(
      'rpcbind_shed_sources',
      'Sources whose packets are dropped in the kernel now (shed for being over their limits)',
      () => this.#shedSources(),
    );
    this.#gauge(
      'rpcbind_udp_kernel_drops',
      'Datagrams the kernel dropped on the open UDP sockets: shed sources and full receive queues (SO_MEMINFO)',
      () => this.#kernelDrops(),
    );
    this.#connections = new prom.Counter({
      name: 'rpcbind_connections_total',
      help: 'Stream connections accepted or refused, by transport',
      labelNames: ['transport', 'result'],
      registers,
    });
    for (const [name, spec] of Object.entries(SECURITY_SERIES)) {
      const fields = (Object.keys(SECURITY_COUNTER_SERIES) as (keyof SecurityCounters)[]).filter(
        (k) => SECURITY_COUNTER_SERIES[k].series === name,
      );
      new prom.Counter({
        name,
        help: spec.help,
        labelNames: spec.labelNames,
        registers,
        collect() {
          const c = self.#security;
          if (!c) return;
          this.reset();
          for (const k of fields) this.inc(SECURITY_COUNTER_SERIES[k].labels, c[k]);
        },
      });
    }
    new prom.Counter({
      name: 'rpcbind_forwarded_calls_total',
      help: 'Remote calls (CALLIT/BCAST/INDIRECT) forwarded, by outcome: replied, timeout, table-full (dropped for a newer one), refused (not forwardable), duplicate (a retransmission of a call in flight)',
      labelNames: ['outcome'],
      registers,
      collect() {
        const f = self.#forwarding?.();
        if (!f) return;
        this.reset();
        for (const [k, outcome] of Object.entries(FORWARD_OUTCOMES))
          this.inc({ outcome }, f.counters[k as keyof typeof FORWARD_OUTCOMES]);
      },
    });
    this.#gauge(
      'rpcbind_forward_table_entries',
      'Forwarded calls awaiting their reply',
      () => this.#forwarding?.().inFlight ?? 0,
    );
    this.#gauge(
      'rpcbind_forward_table_capacity',
      'Forwarded calls that may await replies at once',
      () => this.#forwarding?.().capacity ?? 0,
    );
    this.#stateWrites = new prom.Counter({
      name: 'rpcbind_state_writes_total',
      help: 'Writes of the registration state file, by result',
      labelNames: ['result'],
      registers,
    });
    this.#stateWriteSeconds = new prom.Histogram({
      name: 'rpcbind_state_write_duration_seconds',
      help: 'Time to write the registration state file durably',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#gauge(
      'rpcbind_state_durable',
      '1 while registration changes are being saved, 0 while they cannot be (see the state-not-durable log event)',
      () => (this.#state === undefined || this.#state().durable ? 1 : 0),
    );
    new prom.Counter({
      name: 'rpcbind_state_refused_changes_total',
      help: 'SET and UNSET calls answered FALSE because the change could not be saved',
      registers,
      collect() {
        this.reset();
        this.inc(self.#state?.().refusedChanges ?? 0);
      },
    });
    this.#gauge(
      'rpcbind_state_journal_reserve_bytes',
      'Journal space allocated ahead and not yet written (-1 where the file system cannot preallocate)',
      () => {
        const r = this.#state?.().reserveBytes ?? 0;
        return r === Infinity ? -1 : r;
      },
    );
    this.#reloads = new prom.Counter({
      name: 'rpcbind_config_reloads_total',
      help: 'SIGHUP configuration reloads, by result',
      labelNames: ['result'],
      registers,
    });
  }

  /** A gauge whose value is read at scrape time. */
  #gauge(name: string, help: string, read: () => number): void {
    new this.#prom.Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** Adds the process/Node.js series (rpcbind_process_*, rpcbind_nodejs_*); once. */
  enableDefaultMetrics(): void {
    if (this.#defaultsOn) return;
    this.#defaultsOn = true;
    this.#prom.collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** Where the series read the daemon's state at scrape time. */
  setSources(s: MetricsSources): void {
    if (s.registrations) this.#registrations = s.registrations;
    if (s.openConnections) this.#openConnections = s.openConnections;
    if (s.security) this.#security = s.security;
    if (s.forwarding) this.#forwarding = s.forwarding;
    if (s.state) this.#state = s.state;
    if (s.shed) {
      this.#shedSources = s.shed.sources;
      this.#kernelDrops = s.shed.kernelDrops;
    }
  }

  /** One finished call (the dispatcher's `completed` event). */
  recordCall(c: CompletedCall<CallerContext>): void {
    const ours = c.call !== undefined && c.call.prog === PMAP_PROG && KNOWN_VERSIONS.has(c.call.vers);
    const version = ours ? String(c.call!.vers) : c.call === undefined ? 'none' : 'other';
    const procedure = ours && c.procName !== undefined ? c.procName : 'unknown';
    const key = `${version}|${procedure}|${c.ctx.netid}|${c.result}`;
    let child = this.#callChildren.get(key);
    if (child === undefined) {
      child = this.#calls.labels(version, procedure, c.ctx.netid, c.result);
      this.#callChildren.set(key, child);
    }
    child.inc();
  }

  /** A stream connection was accepted (true) or refused at once (false: its source's share was held). */
  recordConnection(transport: string, accepted: boolean): void {
    this.#connections.labels(transport, accepted ? 'accepted' : 'refused').inc();
  }

  /** A state file write finished after `seconds`; ok=false when it failed. */
  recordStateWrite(seconds: number, ok: boolean): void {
    this.#stateWrites.labels(ok ? 'ok' : 'error').inc();
    if (ok) this.#stateWriteSeconds.observe(seconds);
  }

  recordReload(ok: boolean): void {
    this.#reloads.labels(ok ? 'ok' : 'error').inc();
  }

  /** A counter of your own, created on first use; the name must start with rpcbind_. */
  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.#getOrCreate(
      name,
      () => new this.#prom.Counter<L>({ name, help, labelNames, registers: [this.registry] }),
    );
  }

  /** A gauge of your own, created on first use; the name must start with rpcbind_. */
  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.#getOrCreate(
      name,
      () => new this.#prom.Gauge<L>({ name, help, labelNames, registers: [this.registry] }),
    );
  }

  #getOrCreate<M>(name: string, make: () => M): M {
    if (!name.startsWith(METRIC_PREFIX)) throw new Error(`metric ${name} must be named ${METRIC_PREFIX}*`);
    return (this.registry.getSingleMetric(name) as M | undefined) ?? make();
  }

  /** The Prometheus text exposition of every series. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

const NOOP = (): void => {};

/** Metrics before (or without) --metrics: every record is a no-op. */
const NO_METRICS: MetricsSink = {
  setSources: NOOP,
  recordCall: NOOP,
  recordConnection: NOOP,
  recordStateWrite: NOOP,
  recordReload: NOOP,
};

/**
 * The daemon's metrics: a no-op until enableMetrics() (with --metrics), so a daemon that is not
 * scraped neither loads prom-client (about 50 ms of start-up; bench: first answer) nor counts.
 */
export let metrics: MetricsSink = NO_METRICS;
let enabled: DaemonMetrics | undefined;

/** Loads prom-client and makes `metrics` record for real; idempotent. */
export function enableMetrics(): DaemonMetrics {
  if (!enabled) {
    const prom = createRequire(import.meta.url)('prom-client') as PromClient;
    enabled = new DaemonMetrics(prom);
    metrics = enabled;
  }
  return enabled;
}
