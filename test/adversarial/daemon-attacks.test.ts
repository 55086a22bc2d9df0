// The daemon under attack, inside a private network + mount namespace. Attacks come from
// another host (198.18.0.3, a second namespace joined by a veth pair: the host's own addresses
// count as local for the UDP reply cap) unless they need the volume only a rate-exempt
// loopback source gets; after each, a fresh client (198.18.0.2, on that host) must get a GETPORT
// answer within 1 s, the daemon's RSS must stay under 200 MB and no registration may change.
// Figures (ratios, RSS, times) are printed as diagnostics for the note.
//
// Needs root and: ci-packages: rpcbind iproute2 util-linux
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeReply } from '../../src/rpc/index.js';
import { decodeRpcbList } from '../../src/proto/index.js';
import { daemons, findRepoRoot, startDaemon, type RunningDaemon } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import {
  dumpCall,
  everyProcedureCall,
  getportCall,
  nullCall,
  record,
  rpcbSetCall,
  rpcbUnsetCall,
  setCall,
  unsetCall,
} from '../helpers/rpc-calls.js';

/** The daemon's LAN address; the attacker and the fresh client are on the remote host. */
const TARGET = '198.18.0.1';
const ATTACKER = '198.18.0.3';
const FRESH = '198.18.0.2';
const PORT = 111;
const RSS_CAP_BYTES = 200 * 1024 * 1024;
const TOOL = join(findRepoRoot(), 'dist', 'test', 'helpers', 'attack-tool.js');
const ours = daemons.find((d) => d.name === 'ours')!;

interface UdpResult {
  sent: number[];
  replies: Array<{ xid: number; bytes: number; hex: string }>;
  firstReplyMs?: number;
}
interface TcpResult {
  closedByServer: boolean;
  closedMs?: number;
  received: number;
  firstDataMs?: number;
}

let host: TestHost;
let remote: TestHost;
let daemon: RunningDaemon;
let baseline: string[];
const figures: string[] = [];

/** Runs the attack tool on the remote host, or on the daemon's for loopback and the local socket. */
async function tool<T>(spec: { op: string; target?: string; [k: string]: unknown }, timeoutMs = 20_000): Promise<T> {
  const where = spec.op === 'local' || spec.target === '127.0.0.1' ? host : remote;
  const r = await where.run(process.execPath, [TOOL], { input: JSON.stringify(spec), timeoutMs });
  assert.equal(r.code, 0, `attack tool failed: ${r.stderr}${r.timedOut ? ' (timed out)' : ''}`);
  return JSON.parse(r.stdout) as T;
}

function rssBytes(): number {
  const status = readFileSync(`/proc/${daemon.process.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function registrations(): Promise<string[]> {
  const r = await tool<{ received: string }>({
    op: 'local',
    path: '/run/rpcbind.sock',
    chunks: [record(dumpCall(77, 4)).toString('hex')],
    maxMs: 2000,
  });
  const buf = Buffer.from(r.received, 'hex');
  const d = decodeReply(buf.subarray(4));
  assert.equal(d.kind, 'success');
  if (d.kind !== 'success') return [];
  return decodeRpcbList(d.results, 100_000).map((e) => JSON.stringify(e));
}

/** The three checks after every attack; returns the fresh client's time for the note. */
/** TCP connections to port 111 from `peer` that the daemon's namespace holds established. */
async function serverConnections(peer: string): Promise<number> {
  const r = await host.run('ss', ['-Htn', 'state', 'established', `( sport = :${PORT} and dst ${peer} )`]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

async function healthy(what: string): Promise<void> {
  const u = await tool<UdpResult>({
    op: 'udp',
    target: TARGET,
    from: FRESH,
    port: PORT,
    payloads: [getportCall(9, 100000, 2).toString('hex')],
    waitMs: 1000,
  });
  assert.equal(u.replies.length, 1, `${what}: fresh UDP client not answered`);
  assert.ok(u.firstReplyMs! < 1000);
  const t = await tool<TcpResult>({
    op: 'tcp',
    target: TARGET,
    from: FRESH,
    port: PORT,
    chunks: [record(getportCall(10, 100000, 2, 6)).toString('hex')],
    gapMs: 0,
    maxMs: 1000,
  });
  assert.ok(t.received >= 32 && t.firstDataMs! < 1000, `${what}: fresh TCP client not answered within 1 s`);
  const rss = rssBytes();
  assert.ok(rss < RSS_CAP_BYTES, `${what}: RSS ${rss}`);
  assert.deepEqual(await registrations(), baseline, `${what}: registrations changed`);
  figures.push(
    `${what}: fresh client udp ${u.firstReplyMs} ms, tcp ${t.firstDataMs} ms; RSS ${(rss / 1048576).toFixed(1)} MB`,
  );
}

function hexes(bufs: Buffer[]): string[] {
  return bufs.map((b) => b.toString('hex'));
}

/** Calls whose length words claim huge sizes (rpcbomb). */
function bombs(): Buffer[] {
  const out: Buffer[] = [];
  for (const len of [0xffffff00, 1e9, 0x7fffffff, 0xfffffffc, 65536]) {
    for (const c of everyProcedureCall(0xb0)) {
      // Put the huge length at every word position after the header.
      for (let at = 40; at + 4 <= c.bytes.length; at += 4) {
        const b = Buffer.from(c.bytes);
        b.writeUInt32BE(len, at);
        out.push(Buffer.concat([b, Buffer.alloc(20)]));
      }
    }
    const cred = Buffer.from(nullCall(0xb1));
    cred.writeUInt32BE(1, 24);
    cred.writeUInt32BE(len, 28); // AUTH_SYS body length
    out.push(cred);
  }
  return out;
}

describe('daemon under attack', { timeout: 120_000 }, () => {
  before(async () => {
    host = await TestHost.create();
    remote = await TestHost.create();
    await host.linkTo(remote, `${TARGET}/24`, `${FRESH}/24`);
    const add = await remote.run('ip', ['addr', 'add', `${ATTACKER}/24`, 'dev', 'rbtlan1']);
    assert.equal(add.code, 0, add.stderr);
    daemon = await startDaemon(host, ours, [
      '--record-timeout-ms',
      '1500',
      '--idle-timeout-ms',
      '3000',
      '--no-hosts-access',
    ]);
    // One service registered by root over the local socket, to see that nothing changes it.
    const r = await tool<{ received: string }>({
      op: 'local',
      path: '/run/rpcbind.sock',
      chunks: [record(rpcbSetCall(1, 0x20000001, 1, 'udp', '0.0.0.0.8.1')).toString('hex')],
      maxMs: 2000,
    });
    assert.ok(r.received.length > 0);
    baseline = await registrations();
    assert.ok(baseline.some((e) => e.includes('536870913')));
  });
  after(async () => {
    if (figures.length) console.log(`# figures\n# ${figures.join('\n# ')}`);
    await host?.dispose();
    await remote?.dispose();
  });

  test('rpcbomb datagrams and records: answered small or dropped, nothing allocated', async () => {
    const b = bombs();
    const u = await tool<UdpResult>({
      op: 'udp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      payloads: hexes(b),
      waitMs: 500,
      paceEvery: 50,
    });
    const smallest = Math.min(...b.map((x) => x.length));
    // Error replies (24-32 bytes) or small results of a mangled lookup; never a large one.
    assert.ok(
      u.replies.every((r) => r.bytes <= 64),
      'a bomb got a large reply',
    );
    const t = await tool<TcpResult>({
      op: 'tcp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      chunks: hexes(b.slice(0, 200).map(record)),
      gapMs: 0,
      maxMs: 3000,
    });
    figures.push(
      `rpcbomb: ${b.length} datagrams (${smallest}+ bytes), ${u.replies.length} replies, largest ${Math.max(...u.replies.map((r) => r.bytes))} bytes; 200 records over TCP, ${t.received} reply bytes`,
    );
    await healthy('rpcbomb');
  });

  test('every procedure cut at every length, 10,000 seeded random/mutated datagrams, zero-length datagram', async () => {
    const cuts: Buffer[] = [Buffer.alloc(0)];
    for (const c of everyProcedureCall(0xc0))
      for (let n = 0; n < c.bytes.length; n++) cuts.push(c.bytes.subarray(0, n));
    let s = 0x12345678;
    const rnd = (): number => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s;
    };
    // SET/UNSET are left out: from loopback they are allowed and would change the table.
    const seeds = everyProcedureCall(0xc1)
      .filter((c) => !/SET/.test(c.name))
      .map((c) => c.bytes);
    const fuzz: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      const m = i % 3 === 0 ? Buffer.alloc(rnd() % 120) : Buffer.from(seeds[rnd() % seeds.length]!);
      for (let j = 0; j < (i % 3 === 0 ? m.length : 2); j++) if (m.length) m[rnd() % m.length] = rnd() & 0xff;
      fuzz.push(m);
    }
    // From loopback (rate-exempt) so every datagram reaches the decoder.
    const all = [...cuts, ...fuzz];
    const u = await tool<UdpResult>(
      { op: 'udp', target: '127.0.0.1', port: PORT, payloads: hexes(all), waitMs: 1000, paceEvery: 100 },
      60_000,
    );
    figures.push(`fuzz: ${all.length} datagrams from loopback, ${u.replies.length} replies`);
    // And the cuts from a remote source: no reply may be larger than its request.
    const r = await tool<UdpResult>({
      op: 'udp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      payloads: hexes(cuts),
      waitMs: 800,
      paceEvery: 50,
    });
    const byLen = new Map<number, number>();
    for (const x of r.replies) byLen.set(x.bytes, (byLen.get(x.bytes) ?? 0) + 1);
    assert.ok(
      r.replies.every((x) => x.bytes <= 32),
      'a cut call got a reply larger than an error',
    );
    const sentZero = r.sent.filter((n) => n < 40).length;
    figures.push(
      `cuts from remote: ${cuts.length} sent (${sentZero} shorter than a call header), ${r.replies.length} replies, none > 32 bytes`,
    );
    await healthy('truncation and fuzz');
  });

  test('no amplification over UDP from a remote caller: DUMP, GETSTAT, GETADDRLIST, CALLIT', async () => {
    const calls = everyProcedureCall(0xa0);
    const r = await tool<UdpResult>({
      op: 'udp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      payloads: hexes(calls.map((c) => c.bytes)),
      waitMs: 800,
    });
    let worst = 0;
    let worstName = '';
    for (const rep of r.replies) {
      const c = calls.find((x) => x.bytes.readUInt32BE(0) === rep.xid)!;
      if (rep.bytes / c.bytes.length > worst) {
        worst = rep.bytes / c.bytes.length;
        worstName = `${c.name}: ${rep.bytes} of ${c.bytes.length} bytes`;
      }
    }
    assert.ok(worst <= 1, `worst ratio ${worst}`);
    // DUMP from loopback is still answered in full (local tools keep working).
    const l = await tool<UdpResult>({
      op: 'udp',
      target: '127.0.0.1',
      port: PORT,
      payloads: [dumpCall(5, 2).toString('hex')],
      waitMs: 500,
    });
    assert.ok(l.replies[0]!.bytes > 100);
    figures.push(
      `amplification: ${calls.length} procedures from ${ATTACKER}, worst reply/request ratio ${worst.toFixed(2)} (${worstName}); loopback DUMP ${l.replies[0]!.bytes} bytes`,
    );
    await healthy('amplification');
  });

  test('TCP framing abuse: 0x7fffffff header, zero-length fragments, endless fragments, 1 MB garbage, reset mid-record', async () => {
    const h = (w: number): string => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(w >>> 0, 0);
      return b.toString('hex');
    };
    const cases: Array<[string, string[]]> = [
      ['header 0x7fffffff', [h(0x7fffffff)]],
      ['header 0xffffffff', [h(0xffffffff)]],
      ['zero-length fragments', Array.from({ length: 200 }, () => h(0))],
      ['endless 1000-byte fragments', Array.from({ length: 20 }, () => h(1000) + '00'.repeat(1000))],
      ['1 MB garbage', Array.from({ length: 16 }, () => 'a5'.repeat(65536))],
    ];
    for (const [name, chunks] of cases) {
      const t = await tool<TcpResult>({
        op: 'tcp',
        target: TARGET,
        from: ATTACKER,
        port: PORT,
        chunks,
        gapMs: 0,
        maxMs: 3000,
      });
      assert.ok(t.closedByServer, `${name}: connection not closed`);
      figures.push(`tcp ${name}: closed by the daemon after ${t.closedMs} ms`);
    }
    const half = record(dumpCall(3, 4)).subarray(0, 20).toString('hex');
    await tool({
      op: 'tcp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      chunks: [half],
      gapMs: 50,
      maxMs: 1000,
      reset: true,
    });
    await healthy('tcp framing');
  });

  test('slow client (one byte per 100 ms) is closed at the record deadline', async () => {
    const rec = record(getportCall(4, 100000, 2));
    const chunks = [...rec].map((b) => b.toString(16).padStart(2, '0'));
    const t = await tool<TcpResult>({
      op: 'tcp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      chunks,
      gapMs: 100,
      maxMs: 8000,
    });
    assert.ok(t.closedByServer && t.closedMs! < 4000, JSON.stringify(t));
    figures.push(`slow client: closed after ${t.closedMs} ms (record deadline 1500 ms in this test; default 10 s)`);
    await healthy('slow client');
  });

  test('client that never reads its replies: the daemon stops reading it, then closes it when idle', async () => {
    // From loopback: rate-exempt, so the daemon really produces replies as fast as it can.
    const t = await tool<{ written: number; wroteMs: number; closedByServer: boolean }>(
      {
        op: 'noread',
        target: '127.0.0.1',
        port: PORT,
        record: record(dumpCall(6, 4)).toString('hex'),
        count: 30_000,
        maxMs: 6000,
      },
      30_000,
    );
    assert.ok(t.closedByServer, JSON.stringify(t));
    // One 'drain' listener per connection (B3: one per reply written under backpressure drew
    // Node's MaxListenersExceededWarning on stderr, outside any log budget).
    assert.doesNotMatch(daemon.output(), /MaxListenersExceededWarning/);
    figures.push(
      `non-reading client: ${t.written} DUMP calls written in ${t.wroteMs} ms, connection closed by the daemon within 6 s (idle timeout 3000 ms in this test; default 30 s)`,
    );
    await healthy('non-reading client');
  });

  test('2,000 idle connections: the least active are reaped, a fresh client is served', async () => {
    // From loopback, which the per-source share does not limit: this is the shared cap.
    const idleRun = tool<{ opened: number; closedByServer: number }>(
      { op: 'idle', target: '127.0.0.1', from: '127.0.0.1', port: PORT, count: 2000, holdMs: 4000 },
      30_000,
    );
    // While they are held: the daemon's side holds its limit of them.
    await waitFor(async () => (await serverConnections('127.0.0.1')) >= 1000, {
      timeoutMs: 10_000,
      what: 'idle connections held',
    });
    await healthy('2,000 idle connections (while held)');
    const r = await idleRun;
    assert.ok(r.opened >= 1900, JSON.stringify(r));
    assert.ok(r.closedByServer >= 2000 - 1024, JSON.stringify(r));
    figures.push(`idle connections: ${r.opened} opened, ${r.closedByServer} reaped by the daemon (limit 1024)`);
  });

  test('one source gets 64 connections at most; the others are closed at once, other sources are served', async () => {
    // Held until the daemon has closed all but the share (within 20 s: a loaded machine opens
    // them slowly), then 2.5 s more, for the count of what it keeps below.
    const idleRun = tool<{ opened: number; closedByServer: number }>(
      {
        op: 'idle',
        target: TARGET,
        from: ATTACKER,
        port: PORT,
        count: 300,
        holdMs: 20_000,
        untilClosed: 300 - 64,
        thenHoldMs: 2500,
      },
      40_000,
    );
    // While they are held: the source has its share open on the daemon's side.
    await waitFor(async () => (await serverConnections(ATTACKER)) >= 64, {
      timeoutMs: 20_000,
      what: 'the source holding its share',
    });
    await healthy('300 connections from one source (while held)');
    const r = await idleRun;
    assert.ok(r.closedByServer >= 300 - 64, JSON.stringify(r));
    assert.ok(r.closedByServer <= 300 - 64 + 5, `the source keeps its 64: ${JSON.stringify(r)}`);
    figures.push(
      `connections from one source: ${r.opened} opened, ${r.closedByServer} closed by the daemon at once (share 64)`,
    );
  });

  test('SET/UNSET from a non-loopback address are refused (AUTH_TOOWEAK)', async () => {
    const calls = [
      setCall(0x51, 0x20000002, 1, 999),
      unsetCall(0x52, 0x20000001, 1),
      rpcbSetCall(0x53, 0x20000003, 1, 'udp', '198.18.0.1.3.3'),
    ];
    const u = await tool<UdpResult>({
      op: 'udp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      payloads: hexes(calls),
      waitMs: 500,
    });
    assert.equal(u.replies.length, 3);
    for (const rep of u.replies)
      assert.deepEqual(decodeReply(Buffer.from(rep.hex, 'hex')), { kind: 'auth-error', xid: rep.xid, stat: 5 });
    const t = await tool<TcpResult>({
      op: 'tcp',
      target: TARGET,
      from: ATTACKER,
      port: PORT,
      chunks: hexes(calls.map(record)),
      gapMs: 0,
      maxMs: 800,
    });
    assert.equal(t.received, 3 * (4 + 20));
    await healthy('remote SET/UNSET');
  });

  test('UNSET by another uid over the local socket is refused', async () => {
    const r = await host.run(process.execPath, [TOOL], {
      input: JSON.stringify({
        op: 'local',
        path: '/run/rpcbind.sock',
        chunks: [record(rpcbUnsetCall(0x61, 0x20000001, 1, 'udp')).toString('hex')],
        maxMs: 2000,
      }),
      user: { uid: 65534, gid: 65534 },
    });
    assert.equal(r.code, 0, r.stderr);
    const buf = Buffer.from((JSON.parse(r.stdout) as { received: string }).received, 'hex');
    const d = decodeReply(buf.subarray(4));
    assert.equal(d.kind, 'success');
    if (d.kind === 'success') assert.equal(d.results.bool(), false);
    await healthy('UNSET by another uid');
  });

  test('daemon counters and log show the attacks', () => {
    const out = daemon.output();
    assert.match(
      out,
      /access-denied class=register version=\d procedure=\d reason=not-local transport=(udp|tcp) caller=198\.18\.0\.3 /,
    );
    assert.match(
      out,
      /registration op=SET program=536870913 version=1 netid=udp address=0\.0\.0\.0\.8\.1 result=ok transport=local uid=0\n/,
    );
    assert.match(
      out,
      /registration op=UNSET program=536870913 version=1 netid=udp result=refused transport=local uid=65534\n/,
    );
    assert.match(out, /remote-dump procedure=DUMP version=2 transport=(udp|tcp) caller=/);
  });
});
