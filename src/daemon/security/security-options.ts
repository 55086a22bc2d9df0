// The daemon's hardening settings (access lists per operation class, hosts.allow/deny, rate
// limits, connection limits, registration quota), as the daemon gets them; their flags,
// defaults and validation are the command line's (src/cli/rpcbind-security-options.ts).

import type { OperationClass } from '../../rpcbind/index.js';

export interface SecurityOptions {
  allow: Record<OperationClass, string[]>;
  deny: Record<OperationClass, string[]>;
  /** hosts.allow / hosts.deny paths; undefined when --no-hosts-access. */
  hostsAllow: string | undefined;
  hostsDeny: string | undefined;
  ratePerSecond: number;
  rateBurst: number;
  globalRatePerSecond: number;
  /** Rate-limit loopback and local-socket callers too. */
  rateLimitLocal: boolean;
  maxConnections: number;
  maxConnectionsPerSource: number;
  idleTimeoutMs: number;
  recordTimeoutMs: number;
  maxRegistrationsPerOwner: number;
  /** Sources shed in the kernel at once (0: never shed). */
  shedSources: number;
  /** How long a first shedding lasts (doubles per repeat offence). */
  shedSeconds: number;
  /** Receive buffer of every UDP socket in bytes (0: the kernel's default). */
  udpReceiveBufferBytes: number;
}
