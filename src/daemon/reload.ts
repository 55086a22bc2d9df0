// What a SIGHUP does with each option: one table with an entry for every field of DaemonOptions
// and SecurityOptions (the type checker refuses a table that misses one), saying whether a
// change is applied to the running daemon, and by which part, or waits for the next restart.

import type { DaemonOptions } from './daemon-options.js';
import type { SecurityOptions } from './security/security-options.js';

/**
 * Where a changed option is applied at reload:
 * - `log`: debug lines on or off;
 * - `call-log`: the call log (-l) started or stopped;
 * - `policy`: access lists, hosts.allow/deny, -i and the rate limiters, rebuilt (this one also
 *   runs on every reload, so hosts.allow/deny are re-read even when no option changed);
 * - `streams`: the connection limits and timeouts of the stream service;
 * - `quota`: the registry's per-owner quota;
 * - `state`: what SET/UNSET get while the state cannot be saved (the store's policy);
 * - `none`: nothing to do (the value only says where the options came from);
 * - `restart`: not applied; logged as taking effect at the next restart.
 */
type ReloadEffect = 'log' | 'call-log' | 'policy' | 'streams' | 'quota' | 'state' | 'none' | 'restart';

/** Every option, daemon-wide and security ones side by side (their names do not collide). */
export type FlatOptions = Omit<DaemonOptions, 'security'> & SecurityOptions;
export type OptionKey = keyof FlatOptions;

export interface ReloadRule {
  /** The option's name in the configuration file and on the command line. */
  readonly option: string;
  readonly effect: ReloadEffect;
}

export const RELOAD_RULES: { readonly [K in OptionKey]: ReloadRule } = {
  foreground: { option: 'foreground', effect: 'restart' },
  debug: { option: 'debug', effect: 'log' },
  hosts: { option: 'host', effect: 'restart' },
  insecure: { option: 'insecure', effect: 'policy' },
  logCalls: { option: 'log-calls', effect: 'call-log' },
  dropPrivileges: { option: 'drop-privileges', effect: 'restart' },
  user: { option: 'user', effect: 'restart' },
  warmStart: { option: 'warm-start', effect: 'restart' },
  remoteCalls: { option: 'remote-calls', effect: 'restart' },
  forwardMax: { option: 'forward-max', effect: 'restart' },
  forwardTimeoutMs: { option: 'forward-timeout', effect: 'restart' },
  forwardDeny: { option: 'forward-deny', effect: 'restart' },
  forwardAllow: { option: 'forward-allow', effect: 'restart' },
  port: { option: 'port', effect: 'restart' },
  socketPath: { option: 'socket', effect: 'restart' },
  abstractSocket: { option: 'no-abstract', effect: 'restart' },
  lockFile: { option: 'lock-file', effect: 'restart' },
  stateDir: { option: 'state-dir', effect: 'restart' },
  stateFailure: { option: 'state-failure', effect: 'state' },
  reapIntervalS: { option: 'reap-interval', effect: 'restart' },
  configFile: { option: 'config', effect: 'none' },
  logFormat: { option: 'log-format', effect: 'restart' },
  metrics: { option: 'metrics', effect: 'restart' },
  allow: { option: 'allow-CLASS', effect: 'policy' },
  deny: { option: 'deny-CLASS', effect: 'policy' },
  hostsAllow: { option: 'hosts-allow', effect: 'policy' },
  hostsDeny: { option: 'hosts-deny', effect: 'policy' },
  ratePerSecond: { option: 'rate-limit', effect: 'policy' },
  rateBurst: { option: 'rate-burst', effect: 'policy' },
  globalRatePerSecond: { option: 'global-rate-limit', effect: 'policy' },
  rateLimitLocal: { option: 'rate-limit-local', effect: 'policy' },
  maxConnections: { option: 'max-connections', effect: 'streams' },
  maxConnectionsPerSource: { option: 'max-connections-per-source', effect: 'streams' },
  idleTimeoutMs: { option: 'idle-timeout-ms', effect: 'streams' },
  recordTimeoutMs: { option: 'record-timeout-ms', effect: 'streams' },
  maxRegistrationsPerOwner: { option: 'max-registrations-per-owner', effect: 'quota' },
  shedSources: { option: 'shed-sources', effect: 'policy' },
  shedSeconds: { option: 'shed-seconds', effect: 'policy' },
  udpReceiveBufferBytes: { option: 'udp-receive-buffer', effect: 'policy' },
};

export interface ReloadPlan {
  /** Option names whose change is applied now. */
  applied: string[];
  /** Option names whose change waits for a restart. */
  restart: string[];
  /** The parts to update (without `none` and `restart`). */
  effects: Set<Exclude<ReloadEffect, 'none' | 'restart'>>;
}

export function flatOptions(o: DaemonOptions): FlatOptions {
  const { security, ...rest } = o;
  return { ...rest, ...security };
}

/** Compares every option of `prev` and `next` and says what each change does. */
export function planReload(prev: DaemonOptions, next: DaemonOptions): ReloadPlan {
  const a = flatOptions(prev);
  const b = flatOptions(next);
  const plan: ReloadPlan = { applied: [], restart: [], effects: new Set() };
  for (const key of Object.keys(RELOAD_RULES) as OptionKey[]) {
    if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue;
    const { option, effect } = RELOAD_RULES[key];
    if (effect === 'restart') {
      plan.restart.push(option);
      continue;
    }
    plan.applied.push(option);
    if (effect !== 'none') plan.effects.add(effect);
  }
  return plan;
}
