// One daemon under benchmark in its own private network + mount namespace (the test suite's
// TestHost): start it, fill its table, drive load generators inside the namespace, read its RSS.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { daemons, startDaemon, type DaemonUnderTest, type RunningDaemon } from '../test/helpers/daemons.js';
import { TestHost } from '../test/helpers/netns.js';
import type { LoadResult, LoadSpec } from './load.js';
import { loadgenArgs, loadgenBinary } from './loadgen-build.js';

/** Which load generator runs: the C one (default, cheap per call) or the Node.js one. */
export type GeneratorKind = 'c' | 'node';

/** CPU placement: the daemon (all its threads) and the generators on separate CPU lists. */
export interface Placement {
  daemonCpus: string;
  loadCpus: string;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REGISTER_TIMEOUT_MS = 180_000;
const FIRST_ANSWER_TIMEOUT_MS = 35_000;
/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on Linux). */
const CLOCK_TICKS_PER_SEC = 100;

export type DaemonName = DaemonUnderTest['name'];

export function daemonByName(name: DaemonName): DaemonUnderTest {
  const d = daemons.find((x) => x.name === name);
  if (!d) throw new Error(`no daemon ${name}`);
  return d;
}

/** Collects a child's stdout and resolves with it once the child exits within `timeoutMs`. */
export function output(child: ChildProcess, timeoutMs: number, what: string): Promise<string> {
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${what} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    // 'close', not 'exit': the output may still be in the pipe when the child has exited (a
    // generator's ~10 KB result line came cut short on a loaded machine).
    child.once('close', (code: number | null) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} exited with ${code}: ${err.trim()}`));
    });
  });
}

export class BenchHost {
  readonly daemon: DaemonUnderTest;
  readonly #host: TestHost;
  readonly #extraArgs: readonly string[];
  #running: RunningDaemon | undefined;
  /** When set, the daemon and the generators are pinned apart (see Placement). */
  placement: Placement | undefined;
  generator: GeneratorKind = 'c';

  private constructor(host: TestHost, daemon: DaemonUnderTest, extraArgs: readonly string[]) {
    this.#host = host;
    this.daemon = daemon;
    this.#extraArgs = extraArgs;
  }

  static async create(daemon: DaemonUnderTest, extraArgs: readonly string[] = []): Promise<BenchHost> {
    return new BenchHost(await TestHost.create(), daemon, extraArgs);
  }

  /** Starts the daemon; ready once its sockets are up, or when `readyWhen` settles. */
  async start(readyWhen?: Promise<unknown>): Promise<void> {
    this.#running = await startDaemon(this.#host, this.daemon, this.#extraArgs, readyWhen);
    if (this.placement) {
      const r = spawnSync('taskset', ['-a', '-p', '-c', this.placement.daemonCpus, String(this.pid)], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`taskset for ${this.daemon.name}: ${r.stderr || r.error?.message}`);
    }
  }

  async stop(): Promise<void> {
    await this.#running?.stop();
    this.#running = undefined;
  }

  get pid(): number {
    const pid = this.#running?.process.pid;
    if (pid === undefined) throw new Error(`${this.daemon.name} is not running`);
    return pid;
  }

  /** Resident set size of the daemon process in MiB (VmRSS). */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0');
    return kb / 1024;
  }

  /**
   * Fills the table with `count` registrations (see register.ts): Debian's rpcbind through its
   * warm-start files before it starts, ours through the local socket once it runs.
   */
  async fill(count: number, startAfter = true): Promise<void> {
    const warm = this.daemon.name === 'reference';
    // rpcbind -w writes its own files on SIGTERM: stop it before writing ours.
    if (warm) await this.stop();
    else if (!this.#running) await this.start();
    const args = [join(HERE, 'register.js'), String(count), ...(warm ? ['--warmstart', '/run/rpcbind'] : [])];
    const child = this.#host.spawn(process.execPath, args);
    await output(child, REGISTER_TIMEOUT_MS, `registering ${count} entries with ${this.daemon.name}`);
    if (warm && startAfter) await this.start();
  }

  /** CPU time (user + system) the daemon has used so far, in milliseconds. */
  cpuMs(): number {
    // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  }

  /**
   * Runs `specs.length` generators at once inside the namespace and returns their results and
   * the daemon's CPU time per answered call (warm-up included) over the run, in µs.
   */
  async load(specs: LoadSpec[]): Promise<{ results: LoadResult[]; cpuUsPerCall: number }> {
    const limit = Math.max(...specs.map((s) => s.warmupMs + s.durationMs)) + 15_000;
    const cmd = (s: LoadSpec): [string, string[]] =>
      this.generator === 'c'
        ? [loadgenBinary(), loadgenArgs(s)]
        : [process.execPath, [join(HERE, 'load.js'), JSON.stringify(s)]];
    const pinned = (c: [string, string[]]): [string, string[]] =>
      this.placement ? ['taskset', ['-c', this.placement.loadCpus, c[0], ...c[1]]] : c;
    const cpu0 = this.cpuMs();
    const runs = specs.map((s, i) => {
      const [file, args] = pinned(cmd(s));
      return output(this.#host.spawn(file, args), limit, `load generator ${i} against ${this.daemon.name}`);
    });
    const results = (await Promise.all(runs)).map((o) => JSON.parse(o.trim().split('\n').pop()!) as LoadResult);
    const answered = results.reduce((n, r) => n + (r.totalCalls ?? r.calls), 0);
    return { results, cpuUsPerCall: answered > 0 ? ((this.cpuMs() - cpu0) * 1000) / answered : NaN };
  }

  /**
   * Starts the daemon and returns the milliseconds from spawning it to its first answer for
   * `prog` (a poller inside the namespace asks every millisecond).
   */
  async timeToFirstAnswer(prog: number): Promise<number> {
    const poller = this.#host.spawn(process.execPath, [join(HERE, 'first-answer.js'), String(prog)]);
    let polling!: () => void;
    const ready = new Promise<void>((r) => (polling = r));
    poller.stdout!.once('data', () => polling());
    const answer = output(poller, FIRST_ANSWER_TIMEOUT_MS, `first-answer poller for ${this.daemon.name}`);
    await ready;
    const t0 = performance.timeOrigin + performance.now();
    // Ready when the poller has its answer: no socket polling competes with the start.
    const start = this.start(answer);
    const { at } = JSON.parse((await answer).trim().split('\n').pop()!) as { at: number };
    await start;
    return at - t0;
  }

  async dispose(): Promise<void> {
    await this.#host.dispose();
  }
}
