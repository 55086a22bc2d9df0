// rpcinfo entry point: parses options like Linux rpcinfo (getopt "a:bdlmn:pstT:u" plus --json,
// --timeout, --help), runs one mode, and returns the exit status with the buffered output.

import { basename } from 'node:path';
import { RPCBIND_SOCKET_PATH } from '../client/index.js';
import { RpcDatabase } from './etc-rpc.js';
import { getopt } from './getopt.js';
import { CliExit, Ctx, USAGE, isNetid } from './rpcinfo-context.js';
import type { CliNetid } from './rpcinfo-context.js';
import { pmapDump, rpcbDump } from './rpcinfo-dump.js';
import { addrList, broadcastPing, deleteReg } from './rpcinfo-misc.js';
import { addrPing, ipPing, progPing } from './rpcinfo-ping.js';
import { getStat } from './rpcinfo-stat.js';

export const HELP = `${USAGE.join('\n')}

Options beyond Linux rpcinfo:
  --json          machine-readable output for every listing and ping mode (schema in README)
  --timeout SECS  total time allowed for each RPC call (default: 10 s pings, 60 s dumps)
  --help          this text
  rpcinfo HOST PROG [VERS]   without -T: try tcp, then udp

Exit status:
  0  success (every pinged version answered; listing printed)
  1  any failure: bad arguments or usage, unknown host or service, rpcbind unreachable,
     program or version not available, malformed or oversized reply, timeout
     (the same status Linux rpcinfo uses for each of these)
`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  prog?: string;
  rpcPath?: string;
  socketPath?: string;
  env?: NodeJS.ProcessEnv;
}

type Fn =
  | 'NONE'
  | 'PMAPDUMP'
  | 'TCPPING'
  | 'UDPPING'
  | 'BROADCAST'
  | 'DELETES'
  | 'ADDRPING'
  | 'PROGPING'
  | 'RPCBDUMP'
  | 'RPCBDUMP_SHORT'
  | 'RPCBADDRLIST'
  | 'RPCBGETSTAT';

const MODE_BY_LETTER: Record<string, Fn> = {
  p: 'PMAPDUMP',
  t: 'TCPPING',
  u: 'UDPPING',
  a: 'ADDRPING',
  b: 'BROADCAST',
  d: 'DELETES',
  l: 'RPCBADDRLIST',
  m: 'RPCBGETSTAT',
  s: 'RPCBDUMP_SHORT',
};

/** What the command line asks for, or the result to print at once (an error, --help). */
interface Request {
  fn: Fn;
  errflg: boolean;
  netid: string | undefined;
  address: string | undefined;
  json: boolean;
  timeoutMs: number | undefined;
  /** -n with a non-zero port was given (refused with -p, as rpcinfo does). */
  portGiven: boolean;
  operands: string[];
}

function parseArgs(prog: string, argv: string[], env: NodeJS.ProcessEnv): Request | RunResult {
  const parsed = getopt(
    prog,
    argv,
    'a:bdlmn:pstT:u',
    [
      { name: 'json', hasArg: false },
      { name: 'timeout', hasArg: true },
      { name: 'help', hasArg: false },
    ],
    env.POSIXLY_CORRECT !== undefined,
  );
  if (!parsed.ok) return { code: 1, stdout: '', stderr: `${parsed.message}\n${USAGE.join('\n')}\n` };
  const req: Request = {
    fn: 'NONE',
    errflg: false,
    netid: undefined,
    address: undefined,
    json: false,
    timeoutMs: undefined,
    portGiven: false,
    operands: parsed.operands,
  };
  for (const { opt, arg } of parsed.options) {
    const mode = MODE_BY_LETTER[opt];
    if (mode) {
      if (req.fn !== 'NONE') req.errflg = true;
      else req.fn = mode;
      if (opt === 'a') req.address = arg;
      continue;
    }
    switch (opt) {
      case 'n': {
        if (!/^\s*[+-]?\d+$/.test(arg ?? ''))
          return { code: 1, stdout: '', stderr: `rpcinfo: ${arg} is illegal port number\n` };
        if ((Number(arg) & 0xffff) !== 0) req.portGiven = true;
        break;
      }
      case 'T':
        req.netid = arg;
        break;
      case 'json':
        req.json = true;
        break;
      case 'help':
        return { code: 0, stdout: HELP, stderr: '' };
      case 'timeout': {
        const s = Number(arg);
        if (!Number.isFinite(s) || s <= 0 || s > 3600)
          return { code: 1, stdout: '', stderr: `rpcinfo: ${arg} is illegal timeout\n` };
        req.timeoutMs = Math.round(s * 1000);
        break;
      }
    }
  }
  return req;
}

/** Runs the mode the request names; a usage error or a failure ends it through CliExit. */
async function runMode(ctx: Ctx, req: Request): Promise<void> {
  const { netid, operands: args } = req;
  if (req.errflg || (req.fn === 'ADDRPING' && netid === undefined)) ctx.usage();
  const fn: Fn = req.fn !== 'NONE' ? req.fn : args.length > 1 ? 'PROGPING' : 'RPCBDUMP';
  // Validates -T for modes that need a known transport up front.
  const known = (): CliNetid | undefined => {
    if (netid === undefined) return undefined;
    if (!isNetid(netid)) ctx.die(`rpcinfo: Could not find ${netid}`);
    return netid;
  };
  switch (fn) {
    case 'PMAPDUMP':
      if (req.portGiven) ctx.usage();
      return pmapDump(ctx, args);
    case 'TCPPING':
      return ipPing(ctx, 'tcp', args);
    case 'UDPPING':
      return ipPing(ctx, 'udp', args);
    case 'BROADCAST':
      return broadcastPing(ctx, args);
    case 'DELETES':
      return deleteReg(ctx, netid, args);
    case 'ADDRPING':
      return addrPing(ctx, req.address ?? '', netid, args);
    case 'PROGPING':
      if (args.length < 2 || args.length > 3) ctx.usage();
      return progPing(ctx, known(), args);
    case 'RPCBDUMP':
    case 'RPCBDUMP_SHORT':
      if (args.length > 1) ctx.usage();
      return rpcbDump(ctx, fn === 'RPCBDUMP_SHORT', args.length === 1 ? known() : undefined, args);
    case 'RPCBGETSTAT':
      return getStat(ctx, args);
    case 'RPCBADDRLIST':
      return addrList(ctx, known(), args);
  }
}

export async function runRpcinfo(argv: string[], o: RunOptions = {}): Promise<RunResult> {
  const prog = o.prog ?? 'rpcinfo';
  const req = parseArgs(prog, argv, o.env ?? process.env);
  if (!('fn' in req)) return req;
  const ctx: Ctx = new Ctx({
    prog,
    db: RpcDatabase.load(o.rpcPath),
    json: req.json,
    timeoutMs: req.timeoutMs,
    socketPath: o.socketPath ?? RPCBIND_SOCKET_PATH,
  });
  try {
    await runMode(ctx, req);
    return { code: 0, stdout: ctx.out, stderr: ctx.err };
  } catch (e) {
    if (e instanceof CliExit) return { code: e.code, stdout: ctx.out, stderr: ctx.err };
    // A bug, not a protocol outcome: still no stack trace on a user's terminal.
    return {
      code: 1,
      stdout: ctx.out,
      stderr: `${ctx.err}rpcinfo: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
    };
  }
}

/** Runs with process.argv and exits. */
export async function main(): Promise<void> {
  const script = process.argv[1] ?? 'rpcinfo';
  const prog = basename(script).replace(/\.js$/, '');
  const r = await runRpcinfo(process.argv.slice(2), {
    prog,
    ...(process.env.RPCINFO_SOCKET ? { socketPath: process.env.RPCINFO_SOCKET } : {}),
  });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  // Exit once output is flushed: no socket or timer left behind may keep us alive.
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(r.code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
