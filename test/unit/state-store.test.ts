import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeState as encodeLegacyState } from '../../src/daemon/legacy-state-format.js';
import { LEGACY_STATE_FILE_NAME, StateStore, type LoadResult } from '../../src/daemon/state-store.js';
import { JOURNAL_COMPACT_FLOOR_BYTES } from '../../src/limits.js';
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

const reg = (prog: number, addr = `0.0.0.0.1.${prog % 256}`): Registration => ({ prog, vers: 1, netid: 'tcp', addr, owner: 'superuser' });

/** A registry wired to a store the way the daemon does it: restore, then journal every change. */
function open(dir: string, log = recordingLog()): { registry: Registry; store: StateStore; loaded: LoadResult; log: typeof log } {
  const registry = new Registry();
  const store = new StateStore({ dir, log, snapshot: () => [...registry.entries()] });
  const loaded = store.load();
  if (loaded.kind === 'loaded') {
    registry.restoreAll(loaded.entries);
    for (const c of loaded.changes) {
      if (c.op === 'add') registry.restore(c.reg);
      else registry.remove(c.reg.prog, c.reg.vers, c.reg.netid);
    }
  }
  registry.observe((op, r) => store.record(op, r));
  return { registry, store, loaded, log };
}

const progs = (r: Registry) => [...r.entries()].map((e) => e.prog);

test('a missing state is an empty table; SETs and UNSETs come back in order', async () => {
  const dir = freshDir();
  const a = open(dir);
  assert.deepEqual(a.loaded, { kind: 'missing' });
  await a.store.persist(); // the first write: an (empty) snapshot and a fresh journal
  assert.equal(a.store.compactions, 1);
  for (const p of [5, 3, 9, 4]) a.registry.set(reg(p));
  a.registry.unset(3, 1, 'tcp', 'superuser');
  await a.store.persist();
  assert.equal(a.store.compactions, 1, 'changes are appended, not a new snapshot');
  // No close(): as after SIGKILL, the journal holds the changes.
  const b = open(dir);
  assert.equal(b.loaded.kind === 'loaded' && b.loaded.changes.length, 5);
  assert.deepEqual(progs(b.registry), [5, 9, 4]);
  assert.deepEqual([...b.registry.entries()][0], reg(5));
});

test('group commit: a burst of persist() calls shares a few writes', async () => {
  const a = open(freshDir());
  await a.store.persist();
  const before = a.store.writes;
  const waits: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    a.registry.set(reg(1000 + i));
    waits.push(a.store.persist());
  }
  await Promise.all(waits);
  assert.ok(a.store.writes - before <= 3, `${a.store.writes - before} writes for 200 calls`);
  assert.equal(open(a.store.dir).registry.size, 200);
});

test('a torn last record (a crash mid-append) is dropped, cut off, and appends go on after it', async () => {
  const dir = freshDir();
  const a = open(dir);
  await a.store.persist();
  a.registry.set(reg(1));
  a.registry.set(reg(2));
  await a.store.persist();
  const full = readFileSync(a.store.journalFile);
  // Half of the last record's bytes made it to the file.
  writeFileSync(a.store.journalFile, full.subarray(0, full.length - 10));
  const b = open(dir);
  assert.deepEqual(progs(b.registry), [1]);
  assert.match(b.log.lines.join('\n'), /info: .*unfinished last record/);
  assert.doesNotMatch(b.log.lines.join('\n'), /warn|error/);
  await b.store.persist(); // reopens the journal: the torn bytes are cut
  b.registry.set(reg(3));
  await b.store.persist();
  assert.deepEqual(progs(open(dir).registry), [1, 3]);
});

test('a damaged record in the middle: the changes before it are restored, a copy is kept, a warning says so', async () => {
  const dir = freshDir();
  const a = open(dir);
  await a.store.persist();
  for (const p of [1, 2, 3]) {
    a.registry.set(reg(p));
    await a.store.persist();
  }
  const bytes = readFileSync(a.store.journalFile);
  const recordBytes = (bytes.length - 20) / 3;
  bytes[20 + recordBytes + 12]! ^= 0x10; // inside the second record
  writeFileSync(a.store.journalFile, bytes);
  const b = open(dir);
  assert.deepEqual(progs(b.registry), [1]);
  assert.match(b.log.lines.join('\n'), /warn: journal .* is damaged .*restoring the 1 changes before it.*a copy is in/);
  assert.equal(readdirSync(dir).filter((f) => f.includes('journal.bad-')).length, 1);
  // The damaged part is cut when the journal reopens; later changes are kept after it.
  await b.store.persist();
  b.registry.set(reg(4));
  await b.store.persist();
  const c = open(dir);
  assert.deepEqual(progs(c.registry), [1, 4]);
  assert.doesNotMatch(c.log.lines.join('\n'), /warn/);
});

test('compaction: a journal past its bound becomes a snapshot; disk use stays bounded; nothing is lost', async () => {
  const dir = freshDir();
  const a = open(dir);
  await a.store.persist();
  // About 40 bytes per record: well past the floor.
  const total = Math.ceil((3 * JOURNAL_COMPACT_FLOOR_BYTES) / 40);
  for (let i = 0; i < total; i++) {
    a.registry.set(reg(i, `198.51.100.${i % 250}.4.1`));
    if (i % 3 === 0) a.registry.unset(i - 1, 1, 'tcp', 'superuser');
    if (i % 500 === 0) await a.store.persist();
  }
  await a.store.persist();
  assert.ok(a.store.compactions >= 2, `${a.store.compactions} compactions`);
  const snapshotBytes = statSync(a.store.file).size;
  const journalBytes = statSync(a.store.journalFile).size;
  assert.ok(journalBytes <= Math.max(JOURNAL_COMPACT_FLOOR_BYTES, snapshotBytes), `journal ${journalBytes}, snapshot ${snapshotBytes}`);
  const b = open(dir);
  assert.deepEqual(progs(b.registry), progs(a.registry));
  // A clean close folds the journal into the snapshot.
  await b.store.persist();
  b.registry.set(reg(total + 1));
  await b.store.persist();
  await b.store.close();
  const c = open(dir);
  assert.equal(c.loaded.kind === 'loaded' && c.loaded.changes.length, 0);
  assert.equal(c.registry.size, a.registry.size + 1);
});

test('a journal of another epoch (a crash between the two steps of a compaction) is ignored', async () => {
  const dir = freshDir();
  const a = open(dir);
  await a.store.persist();
  a.registry.set(reg(1));
  await a.store.persist();
  const oldJournal = readFileSync(a.store.journalFile);
  await a.store.close(); // a new snapshot holding prog 1, and an empty journal of its epoch
  writeFileSync(a.store.journalFile, oldJournal); // as if the reset had not happened
  const b = open(dir);
  assert.deepEqual(progs(b.registry), [1]);
  assert.equal(b.loaded.kind === 'loaded' && b.loaded.changes.length, 0);
});

test('a corrupt snapshot is moved aside with a warning; so is its journal; the store starts empty', () => {
  const dir = freshDir();
  const log = recordingLog();
  const store = new StateStore({ dir, log, snapshot: () => [] });
  store.load(); // creates the directory
  writeFileSync(store.file, 'garbage');
  writeFileSync(store.journalFile, 'more garbage');
  assert.equal(store.load().kind, 'discarded');
  assert.equal(existsSync(store.file), false);
  assert.equal(existsSync(store.journalFile), false);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.bad-')).length, 1);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.orphan-')).length, 1);
  assert.match(log.lines.join('\n'), /warn: .*unusable.*moved to/);
});

test('a foreign journal beside a good snapshot is moved aside; the snapshot alone is restored', async () => {
  const dir = freshDir();
  const a = open(dir);
  a.registry.set(reg(7));
  await a.store.persist(); // the first write is a snapshot holding prog 7
  writeFileSync(a.store.journalFile, '# not ours at all, but long enough\n');
  const b = open(dir);
  assert.deepEqual(progs(b.registry), [7]);
  assert.match(b.log.lines.join('\n'), /warn: state file .*journal is unusable .*moved to/);
  await b.store.persist();
  b.registry.set(reg(8));
  await b.store.persist();
  assert.deepEqual(progs(open(dir).registry), [7, 8]);
});

test('migrates the version 1 file (same boot, older daemon), then removes it', async () => {
  const dir = freshDir();
  open(dir); // creates the directory
  const legacy = join(dir, LEGACY_STATE_FILE_NAME);
  writeFileSync(legacy, encodeLegacyState([reg(11), reg(12)]));
  const a = open(dir);
  assert.deepEqual(progs(a.registry), [11, 12]);
  assert.match(a.log.lines.join('\n'), /migrating 2 registrations/);
  await a.store.persist();
  assert.equal(existsSync(legacy), false);
  assert.deepEqual(progs(open(dir).registry), [11, 12]);
});

test('an unwritable directory: persist still resolves, the store says loudly it is not durable', async () => {
  const log = recordingLog();
  const blocker = join(root, `file${n++}`);
  writeFileSync(blocker, 'x'); // a regular file where a directory should be: ENOTDIR for root too
  const store = new StateStore({ dir: join(blocker, 'state'), log, snapshot: () => [reg(1)] });
  store.load();
  await store.persist();
  store.record('add', reg(2));
  await store.persist();
  assert.equal(store.durable, false);
  assert.equal(log.lines.filter((l) => /NOT DURABLE/.test(l)).length, 1);
  await store.close();
  appendFileSync(blocker, 'y'); // still a file: nothing was written through it
  assert.equal(readFileSync(blocker, 'utf8'), 'xy');
});
