// An isolated test host: a network namespace plus a private mount namespace with its own
// tmpfs on /run, so each daemon under test gets its own port 111 and /run/rpcbind.sock.
// Everything started here is tracked by pid and killed on dispose(); nothing is killed by name.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

export interface RunOptions {
  /** Kill the command (SIGKILL, by pid) after this long. */
  timeoutMs?: number;
  /** Extra environment variables, merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Run as this uid/gid (via setpriv, supplementary groups cleared). */
  user?: { uid: number; gid: number };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the error thrown on timeout. */
  what?: string;
}

const DEFAULT_RUN_TIMEOUT_MS = 10_000;
const HOLDER_READY_TIMEOUT_MS = 5_000;
const KILL_GRACE_MS = 2_000;

// The holder keeps both namespaces alive; later commands join them with nsenter.
// `ip netns exec` and `unshare` (without --fork) exec in place, so the pid we spawn ends up
// being the pid of `sleep`, and nsenter -t can target it.
const HOLDER_SCRIPT = [
  'mount -t tmpfs tmpfs /run',
  'ip link set lo up',
  'mkdir -p /run/rpcbind',
  'chown _rpc /run/rpcbind 2>/dev/null',
  'echo ready',
  // SIGKILL when the test process dies, even without running its cleanup.
  'exec setpriv --pdeathsig SIGKILL sleep 3600',
].join('; ');

// Outside the namespace, without a parent-death signal: once the test process is gone, kills
// (by pid) whatever is still inside this host's namespace and deletes it. Needed because a
// daemon that changes uid (Debian's rpcbind) loses the parent-death signal. Killed on dispose.
const WATCHDOG_SCRIPT = [
  'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
  'for pid in $(ip netns pids "$2"); do kill -9 "$pid"; done',
  'ip netns del "$2"',
].join('; ');

const liveHosts = new Set<TestHost>();

// Last resort for a test process that ends without running its after() hooks. Children also
// get a parent-death signal, but a daemon that changes uid (Debian's rpcbind) loses it.
function disposeAllSync(): void {
  for (const host of liveHosts) host.disposeSync();
}
process.once('exit', disposeAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    disposeAllSync();
    process.kill(process.pid, signal); // the default action, now that the handler is gone
  });
}

/** Polls `check` until it returns a value other than undefined/false, or throws on timeout. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 5_000, intervalMs = 50, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await delay(intervalMs);
  }
}

/** Resolves with the exit status once `child` has exited (immediately if it already has). */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export class TestHost {
  readonly name: string;
  readonly holderPid: number;
  #holder: ChildProcess;
  #watchdog: ChildProcess | undefined;
  #children = new Set<ChildProcess>();
  #disposed = false;

  private constructor(name: string, holder: ChildProcess) {
    this.name = name;
    this.#holder = holder;
    this.holderPid = holder.pid!;
  }

  static async create(): Promise<TestHost> {
    const name = `rbt-${randomBytes(4).toString('hex')}`;
    const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(`ip netns add ${name} failed: ${add.stderr || add.error}`);
    const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'rbt-watchdog', String(process.pid), name], {
      stdio: 'ignore',
      detached: true,
    });
    watchdog.unref();

    const holder = spawn(
      'ip',
      ['netns', 'exec', name, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', HOLDER_SCRIPT],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const host = new TestHost(name, holder);
    liveHosts.add(host);
    host.#watchdog = watchdog;
    try {
      await host.#waitForHolder();
    } catch (err) {
      await host.dispose();
      throw err;
    }
    return host;
  }

  async #waitForHolder(): Promise<void> {
    const holder = this.#holder;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`namespace holder not ready after ${HOLDER_READY_TIMEOUT_MS} ms: ${output}`)),
        HOLDER_READY_TIMEOUT_MS,
      );
      const finish = (err?: Error) => {
        clearTimeout(timer);
        holder.stdout!.off('data', onData);
        holder.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready\n')) finish();
      };
      const onExit = (code: number | null) => finish(new Error(`namespace holder exited (${code}): ${output}`));
      holder.stdout!.on('data', onData);
      holder.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      holder.once('exit', onExit);
    });
    // `echo ready` runs before `exec sleep`: wait until the pid really is the sleeping holder,
    // whose namespaces are the ones we mean.
    await waitFor(
      () => {
        const r = spawnSync('readlink', [`/proc/${this.holderPid}/exe`], { encoding: 'utf8' });
        return r.stdout.trim().endsWith('/sleep');
      },
      { timeoutMs: HOLDER_READY_TIMEOUT_MS, intervalMs: 10, what: 'namespace holder to exec sleep' },
    );
  }

  #nsenterArgs(cmd: string, args: readonly string[], user?: { uid: number; gid: number }): string[] {
    // nsenter and setpriv exec in place: the pid we spawn is the command's pid.
    const base = ['-t', String(this.holderPid), '-n', '-m', '--', 'setpriv', '--pdeathsig', 'SIGKILL'];
    if (user) {
      return [...base, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', cmd, ...args];
    }
    return [...base, cmd, ...args];
  }

  /** Runs a command inside the host and collects its output; never rejects on a non-zero exit. */
  run(cmd: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
    this.#assertLive();
    const { timeoutMs = DEFAULT_RUN_TIMEOUT_MS, env, input, user } = options;
    const child = spawn('nsenter', this.#nsenterArgs(cmd, args, user), {
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#children.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin!.on('error', () => {}); // the command may exit without reading its input
    child.stdin!.end(input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
    }, timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('error', (err) => {
        clearTimeout(timer);
        this.#children.delete(child);
        reject(err);
      });
      // 'close' rather than 'exit': all output has been read by then.
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        resolve({ stdout, stderr, code, signal, timedOut });
      });
    });
  }

  /** Starts a long-running command inside the host (a daemon, a server); killed on dispose. */
  spawn(cmd: string, args: readonly string[] = [], options: Pick<RunOptions, 'env' | 'user'> = {}): ChildProcess {
    this.#assertLive();
    const child = spawn('nsenter', this.#nsenterArgs(cmd, args, options.user), {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    child.once('error', () => this.#children.delete(child));
    return child;
  }

  /** Sends `signal` to a child started by this host and waits (bounded) for it to exit. */
  async stop(
    child: ChildProcess,
    { signal = 'SIGTERM', timeoutMs = 3_000 }: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const exited = waitForExit(child);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      killQuietly(child.pid, signal);
    }
    // Cancelled once the child exits: a long timeout must not keep the test process alive.
    const cancel = new AbortController();
    // Only ever aborted after the race is decided: its rejection is just swallowed.
    const timeout = delay(timeoutMs, undefined, { signal: cancel.signal }).then(
      () => 'timeout' as const,
      () => new Promise<never>(() => {}),
    );
    const outcome = await Promise.race([exited, timeout]);
    cancel.abort();
    if (outcome === 'timeout') {
      if (child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
      await exited;
      throw new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return outcome;
  }

  /** Adds a second, non-loopback address on an empty bridge (the dummy link type is missing). */
  async addBridgeAddress(cidr: string, device = 'rbtbr0'): Promise<void> {
    const steps: string[][] = [];
    const exists = await this.run('ip', ['link', 'show', device]);
    if (exists.code !== 0) steps.push(['link', 'add', device, 'type', 'bridge']);
    steps.push(['addr', 'add', cidr, 'dev', device], ['link', 'set', device, 'up']);
    for (const step of steps) {
      const r = await this.run('ip', step);
      if (r.code !== 0) throw new Error(`ip ${step.join(' ')} failed: ${r.stderr}`);
    }
  }

  /**
   * Joins this host to `peer` (another host: a remote machine on the same LAN) by a veth pair,
   * `cidr` on this side's `device`, `peerCidr` on the peer's, both up. Unlike an empty bridge,
   * a veth pair has a carrier: broadcasts are sent and delivered.
   */
  async linkTo(
    peer: TestHost,
    cidr: string,
    peerCidr: string,
    device = 'rbtlan0',
    peerDevice = 'rbtlan1',
  ): Promise<void> {
    // Created from outside both namespaces, where their names resolve (inside, /run is a tmpfs).
    const add = spawnSync(
      'ip',
      ['link', 'add', device, 'netns', this.name, 'type', 'veth', 'peer', 'name', peerDevice, 'netns', peer.name],
      {
        encoding: 'utf8',
      },
    );
    if (add.status !== 0) throw new Error(`ip link add ${device} (veth) failed: ${add.stderr || add.error}`);
    for (const [h, dev, c] of [
      [this, device, cidr],
      [peer, peerDevice, peerCidr],
    ] as const) {
      for (const step of [
        ['addr', 'add', c, 'dev', dev, ...(c.includes(':') ? ['nodad'] : [])],
        ['link', 'set', dev, 'up'],
      ]) {
        const r = await h.run('ip', step);
        if (r.code !== 0) throw new Error(`ip ${step.join(' ')} in ${h.name} failed: ${r.stderr}`);
      }
    }
  }

  /**
   * Waits until something in the host listens on `port` ('tcp') or has it bound ('udp'),
   * on any address; with `family`, on an address of that family. Uses ss, so it sends
   * nothing to the port (no RPC call that a statistics test would see).
   */
  async waitForPort(
    proto: 'tcp' | 'udp',
    port: number,
    { family, ...wait }: WaitOptions & { family?: 4 | 6 } = {},
  ): Promise<void> {
    const flag = proto === 'tcp' ? '-t' : '-u';
    await waitFor(
      async () => {
        const r = await this.run('ss', ['-H', '-l', '-n', flag]);
        return r.stdout.split('\n').some((line) => {
          const local = line.trim().split(/\s+/)[3];
          if (local === undefined || !local.endsWith(`:${port}`)) return false;
          if (family === 4) return !local.startsWith('[');
          if (family === 6) return local.startsWith('[');
          return true;
        });
      },
      { what: `${proto} port ${port}${family ? ` (IPv${family})` : ''} in ${this.name}`, ...wait },
    );
  }

  /** Waits until a listening unix stream socket is bound at `path` inside the host. */
  async waitForUnixSocket(path: string, wait: WaitOptions = {}): Promise<void> {
    await waitFor(
      async () => {
        const r = await this.run('ss', ['-H', '-l', '-n', '-x']);
        return r.stdout.split('\n').some((line) => line.trim().split(/\s+/)[4] === path);
      },
      { what: `unix socket ${path} in ${this.name}`, ...wait },
    );
  }

  /** Kills (by pid) everything started here, then the holder, then deletes the namespace. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    const children = [...this.#children];
    for (const child of children) {
      if (child.pid !== undefined) killQuietly(child.pid, 'SIGTERM');
    }
    await Promise.race([Promise.all(children.map(waitForExit)), delay(KILL_GRACE_MS)]);
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        killQuietly(child.pid, 'SIGKILL');
      }
    }
    await Promise.race([Promise.all(children.map(waitForExit)), delay(KILL_GRACE_MS)]);
    this.disposeSync();
    await Promise.race([waitForExit(this.#holder), delay(KILL_GRACE_MS)]);
  }

  /** Synchronous teardown for the process 'exit' hook; also the tail of dispose(). */
  disposeSync(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    liveHosts.delete(this);
    for (const child of this.#children) {
      if (child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
    }
    // Anything else still inside our namespace (a grandchild, a forked daemon) was started by
    // us too: `ip netns pids` names them by pid.
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids
      .split('\n')
      .map(Number)
      .filter((p) => Number.isInteger(p) && p > 0)) {
      if (pid !== this.holderPid) killQuietly(pid, 'SIGKILL');
    }
    killQuietly(this.holderPid, 'SIGKILL');
    spawnSync('ip', ['netns', 'del', this.name]);
    if (this.#watchdog?.pid !== undefined) killQuietly(this.#watchdog.pid, 'SIGKILL');
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error(`test host ${this.name} already disposed`);
  }
}
