// Durable registrations under storage faults, against our daemon in namespaced hosts (each with
// its own tmpfs mounts): a full file system (a 64 KiB tmpfs, 40 KiB taken by a file), a
// read-only directory, the state directory removed while running, SIGKILL during a compaction,
// and recovery after each. The rule checked everywhere: every SET/UNSET answered TRUE is there
// after kill -9 and a restart, and nothing answered FALSE is in the table, in memory or after.
//
// ci-packages: iproute2 util-linux
import assert from 'node:assert/strict';
import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PMAP_PROG, type Rpcb } from '../../src/proto/index.js';
import { daemons, findRepoRoot } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import { RpcbClient, hostPath } from '../helpers/rpcb-client.js';

const ours = daemons.find((d) => d.name === 'ours')!;
const NOTIFY_LISTENER = join(findRepoRoot(), 'dist', 'test', 'helpers', 'notify-listener.js');
const METRICS_PORT = 9111;
const SMALL = '/run/small';
const STATE = `${SMALL}/state`;
// Registrations on a host that is not ours are never probed by the liveness check.
const remote = (i: number) => `198.51.100.${i % 250}.4.${i % 256}`;
const rpcb = (prog: number, i = prog): Rpcb => ({ prog, vers: 1, netid: 'udp', addr: remote(i), owner: '' });

interface Ours {
  pid: number;
  output(): string;
  kill(): Promise<void>;
  stop(): Promise<unknown>;
}

async function withHost(body: (host: TestHost) => Promise<void>): Promise<void> {
  const host = await TestHost.create();
  try {
    await body(host);
  } finally {
    await host.dispose();
  }
}

async function sh(host: TestHost, script: string): Promise<string> {
  const r = await host.run('sh', ['-c', script]);
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  return r.stdout;
}

const client = (host: TestHost) => RpcbClient.open(hostPath(host.holderPid, '/run/rpcbind.sock'));

/** Starts ours with its state in STATE; waits (bounded) until it answers on the local socket. */
async function startOurs(host: TestHost, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<Ours> {
  const child = host.spawn(ours.command, [...ours.args, '--state-dir', STATE, ...extra], env ? { env } : {});
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited: ${out}`);
      const c = await client(host);
      c.close();
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 10, what: 'our daemon to answer' },
  );
  return {
    pid: child.pid!,
    output: () => out,
    kill: async () => void (await host.stop(child, { signal: 'SIGKILL' })),
    stop: () => host.stop(child),
  };
}

async function progs(host: TestHost): Promise<number[]> {
  const c = await client(host);
  try {
    return (await c.dump()).filter((r) => r.prog !== PMAP_PROG).map((r) => r.prog);
  } finally {
    c.close();
  }
}

async function scrape(host: TestHost): Promise<Map<string, number>> {
  const r = await host.run(process.execPath, [
    '-e',
    `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then(async (r) => process.stdout.write(await r.text()))`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const series = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(rpcbind_state_\w+) (\S+)$/.exec(line);
    if (m) series.set(m[1]!, Number(m[2]));
  }
  return series;
}

/** SETs of `list` one after another; returns those answered TRUE and those answered FALSE. */
async function setAll(host: TestHost, list: number[]): Promise<{ acked: number[]; refused: number[] }> {
  const c = await client(host);
  const acked: number[] = [];
  const refused: number[] = [];
  try {
    for (const p of list) ((await c.set(rpcb(p))) ? acked : refused).push(p);
  } finally {
    c.close();
  }
  return { acked, refused };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

describe('storage faults', { timeout: 180_000 }, () => {
  test('a full file system: 3,000 SETs, every one answered TRUE survives kill -9; refused ones change nothing; recovery once space is back', () =>
    withHost(async (host) => {
      await sh(
        host,
        `mkdir -p ${SMALL} && mount -t tmpfs -o size=64k tmpfs ${SMALL} && head -c 40960 /dev/zero > ${SMALL}/filler`,
      );
      const listener = host.spawn(process.execPath, [NOTIFY_LISTENER, '/run/notify.sock', '10']);
      let notes = '';
      listener.stdout!.setEncoding('utf8').on('data', (s: string) => (notes += s));
      await waitFor(() => notes.includes('"listening"'), { what: 'notify listener' });
      let d = await startOurs(host, ['--metrics', `127.0.0.1:${METRICS_PORT}`], { NOTIFY_SOCKET: '/run/notify.sock' });
      const first = await setAll(
        host,
        Array.from({ length: 3000 }, (_, i) => 0x40000000 + i),
      );
      assert.ok(first.acked.length > 0, 'some SETs fit in the space there is');
      assert.ok(first.refused.length > 0, 'the file system filled up');
      // Lookups go on from memory, which holds exactly what was acknowledged.
      assert.deepEqual(sorted(await progs(host)), sorted(first.acked));
      assert.equal(count(d.output(), /state-not-durable/), 1, d.output());
      assert.match(
        d.output(),
        /error: state-not-durable dir=\/run\/small\/state reason=.*changes="refused until saved again"/,
      );
      const m = await scrape(host);
      assert.equal(m.get('rpcbind_state_durable'), 0);
      assert.equal(m.get('rpcbind_state_refused_changes_total'), first.refused.length);
      await waitFor(() => /STATUS=serving; REGISTRATIONS NOT SAVED \(changes refused\)/.test(notes), {
        what: 'STATUS= line',
      });

      await d.kill();
      d = await startOurs(host, ['--metrics', `127.0.0.1:${METRICS_PORT}`], { NOTIFY_SOCKET: '/run/notify.sock' });
      const restored = await progs(host);
      const lost = first.acked.filter((p) => !restored.includes(p));
      assert.deepEqual(lost, [], 'acknowledged SETs lost');
      assert.deepEqual(sorted(restored), sorted(first.acked), 'nothing refused came back');

      // Still full after the restart: refused again, one episode.
      assert.deepEqual((await setAll(host, [0x41000000])).acked, []);
      // The event is logged as the episode starts, not necessarily before the answer is read.
      await waitFor(() => count(d.output(), /state-not-durable/) >= 1, { what: 'state-not-durable after the restart' });
      assert.equal(count(d.output(), /state-not-durable/), 1, d.output());
      // Space back: the daemon writes a snapshot, says so, and accepts changes again, durably.
      await sh(host, `rm ${SMALL}/filler`);
      await waitFor(() => /warning: state-durable-again dir=\/run\/small\/state/.test(d.output()), {
        timeoutMs: 15_000,
        what: 'the state saved again',
      });
      await waitFor(() => notes.trimEnd().endsWith('"STATUS=serving"'), { what: 'STATUS=serving' });
      const second = await setAll(
        host,
        Array.from({ length: 300 }, (_, i) => 0x42000000 + i),
      );
      assert.equal(second.refused.length, 0);
      assert.equal((await scrape(host)).get('rpcbind_state_durable'), 1);
      await d.kill();
      d = await startOurs(host);
      const after = await progs(host);
      assert.deepEqual(
        second.acked.filter((p) => !after.includes(p)),
        [],
        'acknowledged after recovery, then lost',
      );
      await d.stop();
      process.stdout.write(
        `# ENOSPC (64 KiB tmpfs, 40 KiB filler, 3,000 v3 SETs): acknowledged ${first.acked.length}, refused ${first.refused.length}, ` +
          `lost ${lost.length}; after the filler was removed: ${second.acked.length} of 300 acknowledged and kept\n`,
      );
    }));

  test('a read-only state directory: changes refused (or, with --state-failure accept, kept in memory); remounted read-write, they are saved again', () =>
    withHost(async (host) => {
      await sh(
        host,
        `mkdir -p ${SMALL} && mount -t tmpfs -o size=1m tmpfs ${SMALL} && mkdir ${STATE} && mount -o remount,ro ${SMALL}`,
      );
      let d = await startOurs(host);
      assert.deepEqual(await setAll(host, [300100]), { acked: [], refused: [300100] });
      assert.deepEqual(await progs(host), []);
      assert.match(d.output(), /error: state-not-durable dir=\/run\/small\/state reason=.*read-only/);
      await sh(host, `mount -o remount,rw ${SMALL}`);
      await waitFor(async () => (await setAll(host, [300101])).acked.length === 1, {
        timeoutMs: 15_000,
        what: 'SETs accepted again',
      });
      // While the journal is open for writing the kernel refuses to make the file system
      // read-only (EBUSY): the daemon keeps saving.
      const ro = await host.run('mount', ['-o', 'remount,ro', SMALL]);
      assert.notEqual(ro.code, 0, 'remount,ro with the journal open');
      assert.deepEqual((await setAll(host, [300102])).refused, []);
      await d.kill();
      d = await startOurs(host);
      assert.deepEqual(await progs(host), [300101, 300102]);
      await d.stop();

      // Availability first: accepted in memory, said loudly; saved once the directory is writable.
      await sh(host, `mount -o remount,ro ${SMALL}`);
      d = await startOurs(host, ['--state-failure', 'accept']);
      assert.deepEqual((await setAll(host, [300103])).acked, [300103]);
      assert.match(d.output(), /error: state-not-durable .*ACCEPTED IN MEMORY ONLY/);
      await sh(host, `mount -o remount,rw ${SMALL}`);
      await waitFor(() => /state-durable-again/.test(d.output()), { timeoutMs: 15_000, what: 'the state saved again' });
      await d.kill();
      d = await startOurs(host);
      assert.deepEqual(await progs(host), [300101, 300102, 300103]);
      await d.stop();
    }));

  test('the state directory removed while running: the next change is refused, the directory is recreated, changes are durable again', () =>
    withHost(async (host) => {
      await sh(host, `mkdir -p ${SMALL}`);
      let d = await startOurs(host);
      assert.deepEqual((await setAll(host, [300200])).acked, [300200]);
      await sh(host, `rm -r ${STATE}`);
      // The journal open in the removed directory takes the write; the daemon sees it is unlinked.
      assert.deepEqual((await setAll(host, [300201])).refused, [300201]);
      assert.deepEqual(await progs(host), [300200]);
      assert.match(d.output(), /state-not-durable .*removed/);
      await waitFor(() => /state-durable-again/.test(d.output()), { timeoutMs: 15_000, what: 'the state saved again' });
      assert.equal(existsSync(hostPath(host.holderPid, `${STATE}/registrations.v2`)), true);
      assert.deepEqual((await setAll(host, [300202])).acked, [300202]);
      await d.kill();
      d = await startOurs(host);
      assert.deepEqual(await progs(host), [300200, 300202]);
      await d.stop();
    }));

  test('kill -9 during the compaction of a SIGTERM (as its temporary file appears): every acknowledged change is restored, 10 rounds', () =>
    withHost(async (host) => {
      await sh(host, `mkdir -p ${SMALL}`);
      let d = await startOurs(host);
      // A table large enough that the snapshot written on SIGTERM takes a while (~3 MB).
      const c = await client(host);
      const base = 0x43000000;
      const total = 80_000;
      for (let i = 0; i < total; i += 1000) {
        const results = await Promise.all(Array.from({ length: 1000 }, (_, k) => c.set(rpcb(base + i + k, i + k))));
        assert.ok(results.every(Boolean));
      }
      c.close();
      let expected = new Set(Array.from({ length: total }, (_, i) => base + i));
      let midCompaction = 0;
      const dir = hostPath(host.holderPid, STATE);
      for (let round = 0; round < 10; round++) {
        // Changes in the journal, so that the SIGTERM has something to fold into the snapshot.
        const changes = await setAll(
          host,
          Array.from({ length: 50 }, (_, i) => base + total + round * 50 + i),
        );
        assert.equal(changes.refused.length, 0);
        for (const p of changes.acked) expected.add(p);
        // SIGKILL as soon as the compaction's temporary file appears (inotify).
        const pid = d.pid;
        let fired = false;
        const watcher = watch(dir, (_event, name) => {
          if (name !== 'registrations.v2.tmp' || fired) return;
          fired = true;
          process.kill(pid, 'SIGKILL');
        });
        process.kill(pid, 'SIGTERM');
        // The compaction starts once the listeners are closed (~0.1 s here).
        await waitFor(() => fired || !existsSync(`/proc/${pid}`), {
          timeoutMs: 10_000,
          intervalMs: 5,
          what: 'the compaction or the exit',
        });
        await d.kill();
        watcher.close();
        const journal = readFileSync(join(dir, 'registrations.v2.journal'));
        const snapshot = readFileSync(join(dir, 'registrations.v2'));
        // Killed between the temporary file's creation and the journal's reset.
        if (
          existsSync(join(dir, 'registrations.v2.tmp')) ||
          journal.length < 20 ||
          !journal.subarray(8, 16).equals(snapshot.subarray(8, 16))
        ) {
          midCompaction++;
        }
        d = await startOurs(host);
        const now = new Set(await progs(host));
        const lost = [...expected].filter((p) => !now.has(p));
        assert.deepEqual(lost, [], `round ${round}`);
        assert.equal(now.size, expected.size, `round ${round}: entries nobody registered`);
        expected = now;
      }
      await d.stop();
      assert.ok(midCompaction > 0, 'no round was killed inside the compaction');
      process.stdout.write(`# kill -9 after SIGTERM: 10 rounds, ${midCompaction} of them inside the compaction\n`);
    }));
});
