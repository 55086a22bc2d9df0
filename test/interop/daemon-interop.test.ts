// Interop suite: the real Debian rpcinfo and real libtirpc programs against each daemon in
// test/helpers/daemons.ts. One suite definition runs for every daemon, each in its own fresh
// namespaced host, so an expectation the reference does not meet is a wrong test.
//
// Needs root (network and mount namespaces) and these Debian packages (one line, for .ci/run):
// ci-packages: rpcbind libtirpc-dev rpcsvc-proto gcc iproute2 util-linux
// In CI a missing tool is a failure, not a skip. Runtime: about 4 s per daemon.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { daemons, startDaemon, type DaemonUnderTest } from '../helpers/daemons.js';
import { TestHost, type RunResult } from '../helpers/netns.js';
import {
  buildTirpcPrograms,
  RBTEST_PROG,
  startServer,
  type RunningServer,
  type TirpcPrograms,
} from '../helpers/tirpc-programs.js';

const PROG = String(RBTEST_PROG); // 536871169
const BRIDGE_ADDRESS = '198.18.0.1';
// A bound for a whole daemon's suite; every wait inside is bounded much tighter.
const SUITE_TIMEOUT_MS = 60_000;

// --- rpcinfo's row formats (rpcinfo.c), for rows whose port is only known at run time ---

/** Universal address of an IPv4/IPv6 host part and a port: "127.0.0.1.212.167". */
function uaddr(hostPart: string, port: number): string {
  return `${hostPart}.${port >> 8}.${port & 0xff}`;
}

/** `rpcinfo [host]`: "%10u%5u    %-9s %-22s %-10s %s" */
function dumpRow(
  prog: number | string,
  vers: number,
  netid: string,
  addr: string,
  service: string,
  owner: string,
): string {
  return `${String(prog).padStart(10)}${String(vers).padStart(5)}    ${netid.padEnd(9)} ${addr.padEnd(22)} ${service.padEnd(10)} ${owner}`;
}

/** `rpcinfo -p`: "%10ld%5ld%6s%7ld" then "  name" only when /etc/rpc knows the program. */
function pmapRow(prog: number | string, vers: number, proto: string, port: number, service?: string): string {
  const row = `${String(prog).padStart(10)}${String(vers).padStart(5)}${proto.padStart(6)}${String(port).padStart(7)}`;
  return service ? `${row}  ${service}` : row;
}

/** `rpcinfo -l`: "%10u%3u    " "%-24s" (family/proto/semantics + space) "%-24s" (addr) " %-13s" */
function addrListRow(prog: number | string, vers: number, transport: string, addr: string, service: string): string {
  return `${String(prog).padStart(10)}${String(vers).padStart(3)}    ${`${transport} `.padEnd(24)}${addr.padEnd(24)} ${service.padEnd(13)}`;
}

// --- expected output of a daemon with nothing but itself registered (seen on the reference) ---

const PMAP_HEADER = '   program vers proto   port  service';
const PMAP_BASELINE = [
  PMAP_HEADER,
  '    100000    4   tcp    111  portmapper',
  '    100000    3   tcp    111  portmapper',
  '    100000    2   tcp    111  portmapper',
  '    100000    4   udp    111  portmapper',
  '    100000    3   udp    111  portmapper',
  '    100000    2   udp    111  portmapper',
];

const DUMP_BASELINE = [
  '   program version netid     address                service    owner',
  '    100000    4    tcp6      ::.0.111               portmapper superuser',
  '    100000    3    tcp6      ::.0.111               portmapper superuser',
  '    100000    4    udp6      ::.0.111               portmapper superuser',
  '    100000    3    udp6      ::.0.111               portmapper superuser',
  '    100000    4    tcp       0.0.0.0.0.111          portmapper superuser',
  '    100000    3    tcp       0.0.0.0.0.111          portmapper superuser',
  '    100000    2    tcp       0.0.0.0.0.111          portmapper superuser',
  '    100000    4    udp       0.0.0.0.0.111          portmapper superuser',
  '    100000    3    udp       0.0.0.0.0.111          portmapper superuser',
  '    100000    2    udp       0.0.0.0.0.111          portmapper superuser',
  '    100000    4    local     /run/rpcbind.sock      portmapper superuser',
  '    100000    3    local     /run/rpcbind.sock      portmapper superuser',
];

const SUMMARY_BASELINE = [
  '   program version(s) netid(s)                         service     owner',
  '    100000  2,3,4     local,udp,tcp,udp6,tcp6          portmapper  superuser',
];

const ADDRLIST_HEADER = '   program vers  tp_family/name/class    address\t\t  service';

function readyLines(prog: number | string, versions: number[]): string[] {
  return versions.map((v) => `program ${prog} version ${v} ready and waiting`);
}

/** Output as lines; the final newline is required and dropped. */
function lines(text: string): string[] {
  assert.ok(text === '' || text.endsWith('\n'), `output does not end in a newline: ${JSON.stringify(text)}`);
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

function describeRun(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' TIMED OUT' : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Exact check of a command's stdout (line by line), stderr and exit status. */
function expectRun(r: RunResult, expected: { stdout?: string[]; stderr?: string[]; code?: number }): void {
  const { stdout = [], stderr = [], code = 0 } = expected;
  assert.deepEqual(lines(r.stdout), stdout, `stdout differs; ${describeRun(r)}`);
  assert.deepEqual(lines(r.stderr), stderr, `stderr differs; ${describeRun(r)}`);
  assert.equal(r.code, code, `exit status differs; ${describeRun(r)}`);
}

function defineSuite(daemon: DaemonUnderTest): void {
  describe(`interop with ${daemon.name} rpcbind`, { timeout: SUITE_TIMEOUT_MS }, () => {
    let host: TestHost;
    let programs: TirpcPrograms;

    const rpcinfo = (args: string[], user?: { uid: number; gid: number }) =>
      host.run('rpcinfo', args, user ? { user } : {});
    const client = (args: string[]) => host.run(programs.client, args);

    // Starts a server, runs `body`, then stops it with SIGTERM and checks it unregistered
    // and exited 0; stopped (by pid) even when `body` fails.
    async function withServer(program: string, body: (server: RunningServer) => Promise<void>): Promise<void> {
      const server = await startServer(host, program);
      let stopped = false;
      try {
        await body(server);
        const exit = await server.stop();
        stopped = true;
        assert.deepEqual(exit, { code: 0, signal: null }, `server output: ${server.output()}`);
        assert.match(server.output(), /\nunregistered\n$/);
        expectRun(await rpcinfo([]), { stdout: DUMP_BASELINE });
        expectRun(await rpcinfo(['-p']), { stdout: PMAP_BASELINE });
      } finally {
        if (!stopped) await server.stop().catch(() => {});
      }
    }

    before(async () => {
      programs = await buildTirpcPrograms();
      host = await TestHost.create();
      // Before the daemon starts, so that it also serves the non-loopback address.
      await host.addBridgeAddress(`${BRIDGE_ADDRESS}/24`);
      await startDaemon(host, daemon);
    });
    after(async () => {
      await host?.dispose();
    });

    describe('the portmapper alone', () => {
      test('rpcinfo -p lists version 2, 3, 4 on tcp and udp', async () => {
        expectRun(await rpcinfo(['-p']), { stdout: PMAP_BASELINE });
        expectRun(await rpcinfo(['-p', '127.0.0.1']), { stdout: PMAP_BASELINE });
      });

      test('rpcinfo (v3/v4 dump) lists every netid with universal addresses and owner', async () => {
        expectRun(await rpcinfo([]), { stdout: DUMP_BASELINE });
        expectRun(await rpcinfo(['127.0.0.1']), { stdout: DUMP_BASELINE });
      });

      test('rpcinfo -s summarises versions and netids', async () => {
        expectRun(await rpcinfo(['-s']), { stdout: SUMMARY_BASELINE });
        expectRun(await rpcinfo(['-s', '127.0.0.1']), { stdout: SUMMARY_BASELINE });
      });

      test('rpcinfo -t / -u 127.0.0.1 100000: versions 2-4 answer NULL', async () => {
        const ready = readyLines(100000, [2, 3, 4]);
        expectRun(await rpcinfo(['-t', '127.0.0.1', '100000']), { stdout: ready });
        expectRun(await rpcinfo(['-u', '127.0.0.1', '100000']), { stdout: ready });
        expectRun(await rpcinfo(['-t', '127.0.0.1', '100000', '2']), { stdout: readyLines(100000, [2]) });
        expectRun(await rpcinfo(['-u', '127.0.0.1', '100000', '4']), { stdout: readyLines(100000, [4]) });
      });

      test('rpcinfo -T udp6 / tcp6 ::1 100000', async () => {
        const ready = readyLines(100000, [2, 3, 4]);
        expectRun(await rpcinfo(['-T', 'udp6', '::1', '100000']), { stdout: ready });
        expectRun(await rpcinfo(['-T', 'tcp6', '::1', '100000']), { stdout: ready });
      });

      test('rpcinfo -l (GETADDRLIST) merges the wildcard with the address the caller used', async () => {
        expectRun(await rpcinfo(['-l', '127.0.0.1', '100000', '4']), {
          stdout: [
            ADDRLIST_HEADER,
            '    100000  4    inet/tcp/cots_ord       127.0.0.1.0.111          portmapper   ',
            '    100000  4    inet/udp/clts           127.0.0.1.0.111          portmapper   ',
          ],
        });
        expectRun(await rpcinfo(['-l', BRIDGE_ADDRESS, '100000', '4']), {
          stdout: [
            ADDRLIST_HEADER,
            '    100000  4    inet/tcp/cots_ord       198.18.0.1.0.111         portmapper   ',
            '    100000  4    inet/udp/clts           198.18.0.1.0.111         portmapper   ',
          ],
        });
      });

      test('rpcinfo -t / -u on an unregistered program fails with "Program not registered"', async () => {
        const failed = { stderr: ['127.0.0.1: RPC: Program not registered'], code: 1 };
        expectRun(await rpcinfo(['-t', '127.0.0.1', PROG]), failed);
        expectRun(await rpcinfo(['-u', '127.0.0.1', PROG]), failed);
      });

      test('the test client fails cleanly when the program is not registered', async () => {
        expectRun(await client(['127.0.0.1', 'udp', 'add', '1', '2']), {
          stderr: ['127.0.0.1: RPC: Program not registered'],
          code: 1,
        });
        expectRun(await client(['::1', 'tcp6', 'add', '1', '2']), {
          stderr: ['::1: RPC: Program not registered'],
          code: 1,
        });
      });
    });

    describe('a TI-RPC server (svc_create "netpath")', () => {
      test('registers udp, tcp, udp6, tcp6 as superuser, is callable, and leaves on SIGTERM', async () => {
        await withServer(programs.tirpcServer, async (server) => {
          const { udp, tcp, udp6, tcp6 } = server.ports;
          assert.ok(udp && tcp && udp6 && tcp6, `ports: ${server.output()}`);

          expectRun(await rpcinfo([]), {
            stdout: [
              ...DUMP_BASELINE,
              dumpRow(PROG, 1, 'udp', uaddr('0.0.0.0', udp), '-', 'superuser'),
              dumpRow(PROG, 1, 'tcp', uaddr('0.0.0.0', tcp), '-', 'superuser'),
              dumpRow(PROG, 1, 'udp6', uaddr('::', udp6), '-', 'superuser'),
              dumpRow(PROG, 1, 'tcp6', uaddr('::', tcp6), '-', 'superuser'),
            ],
          });
          expectRun(await rpcinfo(['-s']), {
            stdout: [
              ...SUMMARY_BASELINE,
              ' 536871169  1         tcp6,udp6,tcp,udp                -           superuser',
            ],
          });
          // The v2 dump shows the udp and tcp registrations, whoever made them.
          expectRun(await rpcinfo(['-p']), {
            stdout: [...PMAP_BASELINE, pmapRow(PROG, 1, 'udp', udp), pmapRow(PROG, 1, 'tcp', tcp)],
          });
          expectRun(await rpcinfo(['-l', '127.0.0.1', PROG, '1']), {
            stdout: [
              ADDRLIST_HEADER,
              addrListRow(PROG, 1, 'inet/udp/clts', uaddr('127.0.0.1', udp), '-'),
              addrListRow(PROG, 1, 'inet/tcp/cots_ord', uaddr('127.0.0.1', tcp), '-'),
            ],
          });
        });
      });

      test('the client finds it and calls it over udp, tcp, udp6 and tcp6', async () => {
        await withServer(programs.tirpcServer, async () => {
          expectRun(await client(['127.0.0.1', 'udp', 'add', '2', '3']), { stdout: ['5'] });
          expectRun(await client(['127.0.0.1', 'tcp', 'add', '-7', '49']), { stdout: ['42'] });
          expectRun(await client(['::1', 'udp6', 'echo', 'hello over udp6']), { stdout: ['hello over udp6'] });
          expectRun(await client(['::1', 'tcp6', 'echo', 'hello over tcp6']), { stdout: ['hello over tcp6'] });
          expectRun(await client([BRIDGE_ADDRESS, 'udp', 'null']), { stdout: ['ok'] });
          expectRun(await client([BRIDGE_ADDRESS, 'tcp', 'add', '1', '1']), { stdout: ['2'] });
        });
      });

      test('rpcinfo -t / -u / -T udp6 / -T tcp6 on the test program', async () => {
        await withServer(programs.tirpcServer, async () => {
          const ready = readyLines(PROG, [1]);
          expectRun(await rpcinfo(['-t', '127.0.0.1', PROG]), { stdout: ready });
          expectRun(await rpcinfo(['-u', '127.0.0.1', PROG]), { stdout: ready });
          expectRun(await rpcinfo(['-t', '127.0.0.1', PROG, '1']), { stdout: ready });
          expectRun(await rpcinfo(['-T', 'udp6', '::1', PROG]), { stdout: ready });
          expectRun(await rpcinfo(['-T', 'tcp6', '::1', PROG]), { stdout: ready });
        });
      });
    });

    describe('a classic server (svcudp/svctcp_create + svc_register)', () => {
      test('registers udp and tcp through pmap_set, is callable, and leaves on SIGTERM', async () => {
        await withServer(programs.classicServer, async (server) => {
          const { udp, tcp } = server.ports;
          assert.ok(udp && tcp, `ports: ${server.output()}`);
          expectRun(await rpcinfo(['-p']), {
            stdout: [...PMAP_BASELINE, pmapRow(PROG, 1, 'udp', udp), pmapRow(PROG, 1, 'tcp', tcp)],
          });
          expectRun(await rpcinfo(['-p', '127.0.0.1']), {
            stdout: [...PMAP_BASELINE, pmapRow(PROG, 1, 'udp', udp), pmapRow(PROG, 1, 'tcp', tcp)],
          });
          expectRun(await rpcinfo([]), {
            stdout: [
              ...DUMP_BASELINE,
              dumpRow(PROG, 1, 'udp', uaddr('0.0.0.0', udp), '-', 'superuser'),
              dumpRow(PROG, 1, 'tcp', uaddr('0.0.0.0', tcp), '-', 'superuser'),
            ],
          });
          expectRun(await rpcinfo(['-s']), {
            stdout: [
              ...SUMMARY_BASELINE,
              ' 536871169  1         tcp,udp                          -           superuser',
            ],
          });
          expectRun(await client(['127.0.0.1', 'udp', 'add', '40', '2']), { stdout: ['42'] });
          expectRun(await client(['127.0.0.1', 'tcp', 'echo', 'classic']), { stdout: ['classic'] });
          // Registered for IPv4 only.
          expectRun(await client(['::1', 'udp6', 'add', '1', '1']), {
            stderr: ['::1: RPC: Program not registered'],
            code: 1,
          });
          expectRun(await rpcinfo(['-u', '127.0.0.1', PROG]), { stdout: readyLines(PROG, [1]) });
          expectRun(await rpcinfo(['-t', '127.0.0.1', PROG]), { stdout: readyLines(PROG, [1]) });
        });
      });
    });

    describe('rpcinfo -d', () => {
      test("a non-root local client cannot unset root's registration; root can", async () => {
        await withServer(programs.tirpcServer, async () => {
          const registered = [
            ...SUMMARY_BASELINE,
            ' 536871169  1         tcp6,udp6,tcp,udp                -           superuser',
          ];
          expectRun(await rpcinfo(['-d', PROG, '1'], { uid: 1, gid: 1 }), {
            stderr: [`rpcinfo: Could not delete registration for prog ${PROG} version 1`],
            code: 1,
          });
          expectRun(await rpcinfo(['-s']), { stdout: registered });

          expectRun(await rpcinfo(['-d', PROG, '1']), {});
          expectRun(await rpcinfo(['-s']), { stdout: SUMMARY_BASELINE });
          expectRun(await rpcinfo([]), { stdout: DUMP_BASELINE });
          expectRun(await client(['127.0.0.1', 'udp', 'add', '1', '2']), {
            stderr: ['127.0.0.1: RPC: Program not registered'],
            code: 1,
          });
          // The reference answers TRUE to an UNSET that matches nothing, so rpcinfo exits 0.
          expectRun(await rpcinfo(['-d', PROG, '1']), {});
          expectRun(await rpcinfo(['-d', PROG, '1'], { uid: 1, gid: 1 }), {});
        });
      });

      test('-d -T udp removes one netid only', async () => {
        await withServer(programs.tirpcServer, async (server) => {
          const { tcp, udp6, tcp6 } = server.ports;
          assert.ok(tcp && udp6 && tcp6, `ports: ${server.output()}`);
          expectRun(await rpcinfo(['-d', '-T', 'udp', PROG, '1']), {});
          expectRun(await rpcinfo([]), {
            stdout: [
              ...DUMP_BASELINE,
              dumpRow(PROG, 1, 'tcp', uaddr('0.0.0.0', tcp), '-', 'superuser'),
              dumpRow(PROG, 1, 'udp6', uaddr('::', udp6), '-', 'superuser'),
              dumpRow(PROG, 1, 'tcp6', uaddr('::', tcp6), '-', 'superuser'),
            ],
          });
        });
      });
    });

    describe('rpcinfo -m (GETSTAT)', () => {
      // Counters depend on every call the daemon saw: this runs on its own fresh host, with a
      // fixed sequence of calls. startDaemon() makes no RPC call itself.
      let statsHost: TestHost | undefined;
      after(async () => {
        await statsHost?.dispose();
      });

      test('counts per version and procedure, and GETADDR per prog/vers/netid', async () => {
        statsHost = await TestHost.create();
        await startDaemon(statsHost, daemon);
        const run = async (cmd: string, args: string[]) => {
          const r = await statsHost!.run(cmd, args);
          assert.equal(r.code, cmd === programs.client && args[1] === 'udp6' ? 1 : 0, describeRun(r));
        };
        await run('rpcinfo', ['-p', '127.0.0.1']);
        await run('rpcinfo', ['-t', '127.0.0.1', '100000', '2']);
        await run('rpcinfo', ['-u', '127.0.0.1', '100000', '3']);
        await run('rpcinfo', ['-T', 'tcp6', '::1', '100000', '4']);
        const server = await startServer(statsHost, programs.classicServer);
        await run(programs.client, ['127.0.0.1', 'udp', 'add', '1', '2']);
        await run(programs.client, ['127.0.0.1', 'tcp', 'add', '1', '2']);
        await run(programs.client, ['::1', 'udp6', 'add', '1', '2']); // not registered for udp6
        assert.deepEqual(await server.stop(), { code: 0, signal: null });

        expectRun(await statsHost.run('rpcinfo', ['-m']), {
          stdout: [
            'PORTMAP (version 2) statistics',
            'NULL    SET     UNSET   GETPORT DUMP    CALLIT  ',
            '1       0/0     0/0     0/0     1       0/0     ',
            '',
            'RPCBIND (version 3) statistics',
            'NULL    SET     UNSET   GETADDR DUMP    CALLIT  TIME    U2T     T2U     ',
            // classic-server: rpcb_set for udp and tcp; pmap_unset (udp+tcp) at start and at exit.
            '1       2/2     4/4     0/0     0       0/0     0       0       0       ',
            '',
            'RPCBIND (version 4) statistics',
            'NULL    SET     UNSET   GETADDR DUMP    CALLIT  TIME    U2T     T2U     ',
            '1       0/0     0/0     6/7     0       0/0     0       0       0       ',
            'VERADDR INDRECT GETLIST GETSTAT ',
            '0       0       0       1       ',
            '',
            'RPCB_GETADDR (version 4) call statistics',
            'prog\t\tvers\tnetid\t  success\tfailure',
            '536871169       1\tudp6\t  0           \t1',
            '536871169       1\ttcp\t  1           \t0',
            '536871169       1\tudp\t  1           \t0',
            'portmapper      4\ttcp6\t  1           \t0',
            'portmapper      3\tudp\t  1           \t0',
            'portmapper      2\ttcp\t  2           \t0',
          ],
        });
      });
    });
  });
}

for (const daemon of daemons) defineSuite(daemon);
