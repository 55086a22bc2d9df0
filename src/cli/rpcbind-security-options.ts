// The command line's hardening options (access lists per operation class, hosts.allow/deny, rate
// limits, connection limits, registration quota): their flags, defaults and validation. Each
// long option also works as a `key = value` line of the config file.

import {
  CONNECTION_IDLE_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_SOURCE,
  MAX_REGISTRATIONS_PER_OWNER,
  RATE_GLOBAL_CALLS_PER_SECOND,
  RATE_PER_SOURCE_BURST_CALLS,
  RATE_PER_SOURCE_CALLS_PER_SECOND,
  RECORD_DEADLINE_MS,
  SHED_FIRST_SECONDS,
  SHED_MAX_SECONDS,
  SHED_MAX_SOURCES,
  UDP_RECEIVE_BUFFER_BYTES,
  MAX_UDP_RECEIVE_BUFFER_BYTES,
} from '../limits.js';
import { OPERATION_CLASSES, type OperationClass } from '../rpcbind/index.js';
import { parseNet } from '../net/index.js';
import type { SecurityOptions } from '../daemon/security/security-options.js';

type Spec = { type: 'string'; multiple?: boolean } | { type: 'boolean' };

export const SECURITY_ARG_SPEC: Record<string, Spec> = {
  ...Object.fromEntries(
    OPERATION_CLASSES.flatMap((c) => [
      [`allow-${c}`, { type: 'string', multiple: true }],
      [`deny-${c}`, { type: 'string', multiple: true }],
    ]),
  ),
  'hosts-allow': { type: 'string' },
  'hosts-deny': { type: 'string' },
  'no-hosts-access': { type: 'boolean' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'global-rate-limit': { type: 'string' },
  'rate-limit-local': { type: 'boolean' },
  'max-connections': { type: 'string' },
  'max-connections-per-source': { type: 'string' },
  'idle-timeout-ms': { type: 'string' },
  'record-timeout-ms': { type: 'string' },
  'max-registrations-per-owner': { type: 'string' },
  'shed-sources': { type: 'string' },
  'shed-seconds': { type: 'string' },
  'udp-receive-buffer': { type: 'string' },
};

export const SECURITY_USAGE = `
  access (LIST: addresses, CIDRs, a.b.c.d/m.m.m.m, "all"; comma-separated, repeatable;
  classes: query = NULL GETPORT GETADDR GETVERSADDR GETADDRLIST GETTIME conversions,
  dump = DUMP GETSTAT, register = SET UNSET, callit = CALLIT BCAST INDIRECT):
  --allow-CLASS LIST     always allow these callers (also exempts them from the UDP
                         reply-size cap for that class)
  --deny-CLASS LIST      deny these callers unless allowed (AUTH_TOOWEAK reply)
  --hosts-allow PATH     libwrap rules for daemon rpcbind (default /etc/hosts.allow)
  --hosts-deny PATH      (default /etc/hosts.deny)   --no-hosts-access  ignore both
  --rate-limit N         calls per second per source (default ${RATE_PER_SOURCE_CALLS_PER_SECOND}; 0 = off)
  --rate-burst N         burst per source (default ${RATE_PER_SOURCE_BURST_CALLS})
  --global-rate-limit N  calls per second from all sources (default ${RATE_GLOBAL_CALLS_PER_SECOND}; 0 = off)
  --rate-limit-local     rate-limit loopback and local-socket callers too
  --max-connections N    TCP + local-socket connections (default ${MAX_CONNECTIONS})
  --max-connections-per-source N  TCP connections from one address, loopback exempt
                         (default ${MAX_CONNECTIONS_PER_SOURCE}; more are closed at once)
  --idle-timeout-ms N    close idle connections (default ${CONNECTION_IDLE_MS})
  --record-timeout-ms N  a record must arrive within N ms of its first byte (default ${RECORD_DEADLINE_MS})
  --max-registrations-per-owner N  (default ${MAX_REGISTRATIONS_PER_OWNER})
  --shed-sources N       sources dropped in the kernel (BPF filter) after staying over
                         their rate limit (default ${SHED_MAX_SOURCES}, at most ${SHED_MAX_SOURCES}; 0 = never)
  --shed-seconds N       how long a first shedding lasts; doubles per repeat offence, up
                         to ${SHED_MAX_SECONDS} (default ${SHED_FIRST_SECONDS})
  --udp-receive-buffer BYTES  receive buffer of each UDP socket (default ${UDP_RECEIVE_BUFFER_BYTES};
                         0 = kernel default; past net.core.rmem_max needs CAP_NET_ADMIN)`;

export type SecurityValues = Record<string, string | boolean | string[] | undefined>;

function count(values: SecurityValues, key: string, dflt: number, min: number, max = 2 ** 31 - 1): number {
  const v = values[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    throw new SecurityOptionError(`bad --${key}: ${String(v)}`);
  }
  return n;
}

export class SecurityOptionError extends Error {}

function list(values: SecurityValues, key: string): string[] {
  const v = values[key];
  const raw = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  const out = raw.flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== '');
  for (const p of out)
    if (parseNet(p) === undefined) throw new SecurityOptionError(`bad address pattern in --${key}: ${p}`);
  return out;
}

export function securityOptionsFrom(values: SecurityValues): SecurityOptions {
  const perClass = (kind: 'allow' | 'deny'): Record<OperationClass, string[]> =>
    Object.fromEntries(OPERATION_CLASSES.map((c) => [c, list(values, `${kind}-${c}`)])) as Record<
      OperationClass,
      string[]
    >;
  const noHosts = values['no-hosts-access'] === true;
  return {
    allow: perClass('allow'),
    deny: perClass('deny'),
    hostsAllow: noHosts
      ? undefined
      : typeof values['hosts-allow'] === 'string'
        ? values['hosts-allow']
        : '/etc/hosts.allow',
    hostsDeny: noHosts
      ? undefined
      : typeof values['hosts-deny'] === 'string'
        ? values['hosts-deny']
        : '/etc/hosts.deny',
    ratePerSecond: count(values, 'rate-limit', RATE_PER_SOURCE_CALLS_PER_SECOND, 0),
    rateBurst: count(values, 'rate-burst', RATE_PER_SOURCE_BURST_CALLS, 1),
    globalRatePerSecond: count(values, 'global-rate-limit', RATE_GLOBAL_CALLS_PER_SECOND, 0),
    rateLimitLocal: values['rate-limit-local'] === true,
    maxConnections: count(values, 'max-connections', MAX_CONNECTIONS, 1),
    maxConnectionsPerSource: count(values, 'max-connections-per-source', MAX_CONNECTIONS_PER_SOURCE, 1),
    idleTimeoutMs: count(values, 'idle-timeout-ms', CONNECTION_IDLE_MS, 100),
    recordTimeoutMs: count(values, 'record-timeout-ms', RECORD_DEADLINE_MS, 100),
    maxRegistrationsPerOwner: count(values, 'max-registrations-per-owner', MAX_REGISTRATIONS_PER_OWNER, 1),
    shedSources: count(values, 'shed-sources', SHED_MAX_SOURCES, 0, SHED_MAX_SOURCES),
    shedSeconds: count(values, 'shed-seconds', SHED_FIRST_SECONDS, 1, SHED_MAX_SECONDS),
    udpReceiveBufferBytes: count(
      values,
      'udp-receive-buffer',
      UDP_RECEIVE_BUFFER_BYTES,
      0,
      MAX_UDP_RECEIVE_BUFFER_BYTES,
    ),
  };
}
