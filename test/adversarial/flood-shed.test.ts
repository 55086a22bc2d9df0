// Shedding in the kernel: a source that stays over its rate limit is dropped by a BPF filter on
// the daemon's sockets (UDP and TCP listeners, IPv4 and IPv6). The flooders run in a second
// namespace joined by a veth pair, so they are remote hosts, not local addresses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestHost, waitFor } from '../helpers/netns.js';
import { daemons, findRepoRoot, startDaemon, type RunningDaemon } from '../helpers/daemons.js';
import { joinByVeth } from '../helpers/veth.js';
import { getportCall } from '../helpers/rpc-calls.js';
import type { ProbeResult, ProbeStep } from '../helpers/rpc-probe.js';

const PROBE = join(findRepoRoot(), 'dist', 'test', 'helpers', 'rpc-probe.js');
const TOOL = join(findRepoRoot(), 'dist', 'test', 'helpers', 'attack-tool.js');
const METRICS = '127.0.0.1:9117';
const SERVER = '198.18.7.1';
const SERVER6 = 'fd07::1';
const [A, B] = ['198.18.7.2', '198.18.7.3'];
const A6 = 'fd07::2';
const ours = daemons.find((d) => d.name === 'ours')!;
const call = getportCall(0x77, 100000).toString('hex');

let host: TestHost;
let peer: TestHost;
let daemon: RunningDaemon;

async function probe(where: TestHost, steps: ProbeStep[]): Promise<ProbeResult[]> {
  const r = await where.run(process.execPath, [PROBE, JSON.stringify(steps)], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ProbeResult[];
}

/** Floods from `from` until the daemon logs that it shed it (bounded rounds). */
async function floodUntilShed(from: string, target: string): Promise<void> {
  const shed = new RegExp(`source-shed source=${from.replace(/[.]/g, '\\.')} `);
  for (let round = 0; round < 5 && !shed.test(daemon.output()); round++) {
    await probe(peer, [{ op: 'flood', host: target, port: 111, msg: call, count: 3000, batch: 4, from }]);
  }
  await waitFor(() => shed.test(daemon.output()), { what: `${from} shed`, timeoutMs: 5_000 });
}

async function metric(name: string): Promise<number> {
  const r = await host.run(process.execPath, [
    '-e',
    `fetch('http://${METRICS}/metrics').then(async (r) => process.stdout.write(await r.text()))`,
  ]);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(r.stdout);
  assert.ok(m, `${name} in ${r.stdout.slice(0, 200)}`);
  return Number(m[1]);
}

/** `count` calls from `from` at once: how many were answered. */
async function answered(from: string, target: string, count = 5): Promise<number> {
  const [r] = await probe(peer, [{ op: 'flood', host: target, port: 111, msg: call, count, batch: count, from }]);
  return r!.replies!;
}

/** TCP connections to port 111 from `from` established now (seen from the daemon's side). */
async function connectionsFrom(from: string): Promise<number> {
  const r = await host.run('ss', ['-H', '-t', '-n', 'state', 'established', '( sport = :111 )']);
  return r.stdout.split('\n').filter((l) => l.includes(`${from}:`)).length;
}

async function tcpAnswered(from: string, target: string, timeoutMs: number): Promise<boolean> {
  const [r] = await probe(peer, [
    { op: 'call', transport: 'tcp', host: target, port: 111, msg: call, timeoutMs, from },
  ]);
  return r!.reply !== null;
}

function start(shedSeconds: number): Promise<RunningDaemon> {
  return startDaemon(host, ours, [
    '--rate-limit',
    '20',
    '--rate-burst',
    '20',
    '--rate-limit-local',
    '--shed-seconds',
    String(shedSeconds),
    '--no-hosts-access',
    '--metrics',
    METRICS,
  ]);
}

describe('shedding flooders in the kernel', { timeout: 120_000 }, () => {
  before(async () => {
    host = await TestHost.create();
    peer = await TestHost.create();
    await joinByVeth(host, peer, [`${SERVER}/24`, `${SERVER6}/64`], [`${A}/24`, `${B}/24`, `${A6}/64`]);
    daemon = await start(60);
    await waitFor(async () => (await answered(B, SERVER, 1)) === 1, {
      what: 'an answer over the veth link',
      timeoutMs: 10_000,
    });
  });
  after(async () => {
    await peer?.dispose();
    await host?.dispose();
  });

  test('a source over its limit is shed: its datagrams and SYNs are dropped in the kernel, its connections closed, others are served', async () => {
    // Two connections from A, open before it floods.
    const held = peer.run(process.execPath, [TOOL], {
      input: JSON.stringify({ op: 'idle', target: SERVER, from: A, port: 111, count: 2, holdMs: 8000 }),
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await connectionsFrom(A)) === 2, { what: 'two connections from A' });
    await floodUntilShed(A, SERVER);
    await waitFor(async () => (await connectionsFrom(A)) === 0, { what: "the shed source's connections closed" });
    const before = await metric('rpcbind_udp_kernel_drops');
    assert.equal(await answered(A, SERVER), 0);
    // Counted by the kernel on our socket: never delivered, not read and dropped by us.
    assert.ok((await metric('rpcbind_udp_kernel_drops')) >= before + 5);
    assert.equal(await answered(B, SERVER), 5);
    assert.equal(await tcpAnswered(A, SERVER, 500), false);
    assert.equal(await tcpAnswered(B, SERVER, 5000), true);
    assert.ok((await metric('rpcbind_shed_sources')) >= 1);
    assert.ok((await metric('rpcbind_sources_shed_total')) >= 1);
    const h = JSON.parse((await held).stdout) as { opened: number; closedByServer: number };
    assert.deepEqual(h, { opened: 2, closedByServer: 2 });
  });

  test('the filter is rebuilt as sources are added (IPv6 too)', async () => {
    await floodUntilShed(A6, SERVER6);
    await floodUntilShed(B, SERVER);
    const before = await metric('rpcbind_udp_kernel_drops');
    assert.equal(await answered(A6, SERVER6), 0);
    assert.equal(await answered(B, SERVER), 0);
    assert.equal(await answered(A, SERVER), 0);
    assert.ok((await metric('rpcbind_udp_kernel_drops')) >= before + 15);
    assert.equal(await metric('rpcbind_shed_sources'), 3);
  });

  test("loopback and the host's own addresses are never shed, however far over their limit", async () => {
    for (const [from, target] of [
      ['127.0.0.1', '127.0.0.1'],
      [SERVER, SERVER],
    ] as const) {
      const [r] = await probe(host, [{ op: 'flood', host: target, port: 111, msg: call, count: 4000, batch: 4, from }]);
      assert.ok(r!.ms! >= 600, `flood of ${r!.ms} ms`);
      assert.ok(r!.replies! < 4000, 'the rate limit applied');
      assert.doesNotMatch(daemon.output(), new RegExp(`source-shed source=${from.replace(/[.]/g, '\\.')} `));
    }
    const [r] = await probe(host, [
      { op: 'call', transport: 'udp', host: '127.0.0.1', port: 111, msg: call, timeoutMs: 2000 },
    ]);
    assert.notEqual(r!.reply, null);
  });

  test('a shedding expires, and a repeat offence is shed twice as long', async () => {
    await daemon.stop();
    daemon = await start(2);
    await floodUntilShed(A, SERVER);
    assert.match(daemon.output(), /source-shed source=198\.18\.7\.2 over=rate seconds=2 offence=1/);
    await waitFor(() => /source-unshed source=198\.18\.7\.2 reason=expired/.test(daemon.output()), {
      what: 'the shedding of A to expire',
      timeoutMs: 10_000,
    });
    assert.equal(await answered(A, SERVER), 5);
    await waitFor(
      async () => {
        await probe(peer, [{ op: 'flood', host: SERVER, port: 111, msg: call, count: 3000, batch: 4, from: A }]);
        return /source-shed source=198\.18\.7\.2 over=rate seconds=4 offence=2/.test(daemon.output());
      },
      { what: 'A shed again, for 4 s', timeoutMs: 20_000, intervalMs: 1 },
    );
  });
});
