// Builds the libtirpc test programs from test/fixtures/tirpc (rpcgen + gcc), once per test
// process, into a temporary directory removed at exit. See rbtest.x for the protocol.
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findRepoRoot } from './daemons.js';
import { waitFor, waitForExit, type TestHost } from './netns.js';

const execFileAsync = promisify(execFile);

/** RBTEST_PROG in rbtest.x (its only version is 1). */
export const RBTEST_PROG = 0x20000101;

export interface TirpcPrograms {
  dir: string;
  /** `tirpc-server [nettype]`: svc_create(), prints "registered udp=P tcp=P udp6=P tcp6=P". */
  tirpcServer: string;
  /** `classic-server`: svcudp/svctcp_create + svc_register, prints "registered udp=P tcp=P". */
  classicServer: string;
  /** `client HOST NETID add A B | echo TEXT | null`: prints the result, exit 1 on RPC failure. */
  client: string;
}

const FIXTURES_DIR = join(findRepoRoot(), 'test', 'fixtures', 'tirpc');

const CFLAGS = ['-O0', '-Wall', '-Wno-unused-variable', '-I/usr/include/tirpc', '-I.'];

let built: Promise<TirpcPrograms> | undefined;

export function buildTirpcPrograms(): Promise<TirpcPrograms> {
  built ??= build();
  return built;
}

async function build(): Promise<TirpcPrograms> {
  const dir = mkdtempSync(join(tmpdir(), 'rbt-tirpc-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // Test hosts may run the programs as an unprivileged user.
  chmodSync(dir, 0o755);
  for (const file of readdirSync(FIXTURES_DIR)) copyFileSync(join(FIXTURES_DIR, file), join(dir, file));

  const run = async (cmd: string, args: string[]) => {
    try {
      await execFileAsync(cmd, args, { cwd: dir, timeout: 30_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  };
  // -C: ANSI prototypes; -m: dispatch function only (the mains are hand-written).
  await Promise.all([
    run('rpcgen', ['-C', '-h', 'rbtest.x', '-o', 'rbtest.h']),
    run('rpcgen', ['-C', '-c', 'rbtest.x', '-o', 'rbtest_xdr.c']),
    run('rpcgen', ['-C', '-l', 'rbtest.x', '-o', 'rbtest_clnt.c']),
    run('rpcgen', ['-C', '-m', 'rbtest.x', '-o', 'rbtest_svc.c']),
  ]);
  const server = ['rbtest-impl.c', 'rbtest_svc.c', 'rbtest_xdr.c'];
  await Promise.all([
    run('gcc', [...CFLAGS, '-o', 'tirpc-server', 'tirpc-server.c', ...server, '-ltirpc']),
    run('gcc', [...CFLAGS, '-o', 'classic-server', 'classic-server.c', ...server, '-ltirpc']),
    run('gcc', [...CFLAGS, '-o', 'client', 'client.c', 'rbtest_clnt.c', 'rbtest_xdr.c', '-ltirpc']),
  ]);
  return {
    dir,
    tirpcServer: join(dir, 'tirpc-server'),
    classicServer: join(dir, 'classic-server'),
    client: join(dir, 'client'),
  };
}

export interface RunningServer {
  process: ChildProcess;
  /** Bound ports by netid, from the server's "registered ..." line. */
  ports: Partial<Record<'udp' | 'tcp' | 'udp6' | 'tcp6', number>>;
  output(): string;
  /** SIGTERM (the server unregisters, then exits) and wait, bounded. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const SERVER_READY_TIMEOUT_MS = 5_000;

/** Starts one of the test servers in `host` and waits until it reports its registration. */
export async function startServer(
  host: TestHost,
  program: string,
  args: readonly string[] = [],
): Promise<RunningServer> {
  const child = host.spawn(program, args);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = waitForExit(child).then(({ code, signal }) => {
    throw new Error(`${program} exited early (code ${code}, signal ${signal}): ${output}`);
  });
  exited.catch(() => {});
  const line = await Promise.race([
    waitFor(() => /^registered.*\n/m.exec(output)?.[0], {
      timeoutMs: SERVER_READY_TIMEOUT_MS,
      intervalMs: 20,
      what: `${program} to register`,
    }),
    exited,
  ]);
  const ports: RunningServer['ports'] = {};
  for (const [, netid, port] of line.matchAll(/ (udp6?|tcp6?)=(\d+)/g)) {
    ports[netid as keyof RunningServer['ports']] = Number(port);
  }
  return { process: child, ports, output: () => output, stop: () => host.stop(child) };
}
