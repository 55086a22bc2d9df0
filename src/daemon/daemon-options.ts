// What the daemon is started with: the options the command line and the configuration file
// give (their parsing is the command line's, src/cli/rpcbind-options.ts).

import type { ForwardRule } from '../rpcbind/index.js';
import type { SecurityOptions } from './security/security-options.js';

export type LogFormat = 'text' | 'json';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DaemonOptions {
  foreground: boolean;
  debug: boolean;
  hosts: string[] | undefined;
  insecure: boolean;
  logCalls: boolean;
  dropPrivileges: boolean;
  user: string;
  warmStart: boolean;
  remoteCalls: boolean;
  /** Remote calls in flight at once (--forward-max). */
  forwardMax: number;
  /** Wait for a forwarded call's reply (--forward-timeout). */
  forwardTimeoutMs: number;
  /** Added to / taken from the reference's forwarding deny list (--forward-deny, --forward-allow). */
  forwardDeny: ForwardRule[];
  forwardAllow: ForwardRule[];
  port: number;
  socketPath: string;
  abstractSocket: boolean;
  lockFile: string;
  stateDir: string;
  /** What SET/UNSET get while the state cannot be saved: refused (FALSE), or accepted in memory. */
  stateFailure: 'refuse' | 'accept';
  reapIntervalS: number;
  /** Access control, rate and connection limits (security/security-options.ts). */
  security: SecurityOptions;
  /** The configuration file read (undefined: none). */
  configFile: string | undefined;
  logFormat: LogFormat;
  /** Where to serve Prometheus metrics (undefined: nowhere). */
  metrics: ListenAddress | undefined;
}
