// The daemon's Prometheus series (prom-client), every one named rpcbind_*. One module-level
// `metrics` object that any part of the daemon calls; the helpers below are the stable API for
// the features that report into it (access control, rate limits, forwarding, persistence).
// Recording is a counter increment: nothing here waits or does I/O.

import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CompletedCall } from '../rpc/index.js';
import type { CallerContext } from '../rpcbind/index.js';

export const METRIC_PREFIX = 'rpcbind_';
const KNOWN_VERSIONS = new Set([2, 3, 4]);
const PMAP_PROG = 100000;

type PromClient = typeof import('prom-client');

/** The recording side of the metrics: what the daemon's parts call. */
export interface MetricsSink {
  setSources(s: { registrations?: () => number; openConnections?: () => number }): void;
  recordCall(c: CompletedCall<CallerContext>): void;
  recordConnection(transport: string, accepted: boolean): void;
  recordDenial(reason: string, transport: string): void;
  recordRateLimited(reason: string, transport: string): void;
  recordForward(outcome: string): void;
  setForwardTable(inUse: number, capacity: number): void;
  recordStateWrite(seconds: number, ok: boolean): void;
  recordReload(ok: boolean): void;
}

export class DaemonMetrics implements MetricsSink {
  readonly registry: Registry;
  readonly #prom: PromClient;
  readonly #calls: Counter<'version' | 'procedure' | 'transport' | 'outcome'>;
  readonly #callChildren = new Map<string, Counter.Internal>();
  readonly #denials: Counter<'reason' | 'transport'>;
  readonly #rateLimited: Counter<'reason' | 'transport'>;
  readonly #connections: Counter<'transport' | 'result'>;
  readonly #forwarded: Counter<'outcome'>;
  readonly #forwardInUse: Gauge;
  readonly #forwardCapacity: Gauge;
  readonly #stateWrites: Counter<'result'>;
  readonly #stateWriteSeconds: Histogram;
  readonly #reloads: Counter<'result'>;
  #registrations: () => number = () => 0;
  #openConnections: () => number = () => 0;
  #defaultsOn = false;

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
    new prom.Gauge({
      name: 'rpcbind_registrations',
      help: 'Entries in the registration table (including the portmapper itself)',
      registers,
      collect() {
        this.set(self.#registrations());
      },
    });
    new prom.Gauge({
      name: 'rpcbind_connections_open',
      help: 'Stream (TCP and local socket) connections open now',
      registers,
      collect() {
        this.set(self.#openConnections());
      },
    });
    this.#connections = new prom.Counter({
      name: 'rpcbind_connections_total',
      help: 'Stream connections accepted or refused, by transport',
      labelNames: ['transport', 'result'],
      registers,
    });
    this.#denials = new prom.Counter({
      name: 'rpcbind_denials_total',
      help: 'Calls refused by access rules, by reason and transport',
      labelNames: ['reason', 'transport'],
      registers,
    });
    this.#rateLimited = new prom.Counter({
      name: 'rpcbind_rate_limited_calls_total',
      help: 'Calls dropped or refused by rate limits, by reason and transport',
      labelNames: ['reason', 'transport'],
      registers,
    });
    this.#forwarded = new prom.Counter({
      name: 'rpcbind_forwarded_calls_total',
      help: 'Remote calls (CALLIT/BCAST/INDIRECT) forwarded, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.#forwardInUse = new prom.Gauge({
      name: 'rpcbind_forward_table_entries',
      help: 'Forwarded calls awaiting their reply',
      registers,
    });
    this.#forwardCapacity = new prom.Gauge({
      name: 'rpcbind_forward_table_capacity',
      help: 'Forwarded calls that may await replies at once',
      registers,
    });
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
    this.#reloads = new prom.Counter({
      name: 'rpcbind_config_reloads_total',
      help: 'SIGHUP configuration reloads, by result',
      labelNames: ['result'],
      registers,
    });
  }

  /** Adds the process/Node.js series (rpcbind_process_*, rpcbind_nodejs_*); once. */
  enableDefaultMetrics(): void {
    if (this.#defaultsOn) return;
    this.#defaultsOn = true;
    this.#prom.collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** Where the gauges read their values at scrape time. */
  setSources(s: { registrations?: () => number; openConnections?: () => number }): void {
    if (s.registrations) this.#registrations = s.registrations;
    if (s.openConnections) this.#openConnections = s.openConnections;
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

  /** A stream connection was accepted (true) or refused at a limit (false). */
  recordConnection(transport: string, accepted: boolean): void {
    this.#connections.labels(transport, accepted ? 'accepted' : 'refused').inc();
  }

  /** A call refused by an access rule; `reason` is a short stable word ("acl", "not-local"). */
  recordDenial(reason: string, transport: string): void {
    this.#denials.labels(reason, transport).inc();
  }

  /** A call dropped or refused by a rate limit; `reason` names the limit ("per-source", "global"). */
  recordRateLimited(reason: string, transport: string): void {
    this.#rateLimited.labels(reason, transport).inc();
  }

  /** A forwarded remote call finished: "replied", "timeout", "table-full", "error". */
  recordForward(outcome: string): void {
    this.#forwarded.labels(outcome).inc();
  }

  /** The forwarding table's current use and size. */
  setForwardTable(inUse: number, capacity: number): void {
    this.#forwardInUse.set(inUse);
    this.#forwardCapacity.set(capacity);
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
    return this.#getOrCreate(name, () => new this.#prom.Counter<L>({ name, help, labelNames, registers: [this.registry] }));
  }

  /** A gauge of your own, created on first use; the name must start with rpcbind_. */
  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.#getOrCreate(name, () => new this.#prom.Gauge<L>({ name, help, labelNames, registers: [this.registry] }));
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
  recordDenial: NOOP,
  recordRateLimited: NOOP,
  recordForward: NOOP,
  setForwardTable: NOOP,
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
