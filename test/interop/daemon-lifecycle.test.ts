// Starting and stopping our daemon as an administrator does: one instance per socket path (also
// against Debian's rpcbind), one clear line and exit status 1 when it cannot start, background
// mode that returns once the daemon serves, clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { daemons, findRepoRoot, startDaemon } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import { join } from 'node:path';

const OURS = join(findRepoRoot(), 'bin', 'rpcbind.js');
const ours = daemons.find((d) => d.name === 'ours')!;
const reference = daemons.find((d) => d.name === 'reference')!;

describe('daemon lifecycle', { timeout: 60_000 }, () => {
  let host: TestHost;
  before(async () => {
    host = await TestHost.create();
  });
  after(async () => {
    await host?.dispose();
  });

  test('a second instance refuses to start with one line and exit status 1', async () => {
    const first = await startDaemon(host, ours);
    const second = await host.run(process.execPath, [OURS, '-f'], { timeoutMs: 10_000 });
    assert.equal(second.code, 1);
    assert.equal(second.stderr, 'rpcbind: another rpcbind is already running (lock /run/rpcbind.lock is held)\n');
    const stopped = await first.stop();
    assert.equal(stopped.code, 0);
    // The socket file and the lock are released on a clean exit.
    const ls = await host.run('ls', ['/run']);
    assert.doesNotMatch(ls.stdout, /rpcbind\.sock/);
  });

  test("Debian's rpcbind and ours exclude each other through /run/rpcbind.lock", async () => {
    const ref = await startDaemon(host, reference);
    const r = await host.run(process.execPath, [OURS, '-f'], { timeoutMs: 10_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rpcbind: another rpcbind is already running/);
    await ref.stop();
  });

  test('a port already in use is one line on stderr and exit status 1', async () => {
    const holder = host.spawn('python3', [
      '-c',
      'import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("127.0.0.1",5111))\nprint("bound",flush=True)\ntime.sleep(30)',
    ]);
    await host.waitForPort('udp', 5111, { timeoutMs: 10_000 });
    const r = await host.run(process.execPath, [OURS, '-f', '--port', '5111', '--socket', '/run/alt.sock'], {
      timeoutMs: 10_000,
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'rpcbind: cannot bind udp 127.0.0.1:5111: address already in use (is another rpcbind running?)\n',
    );
    await host.stop(holder, { signal: 'SIGKILL' }).catch(() => {});
  });

  test('without privileges for port 111 it says so in one line', async () => {
    const r = await host.run(process.execPath, [OURS, '-f', '--socket', '/run/user.sock'], {
      timeoutMs: 10_000,
      user: { uid: 1, gid: 1 },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^rpcbind: cannot bind udp .*:111: permission denied \(binding a port below 1024 needs root or CAP_NET_BIND_SERVICE\)\n$/,
    );
  });

  test('an address added while running is served over UDP, replies leaving from it', async () => {
    const d = await startDaemon(host, ours);
    await host.addBridgeAddress('198.18.7.1/24', 'rbtlate0');
    // The daemon re-reads the host's addresses every 2 s; libtirpc's UDP client (connected
    // socket) accepts only replies from the address it called.
    await waitFor(async () => (await host.run('rpcinfo', ['-u', '198.18.7.1', '100000', '2'])).code === 0, {
      timeoutMs: 8_000,
      intervalMs: 500,
      what: 'udp service on the new address',
    });
    const r = await host.run('rpcinfo', ['-u', '198.18.7.1', '100000']);
    assert.equal(r.stdout, [2, 3, 4].map((v) => `program 100000 version ${v} ready and waiting\n`).join(''));
    await d.stop();
  });

  test('without -f the command returns 0 once the detached daemon serves', async () => {
    const r = await host.run(process.execPath, [OURS], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const p = await host.run('rpcinfo', ['-p']);
    assert.equal(p.code, 0);
    assert.match(p.stdout, /100000 {4}2 {3}udp {4}111 {2}portmapper/);
    // A second background start reports why it cannot run.
    const again = await host.run(process.execPath, [OURS], { timeoutMs: 15_000 });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /another rpcbind is already running/);
    // Stop the detached daemon through its pid (found by the socket it holds).
    const ss = await host.run('ss', ['-H', '-l', '-x', '-p']);
    const pid = /\/run\/rpcbind\.sock.*pid=(\d+)/.exec(ss.stdout)?.[1];
    assert.ok(pid, ss.stdout);
    await host.run('kill', ['-TERM', pid]);
    await waitFor(async () => (await host.run('kill', ['-0', pid])).code !== 0, {
      timeoutMs: 5_000,
      what: 'daemon exit',
    });
  });
});
