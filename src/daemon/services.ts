// The daemon's running parts around the binding core: the flood guard, the UDP and stream
// services, the forwarder for remote calls, and the metrics' view of them; closed together.

import type { Registry } from '../rpcbind/index.js';
import { ForwardingSocket } from '../transport/forwarding-socket.js';
import type { MessageHandler } from '../transport/handler.js';
import type { SecurityCounters } from '../transport/security-counters.js';
import { StreamService, type StreamLimits } from '../transport/stream-service.js';
import { UdpService } from '../transport/udp-service.js';
import type { AddressMonitor } from './address-monitor.js';
import type { DaemonOptions } from './daemon-options.js';
import { Forwarder } from './forwarder.js';
import type { DaemonLog } from './observability/logger.js';
import type { MetricsSink } from './observability/metrics.js';
import type { MetricsServer } from './observability/metrics-server.js';
import type { Persistence } from './persistence/persistence.js';
import { FloodGuard, floodExemptions } from './security/flood-guard.js';
import type { SecurityLog } from './security/security-log.js';
import { buildRateAdmit } from './security/security-setup.js';
import type { AccessPolicy } from '../rpcbind/index.js';
import { withLoopback } from './local-addresses.js';

export interface Services {
  readonly addresses: AddressMonitor;
  readonly guard: FloodGuard;
  readonly udp: UdpService;
  readonly streams: StreamService;
  readonly forwarding: ForwardingSocket | undefined;
  readonly forwarder: Forwarder | undefined;
  readonly securityCounters: SecurityCounters;
  /** Tells the flood guard a source went over its rate limit. */
  readonly overLimit: (source: string) => void;
  /** The Prometheus endpoint, once started (--metrics). */
  metricsServer: MetricsServer | undefined;
}

/** What the services are built from. */
export interface ServiceInputs {
  readonly o: DaemonOptions;
  readonly log: DaemonLog;
  readonly m: MetricsSink;
  readonly handler: MessageHandler;
  readonly registry: Registry;
  readonly securityCounters: SecurityCounters;
  readonly securityLog: SecurityLog;
  /** The access policy in force (replaced on reload). */
  readonly access: () => AccessPolicy | undefined;
}

export function streamLimits(s: DaemonOptions['security']): StreamLimits {
  return {
    maxConnections: s.maxConnections,
    maxConnectionsPerSource: s.maxConnectionsPerSource,
    idleMs: s.idleTimeoutMs,
    recordDeadlineMs: s.recordTimeoutMs,
  };
}

/** Builds the services (nothing listens yet: sockets.ts opens them). */
/** What the UDP service needs of the socket plan (sockets.ts), which opens sockets into these services. */
interface UdpSocketPlan {
  readonly ownUdp: boolean;
  readonly ownWildcards: readonly string[];
  readonly wildcardUdp: boolean;
}

export function buildServices(
  i: ServiceInputs,
  plan: UdpSocketPlan,
  addresses: AddressMonitor,
  persistence: Persistence,
): Services {
  const { o, log, handler, securityCounters, securityLog } = i;
  // Sources persistently over their limits are dropped in the kernel (flood-guard.ts).
  const guard = new FloodGuard({
    security: o.security,
    exempt: floodExemptions(i.access, (a) => addresses.isOwn(a)),
    log,
    counters: securityCounters,
  });
  const overLimit = (source: string): void => guard.overLimit(source);
  const udp = new UdpService({
    port: o.port,
    addresses: plan.ownUdp ? (o.hosts ? () => withLoopback(o.hosts ?? []) : () => addresses.addresses) : () => [],
    wildcards: plan.ownWildcards,
    facing: (peer) => addresses.facing(peer),
    isOwnAddress: (a) => addresses.isOwn(a),
    handler,
    log,
    tolerateUnavailable: !o.hosts || plan.wildcardUdp,
    reuseAddr: plan.wildcardUdp || plan.ownWildcards.length > 0,
    inheritedWildcard: plan.wildcardUdp,
    admit: buildRateAdmit(o.security, securityLog, 'udp', overLimit)?.admit,
    onSocket: (sock) => guard.addDatagramSocket(sock),
    counters: securityCounters,
  });
  const streamRate = buildRateAdmit(o.security, securityLog, 'stream', overLimit);
  const streams = new StreamService({
    handler,
    log,
    ...streamLimits(o.security),
    admit: streamRate?.admit,
    throttleMs: () => streamRate?.waitMs() ?? 10,
    counters: securityCounters,
    onConnection: (netid, ok) => i.m.recordConnection(netid, ok),
    onListening: (srv, netid) => netid !== 'local' && guard.addListener(srv),
    refuse: (source) => guard.isShed(source),
    onShareExceeded: (source) => guard.overLimit(source, 'connections'),
  });
  guard.onShed((source) => streams.closeFrom(source));
  i.m.setSources({
    registrations: () => i.registry.size,
    openConnections: () => streams.connectionCount,
    security: securityCounters,
    state: () => {
      const st = persistence.store;
      return { durable: st.durable, refusedChanges: st.refusedChanges, reserveBytes: st.reserveBytes };
    },
    shed: { sources: () => guard.shedCount, kernelDrops: () => Math.max(0, guard.kernelDrops()) },
  });
  const { forwarding, forwarder } = buildForwarder(i, addresses);
  return {
    addresses,
    guard,
    udp,
    streams,
    forwarding,
    forwarder,
    securityCounters,
    overLimit,
    metricsServer: undefined,
  };
}

/** With -r: the socket remote calls are forwarded through, and the table of calls in flight. */
function buildForwarder(i: ServiceInputs, addresses: AddressMonitor): Pick<Services, 'forwarding' | 'forwarder'> {
  const { o, log } = i;
  if (!o.remoteCalls) return { forwarding: undefined, forwarder: undefined };
  const forwarding = new ForwardingSocket(log);
  const forwarder = new Forwarder({
    socket: forwarding,
    maxInFlight: o.forwardMax,
    timeoutMs: o.forwardTimeoutMs,
    isOwnAddress: (a) => addresses.isOwn(a),
    log,
  });
  i.m.setSources({
    forwarding: () => ({ counters: forwarder.counters, inFlight: forwarder.inFlight, capacity: o.forwardMax }),
  });
  return { forwarding, forwarder };
}

/** Stops every service (persistence and the lock are the caller's). */
export async function closeServices(s: Services): Promise<void> {
  s.addresses.close();
  s.guard.close();
  s.forwarder?.close();
  s.forwarding?.close();
  s.udp.close();
  await Promise.all([s.streams.close(), s.metricsServer?.close()]);
}
