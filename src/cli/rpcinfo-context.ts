// What every rpcinfo mode shares: buffered stdout/stderr, the exit signal, the program database,
// the options, and the number parsers whose error texts match Linux rpcinfo.

import type { RpcDatabase } from './etc-rpc.js';

export class CliExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export const USAGE = [
  'Usage: rpcinfo [-m | -s] [host]',
  '       rpcinfo -p [host]',
  '       rpcinfo -T netid host prognum [versnum]',
  '       rpcinfo -l host prognum versnum',
  '       rpcinfo [-n portnum] -u | -t host prognum [versnum]',
  '       rpcinfo -a serv_address -T netid prognum [version]',
  '       rpcinfo -b prognum versnum',
  '       rpcinfo -d [-T netid] prognum versnum',
];

export class Ctx {
  out = '';
  err = '';
  readonly prog: string;
  readonly db: RpcDatabase;
  readonly json: boolean;
  /** User-given total timeout per call, or undefined for the reference's defaults. */
  readonly timeoutMs: number | undefined;
  /** Local rpcbind socket path (tests point it elsewhere). */
  readonly socketPath: string;

  constructor(o: { prog: string; db: RpcDatabase; json: boolean; timeoutMs: number | undefined; socketPath: string }) {
    this.prog = o.prog;
    this.db = o.db;
    this.json = o.json;
    this.timeoutMs = o.timeoutMs;
    this.socketPath = o.socketPath;
  }

  print(s: string): void {
    this.out += s;
  }

  eprint(s: string): void {
    this.err += s;
  }

  /** Prints to stderr and exits 1. */
  die(line: string): never {
    this.err += `${line}\n`;
    throw new CliExit(1);
  }

  usage(): never {
    this.err += `${USAGE.join('\n')}\n`;
    throw new CliExit(1);
  }

  timeout(defaultMs: number): number {
    return this.timeoutMs ?? defaultMs;
  }

  serviceName(prog: number): string | undefined {
    return this.db.byNumber(prog)?.name;
  }

  /** C strtol(arg, &end, 10) that must consume everything; undefined when it does not. */
  static strtol(arg: string): number | undefined {
    const m = /^[\s]*([+-]?\d+)$/.exec(arg);
    if (!m) return undefined;
    return Number(m[1]);
  }

  /** getprognum: a number, or a name from /etc/rpc. */
  progNum(arg: string): number {
    const firstNonDigit = arg.search(/\D/);
    const isName = firstNonDigit >= 0 && (firstNonDigit < arg.length - 1 || /[A-Za-z]/.test(arg[firstNonDigit]!));
    if (isName) {
      const e = this.db.byName(arg);
      if (!e) this.die(`rpcinfo: ${arg} is unknown service`);
      return e.number >>> 0;
    }
    const n = Ctx.strtol(arg);
    if (n === undefined) this.die(`rpcinfo: ${arg} is illegal program number`);
    return Number(BigInt.asUintN(32, BigInt(n)));
  }

  /** getvers. */
  versNum(arg: string): number {
    const n = Ctx.strtol(arg);
    if (n === undefined) this.die(`rpcinfo: ${arg} is illegal version number`);
    return Number(BigInt.asUintN(32, BigInt(n)));
  }
}

const NETIDS = ['udp', 'tcp', 'udp6', 'tcp6', 'local', 'unix'] as const;
export type CliNetid = (typeof NETIDS)[number];

export function isNetid(s: string): s is CliNetid {
  return (NETIDS as readonly string[]).includes(s);
}

/** C's %-Ns / %Ns. */
export function padR(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

export function padL(s: string | number, n: number): string {
  return String(s).padStart(n);
}
