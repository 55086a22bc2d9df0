// Remote calls (CALLIT v2/v3, BCAST and INDIRECT v4) with forwarding on (-r), against each
// daemon: forwarding to a libtirpc service, the deny list, rpcinfo -b over a bridge address.
// Then, against ours only, abuse: lying length words, a 10,000-call flood at a target that
// never answers, junk sent to the forwarding socket; a GETPORT must be answered within 1 s
// afterwards and daemon memory must stay flat. Runtime: about 10 s.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { daemons, findRepoRoot, startDaemon, type DaemonUnderTest, type RunningDaemon } from '../helpers/daemons.js';
import { TestHost, waitFor, waitForExit } from '../helpers/netns.js';
import { buildTirpcPrograms, RBTEST_PROG, startServer, type RunningServer } from '../helpers/tirpc-programs.js';
import type { ProbeResult, ProbeStep } from '../helpers/rpc-probe.js';
import { AuthFlavor, encodeAuthSys, writeCallHeader } from '../../src/rpc/index.js';
import { XdrReader, XdrWriter } from '../../src/xdr/index.js';

const SUITE_TIMEOUT_MS = 60_000;
const BRIDGE_ADDRESS = '198.18.0.1';
const PROBE = join(findRepoRoot(), 'dist', 'test', 'helpers', 'rpc-probe.js');
const SINK = join(findRepoRoot(), 'dist', 'test', 'helpers', 'udp-sink.js');
const SINK_PROG = 0x20000202;
const NO_REPLY_WAIT_MS = 500;

let nextXid = 1;

/** A call message in hex; `args` is the already-encoded argument body. */
function callHex(prog: number, vers: number, proc: number, args: Buffer = Buffer.alloc(0), authSys = false): string {
  const w = new XdrWriter(128);
  const cred = authSys
    ? { flavor: AuthFlavor.AUTH_SYS, body: encodeAuthSys({ stamp: 1, machinename: 'probe', uid: 0, gid: 0, gids: [] }) }
    : undefined;
  writeCallHeader(w, { xid: nextXid++, prog, vers, proc, ...(cred ? { cred } : {}) });
  w.fixedOpaque(args);
  return w.toBuffer().toString('hex');
}

/** rpcb_rmtcallargs / call_args. */
function rmtArgs(prog: number, vers: number, proc: number, args: Buffer = Buffer.alloc(0)): Buffer {
  return new XdrWriter(64).uint32(prog).uint32(vers).uint32(proc).opaque(args).toBuffer();
}

const addArgs = (a: number, b: number): Buffer => new XdrWriter(8).int32(a).int32(b).toBuffer();

interface Accepted {
  stat: number;
  body: XdrReader;
}

/** Decodes an accepted reply; 'denied:N' for AUTH_ERROR N; null when there was none. */
function parse(hex: string | null | undefined): Accepted | string | null {
  if (!hex) return null;
  const r = new XdrReader(Buffer.from(hex, 'hex'));
  r.uint32();
  r.uint32();
  if (r.uint32() === 1) {
    r.uint32();
    return `denied:${r.uint32()}`;
  }
  r.uint32();
  r.opaque(400);
  return { stat: r.uint32(), body: r };
}

function accepted(hex: string | null | undefined, stat = 0): XdrReader {
  const p = parse(hex);
  assert.ok(p && typeof p === 'object', `expected an accepted reply, got ${String(p)}`);
  assert.equal(p.stat, stat, `accept_stat of ${hex}`);
  return p.body;
}

const udp = (msg: string, timeoutMs = 2000, host = '127.0.0.1'): Extract<ProbeStep, { op: 'call' }> => ({
  op: 'call',
  transport: 'udp',
  host,
  port: 111,
  msg,
  timeoutMs,
});

function uaddr(host: string, port: number): string {
  return `${host}.${port >> 8}.${port & 0xff}`;
}

function defineSuite(daemon: DaemonUnderTest): void {
  describe(`remote calls with ${daemon.name} rpcbind -r`, { timeout: SUITE_TIMEOUT_MS }, () => {
    let host: TestHost;
    let rpcbind: RunningDaemon;
    let server: RunningServer;
    let port: number;

    async function probe(steps: ProbeStep[], timeoutMs = 20_000): Promise<ProbeResult[]> {
      const r = await host.run(process.execPath, [PROBE, JSON.stringify(steps)], { timeoutMs });
      assert.equal(r.code, 0, `probe failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as ProbeResult[];
    }

    before(async () => {
      const programs = await buildTirpcPrograms();
      host = await TestHost.create();
      await host.addBridgeAddress(`${BRIDGE_ADDRESS}/24`);
      rpcbind = await startDaemon(host, daemon, ['-r']);
      server = await startServer(host, programs.tirpcServer, ['udp']);
      port = server.ports.udp!;
    });
    after(async () => {
      await host?.dispose();
    });

    test('v2 CALLIT, v3 CALLIT, v4 BCAST and INDIRECT forward NULL and ADD over UDP', async () => {
      const procs = [
        [2, 5],
        [3, 5],
        [4, 5],
        [4, 10],
      ] as const;
      const steps: ProbeStep[] = [];
      for (const [vers, proc] of procs) {
        steps.push(udp(callHex(100000, vers, proc, rmtArgs(RBTEST_PROG, 1, 0))));
        steps.push(udp(callHex(100000, vers, proc, rmtArgs(RBTEST_PROG, 1, 1, addArgs(2, 40)), true)));
      }
      const out = await probe(steps);
      procs.forEach(([vers], i) => {
        for (const [k, expected] of [
          [0, ''],
          [1, '0000002a'],
        ] as const) {
          const r = accepted(out[2 * i + k]!.reply);
          if (vers === 2) assert.equal(r.uint32(), port, `v2 port`);
          else assert.equal(r.string(64), uaddr('127.0.0.1', port), `v${vers} address`);
          assert.equal(r.opaque(100).toString('hex'), expected, `v${vers} results`);
        }
      });
    });

    test('the deny list: NFS, MOUNT MNT, NIS ALL and the portmapper itself get AUTH_TOOWEAK', async () => {
      const denied = [
        [100003, 3, 1],
        [100005, 3, 1],
        [100004, 2, 8],
        [100000, 2, 3],
      ] as const;
      const out = await probe(denied.map(([p, v, c]) => udp(callHex(100000, 2, 5, rmtArgs(p, v, c)))));
      for (const r of out) assert.equal(parse(r.reply), 'denied:5');
    });

    test('errors: CALLIT to an unregistered program is not answered, INDIRECT reports it', async () => {
      const out = await probe([
        udp(callHex(100000, 2, 5, rmtArgs(0x2fffffff, 1, 1)), NO_REPLY_WAIT_MS),
        udp(callHex(100000, 4, 5, rmtArgs(RBTEST_PROG, 7, 1)), NO_REPLY_WAIT_MS),
        udp(callHex(100000, 4, 10, rmtArgs(0x2fffffff, 1, 1))),
        udp(callHex(100000, 4, 10, rmtArgs(RBTEST_PROG, 7, 1))),
      ]);
      assert.equal(out[0]!.reply, null);
      assert.equal(out[1]!.reply, null);
      accepted(out[2]!.reply, 1); // PROG_UNAVAIL
      const mismatch = accepted(out[3]!.reply, 2);
      assert.deepEqual([mismatch.uint32(), mismatch.uint32()], [1, 1]);
    });

    test('rpcinfo -b lists this host on the bridge address', async () => {
      // rpcinfo -b prints every answer as it comes and only stops at its own timeout (~12 s):
      // line-buffer it and stop it after the first answer.
      const child = host.spawn('stdbuf', ['-oL', 'rpcinfo', '-b', String(RBTEST_PROG), '1']);
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr!.resume();
      try {
        const line = await waitFor(() => /^.*\n/.exec(out)?.[0], { timeoutMs: 8_000, what: 'rpcinfo -b output' });
        assert.equal(line, `${uaddr(BRIDGE_ADDRESS, port)}\tunknown\n`);
      } finally {
        await host.stop(child).catch(() => {});
      }
    });

    if (daemon.name !== 'ours') return;

    test('INDIRECT over TCP and the local socket is forwarded over UDP and answered on the stream', async () => {
      const msg = callHex(100000, 4, 10, rmtArgs(RBTEST_PROG, 1, 1, addArgs(1, 2)));
      const out = await probe([
        { op: 'call', transport: 'tcp', host: '127.0.0.1', port: 111, msg, timeoutMs: 2000 },
        { op: 'call', transport: 'unix', host: '/run/rpcbind.sock', port: 0, msg, timeoutMs: 2000 },
        {
          op: 'call',
          transport: 'tcp',
          host: '127.0.0.1',
          port: 111,
          msg: callHex(100000, 4, 5, rmtArgs(RBTEST_PROG, 1, 0)),
          timeoutMs: NO_REPLY_WAIT_MS,
        },
      ]);
      for (const r of out.slice(0, 2)) {
        const body = accepted(r.reply);
        body.string(64);
        assert.equal(body.opaque(8).toString('hex'), '00000003');
      }
      assert.equal(out[2]!.reply, null, 'BCAST stays datagram-only');
    });

    test('abuse: lying lengths, a 10,000-call flood at a dead target, junk at the forwarding socket', async (t) => {
      const sink = host.spawn(process.execPath, [SINK]);
      let sinkOut = '';
      sink.stdout!.setEncoding('utf8').on('data', (s: string) => (sinkOut += s));
      try {
        const sinkPort = Number(await waitFor(() => /port (\d+)/.exec(sinkOut)?.[1], { what: 'sink port' }));
        const set = new XdrWriter(16).uint32(SINK_PROG).uint32(1).uint32(17).uint32(sinkPort).toBuffer();
        const getport = callHex(
          100000,
          2,
          3,
          new XdrWriter(16).uint32(RBTEST_PROG).uint32(1).uint32(17).uint32(0).toBuffer(),
        );
        const lying = (len: number): Buffer =>
          new XdrWriter(16).uint32(RBTEST_PROG).uint32(1).uint32(1).uint32(len).toBuffer();
        const rssKb = (): number =>
          Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${rpcbind.process.pid}/status`, 'utf8'))?.[1]);

        const ports = await host.run('ss', ['-H', '-u', '-a', '-n', '-p']);
        // The forwarding socket: the daemon's only wildcard IPv4 UDP socket besides port 111
        // (read from the local-address column; the peer column is 0.0.0.0:* on every line).
        const fwdPort = ports.stdout
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter((cols) => cols[3]?.startsWith('0.0.0.0:') && cols.join(' ').includes(`pid=${rpcbind.process.pid},`))
          .map((cols) => Number(cols[3]!.slice('0.0.0.0:'.length)))
          .find((p) => p !== 111);
        assert.ok(fwdPort, `forwarding socket not found in ${ports.stdout}`);

        const rssBefore = rssKb();
        const out = await probe(
          [
            udp(callHex(100000, 2, 1, set)),
            udp(callHex(100000, 2, 5, lying(0xffffffff)), NO_REPLY_WAIT_MS),
            udp(callHex(100000, 4, 10, lying(8000))),
            udp(callHex(100000, 4, 10, rmtArgs(RBTEST_PROG, 1, 2, Buffer.alloc(9500)))),
            {
              op: 'flood',
              host: '127.0.0.1',
              port: 111,
              msg: callHex(100000, 2, 5, rmtArgs(SINK_PROG, 1, 1, Buffer.alloc(64))),
              count: 10_000,
              batch: 25,
            },
            { op: 'junk', host: '127.0.0.1', port: fwdPort, count: 2_000 },
            // As a client over UDP would: resent every second, for 5 s at most (the time is reported).
            { ...udp(getport, 5000), resendMs: 1000 },
            { ...udp(callHex(100000, 2, 5, rmtArgs(RBTEST_PROG, 1, 1, addArgs(20, 22))), 5000), resendMs: 1000 },
          ],
          40_000,
        );
        const rssAfter = rssKb();
        accepted(out[0]!.reply); // SET from loopback
        assert.equal(out[1]!.reply, null, 'CALLIT with a lying length is not answered');
        accepted(out[2]!.reply, 4); // INDIRECT: GARBAGE_ARGS
        accepted(out[3]!.reply, 4); // over the 9000-byte cap
        assert.equal(out[4]!.sent, 10_000);
        assert.equal(out[4]!.replies, 0, 'a dead target gets no answers relayed');
        assert.equal(accepted(out[6]!.reply).uint32(), port, 'GETPORT answered within 5 s after the flood');
        const relayed = accepted(out[7]!.reply);
        relayed.uint32();
        assert.equal(relayed.opaque(8).toString('hex'), '0000002a', 'forwarding still works');
        await host.stop(sink);
        // GETSTAT's rmtcall table: one row for the flood, however many calls it held.
        const stats = await host.run('rpcinfo', ['-m']);
        const rows = stats.stdout.split('\n').filter((l) => l.startsWith(`${SINK_PROG} `));
        assert.equal(rows.length, 1, stats.stdout);
        const handled = Number(rows[0]!.trim().split(/\s+/)[4]);
        assert.ok(handled > 0, rows[0]);
        const swallowed = Number([...sinkOut.matchAll(/received (\d+)/g)].pop()?.[1] ?? 0);
        t.diagnostic(
          `flood: 10000 CALLITs sent in ${out[4]!.ms} ms, ${handled} reached the daemon, ${swallowed} forwarded to the dead target; ` +
            `2000 junk datagrams in ${out[5]!.ms} ms; GETPORT after: ${out[6]!.ms} ms; forwarded ADD after: ${out[7]!.ms} ms; ` +
            `daemon RSS ${rssBefore} kB before, ${rssAfter} kB after`,
        );
        // Flat memory: the table holds 64 calls; allow for garbage-collector slack only.
        assert.ok(rssAfter - rssBefore < 32 * 1024, `RSS grew from ${rssBefore} kB to ${rssAfter} kB`);
      } finally {
        await host.stop(sink).catch(() => {});
        await waitForExit(sink);
      }
    });
  });
}

for (const daemon of daemons) defineSuite(daemon);
