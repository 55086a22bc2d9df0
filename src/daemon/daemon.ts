// Assembles a running daemon: lock, registry with the portmapper's own entries, dispatcher,
// and the UDP, TCP and local-socket transports (bound here, or inherited from systemd), plus
// the call log and metrics. Returns a handle that reloads settings and shuts it all down.

import dgram from 'node:dgram';
import { chmodSync, unlinkSync } from 'node:fs';
import { Dispatcher } from '../rpc/index.js';
import { ForwardRules, Registry, RpcbStats, createRpcbindProgram, selfRegistrations, type BindingState } from '../rpcbind/index.js';
import { type CallerContext } from '../rpc/index.js';
import { newSecurityCounters, type SecurityCounters } from '../transport/security-counters.js';
import { buildAccessPolicy, buildRateAdmit } from './security/security-setup.js';
import { SecurityLog } from './security/security-log.js';
import { StreamService, type StreamLimits } from '../transport/stream-service.js';
import { UdpService } from '../transport/udp-service.js';
import { DatagramBatch } from '../transport/datagram-batch.js';
import { ForwardingSocket } from '../transport/forwarding-socket.js';
import { Forwarder } from './forwarder.js';
import { FloodGuard, floodExemptions } from './security/flood-guard.js';
import { CallLog } from './observability/call-log.js';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.js';
import { AddressMonitor } from './address-monitor.js';
import { loadLibc } from '../os/libc.js';
import { hasIpv4, hasIpv6, withLoopback } from './local-addresses.js';
import type { DaemonLog } from './observability/logger.js';
import { enableMetrics, metrics as defaultMetrics, type DaemonMetrics, type MetricsSink } from './observability/metrics.js';
import type { MetricsServer } from './observability/metrics-server.js';
import type { DaemonOptions } from './daemon-options.js';
import { setUpPersistence } from './persistence/persistence.js';
import { planReload } from './reload.js';
import { describeInherited, type InheritedSocket } from './socket-activation.js';

/** Runs on SIGHUP with the new and the old options; throw to report the new ones unusable. */
export type ReloadHook = (next: DaemonOptions, prev: DaemonOptions) => void;

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
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;

export async function startDaemon(o: DaemonOptions, log: DaemonLog, extras: StartExtras = {}): Promise<RunningDaemon> {
  const inherited = extras.inherited ?? [];
  // Series are kept only when they are served (--metrics); otherwise recording is a no-op.
  const served: DaemonMetrics | undefined = extras.metrics ?? (o.metrics ? enableMetrics() : undefined);
  const m: MetricsSink = served ?? defaultMetrics;
  const lock: InstanceLock = acquireInstanceLock(o.lockFile);
  if (!lock.enforced) {
    log.event(
      'lock-not-enforced',
      { lockFile: o.lockFile, reason: 'flock(2) unavailable: koffi did not load; a second rpcbind would not be refused' },
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
    policy: { insecure: o.insecure, forwardRules: new ForwardRules(o.forwardDeny, o.forwardAllow), access: initial.policy },
    security: securityLog,
    now: () => Math.floor(Date.now() / 1000),
  };
  const makeCallLog = (on: boolean): CallLog | undefined =>
    on ? new CallLog({ log, structured: o.logFormat === 'json', programNames: extras.programNames ?? new Map() }) : undefined;
  let callLog = makeCallLog(o.logCalls);
  const dispatcher = new Dispatcher<CallerContext>({
    dropped: (reason) => log.debug(`dropped a message: ${reason}`),
    systemError: (err, call) =>
      log.error(`internal error in prog ${call.prog} vers ${call.vers} proc ${call.proc}: ${(err as Error).stack ?? String(err)}`),
    completed: (c) => {
      m.recordCall(c);
      callLog?.record(c);
    },
  });
  dispatcher.addProgram(createRpcbindProgram(state));
  const handler = (msg: Buffer, ctx: CallerContext, max: number) => dispatcher.dispatch(msg, ctx, max);

  const inheritedUdp = inherited.filter((s) => s.kind === 'udp' || s.kind === 'udp6');
  const inheritedTcp = inherited.filter((s) => s.kind === 'tcp' || s.kind === 'tcp6');
  const inheritedLocal = inherited.filter((s) => s.kind === 'local');
  const wildcardUdp = inheritedUdp.some((s) => s.address === '0.0.0.0' || s.address === '::');
  const ipv4 = inherited.length > 0 ? hasIpv4() && (inheritedTcp.length === 0 || inheritedTcp.some(v4able)) : hasIpv4();
  const ipv6 = inherited.length > 0 ? hasIpv6() && (inheritedTcp.length === 0 || inheritedTcp.some((s) => s.kind === 'tcp6')) : hasIpv6();

  // UDP replies must leave from the address the request came to. A wildcard socket cannot
  // choose that (Node has no IP_PKTINFO), so we bind one socket per address, and beside them
  // a wildcard one (ours, or the one inherited), all with SO_REUSEADDR: the kernel hands each
  // unicast datagram to the socket bound to its destination, and broadcasts, which no such
  // socket matches, to the wildcard (replies to them leave from the address the kernel routes
  // by, on the interface facing the caller). Reading the destination of each datagram on one
  // wildcard socket instead (IP_PKTINFO through recvmsg) would mean reading every datagram
  // outside libuv, with no readiness signal to do it on. Inherited specific addresses are the
  // unit's choice: then we bind nothing more. With -h only the listed addresses are served
  // (no wildcard, so no broadcasts, as with rpcbind -h).
  const ownUdp = inheritedUdp.length === 0 || wildcardUdp;
  const followAddresses = ownUdp && !o.hosts;
  const ownWildcards = followAddresses && !wildcardUdp ? [...(ipv4 ? ['0.0.0.0'] : []), ...(ipv6 ? ['::'] : [])] : [];
  const addresses = new AddressMonitor({ log, pollMs: ADDRESS_POLL_MS });

  // The table is complete (own entries first, then the saved ones) before the first call.
  const port = inherited.find((s) => s.kind !== 'local')?.port ?? o.port;
  const inheritedPath = inheritedLocal.find((s) => !s.address.startsWith('@'));
  const localPath: string | undefined = inheritedPath
    ? inheritedPath.address
    : inheritedLocal.length === 0
      ? o.socketPath
      : undefined;
  const self = selfRegistrations({ port, socketPath: localPath, ipv4, ipv6 });
  for (const r of self) registry.restore(r);
  /** systemd's STATUS= line. */
  let status = 'serving';
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
      status = durable ? 'serving' : `serving; REGISTRATIONS NOT SAVED (${changes}): ${reason}`;
      extras.onStatus?.(status);
    },
  });
  state.journal = persistence.journal;

  // Sources persistently over their limits are dropped in the kernel (flood-guard.ts).
  const guard = new FloodGuard({ security: o.security, exempt: floodExemptions(() => state.policy.access, (a) => addresses.isOwn(a)), log, counters: securityCounters });
  const overLimit = (source: string): void => guard.overLimit(source);

  const udp = new UdpService({
    port: o.port,
    addresses: ownUdp ? (o.hosts ? () => withLoopback(o.hosts ?? []) : () => addresses.addresses) : () => [],
    wildcards: ownWildcards,
    facing: (peer) => addresses.facing(peer),
    isOwnAddress: (a) => addresses.isOwn(a),
    handler,
    log,
    tolerateUnavailable: !o.hosts || wildcardUdp,
    reuseAddr: wildcardUdp || ownWildcards.length > 0,
    inheritedWildcard: wildcardUdp,
    admit: buildRateAdmit(o.security, securityLog, 'udp', overLimit)?.admit,
    onSocket: (sock) => guard.addDatagramSocket(sock),
    counters: securityCounters,
  });
  const streamRate = buildRateAdmit(o.security, securityLog, 'stream', overLimit);
  const streamLimits = (s: DaemonOptions['security']): StreamLimits => ({
    maxConnections: s.maxConnections,
    maxConnectionsPerSource: s.maxConnectionsPerSource,
    idleMs: s.idleTimeoutMs,
    recordDeadlineMs: s.recordTimeoutMs,
  });
  const streams = new StreamService({
    handler,
    log,
    ...streamLimits(o.security),
    admit: streamRate?.admit,
    throttleMs: () => streamRate?.waitMs() ?? 10,
    counters: securityCounters,
    onConnection: (netid, ok) => m.recordConnection(netid, ok),
    onListening: (srv, netid) => netid !== 'local' && guard.addListener(srv),
    refuse: (source) => guard.isShed(source),
    onShareExceeded: (source) => guard.overLimit(source, 'connections'),
  });
  guard.onShed((source) => streams.closeFrom(source));
  m.setSources({
    registrations: () => registry.size,
    openConnections: () => streams.connectionCount,
    security: securityCounters,
    state: () => {
      const st = persistence.store;
      return { durable: st.durable, refusedChanges: st.refusedChanges, reserveBytes: st.reserveBytes };
    },
    shed: { sources: () => guard.shedCount, kernelDrops: () => Math.max(0, guard.kernelDrops()) },
  });
  const forwarding = o.remoteCalls ? new ForwardingSocket(log) : undefined;
  const forwarder = forwarding
    ? new Forwarder({
        socket: forwarding,
        maxInFlight: o.forwardMax,
        timeoutMs: o.forwardTimeoutMs,
        localAddresses: () => addresses.addresses,
        log,
      })
    : undefined;
  if (forwarder) {
    state.remoteCall = (req) => forwarder.forward(req);
    m.setSources({ forwarding: () => ({ counters: forwarder.counters, inFlight: forwarder.inFlight, capacity: o.forwardMax }) });
  }
  let metricsServer: MetricsServer | undefined;
  const cleanup = async (): Promise<void> => {
    addresses.close();
    guard.close();
    forwarder?.close();
    forwarding?.close();
    udp.close();
    await Promise.all([streams.close(), metricsServer?.close()]);
    await persistence.close();
    lock.release();
  };
  try {
    for (const s of inherited) log.info(`using inherited socket ${describeInherited(s)}`);
    for (const s of inheritedUdp) {
      if (wildcardUdp && !allowReuse(s.fd)) {
        log.warn(`udp: cannot set SO_REUSEADDR on the inherited ${describeInherited(s)}; UDP replies may leave from another address than the one called`);
      }
      await adoptUdp(udp, s);
    }
    await udp.start();
    if (followAddresses) addresses.onChange(() => udp.refresh());
    addresses.start();
    // recvmmsg/sendmmsg through koffi where available (falls back to Node's dgram otherwise).
    udp.enableBatching(DatagramBatch.create(securityCounters));
    if (forwarding) {
      await forwarding.start(ipv4, ipv6);
      const p = forwarding.ports;
      log.info(`remote calls are forwarded (from udp port ${p.udp ?? '-'}, udp6 port ${p.udp6 ?? '-'})`);
    }
    for (const s of inheritedTcp) await streams.adoptFd(s.fd, s.kind === 'tcp' ? 'tcp' : 'tcp6');
    if (inheritedTcp.length === 0) {
      const tcpHosts = o.hosts ? withLoopback(o.hosts) : [...(ipv4 ? ['0.0.0.0'] : []), ...(ipv6 ? ['::'] : [])];
      for (const h of tcpHosts) await streams.listenTcp(h, o.port);
    }
    for (const s of inheritedLocal) await streams.adoptFd(s.fd, 'local');
    if (inheritedLocal.length === 0) {
      // We hold the lock, so a socket file left behind is stale (a killed daemon's).
      removeStale(o.socketPath);
      await streams.listenUnix(o.socketPath);
      chmodSync(o.socketPath, 0o666);
    }
    if (o.abstractSocket && !inheritedLocal.some((s) => s.address === '@' + o.socketPath)) {
      await streams.listenUnix('\0' + o.socketPath);
    }
    if (o.metrics && served) {
      // Loaded only when asked for: node:http alone takes milliseconds to load at start-up.
      const { startMetricsServer } = await import('./observability/metrics-server.js');
      metricsServer = await startMetricsServer(o.metrics, served, log);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  persistence.startChecks();
  log.info(
    `serving program 100000 versions 2-4 on udp/tcp port ${port}${ipv6 ? ' (IPv4 and IPv6)' : ''} and ${localPath ?? 'no local socket'}`,
  );

  let current = o;
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
  const daemon: RunningDaemon = {
    state,
    securityCounters,
    applyPolicy,
    get options() {
      return current;
    },
    get status() {
      return status;
    },
    reload(next: DaemonOptions): string[] {
      const prev = current;
      for (const hook of hooks) hook(next, prev);
      const plan = planReload(prev, next);
      // The policy is rebuilt on every reload: hosts.allow/deny may have changed on their own.
      for (const w of applyPolicy(next)) log.warn(w);
      if (plan.effects.has('log')) log.setDebug(next.debug);
      if (plan.effects.has('call-log')) callLog = makeCallLog(next.logCalls);
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
    close: cleanup,
  };
  return daemon;
}

function v4able(s: InheritedSocket): boolean {
  return s.kind === 'tcp' || s.dualStack;
}

/**
 * SO_REUSEADDR on an inherited descriptor: our per-address sockets can bind beside an
 * inherited wildcard only if it allows that too, and a socket unit without ReuseAddress=yes
 * does not set it.
 */
function allowReuse(fd: number): boolean {
  return loadLibc()?.setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1) === 0;
}

function adoptUdp(udp: UdpService, s: InheritedSocket): Promise<void> {
  // The socket type must match the descriptor's family, or every send fails with EINVAL.
  const sock = dgram.createSocket({ type: s.kind === 'udp6' ? 'udp6' : 'udp4' });
  return new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`cannot use inherited socket ${describeInherited(s)}: ${e.message}`));
    sock.once('error', onError);
    sock.bind({ fd: s.fd }, () => {
      sock.off('error', onError);
      udp.adopt(sock, s.address);
      resolve();
    });
  });
}

function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
