// The rpcbind daemons the interop suite runs against, and how to start one in a TestHost.
// `reference` is Debian's rpcbind; `ours` is this repository's bin/rpcbind.js.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForExit, type TestHost } from './netns.js';

export interface DaemonUnderTest {
  name: 'reference' | 'ours';
  command: string;
  args: readonly string[];
}

export interface RunningDaemon {
  daemon: DaemonUnderTest;
  process: ChildProcess;
  /** Everything the daemon wrote so far (for failure messages). */
  output(): string;
  /** SIGTERM and wait (bounded) for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const READY_TIMEOUT_MS = 5_000;
const LOCAL_SOCKET_PATH = '/run/rpcbind.sock';
const RPCBIND_PORT = 111;

/** The repository root: the nearest ancestor holding the rpcbind-ts package.json. */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'rpcbind-ts') return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no rpcbind-ts package.json above ${from}`);
  }
}

const REFERENCE_BINARY = '/usr/sbin/rpcbind';
const oursEntry = join(findRepoRoot(), 'bin', 'rpcbind.js');

export const daemons: readonly DaemonUnderTest[] = [
  // -w: Debian's rpcbind writes its state to /run/rpcbind on SIGTERM (the holder chowns it to _rpc).
  { name: 'reference', command: REFERENCE_BINARY, args: ['-f', '-w'] },
  {
    name: 'ours',
    command: process.execPath,
    args: [oursEntry, '-f'],
  },
];

/**
 * Starts `daemon` in `host` and waits, bounded, until it listens on TCP and UDP port 111
 * (IPv4 and IPv6) and on the local socket. Readiness is read from the kernel's socket tables,
 * not probed with RPC calls, so the daemon's statistics start from zero.
 */
export async function startDaemon(
  host: TestHost,
  daemon: DaemonUnderTest,
  extraArgs: readonly string[] = [],
  /**
   * Readiness told by the caller (the benchmark's first-answer poller) instead of polling the
   * namespace's sockets with ss, which would compete for the CPU with the starting daemon.
   */
  readyWhen?: Promise<unknown>,
): Promise<RunningDaemon> {
  const child = host.spawn(daemon.command, [...daemon.args, ...extraArgs]);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = waitForExit(child).then(({ code, signal }) => {
    throw new Error(`${daemon.name} exited early (code ${code}, signal ${signal}): ${output}`);
  });
  exited.catch(() => {}); // only observed through the race below
  const wait = { timeoutMs: READY_TIMEOUT_MS };
  await Promise.race([
    readyWhen ??
      (async () => {
        await host.waitForUnixSocket(LOCAL_SOCKET_PATH, wait);
        await host.waitForPort('tcp', RPCBIND_PORT, { ...wait, family: 4 });
        await host.waitForPort('tcp', RPCBIND_PORT, { ...wait, family: 6 });
        await host.waitForPort('udp', RPCBIND_PORT, { ...wait, family: 4 });
        await host.waitForPort('udp', RPCBIND_PORT, { ...wait, family: 6 });
      })(),
    exited,
  ]);
  return {
    daemon,
    process: child,
    output: () => output,
    stop: () => host.stop(child),
  };
}
