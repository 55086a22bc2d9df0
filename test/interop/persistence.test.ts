// Durable registrations against our daemon in namespaced hosts: restarts after SIGTERM and
// SIGKILL, a SIGKILL crash storm, bad state files, an unwritable state directory, pruning of
// dead services, and import of Debian rpcbind's warm-start files.
//
// ci-packages: rpcbind libtirpc-dev rpcsvc-proto gcc iproute2 util-linux
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { PMAP_PROG, type Rpcb } from '../../src/proto/index.js';
import { daemons, findRepoRoot, startDaemon, type RunningDaemon } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import { ConnectionClosed, RpcbClient, hostPath } from '../helpers/rpcb-client.js';
import { buildTirpcPrograms, RBTEST_PROG, startServer, type TirpcPrograms } from '../helpers/tirpc-programs.js';

const ours = daemons.find((d) => d.name === 'ours')!;
const reference = daemons.find((d) => d.name === 'reference')!;
const STATE_DIR = '/run/rpcbind-ts';
const STATE_FILE = `${STATE_DIR}/registrations.v2`;
const OPS_CLI = join(findRepoRoot(), 'dist', 'test', 'helpers', 'rpcb-ops-cli.js');
/** Rounds of the crash storm, each bounded in operations and time. */
const CRASH_ROUNDS = 20;
const STORM_WORKERS = 12;
const STORM_MAX_OPS_PER_WORKER = 5_000;
// Registrations on a host that is not ours are never probed by the liveness check.
const remote = (i: number, port: number) => `198.51.100.${i}.${port >> 8}.${port & 0xff}`;

async function withHost(body: (host: TestHost) => Promise<void>): Promise<void> {
  const host = await TestHost.create();
  try {
    await body(host);
  } finally {
    await host.dispose();
  }
}

const client = (host: TestHost) => RpcbClient.open(hostPath(host.holderPid, '/run/rpcbind.sock'));

async function others(host: TestHost): Promise<Rpcb[]> {
  const c = await client(host);
  try {
    return (await c.dump()).filter((r) => r.prog !== PMAP_PROG);
  } finally {
    c.close();
  }
}

/**
 * Starts our daemon and waits (bounded) until it answers DUMP on the local socket: quicker than
 * polling the socket tables, for the crash storm's many restarts.
 */
async function startOurs(host: TestHost): Promise<RunningDaemon> {
  const child = host.spawn(ours.command, [...ours.args]);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited: ${output}`);
      const c = await client(host);
      await c.dump();
      c.close();
      return true;
    },
    { timeoutMs: 5_000, intervalMs: 10, what: 'our daemon to answer' },
  );
  return { daemon: ours, process: child, output: () => output, stop: () => host.stop(child) };
}

async function killHard(host: TestHost, d: RunningDaemon): Promise<void> {
  await host.stop(d.process, { signal: 'SIGKILL' });
}

describe('durable registrations', { timeout: 120_000 }, () => {
  let programs: TirpcPrograms;
  before(async () => {
    programs = await buildTirpcPrograms();
  });

  test('survive SIGTERM and SIGKILL restarts: v2, v3 and v4 registrations, with owners', () =>
    withHost(async (host) => {
      let d = await startDaemon(host, ours);
      const c = await client(host);
      // v2 mappings always get the wildcard address: port 111 (the daemon itself) answers the
      // liveness check, so they are kept.
      assert.equal(await c.pmapSet({ prog: 300001, vers: 1, prot: 17, port: 111 }), true);
      assert.equal(await c.pmapSet({ prog: 300001, vers: 1, prot: 6, port: 111 }), true);
      assert.equal(await c.set({ prog: 300002, vers: 1, netid: 'tcp6', addr: '2001:db8::1.4.1', owner: 'x' }, 3), true);
      assert.equal(await c.set({ prog: 300003, vers: 2, netid: 'udp', addr: remote(7, 1026), owner: 'x' }, 4), true);
      assert.equal(
        await c.set({ prog: 300004, vers: 1, netid: 'local', addr: '/run/rpcbind.sock', owner: 'x' }, 4),
        true,
      );
      c.close();
      const asUser = await host.run(
        process.execPath,
        [
          OPS_CLI,
          JSON.stringify([
            { op: 'set', vers: 3, rpcb: { prog: 300005, vers: 1, netid: 'tcp', addr: remote(9, 257), owner: 'x' } },
          ]),
        ],
        { user: { uid: 1234, gid: 1234 } },
      );
      assert.equal(asUser.stdout.trim(), '[true]', asUser.stderr);
      const expected = await others(host);
      assert.equal(expected.length, 6);
      assert.deepEqual(
        expected.map((r) => r.owner),
        ['superuser', 'superuser', 'superuser', 'superuser', 'superuser', '1234'],
      );
      const c2 = await client(host);
      const fullDump = await c2.dump();
      c2.close();

      const t0 = Date.now();
      assert.deepEqual(await d.stop(), { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 1000, `SIGTERM exit took ${Date.now() - t0} ms`);
      d = await startDaemon(host, ours);
      const c3 = await client(host);
      assert.deepEqual(await c3.dump(), fullDump, 'same table, own entries first, in the same order');
      assert.deepEqual(
        (await c3.pmapDump()).filter((m) => m.prog !== PMAP_PROG),
        [
          { prog: 300001, vers: 1, prot: 17, port: 111 },
          { prog: 300001, vers: 1, prot: 6, port: 111 },
          { prog: 300003, vers: 2, prot: 17, port: 1026 },
          { prog: 300005, vers: 1, prot: 6, port: 257 },
        ],
      );
      c3.close();
      // The liveness check of restored entries has run: nothing was dropped.
      await waitFor(() => /liveness-check-done/.test(d.output()), {
        timeoutMs: 15_000,
        what: `liveness check; output: ${d.output()}`,
      });
      assert.match(d.output(), /liveness-check-done reason="?restored entries"? dropped=0/);
      assert.deepEqual(await others(host), expected, d.output());

      await killHard(host, d);
      d = await startDaemon(host, ours);
      assert.deepEqual(await others(host), expected);
      await waitFor(() => /liveness-check-done/.test(d.output()), {
        timeoutMs: 15_000,
        what: `liveness check; output: ${d.output()}`,
      });
      assert.deepEqual(await others(host), expected, d.output());
      assert.doesNotMatch(d.output(), /unusable|state-not-durable/);
    }));

  test(`crash storm: SIGKILL at random moments during SET/UNSET, ${CRASH_ROUNDS} rounds`, () =>
    withHost(async (host) => {
      type State = Rpcb | undefined;
      interface Key {
        prog: number;
        v2: boolean;
        acked: State;
        /** Outcome of a call sent but not answered when the daemon died. */
        inFlight?: { state: State };
      }
      const keys: Key[] = [];
      const keyId = (prog: number, netid: string) => `${prog}/${netid}`;
      let d = await startOurs(host);
      let acknowledged = 0;
      let unanswered = 0;
      for (let round = 0; round < CRASH_ROUNDS; round++) {
        const conns = await Promise.all(Array.from({ length: STORM_WORKERS }, () => client(host)));
        const roundKeys: Key[][] = conns.map((_, w) =>
          [0, 1].map((k) => ({ prog: 0x31000000 + round * 100 + w * 2 + k, v2: k === 0, acked: undefined })),
        );
        keys.push(...roundKeys.flat());
        // Old keys are touched too, so that the table also shrinks and grows across restarts.
        const oldKeys = keys.filter((k) => !roundKeys.flat().includes(k));
        const deadline = Date.now() + 2_000;
        const storm = conns.map(async (c, w) => {
          const mine = [...roundKeys[w]!, ...oldKeys.filter((_, i) => i % STORM_WORKERS === w)];
          for (let i = 0; i < STORM_MAX_OPS_PER_WORKER && Date.now() < deadline; i++) {
            const key = mine[randomInt(mine.length)]!;
            const next: State = key.acked
              ? undefined
              : key.v2
                ? { prog: key.prog, vers: 1, netid: 'tcp', addr: '0.0.0.0.0.111', owner: 'superuser' }
                : { prog: key.prog, vers: 1, netid: 'udp', addr: remote(w, 1024 + i), owner: 'superuser' };
            key.inFlight = { state: next };
            let ok: boolean;
            try {
              if (key.v2) {
                const m = { prog: key.prog, vers: 1, prot: 6, port: 111 };
                ok = next ? await c.pmapSet(m) : await c.pmapUnset(m);
              } else {
                const vers = i % 2 === 0 ? 3 : 4;
                ok = next
                  ? await c.set(next, vers)
                  : await c.unset({ prog: key.prog, vers: 1, netid: 'udp', owner: '' }, vers);
              }
            } catch (e) {
              if (e instanceof ConnectionClosed) {
                unanswered++;
                return;
              }
              throw e;
            }
            assert.equal(ok, true);
            key.acked = next;
            key.inFlight = undefined;
            acknowledged++;
          }
        });
        await delay(randomInt(20, 250));
        await killHard(host, d);
        await Promise.all(storm);
        for (const c of conns) c.close();
        d = await startOurs(host);
        const table = new Map((await others(host)).map((r) => [keyId(r.prog, r.netid), r]));
        for (const key of keys) {
          const id = keyId(key.prog, key.v2 ? 'tcp' : 'udp');
          const actual = table.get(id);
          table.delete(id);
          const allowed = [key.acked, ...(key.inFlight ? [key.inFlight.state] : [])];
          assert.ok(
            allowed.some((s) => JSON.stringify(s) === JSON.stringify(actual)),
            `round ${round}: ${id} is ${JSON.stringify(actual)}, allowed ${JSON.stringify(allowed)}\n${d.output()}`,
          );
          key.acked = actual;
          key.inFlight = undefined;
        }
        assert.deepEqual([...table.keys()], [], `round ${round}: entries nobody registered`);
        assert.doesNotMatch(d.output(), /unusable/);
      }
      await d.stop();
      assert.ok(acknowledged > CRASH_ROUNDS * 10, `only ${acknowledged} calls acknowledged`);
      process.stdout.write(
        `# crash storm: ${CRASH_ROUNDS} rounds, ${acknowledged} acknowledged, ${unanswered} cut off\n`,
      );
    }));

  test('corrupt, truncated, empty and foreign state files: moved aside, the daemon starts empty', () =>
    withHost(async (host) => {
      let d = await startDaemon(host, ours);
      const c = await client(host);
      assert.equal(await c.set({ prog: 300100, vers: 1, netid: 'udp', addr: remote(1, 2000), owner: '' }), true);
      c.close();
      await d.stop();
      const good = readFileSync(hostPath(host.holderPid, STATE_FILE));
      const flipped = Buffer.from(good);
      flipped[40]! ^= 1;
      const cases: Array<[string, Buffer]> = [
        ['corrupt', flipped],
        ['truncated', good.subarray(0, good.length - 9)],
        ['empty', Buffer.alloc(0)],
        ['foreign', Buffer.from('# rpcbind state from somewhere else\n')],
      ];
      for (const [name, bytes] of cases) {
        writeFileSync(hostPath(host.holderPid, STATE_FILE), bytes);
        d = await startDaemon(host, ours);
        assert.deepEqual(await others(host), [], name);
        assert.match(d.output(), /warning: state file .* is unusable .*moved to/, name);
        await d.stop();
      }
      // Each bad snapshot is moved aside; the journal written after it, now orphaned, beside it.
      const files = readdirSync(hostPath(host.holderPid, STATE_DIR));
      assert.equal(files.filter((f) => f.startsWith('registrations.v2.bad-')).length, cases.length);
      assert.equal(files.filter((f) => f.startsWith('registrations.v2.journal.orphan-')).length, cases.length);
      // and the good file still works
      writeFileSync(hostPath(host.holderPid, STATE_FILE), good);
      d = await startDaemon(host, ours);
      assert.equal((await others(host)).length, 1);
    }));

  test('an unwritable state directory: the daemon serves lookups, refuses changes and says so once', () =>
    withHost(async (host) => {
      const mount = await host.run('mount', ['-t', 'tmpfs', '-o', 'ro', 'tmpfs', '/run/ro']);
      if (mount.code !== 0) {
        await host.run('mkdir', ['/run/ro']);
        assert.equal((await host.run('mount', ['-t', 'tmpfs', '-o', 'ro', 'tmpfs', '/run/ro'])).code, 0);
      }
      const d = await startDaemon(host, ours, ['--state-dir', '/run/ro/state']);
      const c = await client(host);
      assert.equal(await c.set({ prog: 300200, vers: 1, netid: 'udp', addr: remote(1, 2000), owner: '' }), false);
      assert.equal(await c.unset({ prog: 300200, vers: 1, netid: 'udp', owner: '' }), false);
      assert.equal((await c.dump()).filter((r) => r.prog === 300200).length, 0);
      c.close();
      assert.equal(
        d
          .output()
          .split('\n')
          .filter((l) => /error: state-not-durable /.test(l)).length,
        1,
        d.output(),
      );
      assert.deepEqual(await d.stop(), { code: 0, signal: null });
    }));

  test('a service killed while the daemon was down is pruned after restart; live ones are kept; --reap-interval', () =>
    withHost(async (host) => {
      let d = await startDaemon(host, ours);
      // A registers udp, tcp, udp6, tcp6, then dies without unregistering; B (pmap_set style)
      // then takes over udp and tcp, so A's udp6 and tcp6 rows point at closed ports.
      const a = await startServer(host, programs.tirpcServer);
      await host.stop(a.process, { signal: 'SIGKILL' });
      const b = await startServer(host, programs.classicServer);
      const c = await client(host);
      assert.equal(await c.set({ prog: 300300, vers: 1, netid: 'local', addr: '/run/rpcbind.sock', owner: '' }), true);
      assert.equal(await c.set({ prog: 300301, vers: 1, netid: 'local', addr: '/run/gone.sock', owner: '' }), true);
      c.close();
      const before = await others(host);
      assert.deepEqual(
        before.map((r) => `${r.prog}/${r.netid}`),
        [
          `${RBTEST_PROG}/udp6`,
          `${RBTEST_PROG}/tcp6`,
          `${RBTEST_PROG}/udp`,
          `${RBTEST_PROG}/tcp`,
          '300300/local',
          '300301/local',
        ],
      );
      await killHard(host, d);
      d = await startDaemon(host, ours, ['--reap-interval', '1']);
      const expectLive = [`${RBTEST_PROG}/udp`, `${RBTEST_PROG}/tcp`, '300300/local'];
      await waitFor(
        async () =>
          JSON.stringify((await others(host)).map((r) => `${r.prog}/${r.netid}`)) === JSON.stringify(expectLive),
        { timeoutMs: 10_000, what: `pruning; output: ${d.output()}` },
      );
      // The entries leave the table before the drop is saved and logged: wait for the lines too.
      const drops =
        /dropped dead registration prog 536871169 vers 1 (tcp6|udp6) [\s\S]*dropped dead registration prog 536871169 vers 1 (tcp6|udp6) /;
      await waitFor(async () => drops.test(d.output()), {
        timeoutMs: 10_000,
        what: `the drops logged; output: ${d.output()}`,
      });
      assert.match(d.output(), /dropped dead registration prog 536871169 vers 1 tcp6 .*refuses connections/);
      assert.match(d.output(), /dropped dead registration prog 536871169 vers 1 udp6 /);
      assert.match(d.output(), /dropped dead registration prog 300301 vers 1 local .*gone/);
      // The live service still answers through the restored registration.
      assert.equal((await host.run(programs.client, ['127.0.0.1', 'udp', 'add', '2', '3'])).stdout.trim(), '5');
      // While running, --reap-interval notices B dying without unregistering.
      await host.stop(b.process, { signal: 'SIGKILL' });
      await waitFor(
        async () => JSON.stringify((await others(host)).map((r) => `${r.prog}/${r.netid}`)) === '["300300/local"]',
        {
          timeoutMs: 15_000,
          what: `periodic pruning; output: ${d.output()}`,
        },
      );
    }));

  test("imports Debian rpcbind's warm-start files (rpcbind -w, then SIGTERM)", () =>
    withHost(async (host) => {
      const ref = await startDaemon(host, reference);
      const server = await startServer(host, programs.tirpcServer);
      const c = await client(host);
      assert.equal(await c.pmapSet({ prog: 300400, vers: 2, prot: 6, port: 111 }), true);
      c.close();
      const c2 = await client(host);
      const registered = (await c2.dump()).filter((r) => r.prog !== PMAP_PROG);
      c2.close();
      await ref.stop();
      const d = await startDaemon(host, ours);
      assert.deepEqual(await others(host), registered, d.output());
      assert.match(d.output(), /imported 5 registrations/);
      // Once saved as ours, rpcbind's files are consumed, as rpcbind -w consumes them: a later
      // rpcbind -w (the way back) must not take up stale entries.
      await waitFor(
        async () =>
          (await host.run('sh', ['-c', 'test -e /run/rpcbind/rpcbind.xdr || test -e /run/rpcbind/portmap.xdr']))
            .code === 1,
        {
          timeoutMs: 5_000,
          what: `warm-start files removed; output: ${d.output()}`,
        },
      );
      await waitFor(() => /liveness-check-done/.test(d.output()), {
        timeoutMs: 15_000,
        what: `liveness check; output: ${d.output()}`,
      });
      assert.deepEqual(await others(host), registered, `the live ones stay: ${d.output()}`);
      assert.equal((await host.run(programs.client, ['127.0.0.1', 'tcp', 'add', '2', '3'])).stdout.trim(), '5');
      // Ours from now on: a restart reads our own file.
      await d.stop();
      const d2 = await startDaemon(host, ours);
      assert.deepEqual(await others(host), registered);
      assert.match(d2.output(), /restored 5 registrations/);
      await server.stop();
    }));
});
