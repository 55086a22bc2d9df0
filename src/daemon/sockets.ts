// Which sockets the daemon serves (its own, or those systemd passed), and opening them: UDP
// per address beside a wildcard, TCP, the local socket path and its abstract twin.

import dgram from 'node:dgram';
import { chmodSync, unlinkSync } from 'node:fs';
import { loadLibc } from '../os/libc.js';
import type { DaemonOptions } from './daemon-options.js';
import { hasIpv4, hasIpv6, withLoopback } from './local-addresses.js';
import type { DaemonLog } from './observability/logger.js';
import type { Services } from './services.js';
import { describeInherited, type InheritedSocket } from './socket-activation.js';
import type { UdpService } from '../transport/udp-service.js';
import { DatagramBatch } from '../transport/datagram-batch.js';

const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;

/** The sockets to serve, decided once at start. */
export interface SocketPlan {
  readonly inherited: readonly InheritedSocket[];
  readonly inheritedUdp: readonly InheritedSocket[];
  readonly inheritedTcp: readonly InheritedSocket[];
  readonly inheritedLocal: readonly InheritedSocket[];
  /** An inherited UDP socket is a wildcard (0.0.0.0 or ::). */
  readonly wildcardUdp: boolean;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** We bind UDP sockets of our own (none inherited, or only a wildcard). */
  readonly ownUdp: boolean;
  /** Our per-address UDP sockets follow the host's addresses (no -h). */
  readonly followAddresses: boolean;
  /** Wildcards we bind beside the per-address sockets. */
  readonly ownWildcards: readonly string[];
  /** The port announced in our own registrations. */
  readonly port: number;
  /** The local socket's path in our own registrations (undefined: only an abstract one). */
  readonly localPath: string | undefined;
}

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
export function planSockets(o: DaemonOptions, inherited: readonly InheritedSocket[]): SocketPlan {
  const inheritedUdp = inherited.filter((s) => s.kind === 'udp' || s.kind === 'udp6');
  const inheritedTcp = inherited.filter((s) => s.kind === 'tcp' || s.kind === 'tcp6');
  const inheritedLocal = inherited.filter((s) => s.kind === 'local');
  const wildcardUdp = inheritedUdp.some((s) => s.address === '0.0.0.0' || s.address === '::');
  const ipv4 = inherited.length > 0 ? hasIpv4() && (inheritedTcp.length === 0 || inheritedTcp.some(v4able)) : hasIpv4();
  const ipv6 =
    inherited.length > 0
      ? hasIpv6() && (inheritedTcp.length === 0 || inheritedTcp.some((s) => s.kind === 'tcp6'))
      : hasIpv6();
  const ownUdp = inheritedUdp.length === 0 || wildcardUdp;
  const followAddresses = ownUdp && !o.hosts;
  const ownWildcards = followAddresses && !wildcardUdp ? [...(ipv4 ? ['0.0.0.0'] : []), ...(ipv6 ? ['::'] : [])] : [];
  const port = inherited.find((s) => s.kind !== 'local')?.port ?? o.port;
  const inheritedPath = inheritedLocal.find((s) => !s.address.startsWith('@'));
  const localPath: string | undefined = inheritedPath
    ? inheritedPath.address
    : inheritedLocal.length === 0
      ? o.socketPath
      : undefined;
  return {
    inherited,
    inheritedUdp,
    inheritedTcp,
    inheritedLocal,
    wildcardUdp,
    ipv4,
    ipv6,
    ownUdp,
    followAddresses,
    ownWildcards,
    port,
    localPath,
  };
}

function v4able(s: InheritedSocket): boolean {
  return s.kind === 'tcp' || s.dualStack;
}

/** Adopts the inherited sockets and binds our own: UDP (and the forwarding socket), TCP, local. */
export async function openSockets(o: DaemonOptions, plan: SocketPlan, s: Services, log: DaemonLog): Promise<void> {
  for (const i of plan.inherited) log.info(`using inherited socket ${describeInherited(i)}`);
  for (const i of plan.inheritedUdp) {
    if (plan.wildcardUdp && !allowReuse(i.fd)) {
      log.warn(
        `udp: cannot set SO_REUSEADDR on the inherited ${describeInherited(i)}; UDP replies may leave from another address than the one called`,
      );
    }
    await adoptUdp(s.udp, i);
  }
  await s.udp.start();
  if (plan.followAddresses) s.addresses.onChange(() => s.udp.refresh());
  s.addresses.start();
  // recvmmsg/sendmmsg through koffi where available (falls back to Node's dgram otherwise).
  s.udp.enableBatching(DatagramBatch.create(s.securityCounters));
  if (s.forwarding) {
    await s.forwarding.start(plan.ipv4, plan.ipv6);
    const p = s.forwarding.ports;
    log.info(`remote calls are forwarded (from udp port ${p.udp ?? '-'}, udp6 port ${p.udp6 ?? '-'})`);
  }
  for (const i of plan.inheritedTcp) await s.streams.adoptFd(i.fd, i.kind === 'tcp' ? 'tcp' : 'tcp6');
  if (plan.inheritedTcp.length === 0) {
    const tcpHosts = o.hosts
      ? withLoopback(o.hosts)
      : [...(plan.ipv4 ? ['0.0.0.0'] : []), ...(plan.ipv6 ? ['::'] : [])];
    for (const h of tcpHosts) await s.streams.listenTcp(h, o.port);
  }
  for (const i of plan.inheritedLocal) await s.streams.adoptFd(i.fd, 'local');
  if (plan.inheritedLocal.length === 0) {
    // We hold the lock, so a socket file left behind is stale (a killed daemon's).
    removeStale(o.socketPath);
    await s.streams.listenUnix(o.socketPath);
    chmodSync(o.socketPath, 0o666);
  }
  if (o.abstractSocket && !plan.inheritedLocal.some((i) => i.address === `@${o.socketPath}`)) {
    await s.streams.listenUnix(`\0${o.socketPath}`);
  }
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
    const onError = (e: Error): void =>
      reject(new Error(`cannot use inherited socket ${describeInherited(s)}: ${e.message}`));
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
