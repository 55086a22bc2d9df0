import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeState as encodeLegacyState } from '../../../../src/daemon/persistence/legacy-state-format.js';
import {
  LEGACY_STATE_FILE_NAME,
  StateStore,
  type LoadResult,
  type StateStoreOptions,
  type StoreLog,
} from '../../../../src/daemon/persistence/state-store.js';
import type { Change } from '../../../../src/daemon/persistence/journal-format.js';
import { replayLoaded, undoChanges } from '../../../../src/daemon/persistence/persistence.js';
import { fileIoFor, type FileIo } from '../../../../src/daemon/persistence/state-io.js';
import { waitFor } from '../../../helpers/netns.js';
import { formatEvent } from '../../../../src/daemon/observability/logger.js';
import { JOURNAL_COMPACT_FLOOR_BYTES } from '../../../../src/limits.js';
import { Registry, type Registration } from '../../../../src/rpcbind/index.js';

const root = mkdtempSync(join(tmpdir(), 'rbt-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

function recordingLog(): StoreLog & { lines: string[] } {
  const lines: string[] = [];
  const add = (l: string) => (m: string) => lines.push(`${l}: ${m}`);
  return {
    lines,
    debug: add('debug'),
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    event: (name, fields, level = 'info') => lines.push(`${level}: ${formatEvent(name, fields)}`),
  };
}

const reg = (prog: number, addr = `0.0.0.0.1.${prog % 256}`): Registration => ({
  prog,
  vers: 1,
  netid: 'tcp',
  addr,
  owner: 'superuser',
});

/**
 * A registry wired to a store the way the daemon does it (persistence.ts): restore, then journal
 * every change; changes that could not be saved are undone.
 */
function open(
  dir: string,
  log = recordingLog(),
  extra: Partial<StateStoreOptions> = {},
): { registry: Registry; store: StateStore; loaded: LoadResult; log: typeof log } {
  const registry = new Registry();
  let undoing = false;
  const undo = (changes: readonly Change[]): void => {
    undoing = true;
    undoChanges(registry, changes);
    undoing = false;
  };
  const store = new StateStore({ dir, log, snapshot: () => [...registry.entries()], undo, ...extra });
  const loaded = store.load();
  if (loaded.kind === 'loaded') replayLoaded(registry, loaded);
  registry.observe((op, r) => {
    if (!undoing) store.record(op, r);
  });
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
  const waits: Promise<boolean>[] = [];
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
  // Half of the last record's bytes made it to the file (zeros written ahead may follow).
  full.fill(0, a.store.journalBytes - 10);
  writeFileSync(a.store.journalFile, full);
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
  const recordBytes = (a.store.journalBytes - 20) / 3;
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
  assert.ok(
    journalBytes <= Math.max(JOURNAL_COMPACT_FLOOR_BYTES, snapshotBytes),
    `journal ${journalBytes}, snapshot ${snapshotBytes}`,
  );
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

test('an unwritable directory: changes are refused and undone, the store says so once', async () => {
  const log = recordingLog();
  const blocker = join(root, `file${n++}`);
  writeFileSync(blocker, 'x'); // a regular file where a directory should be: ENOTDIR for root too
  const a = open(join(blocker, 'state'), log);
  assert.equal(await a.store.open(), false);
  assert.equal(a.store.durable, false);
  assert.equal(a.store.accepting(), false);
  // A change made regardless (the gate was not asked) is undone, not kept.
  a.registry.set(reg(2));
  assert.equal(await a.store.persist(), false);
  assert.equal(a.registry.size, 0);
  assert.equal(log.lines.filter((l) => /state-not-durable/.test(l)).length, 1);
  await a.store.close();
  appendFileSync(blocker, 'y'); // still a file: nothing was written through it
  assert.equal(readFileSync(blocker, 'utf8'), 'xy');
});

/**
 * File operations that fail on demand: `fail` names an operation and the errno its next calls
 * throw, until cleared; `hang` makes the n-th operation from now never finish (a process killed
 * at that moment: what reached the files stays, nothing after it happens).
 */
type FaultyIo = FileIo & {
  fail: { op: keyof FileIo; code: string } | undefined;
  hangAfter: number | undefined;
  hung: boolean;
  ops: string[];
};

function faultyIo(dir: string): FaultyIo {
  mkdirSync(dir, { recursive: true });
  const real = fileIoFor(dir);
  const io = {
    inline: real.inline,
    fail: undefined as { op: keyof FileIo; code: string } | undefined,
    hangAfter: undefined as number | undefined,
    hung: false,
    ops: [] as string[],
  } as FaultyIo;
  for (const op of ['open', 'close', 'writeAll', 'datasync', 'fsync', 'truncate', 'rename', 'unlink'] as const) {
    (io as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
      io.ops.push(op);
      if (io.hangAfter !== undefined && io.hangAfter-- <= 0) {
        io.hung = true;
        return new Promise(() => {});
      }
      if (io.fail?.op === op)
        return Promise.reject(Object.assign(new Error(`${io.fail.code} (injected)`), { code: io.fail.code }));
      return (real[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  return io;
}

for (const [op, code] of [
  ['writeAll', 'ENOSPC'],
  ['datasync', 'EIO'],
  ['writeAll', 'EROFS'],
] as const) {
  test(`a failed ${op} (${code}): the change is answered unsaved and undone, changes are refused, and resume after a snapshot`, async () => {
    const dir = freshDir();
    const io = faultyIo(dir);
    const a = open(dir, recordingLog(), { io });
    assert.equal(await a.store.open(), true);
    a.registry.set(reg(1));
    assert.equal(await a.store.persist(), true);
    io.fail = { op, code };
    a.registry.set(reg(2));
    const inFlight = a.store.persist();
    // Queued while the failing write is in flight: built on it, undone with it.
    a.registry.unset(1, 1, 'tcp', 'superuser');
    const queued = a.store.persist();
    assert.deepEqual([await inFlight, await queued], [false, false]);
    assert.deepEqual(progs(a.registry), [1], 'the table is as it was before the failed changes');
    assert.equal(a.store.durable, false);
    assert.equal(a.store.accepting(), false);
    assert.match(
      a.log.lines.join('\n'),
      new RegExp(`error: state-not-durable dir=\\S+ reason=.*${code}.*changes="refused until saved again"`),
    );
    // What is on disk is exactly what was acknowledged: nothing of the failed batch.
    assert.deepEqual(progs(open(dir).registry), [1]);
    // Retries fail quietly while the fault lasts; once it is gone a snapshot is written.
    await waitFor(() => io.ops.filter((o) => o === 'open').length >= 4, { what: 'a retry' });
    assert.equal(a.store.durable, false);
    io.fail = undefined;
    await waitFor(() => a.store.durable, { what: 'the store to resume' });
    assert.equal(a.log.lines.filter((l) => /state-not-durable/.test(l)).length, 1, 'said once per episode');
    assert.match(a.log.lines.join('\n'), /warn: state-durable-again dir=\S+ afterMs=\d+ snapshot=/);
    assert.equal(a.store.accepting(), true);
    a.registry.set(reg(3));
    assert.equal(await a.store.persist(), true);
    assert.deepEqual(progs(open(dir).registry), [1, 3]);
    await a.store.close();
  });
}

test("policy 'accept': a change that cannot be saved is kept and reported saved; the snapshot that ends the episode holds it", async () => {
  const dir = freshDir();
  const io = faultyIo(dir);
  const a = open(dir, recordingLog(), { io, policy: 'accept' });
  await a.store.open();
  io.fail = { op: 'writeAll', code: 'ENOSPC' };
  a.registry.set(reg(1));
  assert.equal(await a.store.persist(), true);
  a.registry.set(reg(2));
  assert.equal(await a.store.persist(), true);
  assert.equal(a.store.accepting(), true);
  assert.equal(a.store.durable, false);
  assert.match(a.log.lines.join('\n'), /error: state-not-durable .*ACCEPTED IN MEMORY ONLY/);
  assert.deepEqual(progs(open(dir).registry), [], 'nothing reached the disk meanwhile');
  io.fail = undefined;
  await waitFor(() => a.store.durable, { what: 'the store to resume' });
  assert.deepEqual(progs(open(dir).registry), [1, 2]);
  await a.store.close();
});

test('the state directory removed while running: the next change is refused and undone; it is recreated and resumes', async () => {
  const dir = freshDir();
  const a = open(dir);
  await a.store.open();
  a.registry.set(reg(1));
  assert.equal(await a.store.persist(), true);
  rmSync(dir, { recursive: true });
  a.registry.set(reg(2));
  assert.equal(await a.store.persist(), false);
  assert.deepEqual(progs(a.registry), [1]);
  assert.match(a.log.lines.join('\n'), /state-not-durable .*removed/);
  await waitFor(() => a.store.durable, { what: 'the store to resume' });
  assert.deepEqual(progs(open(dir).registry), [1], 'the snapshot written on resuming holds the table');
  a.registry.set(reg(3));
  assert.equal(await a.store.persist(), true);
  assert.deepEqual(progs(open(dir).registry), [1, 3]);
  await a.store.close();
});

test('the snapshot alone removed: the next change is refused (its journal would be orphaned at the next start), then a new snapshot', async () => {
  const dir = freshDir();
  const a = open(dir);
  await a.store.open();
  a.registry.set(reg(1));
  assert.equal(await a.store.persist(), true);
  rmSync(a.store.file);
  a.registry.set(reg(2));
  assert.equal(await a.store.persist(), false);
  await waitFor(() => a.store.durable, { what: 'the store to resume' });
  assert.deepEqual(progs(open(dir).registry), [1]);
  await a.store.close();
});

test('killed at every step of a compaction: the next start restores every acknowledged change, and nothing else', async () => {
  // Count the steps of one compaction, then stop a fresh run after each of them in turn.
  const probeDir = freshDir();
  const probe = faultyIo(probeDir);
  const p = open(probeDir, recordingLog(), { io: probe });
  await p.store.open();
  await p.store.flush(); // and the zeros written ahead after it, where they are
  const start = probe.ops.length;
  p.registry.set(reg(9));
  await p.store.persist(); // an append
  const appendSteps = probe.ops.length - start;
  await p.store.close(); // a compaction
  const steps = probe.ops.length - start;
  assert.ok(steps - appendSteps >= 8, `${steps - appendSteps} steps`);
  for (let k = 0; k < steps; k++) {
    const dir = freshDir();
    const io = faultyIo(dir);
    const a = open(dir, recordingLog(), { io });
    await a.store.open();
    for (const x of [1, 2, 3]) a.registry.set(reg(x));
    assert.equal(await a.store.persist(), true);
    await a.store.flush();
    a.registry.unset(2, 1, 'tcp', 'superuser');
    io.hangAfter = k;
    // The last change is journaled first (acknowledged), then the close compacts and "dies".
    let acked: boolean | undefined;
    void a.store.persist().then((v) => (acked = v));
    void a.store.close();
    await waitFor(() => io.hung, { what: `step ${k}` });
    const after = progs(open(dir).registry);
    if (acked === true) assert.deepEqual(after, [1, 3], `killed at step ${k}`);
    else
      assert.ok(
        JSON.stringify(after) === '[1,3]' || JSON.stringify(after) === '[1,2,3]',
        `killed at step ${k}: ${JSON.stringify(after)}`,
      );
  }
});
