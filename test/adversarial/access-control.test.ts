// Access lists, hosts.deny, SIGHUP reload and the rate limiter against a running daemon inside
// a private namespace. Needs root and: ci-packages: rpcbind iproute2 util-linux
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeReply } from '../../src/rpc/index.js';
import { daemons, findRepoRoot, startDaemon, type RunningDaemon } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import { dumpCall, getportCall, record, setCall } from '../helpers/rpc-calls.js';

const A = '198.18.0.1';
const B = '198.18.0.2';
const TOOL = join(findRepoRoot(), 'dist', 'test', 'helpers', 'attack-tool.js');
const ours = daemons.find((d) => d.name === 'ours')!;

let host: TestHost;
let daemon: RunningDaemon;

async function tool<T>(spec: object): Promise<T> {
  const r = await host.run(process.execPath, [TOOL], { input: JSON.stringify(spec), timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

interface UdpResult {
  replies: Array<{ xid: number; bytes: number; hex: string }>;
}

async function udpOne(from: string, msg: Buffer): Promise<ReturnType<typeof decodeReply> | undefined> {
  const r = await tool<UdpResult>({
    op: 'udp',
    target: A,
    from,
    port: 111,
    payloads: [msg.toString('hex')],
    waitMs: 400,
  });
  return r.replies[0] ? decodeReply(Buffer.from(r.replies[0].hex, 'hex')) : undefined;
}

describe('access control, reload and rate limits', { timeout: 60_000 }, () => {
  before(async () => {
    host = await TestHost.create();
    await host.addBridgeAddress(`${A}/24`);
    await host.addBridgeAddress(`${B}/24`);
    await host.run('sh', ['-c', 'echo "# empty" > /run/t.allow; echo "# empty" > /run/t.deny']);
    daemon = await startDaemon(host, ours, [
      '--deny-dump',
      'all',
      '--allow-dump',
      '127.0.0.1,::1',
      '--hosts-allow',
      '/run/t.allow',
      '--hosts-deny',
      '/run/t.deny',
      '--rate-limit',
      '50',
      '--rate-burst',
      '50',
      '--metrics',
      '127.0.0.1:9111',
    ]);
  });
  after(async () => host?.dispose());

  test('DUMP denied to a remote host with a small AUTH_TOOWEAK, allowed from loopback', async () => {
    const t = await tool<{ received: number }>({
      op: 'tcp',
      target: A,
      from: A,
      port: 111,
      chunks: [record(dumpCall(1, 4)).toString('hex')],
      gapMs: 0,
      maxMs: 500,
    });
    assert.equal(t.received, 4 + 20);
    const d = await udpOne(A, dumpCall(2, 2));
    assert.deepEqual(d, { kind: 'auth-error', xid: 2, stat: 5 });
    const l = await tool<UdpResult>({
      op: 'udp',
      target: '127.0.0.1',
      port: 111,
      payloads: [dumpCall(3, 2).toString('hex')],
      waitMs: 400,
    });
    assert.ok(l.replies[0]!.bytes > 100);
    assert.match(
      daemon.output(),
      /access-denied class=dump version=4 procedure=4 reason=access-rule transport=tcp caller=198\.18\.0\.1 /,
    );
  });

  test('SIGHUP re-reads hosts.deny without dropping connections or registrations', async () => {
    assert.equal((await udpOne(B, getportCall(4, 100000, 2)))?.kind, 'success');
    // A connection that stays open across the reload: two GETPORTs 1.5 s apart.
    const held = tool<{ received: number; closedByServer: boolean }>({
      op: 'tcp',
      target: A,
      from: A,
      port: 111,
      chunks: [
        record(getportCall(5, 100000, 2, 6)).toString('hex'),
        record(getportCall(6, 100000, 2, 6)).toString('hex'),
      ],
      gapMs: 1500,
      maxMs: 3500,
    });
    await host.run('sh', ['-c', `echo "rpcbind: ${B}" > /run/t.deny`]);
    // The held connection is open before the reload.
    await waitFor(
      async () =>
        (await host.run('ss', ['-Htn', 'state', 'established', `( sport = :111 and dst ${A} )`])).stdout.trim() !== '',
      { timeoutMs: 5000, what: 'the held connection established' },
    );
    process.kill(daemon.process.pid!, 'SIGHUP');
    await waitFor(() => /configuration reloaded/.test(daemon.output()), { timeoutMs: 2000, what: 'reload' });
    assert.deepEqual(await udpOne(B, getportCall(7, 100000, 2)), { kind: 'auth-error', xid: 7, stat: 5 });
    assert.equal((await udpOne(A, getportCall(8, 100000, 2)))?.kind, 'success');
    const h = await held;
    assert.equal(h.received, 2 * (4 + 28), 'the held connection lost a reply');
    assert.equal(h.closedByServer, false);
  });

  test('a UDP flood from one source is cut to the rate limit; other callers are still served', async () => {
    const flood = Array.from({ length: 400 }, (_, i) => getportCall(1000 + i, 100000, 2).toString('hex'));
    const r = await tool<UdpResult>({ op: 'udp', target: A, from: A, port: 111, payloads: flood, waitMs: 300 });
    assert.ok(r.replies.length >= 40 && r.replies.length < 150, `replies: ${r.replies.length}`);
    const l = await tool<UdpResult>({
      op: 'udp',
      target: '127.0.0.1',
      port: 111,
      payloads: [getportCall(9, 100000, 2).toString('hex')],
      waitMs: 300,
    });
    assert.equal(l.replies.length, 1);
    assert.match(daemon.output(), /rate-limited action=dropped transport=udp caller=198\.18\.0\.1 /);
    console.log(`# rate limit 50/s burst 50: ${r.replies.length} of 400 datagrams answered`);
  });

  test('the denials and rate-limit drops above are in the Prometheus series', async () => {
    const sets = [1, 2, 3].map((i) => setCall(2000 + i, 0x20000002, 1, 999).toString('hex'));
    const u = await tool<UdpResult>({ op: 'udp', target: A, from: B, port: 111, payloads: sets, waitMs: 400 });
    assert.equal(u.replies.length, 3);
    const r = await host.run(process.execPath, [
      '-e',
      "fetch('http://127.0.0.1:9111/metrics').then(async (r) => { if (r.status !== 200) process.exit(2); process.stdout.write(await r.text()); })",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const value = (series: string): number =>
      Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(r.stdout)?.[1] ?? 0);
    // DUMP from A over TCP and UDP, GETPORT from B after hosts.deny named it (B's SETs are refused as not local first).
    assert.equal(value('rpcbind_denials_total{reason="access-rule"}'), 3, r.stdout);
    assert.equal(value('rpcbind_denials_total{reason="not-local"}'), 3, r.stdout);
    // Of the 400 flooded datagrams ~50 are answered; the rest are dropped by the limiter, except
    // those the kernel drops first when the socket's receive queue is full (under load: 230 and
    // 236 counted in two full-suite runs, 250+ alone).
    assert.ok(value('rpcbind_rate_limited_calls_total{transport="udp"}') >= 150, r.stdout);
    assert.equal(value('rpcbind_remote_dumps_total'), 0, r.stdout);
  });
});
