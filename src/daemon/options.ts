// The daemon's command line: rpcbind's flags plus long options for what rpcbind hard-codes.

import { parseArgs } from 'node:util';
import {
  DEFAULT_FORWARDS_IN_FLIGHT,
  DEFAULT_FORWARD_TIMEOUT_MS,
  MAX_FORWARDS_IN_FLIGHT,
  MAX_FORWARD_RULES,
  MAX_FORWARD_TIMEOUT_MS,
  MIN_REAP_INTERVAL_S,
} from '../limits.js';
import { PMAP_PORT, parseForwardRule, type ForwardRule } from '../rpcbind/index.js';
import { DEFAULT_STATE_DIR } from './persistence.js';
import { SECURITY_ARG_SPEC, SECURITY_USAGE, SecurityOptionError, securityOptionsFrom, type SecurityOptions } from './security-options.js';

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
  reapIntervalS: number;
  /** Access control, rate and connection limits (security-options.ts). */
  security: SecurityOptions;
}

export const USAGE = `usage: rpcbind [-adfhilLrsw] [-h bindip] [--port N] [--socket PATH] [--lock-file PATH]
                [--no-abstract] [--user NAME] [--forward-max N] [--forward-timeout MS]
                [--forward-deny PROG[:PROC]] [--forward-allow PROG[:PROC]] [--state-dir DIR]
                [--reap-interval S] [--version] [--help]

  -a            accepted for compatibility (abort on errors when debugging)
  -d            debug: log more, stay in the foreground
  -f            stay in the foreground
  -h ADDR       serve UDP and TCP only on ADDR (repeatable); loopback is always served
  -i            insecure: accept SET/UNSET/GETSTAT from remote hosts
  -l            log every call
  -L            accepted for compatibility (loopback callers are always local)
  -r            forward remote calls (CALLIT, BCAST, INDIRECT); off by default
  -s            drop privileges to user 'daemon' (or --user) after binding
  -w            warm start (accepted; registrations are always kept, durably)
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
  --reap-interval S  every S seconds, drop registrations whose service is gone (default off)
  --version     print the version and exit
  --help        print this help and exit${SECURITY_USAGE}`;

export class UsageError extends Error {}

export type ParsedCommand = { kind: 'run'; options: DaemonOptions } | { kind: 'help' } | { kind: 'version' };

export function parseDaemonArgs(argv: string[]): ParsedCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
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
        'state-dir': { type: 'string' },
        'reap-interval': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean' },
        ...SECURITY_ARG_SPEC,
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return { kind: 'help' };
  let security: SecurityOptions;
  try {
    security = securityOptionsFrom(values);
  } catch (e) {
    if (e instanceof SecurityOptionError) throw new UsageError(e.message);
    throw e;
  }
  if (values.version) return { kind: 'version' };
  const port = values.port === undefined ? PMAP_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port: ${values.port}`);
  const socketPath = values.socket ?? '/run/rpcbind.sock';
  if (socketPath === '' || socketPath.length > 100) throw new UsageError(`bad socket path: ${socketPath}`);
  const lockFile =
    values['lock-file'] ?? (socketPath.endsWith('.sock') ? socketPath.slice(0, -5) + '.lock' : socketPath + '.lock');
  const forwardMax = boundedInt('--forward-max', values['forward-max'], DEFAULT_FORWARDS_IN_FLIGHT, MAX_FORWARDS_IN_FLIGHT);
  const forwardTimeoutMs = boundedInt(
    '--forward-timeout',
    values['forward-timeout'],
    DEFAULT_FORWARD_TIMEOUT_MS,
    MAX_FORWARD_TIMEOUT_MS,
  );
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  if (stateDir === '') throw new UsageError('bad state directory: empty');
  const reapIntervalS = values['reap-interval'] === undefined ? 0 : Number(values['reap-interval']);
  if (!Number.isInteger(reapIntervalS) || (reapIntervalS !== 0 && reapIntervalS < MIN_REAP_INTERVAL_S)) {
    throw new UsageError(`bad reap interval: ${values['reap-interval']}`);
  }
  return {
    kind: 'run',
    options: {
      foreground: Boolean(values.foreground || values.debug),
      debug: Boolean(values.debug),
      hosts: values.host,
      insecure: Boolean(values.insecure),
      logCalls: Boolean(values['log-calls']),
      dropPrivileges: Boolean(values['drop-privileges']),
      user: values.user ?? 'daemon',
      warmStart: Boolean(values['warm-start']),
      remoteCalls: Boolean(values['remote-calls']),
      forwardMax,
      forwardTimeoutMs,
      forwardDeny: forwardRules('--forward-deny', values['forward-deny']),
      forwardAllow: forwardRules('--forward-allow', values['forward-allow']),
      port,
      socketPath,
      abstractSocket: !values['no-abstract'],
      lockFile,
      stateDir,
      reapIntervalS,
      security,
    },
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
