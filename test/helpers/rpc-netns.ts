// Minimal private network + mount namespace for tests that run rpcbind: a holder process keeps
// it alive; commands enter it with nsenter. Names start with "rpcinfo-t"; cleanup is by pid and
// `ip netns del`, never by process name.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export class RpcNetns {
  readonly name: string;
  readonly holder: ChildProcess;
  readonly #children: ChildProcess[] = [];

  private constructor(name: string, holder: ChildProcess) {
    this.name = name;
    this.holder = holder;
  }

  static async create(): Promise<RpcNetns> {
    const name = `rpcinfo-t${randomBytes(4).toString('hex')}`;
    const add = spawnSync('ip', ['netns', 'add', name]);
    if (add.status !== 0) throw new Error(`ip netns add: ${add.stderr.toString()}`);
    const setup =
      'mount -t tmpfs tmpfs /run; ip link set lo up; mkdir -p /run/rpcbind; chown _rpc /run/rpcbind; touch /run/.ready; exec sleep 600';
    const holder = spawn('ip', ['netns', 'exec', name, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', setup], { stdio: 'ignore' });
    const ns = new RpcNetns(name, holder);
    // `ip netns exec` execs unshare which execs sh then sleep: the pid stays the holder's.
    for (let i = 0; i < 100; i++) {
      if (ns.run('test', ['-e', '/run/.ready']).status === 0) return ns;
      await sleep(20);
    }
    ns.destroy();
    throw new Error('namespace holder did not come up');
  }

  #prefix(): string[] {
    return ['-t', String(this.holder.pid), '-n', '-m'];
  }

  run(cmd: string, args: string[], opts: { argv0?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<Buffer> {
    const full = opts.argv0 ? ['bash', '-c', 'exec -a "$0" "$@"', opts.argv0, cmd, ...args] : [cmd, ...args];
    return spawnSync('nsenter', [...this.#prefix(), ...full], { timeout: opts.timeoutMs ?? 20_000, env: opts.env ?? process.env });
  }

  /** Like run(), without blocking the event loop; killed after timeoutMs. */
  runAsync(cmd: string, args: string[], opts: { argv0?: string; timeoutMs?: number } = {}): Promise<{ stdout: Buffer; stderr: Buffer; status: number | null }> {
    const full = opts.argv0 ? ['bash', '-c', 'exec -a "$0" "$@"', opts.argv0, cmd, ...args] : [cmd, ...args];
    const c = spawn('nsenter', [...this.#prefix(), ...full], { stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 20_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d: Buffer) => err.push(d));
    return new Promise((res) => c.once('close', (status) => res({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), status })));
  }

  spawn(cmd: string, args: string[]): ChildProcess {
    const c = spawn('nsenter', [...this.#prefix(), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(c);
    return c;
  }

  /** Stops a child started with spawn(), by its pid, and waits for it. */
  async stop(c: ChildProcess): Promise<void> {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }

  async waitFor(cmd: string, args: string[], tries = 100): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      if (this.run(cmd, args, { timeoutMs: 2000 }).status === 0) return true;
      await sleep(30);
    }
    return false;
  }

  async destroyAsync(): Promise<void> {
    for (const c of this.#children) await this.stop(c);
    this.destroy();
  }

  destroy(): void {
    for (const c of this.#children) if (c.exitCode === null) c.kill('SIGKILL');
    if (this.holder.exitCode === null) this.holder.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
