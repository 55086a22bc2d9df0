// A full table (MAX_REGISTRATIONS entries, every string as long as the wire allows and all of
// them distinct) under the launcher's node flags: the old space is capped there
// (--max-old-space-size, issue 8), and the cap must leave room for the worst table, read back
// from disk at start, dumped, changed and saved again. No memory figure is asserted here: only
// that the daemon serves and exits cleanly instead of dying of an out-of-memory error.
//
// ci-packages: iproute2 util-linux
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_NETID_BYTES, MAX_OWNER_BYTES, MAX_REGISTRATIONS, MAX_UADDR_BYTES } from '../../src/limits.js';
import { encodeSnapshot } from '../../src/daemon/persistence/snapshot-format.js';
import { STATE_FILE_NAME } from '../../src/daemon/persistence/state-store.js';
import { PMAP_PROG } from '../../src/proto/index.js';
import type { Registration } from '../../src/rpcbind/index.js';
import { daemons } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';
import { RpcbClient, hostPath } from '../helpers/rpcb-client.js';

const ours = daemons.find((d) => d.name === 'ours')!;
const STATE_DIR = '/run/rpcbind-ts';

/** The node flags on the launcher's `#!/usr/bin/env -S node ...` line (as installed). */
function shebangFlags(entry: string): string[] {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  return /^#!\/usr\/bin\/env -S node (.*)$/.exec(first)?.[1]?.trim().split(/\s+/) ?? [];
}

/** A string of exactly `len` characters, distinct for every i. */
const long = (tag: string, i: number, len: number): string => `${tag}${i}-`.padEnd(len, 'x');

function worstTable(): Registration[] {
  const out: Registration[] = [];
  for (let i = 0; i < MAX_REGISTRATIONS; i++) {
    out.push({
      prog: 0x20000000 + i,
      vers: 1,
      netid: long('n', i, MAX_NETID_BYTES),
      addr: long('198.51.100.1.', i, MAX_UADDR_BYTES),
      owner: long('o', i, MAX_OWNER_BYTES),
    });
  }
  return out;
}

test('a full table of the longest strings is restored, dumped, refused more and saved under the launcher flags', {
  timeout: 180_000,
}, async () => {
  const flags = shebangFlags(ours.args[0]!);
  assert.ok(
    flags.some((f) => f.startsWith('--max-old-space-size=')),
    `launcher flags: ${flags.join(' ')}`,
  );
  const host = await TestHost.create();
  try {
    mkdirSync(hostPath(host.holderPid, STATE_DIR), { recursive: true });
    writeFileSync(hostPath(host.holderPid, `${STATE_DIR}/${STATE_FILE_NAME}`), encodeSnapshot(worstTable(), 1));
    const child = host.spawn(ours.command, [...flags, ...ours.args, '--state-dir', STATE_DIR]);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
    const path = hostPath(host.holderPid, '/run/rpcbind.sock');
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited: ${output}`);
        (await RpcbClient.open(path)).close();
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'our daemon to serve its restored table' },
    );
    const c = await RpcbClient.open(path, 60_000);
    try {
      const last = MAX_REGISTRATIONS - 1;
      const dumped = (await c.dump(4)).filter((r) => r.prog !== PMAP_PROG);
      assert.equal(dumped.length, MAX_REGISTRATIONS);
      assert.deepEqual(dumped[last], {
        prog: 0x20000000 + last,
        vers: 1,
        netid: long('n', last, MAX_NETID_BYTES),
        addr: long('198.51.100.1.', last, MAX_UADDR_BYTES),
        owner: long('o', last, MAX_OWNER_BYTES),
      });
      // Full: refused, not stored.
      assert.equal(await c.set({ prog: 0x3fffffff, vers: 1, netid: 'udp', addr: '0.0.0.0.3.232', owner: '' }), false);
      // A change is journalled; stopping folds the journal into a new snapshot of the full table.
      assert.equal(await c.unset({ prog: 0x20000000, vers: 1, netid: long('n', 0, MAX_NETID_BYTES), owner: '' }), true);
      assert.equal(
        (await c.dump(3)).length,
        dumped.length + (await c.dump(3)).filter((r) => r.prog === PMAP_PROG).length - 1,
      );
    } finally {
      c.close();
    }
    const exit = await host.stop(child, { timeoutMs: 60_000 });
    assert.deepEqual(exit, { code: 0, signal: null }, output);
    assert.doesNotMatch(output, /heap out of memory|allocation failed/i);
  } finally {
    await host.dispose();
  }
});
