// The daemon's command line: rpcbind's flags plus long options for what rpcbind hard-codes.

import { parseArgs } from 'node:util';
import { PMAP_PORT } from '../rpcbind/index.js';

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
  port: number;
  socketPath: string;
  abstractSocket: boolean;
  lockFile: string;
}

export const USAGE = `usage: rpcbind [-adfhilLrsw] [-h bindip] [--port N] [--socket PATH] [--lock-file PATH]
                [--no-abstract] [--user NAME] [--version] [--help]

  -a            accepted for compatibility (abort on errors when debugging)
  -d            debug: log more, stay in the foreground
  -f            stay in the foreground
  -h ADDR       serve UDP and TCP only on ADDR (repeatable); loopback is always served
  -i            insecure: accept SET/UNSET/GETSTAT from remote hosts
  -l            log every call
  -L            accepted for compatibility (loopback callers are always local)
  -r            forward remote calls (CALLIT, BCAST, INDIRECT); off by default
  -s            drop privileges to user 'daemon' (or --user) after binding
  -w            warm start (accepted; registrations are always kept)
  --port N      port for UDP and TCP (default 111)
  --socket PATH local socket path (default /run/rpcbind.sock); also served as @PATH
  --no-abstract do not also serve the abstract socket @PATH
  --lock-file P single-instance lock (default: the socket path with .lock for .sock)
  --user NAME   the user for -s (default daemon)
  --version     print the version and exit
  --help        print this help and exit`;

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
        version: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const port = values.port === undefined ? PMAP_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port: ${values.port}`);
  const socketPath = values.socket ?? '/run/rpcbind.sock';
  if (socketPath === '' || socketPath.length > 100) throw new UsageError(`bad socket path: ${socketPath}`);
  const lockFile =
    values['lock-file'] ?? (socketPath.endsWith('.sock') ? socketPath.slice(0, -5) + '.lock' : socketPath + '.lock');
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
      port,
      socketPath,
      abstractSocket: !values['no-abstract'],
      lockFile,
    },
  };
}
