// The daemon's command line: rpcbind's flags plus long options for what rpcbind hard-codes.
// Every long option also works as a key of the configuration file (rpcbind-config-file.ts). A new
// option needs its entry in DAEMON_OPTION_SPEC, its DaemonOptions field (daemon/daemon-options.ts)
// set in toDaemonOptions(), its USAGE line and its SIGHUP rule in daemon/reload.ts (the type
// checker asks for that one).

import { parseArgs } from 'node:util';
import {
  DEFAULT_FORWARDS_IN_FLIGHT,
  DEFAULT_FORWARD_TIMEOUT_MS,
  MAX_FORWARDS_IN_FLIGHT,
  MAX_FORWARD_RULES,
  MAX_FORWARD_TIMEOUT_MS,
  MIN_REAP_INTERVAL_S,
} from '../limits.js';
import { PMAP_PORT } from '../proto/index.js';
import { parseForwardRule, type ForwardRule } from '../rpcbind/index.js';
import type { DaemonOptions, ListenAddress } from '../daemon/daemon-options.js';
import { DEFAULT_STATE_DIR } from '../daemon/persistence/persistence.js';
import type { SecurityOptions } from '../daemon/security/security-options.js';
import {
  SECURITY_ARG_SPEC,
  SECURITY_USAGE,
  SecurityOptionError,
  securityOptionsFrom,
} from './rpcbind-security-options.js';

export const DEFAULT_CONFIG_FILE = '/etc/rpcbind-ts.conf';

export const USAGE = `usage: rpcbind [-adfhilLrsw] [-h bindip] [--port N] [--socket PATH] [--lock-file PATH]
                [--no-abstract] [--user NAME] [--forward-max N] [--forward-timeout MS]
                [--forward-deny PROG[:PROC]] [--forward-allow PROG[:PROC]] [--state-dir DIR]
                [--state-failure refuse|accept] [--reap-interval S] [--config FILE] [--check-config]
                [--log-format text|json] [--metrics ADDR:PORT] [--version] [--help]

  -a            accepted for compatibility (abort on errors when debugging)
  -d            debug: log more, stay in the foreground
  -f            stay in the foreground
  -h ADDR       serve UDP and TCP only on ADDR (repeatable); loopback is always served
  -i            insecure: accept SET/UNSET/GETSTAT from remote hosts
  -l            log every call (rate-limited)
  -L            accepted for compatibility (loopback callers are always local)
  -r            forward remote calls (CALLIT, BCAST, INDIRECT); off by default
  -s            drop privileges to user 'daemon' (or --user) after binding
  -w            warm start (accepted; registrations are always kept)
  --port N      port for UDP and TCP (default 111)
  --socket PATH local socket path (default /run/rpcbind.sock); also served as @PATH
  --no-abstract do not also serve the abstract socket @PATH
  --lock-file P single-instance lock (default: the socket path with .lock for .sock)
  --user NAME   the user for -s (default daemon)
  --forward-max N        remote calls in flight at once (default 64); the oldest is dropped
  --forward-timeout MS   wait for a forwarded call's reply (default 5000)
  --forward-deny P[:N]   never forward to program P (procedure N); repeatable
  --forward-allow P[:N]  take P[:N] off the built-in deny list (NFS, MOUNT, NIS, ...); repeatable
  --state-dir D where registrations are saved (default /run/rpcbind-ts)
  --state-failure refuse|accept  while registrations cannot be saved, answer SET/UNSET
                FALSE (refuse, the default) or keep changes in memory only (accept)
  --reap-interval S  every S seconds, drop registrations whose service is gone (default off)
  --config FILE configuration file (default ${DEFAULT_CONFIG_FILE}, if it exists);
                one "long-option = value" per line, the command line wins
  --check-config  validate the configuration and exit (0 valid, 1 not)
  --log-format F  text (default) or json
  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics
  --version     print the version and exit
  --help        print this help and exit${SECURITY_USAGE}`;

/** Option table for node:util parseArgs; the config file accepts the same long names. */
export const DAEMON_OPTION_SPEC = {
  abort: { type: 'boolean', short: 'a' },
  debug: { type: 'boolean', short: 'd' },
  foreground: { type: 'boolean', short: 'f' },
  host: { type: 'string', short: 'h', multiple: true },
  insecure: { type: 'boolean', short: 'i' },
  'log-calls': { type: 'boolean', short: 'l' },
  'old-style-local': { type: 'boolean', short: 'L' },
  'remote-calls': { type: 'boolean', short: 'r' },
  'drop-privileges': { type: 'boolean', short: 's' },
  'warm-start': { type: 'boolean', short: 'w' },
  port: { type: 'string' },
  socket: { type: 'string' },
  'no-abstract': { type: 'boolean' },
  'lock-file': { type: 'string' },
  user: { type: 'string' },
  'forward-max': { type: 'string' },
  'forward-timeout': { type: 'string' },
  'forward-deny': { type: 'string', multiple: true },
  'forward-allow': { type: 'string', multiple: true },
  config: { type: 'string' },
  'check-config': { type: 'boolean' },
  'log-format': { type: 'string' },
  metrics: { type: 'string' },
  'state-dir': { type: 'string' },
  'state-failure': { type: 'string' },
  'reap-interval': { type: 'string' },
  version: { type: 'boolean' },
  help: { type: 'boolean' },
  ...SECURITY_ARG_SPEC,
} as const satisfies Record<string, OptionSpec>;

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** Long options that make no sense inside a configuration file. */
export const COMMAND_LINE_ONLY: ReadonlySet<string> = new Set(['config', 'check-config', 'version', 'help']);

/** Option values by long name, as parseArgs gives them. */
export type RawValues = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {}

export function parseCommandLine(argv: string[]): RawValues {
  try {
    const { values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: DAEMON_OPTION_SPEC });
    return values as RawValues;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Command line over file: a key given on the command line replaces the file's value(s). */
export function mergeValues(file: RawValues, cli: RawValues): RawValues {
  const out: RawValues = { ...file };
  for (const [k, v] of Object.entries(cli)) if (v !== undefined) out[k] = v;
  return out;
}

function str(v: RawValues, k: string): string | undefined {
  const x = v[k];
  return typeof x === 'string' ? x : undefined;
}
function bool(v: RawValues, k: string): boolean {
  return v[k] === true;
}
function list(v: RawValues, k: string): string[] | undefined {
  const x = v[k];
  return Array.isArray(x) ? x : undefined;
}

/** Splits "ADDR:PORT", "[v6]:PORT". An address is required: metrics bind only where told. */
function parseListenAddress(s: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`bad listen address ${JSON.stringify(s)} (want ADDR:PORT or [ADDR6]:PORT)`);
  }
  return { host: m[1]!, port };
}

export function toDaemonOptions(values: RawValues): DaemonOptions {
  const portText = str(values, 'port');
  const port = portText === undefined ? PMAP_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port: ${portText}`);
  const socketPath = str(values, 'socket') ?? '/run/rpcbind.sock';
  if (socketPath === '' || socketPath.length > 100) throw new UsageError(`bad socket path: ${socketPath}`);
  const lockFile =
    str(values, 'lock-file') ??
    (socketPath.endsWith('.sock') ? `${socketPath.slice(0, -5)}.lock` : `${socketPath}.lock`);
  const logFormat = str(values, 'log-format') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`bad log format: ${logFormat} (text or json)`);
  const metricsText = str(values, 'metrics');
  const forwardMax = boundedInt(
    '--forward-max',
    str(values, 'forward-max'),
    DEFAULT_FORWARDS_IN_FLIGHT,
    MAX_FORWARDS_IN_FLIGHT,
  );
  const forwardTimeoutMs = boundedInt(
    '--forward-timeout',
    str(values, 'forward-timeout'),
    DEFAULT_FORWARD_TIMEOUT_MS,
    MAX_FORWARD_TIMEOUT_MS,
  );
  const stateDir = str(values, 'state-dir') ?? DEFAULT_STATE_DIR;
  if (stateDir === '') throw new UsageError('bad state directory: empty');
  const stateFailure = str(values, 'state-failure') ?? 'refuse';
  if (stateFailure !== 'refuse' && stateFailure !== 'accept')
    throw new UsageError(`bad state failure policy: ${stateFailure} (refuse or accept)`);
  const reapText = str(values, 'reap-interval');
  const reapIntervalS = reapText === undefined ? 0 : Number(reapText);
  if (!Number.isInteger(reapIntervalS) || (reapIntervalS !== 0 && reapIntervalS < MIN_REAP_INTERVAL_S)) {
    throw new UsageError(`bad reap interval: ${reapText}`);
  }
  let security: SecurityOptions;
  try {
    security = securityOptionsFrom(values);
  } catch (e) {
    if (e instanceof SecurityOptionError) throw new UsageError(e.message);
    throw e;
  }
  return {
    foreground: bool(values, 'foreground') || bool(values, 'debug'),
    debug: bool(values, 'debug'),
    hosts: list(values, 'host'),
    insecure: bool(values, 'insecure'),
    logCalls: bool(values, 'log-calls'),
    dropPrivileges: bool(values, 'drop-privileges'),
    user: str(values, 'user') ?? 'daemon',
    warmStart: bool(values, 'warm-start'),
    remoteCalls: bool(values, 'remote-calls'),
    forwardMax,
    forwardTimeoutMs,
    forwardDeny: forwardRules('--forward-deny', list(values, 'forward-deny')),
    forwardAllow: forwardRules('--forward-allow', list(values, 'forward-allow')),
    port,
    socketPath,
    abstractSocket: !bool(values, 'no-abstract'),
    lockFile,
    configFile: str(values, 'config'),
    logFormat,
    metrics: metricsText === undefined ? undefined : parseListenAddress(metricsText),
    stateDir,
    stateFailure,
    reapIntervalS,
    security,
  };
}

function boundedInt(name: string, text: string | undefined, dflt: number, max: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new UsageError(`bad ${name}: ${text} (1 to ${max})`);
  return n;
}

function forwardRules(name: string, texts: string[] | undefined): ForwardRule[] {
  const list = texts ?? [];
  if (list.length > MAX_FORWARD_RULES) throw new UsageError(`too many ${name} rules (at most ${MAX_FORWARD_RULES})`);
  return list.map((t) => {
    const r = parseForwardRule(t);
    if (!r) throw new UsageError(`bad ${name}: ${t} (PROG or PROG:PROC)`);
    return r;
  });
}
