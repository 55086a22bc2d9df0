// Real networks, against each daemon: a LAN (two namespaces joined by a veth pair, which
// carries broadcasts), broadcast CALLIT (v2, v3) from the other host answered from the LAN
// address, a DUMP over UDP from the host's own non-loopback address answered in full, and
// addresses removed, added back and added new while running. Runtime: about 10 s.
//
// Needs root and: ci-packages: rpcbind libtirpc-dev rpcsvc-proto gcc iproute2 util-linux
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeReply } from '../../src/rpc/index.js';
import { decodePmapList } from '../../src/proto/index.js';
import { type XdrReader, XdrWriter } from '../../src/xdr/index.js';
import { daemons, findRepoRoot, startDaemon, type DaemonUnderTest } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import type { ProbeResult, ProbeStep } from '../helpers/rpc-probe.js';
import { dumpCall, nullCall } from '../helpers/rpc-calls.js';
import { buildTirpcPrograms, RBTEST_PROG, startServer, type RunningServer } from '../helpers/tirpc-programs.js';

const PROBE = join(findRepoRoot(), 'dist', 'test', 'helpers', 'rpc-probe.js');
/** The daemon's host and the other host on the LAN 198.18.1.0/24. */
const LAN = '198.18.1.1';
const PEER = '198.18.1.2';
const BROADCAST = '198.18.1.255';
/** Added and removed while the daemon runs. */
const EXTRA = '198.18.1.5';
const LATE = '198.18.1.9';

async function probe(h: TestHost, steps: ProbeStep[]): Promise<ProbeResult[]> {
  const r = await h.run(process.execPath, [PROBE, JSON.stringify(steps)], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ProbeResult[];
}

/** A CALLIT (v2 or v3) of procedure NULL of the test program, version 1. */
function callitHex(vers: 2 | 3, xid: number): string {
  const w = new XdrWriter(128);
  w.uint32(xid).uint32(0).uint32(2).uint32(100000).uint32(vers).uint32(5);
  w.uint32(0).uint32(0).uint32(0).uint32(0);
  w.uint32(RBTEST_PROG).uint32(1).uint32(0).opaque(Buffer.alloc(0));
  return w.toBuffer().toString('hex');
}

function success(hex: string | null | undefined): XdrReader {
  assert.ok(hex, 'no reply');
  const d = decodeReply(Buffer.from(hex, 'hex'));
  assert.equal(d.kind, 'success', JSON.stringify(d));
  if (d.kind !== 'success') throw new Error('unreachable');
  return d.results;
}

const uaddr = (host: string, port: number): string => `${host}.${port >> 8}.${port & 255}`;

for (const daemon of daemons) {
  describe(`real networks: ${daemon.name}`, { timeout: 60_000 }, () => {
    let host: TestHost;
    let peer: TestHost;
    let server: RunningServer;
    const d: DaemonUnderTest = daemon;

    before(async () => {
      const programs = await buildTirpcPrograms();
      host = await TestHost.create();
      peer = await TestHost.create();
      await host.linkTo(peer, `${LAN}/24`, `${PEER}/24`);
      await startDaemon(host, d, ['-r']);
      server = await startServer(host, programs.tirpcServer, ['udp']);
    });
    after(async () => {
      await host?.dispose();
      await peer?.dispose();
    });

    test('a broadcast CALLIT from another host on the LAN is answered from the LAN address', async () => {
      const port = server.ports.udp!;
      const out = await probe(peer, [
        {
          op: 'call',
          transport: 'udp',
          host: BROADCAST,
          port: 111,
          msg: callitHex(2, 0x5101),
          timeoutMs: 3000,
          broadcast: true,
        },
        {
          op: 'call',
          transport: 'udp',
          host: BROADCAST,
          port: 111,
          msg: callitHex(3, 0x5102),
          timeoutMs: 3000,
          broadcast: true,
        },
      ]);
      const v2 = success(out[0]!.reply);
      assert.equal(v2.uint32(), port);
      assert.equal(out[0]!.from, LAN);
      const v3 = success(out[1]!.reply);
      assert.equal(v3.string(64), uaddr(LAN, port));
      assert.equal(out[1]!.from, LAN);
    });

    test("a DUMP over UDP from the host's own LAN address is answered in full", async () => {
      // The probe runs on the daemon's host: its datagram leaves from LAN (the address called).
      const out = await probe(host, [
        {
          op: 'call',
          transport: 'udp',
          host: LAN,
          port: 111,
          msg: dumpCall(0x5201, 2).toString('hex'),
          timeoutMs: 2000,
        },
        {
          op: 'call',
          transport: 'tcp',
          host: LAN,
          port: 111,
          msg: dumpCall(0x5202, 2).toString('hex'),
          timeoutMs: 2000,
        },
      ]);
      const udp = decodePmapList(success(out[0]!.reply), 1000);
      const tcp = decodePmapList(success(out[1]!.reply), 1000);
      assert.ok(udp.some((m) => m.prog === RBTEST_PROG));
      assert.deepEqual(udp, tcp);
      assert.ok(out[0]!.reply!.length / 2 > dumpCall(1, 2).length, 'the reply is larger than the call');
    });

    test('addresses removed, added back and new are served at once, from the address called', async () => {
      const ip = async (...args: string[]): Promise<void> => {
        const r = await host.run('ip', args);
        assert.equal(r.code, 0, r.stderr);
      };
      // One datagram, no retransmission: answered only if the address is served as the call
      // arrives, and accepted by a connected client only if the reply leaves from it.
      const first = async (addr: string, xid: number): Promise<ProbeResult> =>
        (
          await probe(peer, [
            {
              op: 'call',
              transport: 'udp',
              host: addr,
              port: 111,
              msg: nullCall(xid).toString('hex'),
              timeoutMs: 2000,
            },
          ])
        )[0]!;
      for (const [what, addr, change] of [
        ['new', EXTRA, ['addr', 'add', `${EXTRA}/24`, 'dev', 'rbtlan0']],
        ['removed', EXTRA, ['addr', 'del', `${EXTRA}/24`, 'dev', 'rbtlan0']],
        ['added back', EXTRA, ['addr', 'add', `${EXTRA}/24`, 'dev', 'rbtlan0']],
        ['another new one', LATE, ['addr', 'add', `${LATE}/24`, 'dev', 'rbtlan0']],
      ] as const) {
        await ip(...change);
        const r = await first(addr, 0x5300);
        if (what === 'removed') {
          assert.equal(r.reply, null, `${what}: answered`);
          if (d.name === 'ours') {
            // Released: no socket of ours stays bound to it.
            await waitFor(
              async () => !(await host.run('ss', ['-H', '-u', '-l', '-n'])).stdout.includes(`${addr}:111`),
              {
                timeoutMs: 3000,
                what: `${addr}:111 released`,
              },
            );
          }
          continue;
        }
        success(r.reply);
        assert.equal(r.from, addr, `${what}: the reply left from ${r.from}`);
      }
    });
  });
}

describe('real networks: ours under socket activation (an inherited wildcard UDP socket)', { timeout: 60_000 }, () => {
  let host: TestHost;
  let peer: TestHost;

  before(async () => {
    host = await TestHost.create();
    peer = await TestHost.create();
    await host.linkTo(peer, `${LAN}/24`, `${PEER}/24`);
    const r = await host.run('ip', ['addr', 'add', `${EXTRA}/24`, 'dev', 'rbtlan0']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await host?.dispose();
    await peer?.dispose();
  });

  test('broadcast CALLIT answered from the LAN address, unicast from the address called', async () => {
    const entry = join(findRepoRoot(), 'bin', 'rpcbind.js');
    const child = host.spawn('systemd-socket-activate', [
      '--datagram',
      '-l',
      '0.0.0.0:111',
      '--',
      process.execPath,
      entry,
      '-f',
      '-r',
    ]);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
    try {
      await host.waitForPort('udp', 111, { family: 4 });
      // The first datagram starts the daemon (it stays queued on the socket and is answered).
      success(
        (
          await probe(host, [
            {
              op: 'call',
              transport: 'udp',
              host: '127.0.0.1',
              port: 111,
              msg: nullCall(0x5401).toString('hex'),
              timeoutMs: 10_000,
            },
          ])
        )[0]!.reply,
      );
      await host.waitForUnixSocket('/run/rpcbind.sock');
      const server = await startServer(host, (await buildTirpcPrograms()).tirpcServer, ['udp']);
      const res = await probe(peer, [
        {
          op: 'call',
          transport: 'udp',
          host: BROADCAST,
          port: 111,
          msg: callitHex(2, 0x5402),
          timeoutMs: 3000,
          broadcast: true,
        },
        {
          op: 'call',
          transport: 'udp',
          host: EXTRA,
          port: 111,
          msg: nullCall(0x5403).toString('hex'),
          timeoutMs: 3000,
        },
      ]);
      assert.equal(success(res[0]!.reply).uint32(), server.ports.udp, out);
      assert.equal(res[0]!.from, LAN);
      success(res[1]!.reply);
      assert.equal(res[1]!.from, EXTRA, out);
    } finally {
      await host.stop(child);
    }
  });
});
