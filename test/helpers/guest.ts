// A booted Debian guest: systemd as PID 1 in systemd-nspawn --boot --private-network, on an
// overlay over a cached root filesystem (test/system/make-rootfs.sh), so that each test starts
// from the same clean Debian and may reboot it. The guest has only its own loopback: nothing it
// does reaches another host. Commands run inside with nsenter into all of its namespaces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
  openSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, waitForExit } from './netns.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAKE_ROOTFS = join(ROOT, 'test', 'system', 'make-rootfs.sh');
/** Built once per machine and kept: only the first run pays for debootstrap (about 2 minutes). */
const ROOTFS_CACHE = process.env.RPCBIND_TS_ROOTFS_CACHE ?? '/var/cache/rpcbind-ts-test';
const ROOTFS_BUILD_TIMEOUT_MS = 15 * 60_000;
// Generous: a first boot of a fresh tree on a loaded 2-core machine is slow.
const BOOT_TIMEOUT_MS = 180_000;
const SHUTDOWN_GRACE_MS = 20_000;
const CGROUP_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];

export interface GuestResult {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
}

/**
 * The root filesystem for `suite` (bookworm, trixie), built on first use (several suites may be
 * built at once). It is rebuilt when make-rootfs.sh changes (its hash is stored in the tree).
 */
export async function ensureRootfs(suite: string): Promise<string> {
  const id = createHash('sha256').update(readFileSync(MAKE_ROOTFS)).digest('hex').slice(0, 16);
  const dir = join(ROOTFS_CACHE, `${suite}-rootfs`);
  const idFile = join(dir, '.rootfs-id');
  if (existsSync(idFile) && readFileSync(idFile, 'utf8').trim() === id) return dir;
  mkdirSync(ROOTFS_CACHE, { recursive: true });
  // One builder at a time per cache and suite (flock from util-linux).
  const lock = join(ROOTFS_CACHE, `${suite}.lock`);
  closeSync(openSync(lock, 'a'));
  const script = `[ "$(cat "$2/.rootfs-id" 2>/dev/null)" = "$3" ] || ROOTFS_ID="$3" "$1" "$4" "$2"`;
  const child = spawn('flock', [lock, 'sh', '-c', script, 'sh', MAKE_ROOTFS, dir, id, suite], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), ROOTFS_BUILD_TIMEOUT_MS);
  let spawnError = '';
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      spawnError = e.message;
      resolve({ code: null, signal: null });
    });
    void waitForExit(child).then(resolve);
  });
  clearTimeout(timer);
  if (spawnError) throw new Error(`cannot build the ${suite} root filesystem: ${spawnError}`);
  if (code !== 0) throw new Error(`cannot build the ${suite} root filesystem: ${stderr || `status ${code ?? signal}`}`);
  return dir;
}

export class Guest {
  readonly suite: string;
  readonly #work: string;
  readonly #merged: string;
  readonly #cgroup: string;
  readonly #nspawnArgs: readonly string[];
  #nspawn: ChildProcess | undefined;
  #pid1 = 0;
  #console = '';

  private constructor(suite: string, work: string, nspawnArgs: readonly string[]) {
    this.suite = suite;
    this.#nspawnArgs = nspawnArgs;
    this.#work = work;
    this.#merged = join(work, 'root');
    this.#cgroup = `rpcbind-ts-guest-${process.pid}-${suite}`;
  }

  /** Boots a fresh guest of `suite`; `bindRo` maps host directories read-only into it. */
  static async boot(
    suite: string,
    { bindRo = {} }: { bindRo?: Readonly<Record<string, string>> } = {},
  ): Promise<Guest> {
    const lower = await ensureRootfs(suite);
    const work = mkdtempSync(join(tmpdir(), `guest-${suite}-`));
    const guest = new Guest(
      suite,
      work,
      Object.entries(bindRo).map(([host, inGuest]) => `--bind-ro=${host}:${inGuest}`),
    );
    for (const d of ['upper', 'work', 'root']) mkdirSync(join(work, d));
    const m = spawnSync(
      'mount',
      [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${lower},upperdir=${join(work, 'upper')},workdir=${join(work, 'work')}`,
        guest.#merged,
      ],
      { encoding: 'utf8' },
    );
    if (m.status !== 0) {
      rmSync(work, { recursive: true, force: true });
      throw new Error(`cannot mount the guest's overlay: ${m.stderr}`);
    }
    try {
      await guest.#start();
    } catch (e) {
      await guest.dispose();
      throw e;
    }
    return guest;
  }

  /** The guest's root directory as seen from the host (to copy files in). */
  get root(): string {
    return this.#merged;
  }

  /** What the guest printed on its console since the last boot (for failure messages). */
  get console(): string {
    return this.#console;
  }

  // nspawn wants a cgroup of its own on this host, which runs no systemd (PLATFORM-NOTES).
  async #start(): Promise<void> {
    for (const h of CGROUP_HIERARCHIES) mkdirSync(join(h, this.#cgroup), { recursive: true });
    const procs = CGROUP_HIERARCHIES.map((h) => join(h, this.#cgroup, 'cgroup.procs'));
    this.#console = '';
    // nspawn dies with the test process (parent-death signal), its guest with it.
    const child = spawn(
      'sh',
      [
        '-c',
        'for f in $1; do echo $$ > "$f"; done; shift; exec setpriv --pdeathsig SIGKILL systemd-nspawn --quiet --boot --private-network --register=no --keep-unit -D "$0" "$@"',
        this.#merged,
        procs.join(' '),
        ...this.#nspawnArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#nspawn = child;
    let spawnError = '';
    child.once('error', (e) => (spawnError = e.message));
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.#console = (this.#console + s).slice(-20_000)));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.#console = (this.#console + s).slice(-20_000)));
    this.#pid1 = await waitFor(
      () => {
        if (spawnError) throw new Error(`cannot start systemd-nspawn: ${spawnError}`);
        if (child.exitCode !== null)
          throw new Error(`systemd-nspawn exited (${child.exitCode}): ${this.#console.slice(-2000)}`);
        // nspawn's child that runs systemd (nspawn may have short-lived helpers first).
        const r = spawnSync('ps', ['--ppid', String(child.pid), '-o', 'pid=,comm='], { encoding: 'utf8' });
        const line = r.stdout.split('\n').find((l) => /^\s*\d+\s+systemd$/.test(l));
        return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
      },
      { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 50, what: `the ${this.suite} guest's PID 1` },
    );
    let jobs = '';
    let state = '';
    await waitFor(
      async () => {
        const r = await this.run('systemctl is-system-running', { timeoutMs: 5_000 });
        jobs = (await this.run('systemctl list-jobs --no-legend --plain', { timeoutMs: 5_000 })).stdout;
        state = `${r.stdout.trim()} ${r.stderr.trim()}`.trim();
        if (r.stdout.trim() === 'degraded') {
          const failed = await this.run('systemctl --failed --no-legend --plain');
          throw new Error(`the guest booted degraded: ${failed.stdout}`);
        }
        return r.stdout.trim() === 'running';
      },
      { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 100, what: `the ${this.suite} guest to finish booting` },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last state: ${state || 'none'}; jobs still queued: ${jobs || 'none'}`);
    });
  }

  /** Runs a shell command inside the guest as root; never rejects on a non-zero exit. */
  run(command: string, { timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<GuestResult> {
    const child = spawn('nsenter', ['-t', String(this.#pid1), '-a', 'sh', '-c', command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        DEBIAN_FRONTEND: 'noninteractive',
        TERM: 'dumb',
      },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code, timedOut });
      });
    });
  }

  /** Runs a command that must succeed; returns its stdout. */
  async must(command: string, options: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(command, options);
    if (r.code !== 0) {
      // The guest's last journal lines say what the services did meanwhile.
      const journal = await this.run('journalctl --no-pager -o short-monotonic -n 40', { timeoutMs: 10_000 }).catch(
        () => undefined,
      );
      throw new Error(
        `in the ${this.suite} guest, "${command}" ${r.timedOut ? 'timed out' : `exited ${r.code}`}:\n${r.stdout}\n${r.stderr}\n--- journal:\n${journal?.stdout ?? ''}`,
      );
    }
    return r.stdout;
  }

  /** Waits until systemd says `unit` is active. */
  async waitActive(unit: string, what = `${unit} active in the ${this.suite} guest`): Promise<void> {
    await waitFor(async () => (await this.run(`systemctl is-active ${unit}`)).stdout.trim() === 'active', {
      timeoutMs: 20_000,
      intervalMs: 50,
      what,
    });
  }

  /** The name of `unit`'s main process (for rpcbind.service: "rpcbind" is Debian's, "node" ours). */
  async mainComm(unit = 'rpcbind.service'): Promise<string> {
    const pid = (await this.must(`systemctl show -p MainPID --value ${unit}`)).trim();
    return (await this.must(`cat /proc/${pid}/comm`)).trim();
  }

  /** Puts a file into the guest (through the overlay's merged view). */
  copyIn(hostPath: string, guestPath: string): void {
    writeFileSync(join(this.#merged, guestPath), readFileSync(hostPath));
  }

  /** A clean shutdown (SIGTERM to nspawn: the guest powers off), then a fresh boot of the same disk. */
  async reboot(): Promise<void> {
    await this.#shutdown();
    await this.#start();
  }

  async #shutdown(): Promise<void> {
    const child = this.#nspawn;
    this.#nspawn = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = waitForExit(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.#shutdown();
    spawnSync('umount', ['-l', this.#merged]);
    for (const h of CGROUP_HIERARCHIES) removeCgroup(join(h, this.#cgroup));
    rmSync(this.#work, { recursive: true, force: true });
  }
}

/** Removes a cgroup and the ones nspawn made under it (payload, supervisor...), deepest first. */
function removeCgroup(dir: string, depth = 0): void {
  if (depth > 8) return;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) removeCgroup(join(dir, e.name), depth + 1);
    rmdirSync(dir);
  } catch {
    // not made, or still busy with a dying process: harmless, and named per test process
  }
}
