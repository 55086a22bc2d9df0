// SIGHUP against a running daemon in a private namespace: a changed connection limit is applied
// to the connections that follow; a change that cannot be applied is logged as waiting for a
// restart. Needs root and: ci-packages: iproute2 util-linux
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { daemons, findRepoRoot, startDaemon, type RunningDaemon } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';

const TOOL = join(findRepoRoot(), 'dist', 'test', 'helpers', 'attack-tool.js');
const ours = daemons.find((d) => d.name === 'ours')!;

let host: TestHost;
let daemon: RunningDaemon;

describe('SIGHUP reload of limits', { timeout: 60_000 }, () => {
  before(async () => {
    host = await TestHost.create();
    await host.run('sh', ['-c', 'printf "max-connections = 1024\\nforward-max = 64\\n" > /run/t.conf']);
    daemon = await startDaemon(host, ours, ['--config', '/run/t.conf']);
  });
  after(async () => host?.dispose());

  test('max-connections 1024 -> 10 and SIGHUP: of 40 new connections 30 are closed; forward-max waits for a restart', async () => {
    await host.run('sh', ['-c', 'printf "max-connections = 10\\nforward-max = 8\\n" > /run/t.conf']);
    process.kill(daemon.process.pid!, 'SIGHUP');
    await waitFor(() => /configuration reloaded/.test(daemon.output()), { timeoutMs: 5000, what: 'reload' });
    // From loopback, which the per-source share does not limit: this is the shared cap.
    const r = await host.run(process.execPath, [TOOL], {
      input: JSON.stringify({
        op: 'idle',
        target: '127.0.0.1',
        from: '127.0.0.1',
        port: 111,
        count: 40,
        holdMs: 10_000,
        untilClosed: 30,
      }),
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { opened: number; closedByServer: number };
    assert.equal(res.opened, 40, r.stdout);
    assert.equal(res.closedByServer, 30, r.stdout);
    assert.match(daemon.output(), /changed settings applied: max-connections\n/);
    assert.match(daemon.output(), /changed settings that take effect on restart: forward-max\n/);
  });
});
