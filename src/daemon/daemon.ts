// Assembles a running daemon: lock, registry with the portmapper's own entries, dispatcher,
// and the UDP, TCP and local-socket transports (bound here, or inherited from systemd), plus
// the call log and metrics. Returns a handle that reloads settings and shuts it all down.

import { Dispatcher } from '../rpc/index.js';
import {
  ForwardRules,
  Registry,
  RpcbStats,
  createRpcbindProgram,
  selfRegistrations,
  type BindingState,
} from '../rpcbind/index.js';
import type { CallerContext } from '../rpc/index.js';
import type { MessageHandler } from '../transport/handler.js';
import { newSecurityCounters, type SecurityCounters } from '../transport/security-counters.js';
import { buildAccessPolicy, buildRateAdmit } from './security/security-setup.js';
import { SecurityLog } from './security/security-log.js';
import { CallLog } from './observability/call-log.js';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.js';
import { AddressMonitor } from './address-monitor.js';
import type { DaemonLog } from './observability/logger.js';
import {
  enableMetrics,
  metrics as defaultMetrics,
  type DaemonMetrics,
  type MetricsSink,
} from './observability/metrics.js';
import type { DaemonOptions } from './daemon-options.js';
import { setUpPersistence, type Persistence } from './persistence/persistence.js';
import { planReload } from './reload.js';
import { buildServices, closeServices, streamLimits, type Services } from './services.js';
import type { InheritedSocket } from './socket-activation.js';
import { openSockets, planSockets, type SocketPlan } from './sockets.js';

/** Runs on SIGHUP with the new and the old options; throw to report the new ones unusable. */
type ReloadHook = (next: DaemonOptions, prev: DaemonOptions) => void;

export interface RunningDaemon {
  readonly state: BindingState;
  /** The options in force (replaced by reload). */
  readonly options: DaemonOptions;
  /** One line for systemd's STATUS=: "serving", or what is wrong. */
  readonly status: string;
  /** Counters of the defences (denials, rate-limit drops, reaped connections...), live. */
  readonly securityCounters: SecurityCounters;
  /**
   * Swaps the access policy and rate limits for those of `o` (re-reading hosts.allow/deny)
   * without touching registrations or open connections. Returns warnings to log. reload()
   * calls it.
   */
  applyPolicy(o: DaemonOptions): string[];
  /**
   * Applies every changed option that can change at run time (reload.ts says which) and logs
   * them; returns the names of the changed options that wait for a restart.
   */
  reload(next: DaemonOptions): string[];
  /** For features with run-time settings (access lists, rate limits): called on every reload. */
  onReload(hook: ReloadHook): void;
  close(): Promise<void>;
}

export interface StartExtras {
  /** Sockets from the service manager (socket-activation.ts). */
  inherited?: readonly InheritedSocket[];
  metrics?: DaemonMetrics;
  /** Program names for the call log (/etc/rpc). */
  programNames?: ReadonlyMap<number, string>;
  /** Told when the daemon's one-line status changes (systemd's STATUS=). */
  onStatus?: (status: string) => void;
}

/** Address re-reads where netlink cannot announce changes. */
const ADDRESS_POLL_MS = 2000;

/** What the steps of startDaemon share: the options, the log, the table and its dispatcher. */
interface Core {
  readonly o: DaemonOptions;
  readonly log: DaemonLog;
  readonly extras: StartExtras;
  /** The metrics registry when it is served (--metrics). */
  readonly served: DaemonMetrics | undefined;
  readonly m: MetricsSink;
  readonly lock: InstanceLock;
  readonly registry: Registry;
  readonly securityCounters: SecurityCounters;
  readonly securityLog: SecurityLog;
  readonly state: BindingState;
  readonly handler: MessageHandler;
  /** The call log (-l), replaced on reload. */
  callLog: CallLog | undefined;
  /** systemd's STATUS= line. */
  status: string;
}

export async function startDaemon(o: DaemonOptions, log: DaemonLog, extras: StartExtras = {}): Promise<RunningDaemon> {
  const core = buildCore(o, log, extras);
  const plan = planSockets(o, extras.inherited ?? []);
  const addresses = new AddressMonitor({ log, pollMs: ADDRESS_POLL_MS });
  const persistence = openState(core, plan);
  const services = buildServices({ ...core, access: () => core.state.policy.access }, plan, addresses, persistence);
  if (services.forwarder) {
    const forwarder = services.forwarder;
    core.state.remoteCall = (req) => forwarder.forward(req);
  }
  const close = async (): Promise<void> => {
    await closeServices(services);
    await persistence.close();
    core.lock.release();
  };
  try {
    await openSockets(o, plan, services, log);
    if (o.metrics && core.served) {
      // Loaded only when asked for: node:http alone takes milliseconds to load at start-up.
      const { startMetricsServer } = await import('./observability/metrics-server.js');
      services.metricsServer = await startMetricsServer(o.metrics, core.served, log);
    }
  } catch (e) {
    await close();
    throw e;
  }
  persistence.startChecks();
  log.info(
    `serving program 100000 versions 2-4 on udp/tcp port ${plan.port}${plan.ipv6 ? ' (IPv4 and IPv6)' : ''} and ${plan.localPath ?? 'no local socket'}`,
  );
  return runningDaemon(core, services, persistence, close);
}

/** The lock, the table with its policy and security log, the dispatcher, metrics and call log. */
function buildCore(o: DaemonOptions, log: DaemonLog, extras: StartExtras): Core {
  // Series are kept only when they are served (--metrics); otherwise recording is a no-op.
  const served: DaemonMetrics | undefined = extras.metrics ?? (o.metrics ? enableMetrics() : undefined);
  const m: MetricsSink = served ?? defaultMetrics;
  const lock: InstanceLock = acquireInstanceLock(o.lockFile);
  if (!lock.enforced) {
    log.event(
      'lock-not-enforced',
      {
        lockFile: o.lockFile,
        reason: 'flock(2) unavailable: koffi did not load; a second rpcbind would not be refused',
      },
      'warn',
    );
  }
  const registry = new Registry(undefined, o.security.maxRegistrationsPerOwner);
  const securityCounters = newSecurityCounters();
  const securityLog = new SecurityLog(log, securityCounters);
  const initial = buildAccessPolicy(o.security);
  for (const w of initial.warnings) log.warn(w);
  const state: BindingState = {
    registry,
    stats: new RpcbStats(),
    policy: {
      insecure: o.insecure,
      forwardRules: new ForwardRules(o.forwardDeny, o.forwardAllow),
      access: initial.policy,
    },
    security: securityLog,
    now: () => Math.floor(Date.now() / 1000),
  };
  const dispatcher = new Dispatcher<CallerContext>({
    dropped: (reason) => log.debug(`dropped a message: ${reason}`),
    systemError: (err, call) =>
      log.error(
        `internal error in prog ${call.prog} vers ${call.vers} proc ${call.proc}: ${(err as Error).stack ?? String(err)}`,
      ),
    completed: (c) => {
      m.recordCall(c);
      core.callLog?.record(c);
    },
  });
  dispatcher.addProgram(createRpcbindProgram(state));
  const handler: MessageHandler = (msg, ctx, max) => dispatcher.dispatch(msg, ctx, max);
  const core: Core = {
    o,
    log,
    extras,
    served,
    m,
    lock,
    registry,
    securityCounters,
    securityLog,
    state,
    handler,
    callLog: callLogFor(o, o.logCalls, log, extras),
    status: 'serving',
  };
  return core;
}

function callLogFor(o: DaemonOptions, on: boolean, log: DaemonLog, extras: StartExtras): CallLog | undefined {
  return on
    ? new CallLog({ log, structured: o.logFormat === 'json', programNames: extras.programNames ?? new Map() })
    : undefined;
}

/** Our own registrations, then the saved ones: the table is complete before the first call. */
function openState(core: Core, plan: SocketPlan): Persistence {
  const { o, registry, log, m } = core;
  const self = selfRegistrations({ port: plan.port, socketPath: plan.localPath, ipv4: plan.ipv4, ipv6: plan.ipv6 });
  for (const r of self) registry.restore(r);
  const persistence = setUpPersistence({
    stateDir: o.stateDir,
    reapIntervalS: o.reapIntervalS,
    registry,
    self,
    log,
    policy: o.stateFailure,
    onWrite: (seconds, ok) => m.recordStateWrite(seconds, ok),
    onHealth: (durable, reason) => {
      const changes = persistence.store.policy === 'refuse' ? 'changes refused' : 'changes kept in memory only';
      core.status = durable ? 'serving' : `serving; REGISTRATIONS NOT SAVED (${changes}): ${reason}`;
      core.extras.onStatus?.(core.status);
    },
  });
  core.state.journal = persistence.journal;
  return persistence;
}

/** The handle: its options, status, policy swap and SIGHUP reload, and close. */
function runningDaemon(
  core: Core,
  services: Services,
  persistence: Persistence,
  close: () => Promise<void>,
): RunningDaemon {
  const { log, state, registry, securityLog } = core;
  const { udp, streams, guard, overLimit } = services;
  let current = core.o;
  const hooks: ReloadHook[] = [];
  const applyPolicy = (next: DaemonOptions): string[] => {
    const built = buildAccessPolicy(next.security);
    state.policy.insecure = next.insecure;
    state.policy.access = built.policy;
    udp.setAdmit(buildRateAdmit(next.security, securityLog, 'udp', overLimit)?.admit);
    const streamRate = buildRateAdmit(next.security, securityLog, 'stream', overLimit);
    // The throttle's wait follows the new rate too, not the one the daemon started with.
    streams.setAdmit(streamRate?.admit, () => streamRate?.waitMs() ?? 10);
    guard.reconfigure(next.security);
    return built.warnings;
  };
  return {
    state,
    securityCounters: core.securityCounters,
    applyPolicy,
    get options() {
      return current;
    },
    get status() {
      return core.status;
    },
    reload(next: DaemonOptions): string[] {
      const prev = current;
      for (const hook of hooks) hook(next, prev);
      const plan = planReload(prev, next);
      // The policy is rebuilt on every reload: hosts.allow/deny may have changed on their own.
      for (const w of applyPolicy(next)) log.warn(w);
      if (plan.effects.has('log')) log.setDebug(next.debug);
      if (plan.effects.has('call-log')) core.callLog = callLogFor(core.o, next.logCalls, log, core.extras);
      if (plan.effects.has('streams')) streams.setLimits(streamLimits(next.security));
      if (plan.effects.has('quota')) registry.setMaxPerOwner(next.security.maxRegistrationsPerOwner);
      if (plan.applied.length > 0) log.info(`changed settings applied: ${plan.applied.join(', ')}`);
      if (plan.effects.has('state')) persistence.store.policy = next.stateFailure;
      current = next;
      return plan.restart;
    },
    onReload(hook: ReloadHook): void {
      hooks.push(hook);
    },
    close,
  };
}
