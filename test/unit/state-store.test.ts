import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StateStore } from '../../src/daemon/state-store.js';
import { Registry, type Registration } from '../../src/rpcbind/index.js';
import type { TransportLog } from '../../src/transport/handler.js';

const root = mkdtempSync(join(tmpdir(), 'rbt-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

function recordingLog(): TransportLog & { lines: string[] } {
  const lines: string[] = [];
  const add = (l: string) => (m: string) => lines.push(`${l}: ${m}`);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

const reg = (prog: number): Registration => ({ prog, vers: 1, netid: 'tcp', addr: `0.0.0.0.1.${prog % 256}`, owner: 'superuser' });

test('a missing file is an empty table; persisted entries load back in order', async () => {
  const dir = freshDir();
  const registry = new Registry();
  const store = new StateStore({ dir, log: recordingLog(), snapshot: () => registry.entries() });
  assert.deepEqual(store.load(), { kind: 'missing' });
  for (const p of [5, 3, 9]) registry.set(reg(p));
  await store.persist();
  const again = new StateStore({ dir, log: recordingLog(), snapshot: () => [] });
  assert.deepEqual(again.load(), { kind: 'loaded', entries: [reg(5), reg(3), reg(9)] });
});

test('group commit: a burst of persist() calls shares a few writes', async () => {
  const registry = new Registry();
  const store = new StateStore({ dir: freshDir(), log: recordingLog(), snapshot: () => registry.entries() });
  store.load();
  const waits: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    registry.set(reg(1000 + i));
    waits.push(store.persist());
  }
  await Promise.all(waits);
  assert.ok(store.writes <= 3, `${store.writes} writes for 200 calls`);
  const check = new StateStore({ dir: store.dir, log: recordingLog(), snapshot: () => [] }).load();
  assert.equal(check.kind === 'loaded' && check.entries.length, 200);
});

test('a corrupt file is moved aside with a warning, and the store starts empty', () => {
  const dir = freshDir();
  const log = recordingLog();
  const store = new StateStore({ dir, log, snapshot: () => [] });
  store.load(); // creates the directory
  writeFileSync(store.file, 'garbage');
  assert.equal(store.load().kind, 'discarded');
  assert.equal(existsSync(store.file), false);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.bad-')).length, 1);
  assert.match(log.lines.join('\n'), /warn: .*unusable.*moved to/);
});

test('an unwritable directory: persist still resolves, the store says loudly it is not durable', async () => {
  const log = recordingLog();
  const blocker = join(root, `file${n++}`);
  writeFileSync(blocker, 'x'); // a regular file where a directory should be: ENOTDIR for root too
  const store = new StateStore({ dir: join(blocker, 'state'), log, snapshot: () => [reg(1)] });
  store.load();
  await store.persist();
  await store.persist();
  assert.equal(store.durable, false);
  assert.equal(log.lines.filter((l) => /NOT DURABLE/.test(l)).length, 1);
});
