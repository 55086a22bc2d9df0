// Assembles a running daemon: lock, registry with the portmapper's own entries, dispatcher,
// and the UDP, TCP and local-socket transports. Returns a handle that shuts it all down.

import { chmodSync, unlinkSync } from 'node:fs';
import { Dispatcher } from '../rpc/index.js';
import {
  ForwardRules,
  Registry,
  RpcbStats,
  createRpcbindProgram,
  selfRegistrations,
  type BindingState,
  type CallerContext,
} from '../rpcbind/index.js';
import type { TransportLog } from '../transport/handler.js';
import { newSecurityCounters, type SecurityCounters } from '../transport/security-counters.js';
import { buildAccessPolicy, buildRateAdmit } from './security-setup.js';
import { SecurityLog } from './security-log.js';
import { StreamService } from '../transport/stream-service.js';
import { UdpService } from '../transport/udp-service.js';
import { ForwardingSocket } from '../transport/forwarding-socket.js';
import { Forwarder } from './forwarder.js';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.js';
import { hasIpv4, hasIpv6, hostAddresses, withLoopback } from './local-addresses.js';
import type { DaemonOptions } from './options.js';
import { setUpPersistence } from './persistence.js';

export interface RunningDaemon {
  readonly state: BindingState;
  /** Counters of the defences (denials, rate-limit drops, reaped connections...), live. */
  readonly securityCounters: SecurityCounters;
  /**
   * Swaps the access policy and rate limits for those of `o` (re-reading hosts.allow/deny)
   * without touching registrations or open connections. Returns warnings to log.
   */
  applyPolicy(o: DaemonOptions): string[];
  close(): Promise<void>;
}

const ADDRESS_POLL_MS = 2000;

export async function startDaemon(o: DaemonOptions, log: TransportLog): Promise<RunningDaemon> {
  const lock: InstanceLock = acquireInstanceLock(o.lockFile);
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
  const dispatcher = new Dispatcher<CallerContext>({
    dropped: (reason) => log.debug(`dropped a message: ${reason}`),
    systemError: (err, call) =>
      log.error(`internal error in prog ${call.prog} vers ${call.vers} proc ${call.proc}: ${(err as Error).stack ?? String(err)}`),
  });
  dispatcher.addProgram(createRpcbindProgram(state));
  const handler = (msg: Buffer, ctx: CallerContext, max: number) => dispatcher.dispatch(msg, ctx, max);

  const ipv4 = hasIpv4();
  const ipv6 = hasIpv6();
  // The table is complete (own entries first, then the saved ones) before the first call.
  const self = selfRegistrations({ port: o.port, socketPath: o.socketPath, ipv4, ipv6 });
  for (const r of self) registry.restore(r);
  const persistence = setUpPersistence({ stateDir: o.stateDir, reapIntervalS: o.reapIntervalS, registry, self, log });
  state.persist = persistence.persist;
  const udp = new UdpService({
    port: o.port,
    addresses: o.hosts ? () => withLoopback(o.hosts ?? []) : hostAddresses,
    handler,
    log,
    pollMs: o.hosts ? 0 : ADDRESS_POLL_MS,
    tolerateUnavailable: !o.hosts,
    admit: buildRateAdmit(o.security, securityLog, 'udp')?.admit,
    counters: securityCounters,
  });
  const streamRate = buildRateAdmit(o.security, securityLog, 'stream');
  const streams = new StreamService({
    handler,
    log,
    maxConnections: o.security.maxConnections,
    idleMs: o.security.idleTimeoutMs,
    recordDeadlineMs: o.security.recordTimeoutMs,
    admit: streamRate?.admit,
    throttleMs: () => streamRate?.waitMs() ?? 10,
    counters: securityCounters,
  });
  const forwarding = o.remoteCalls ? new ForwardingSocket(log) : undefined;
  const forwarder = forwarding
    ? new Forwarder({
        socket: forwarding,
        maxInFlight: o.forwardMax,
        timeoutMs: o.forwardTimeoutMs,
        localAddresses: hostAddresses,
        log,
      })
    : undefined;
  if (forwarder) state.remoteCall = (req) => forwarder.forward(req);
  const cleanup = async (): Promise<void> => {
    forwarder?.close();
    forwarding?.close();
    udp.close();
    await streams.close();
    await persistence.close();
    lock.release();
  };
  try {
    await udp.start();
    if (forwarding) {
      await forwarding.start(ipv4, ipv6);
      const p = forwarding.ports;
      log.info(`remote calls are forwarded (from udp port ${p.udp ?? '-'}, udp6 port ${p.udp6 ?? '-'})`);
    }
    const tcpHosts = o.hosts ? withLoopback(o.hosts) : [...(ipv4 ? ['0.0.0.0'] : []), ...(ipv6 ? ['::'] : [])];
    for (const h of tcpHosts) await streams.listenTcp(h, o.port);
    // We hold the lock, so a socket file left behind is stale (a killed daemon's).
    removeStale(o.socketPath);
    await streams.listenUnix(o.socketPath);
    chmodSync(o.socketPath, 0o666);
    if (o.abstractSocket) await streams.listenUnix('\0' + o.socketPath);
  } catch (e) {
    await cleanup();
    throw e;
  }
  persistence.startChecks();
  log.info(
    `serving program 100000 versions 2-4 on udp/tcp port ${o.port}${ipv6 ? ' (IPv4 and IPv6)' : ''} and ${o.socketPath}`,
  );
  return {
    state,
    securityCounters,
    applyPolicy(next: DaemonOptions): string[] {
      const built = buildAccessPolicy(next.security);
      state.policy.insecure = next.insecure;
      state.policy.access = built.policy;
      udp.setAdmit(buildRateAdmit(next.security, securityLog, 'udp')?.admit);
      streams.setAdmit(buildRateAdmit(next.security, securityLog, 'stream')?.admit);
      return built.warnings;
    },
    close: cleanup,
  };
}

function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
