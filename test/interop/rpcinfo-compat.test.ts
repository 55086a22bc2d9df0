// Compatibility suite: the same registrations on a daemon, then every invocation below run with
// Debian's rpcinfo and with ours; stdout, stderr and exit status must match byte for byte.
// Daemons come from RPCINFO_COMPAT_DAEMONS (comma list, default "debian,ours").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestHost } from '../helpers/netns.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const OUR_RPCINFO = resolve(REPO, 'bin/rpcinfo.js');
const NULL_SERVICE = resolve(REPO, 'dist/test/helpers/null-service.js');
const FIXTURE_PROG = '536870920'; // served: versions 1-2 on port 20001
const DEAD_PROG = '536870913'; // registered, nothing listening

const DAEMONS: Record<string, { cmd: string; args: string[]; available: () => boolean }> = {
  debian: { cmd: '/usr/sbin/rpcbind', args: ['-f', '-w'], available: () => existsSync('/usr/sbin/rpcbind') },
  ours: {
    cmd: process.execPath,
    args: [resolve(REPO, 'bin/rpcbind.js'), '-f'],
    available: () => existsSync(resolve(REPO, 'bin/rpcbind.js')),
  },
};

/** In order: -m first (its counters only see the fixture), state-changing -d last. */
export const INVOCATIONS: string[][] = [
  ['-m'],
  [],
  ['-p'],
  ['-s'],
  ['localhost'],
  ['-p', 'localhost'],
  ['-p', '::1'],
  ['-s', '127.0.0.1'],
  ['-l', 'localhost', '100000', '2'],
  ['-l', 'localhost', FIXTURE_PROG, '1'],
  ['-l', 'localhost', '200000', '1'],
  ['-t', 'localhost', FIXTURE_PROG],
  ['-u', 'localhost', FIXTURE_PROG, '2'],
  ['-t', 'localhost', FIXTURE_PROG, '3'],
  ['-t', 'localhost', '100000'],
  ['-u', '127.0.0.1', 'rpcbind', '3'],
  ['-t', 'localhost', DEAD_PROG, '1'],
  ['-u', 'localhost', DEAD_PROG, '1'],
  ['-t', 'localhost', '100005'],
  ['-n', '111', '-t', 'localhost', '100000', '2'],
  ['-T', 'tcp', 'localhost', FIXTURE_PROG],
  ['-T', 'udp', '127.0.0.1', FIXTURE_PROG, '1'],
  ['-T', 'tcp', 'localhost', DEAD_PROG],
  ['-T', 'tcp6', 'localhost', '100000', '2'],
  ['-T', 'udp6', '::1', '100000', '4'],
  ['-T', 'local', '/run/rpcbind.sock', '100000'],
  ['-T', 'foo', 'localhost', '100000'],
  ['-a', '127.0.0.1.0.111', '-T', 'udp', '100000'],
  ['-a', '127.0.0.1.78.33', '-T', 'tcp', FIXTURE_PROG, '2'],
  ['-a', '1.2.3', '-T', 'udp', '100000', '2'],
  ['-b', '100000', '2'],
  ['-x'],
  ['-T'],
  ['-p', 'localhost', 'extra'],
  ['-t', 'localhost'],
  ['-t', 'localhost', 'foo'],
  ['-t', 'localhost', '12x3'],
  ['-t', 'localhost', '1-'],
  ['-l', 'localhost', '100000', 'x'],
  ['-n', 'abc', '-t', 'localhost', '100000', '2'],
  ['-p', 'nosuchhost.invalid'],
  ['nosuchhost.invalid'],
  ['-d', '-T', 'foo', '1', '2'],
  ['-d', '536870999', '1'],
  ['-d', DEAD_PROG, '1'],
  ['-p'],
  ['-d', '-T', 'udp', FIXTURE_PROG, '2'],
  ['-s'],
];

interface Outcome {
  stdout: string;
  stderr: string;
  status: number | null;
}

async function runAll(daemon: { cmd: string; args: string[] }, tool: 'debian' | 'ours'): Promise<Outcome[]> {
  const host = await TestHost.create();
  try {
    host.spawn(daemon.cmd, daemon.args);
    await host.waitForUnixSocket('/run/rpcbind.sock', { timeoutMs: 5_000 });
    const svc = host.spawn(process.execPath, [NULL_SERVICE, FIXTURE_PROG, '1', '2', '20001']);
    const ready = await new Promise<boolean>((res) => {
      const t = setTimeout(() => res(false), 10_000);
      svc.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          res(true);
        }
      });
      svc.once('exit', () => res(false));
    });
    assert.ok(ready, 'null service did not register');
    // A registration with nothing behind it, made with our library over the local socket.
    const reg = await host.run(process.execPath, [
      '--input-type=module',
      '-e',
      `
      import { RpcbindClient } from '${resolve(REPO, 'dist/src/client/index.js')}';
      const rb = await RpcbindClient.connect({ netid: 'local' });
      for (const netid of ['udp', 'tcp']) await rb.set({ prog: ${DEAD_PROG}, vers: 1, netid, addr: '0.0.0.0.39.16', owner: '' });
      rb.close();`,
    ]);
    assert.equal(reg.code, 0, reg.stderr);
    const one = async (argv: string[]): Promise<Outcome> => {
      // Debian's rpcinfo names itself after argv[0] in its messages: run it as plain "rpcinfo".
      const r =
        tool === 'debian'
          ? await host.run('bash', ['-c', 'exec -a "$0" "$@"', 'rpcinfo', '/usr/sbin/rpcinfo', ...argv], {
              timeoutMs: 20_000,
            })
          : await host.run(process.execPath, [OUR_RPCINFO, ...argv], { timeoutMs: 20_000 });
      return { stdout: r.stdout, stderr: r.stderr, status: r.code };
    };
    // -m alone first; the read-only middle in parallel batches; from the first -d on, in order.
    const firstDelete = INVOCATIONS.findIndex((a) => a[0] === '-d');
    const out: Outcome[] = [await one(INVOCATIONS[0]!)];
    const middle = INVOCATIONS.slice(1, firstDelete);
    for (let i = 0; i < middle.length; i += 8) out.push(...(await Promise.all(middle.slice(i, i + 8).map(one))));
    for (const argv of INVOCATIONS.slice(firstDelete)) out.push(await one(argv));
    return out;
  } finally {
    await host.dispose();
  }
}

const wanted = (process.env.RPCINFO_COMPAT_DAEMONS ?? 'debian,ours')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

for (const name of wanted) {
  const daemon = DAEMONS[name];
  test(`rpcinfo compatibility against daemon "${name}"`, async () => {
    if (!daemon) return void assert.fail(`unknown daemon ${name}`);
    assert.ok(daemon.available(), `daemon "${name}" (${daemon.args[0] ?? daemon.cmd}) is missing`);
    assert.ok(INVOCATIONS.length >= 25);
    const [ref, ours] = await Promise.all([runAll(daemon, 'debian'), runAll(daemon, 'ours')]);
    const diffs: string[] = [];
    INVOCATIONS.forEach((argv, i) => {
      const a = ref[i]!;
      const b = ours[i]!;
      if (a.stdout !== b.stdout || a.stderr !== b.stderr || a.status !== b.status) {
        diffs.push(`rpcinfo ${argv.join(' ')}\n  debian: ${JSON.stringify(a)}\n  ours:   ${JSON.stringify(b)}`);
      }
    });
    assert.deepEqual(diffs, [], `${diffs.length} of ${INVOCATIONS.length} invocations differ`);
  });
}
