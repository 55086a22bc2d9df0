// Reading the saved table at start: the snapshot, the journal of the same epoch, or the previous
// format's file. Nothing read from disk is trusted; anything unusable is moved aside with a
// warning, and the daemon never refuses to start because of its state files.

import { closeSync, copyFileSync, fstatSync, mkdirSync, openSync, readSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_STATE_FILE_BYTES } from '../../limits.js';

/** Largest journal read at start (it never outgrows the floor or the largest snapshot). */
const MAX_JOURNAL_FILE_BYTES = MAX_STATE_FILE_BYTES;
import type { Registration } from '../../rpcbind/index.js';
import type { TransportLog } from '../../transport/handler.js';
import { decodeJournal, type Change } from './journal-format.js';
import { decodeState as decodeLegacyState } from './legacy-state-format.js';
import { decodeSnapshot } from './snapshot-format.js';

export const STATE_FILE_NAME = 'registrations.v2';
export const JOURNAL_FILE_NAME = 'registrations.v2.journal';
/** The previous format (one snapshot rewritten per change), migrated once. */
export const LEGACY_STATE_FILE_NAME = 'registrations.v1';

export type LoadResult =
  | { kind: 'missing' }
  /** The snapshot's entries, then the journal's changes to replay over them, in order. */
  | { kind: 'loaded'; entries: Registration[]; changes: Change[] }
  | { kind: 'discarded'; reason: string };

/** What the store needs to know to go on writing where the files left off. */
export interface LoadedState {
  result: LoadResult;
  /** Epoch of our snapshot on disk; undefined when there is none. */
  epoch: number | undefined;
  /** Highest epoch seen in any file, so that a new one never matches a stale journal. */
  highestEpoch: number;
  snapshotBytes: number;
  /** Where appends to the journal found continue; undefined: it needs a reset. */
  journalValidBytes: number | undefined;
  /** A registrations.v1 was migrated: remove it once a snapshot of ours is written. */
  legacyToRemove: boolean;
}

type FileRead = { kind: 'missing' } | { kind: 'read'; bytes: Buffer } | { kind: 'error'; reason: string };

/** Reads a whole file after checking its size against `cap`. */
function readCapped(path: string, cap: number): FileRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'error', reason: `cannot read ${path}: ${(e as Error).message}` };
  }
  try {
    const size = fstatSync(fd).size;
    if (size > cap) return { kind: 'error', reason: `${size} bytes exceed the cap ${cap}` };
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return { kind: 'read', bytes: bytes.subarray(0, got) };
  } catch (e) {
    return { kind: 'error', reason: `cannot read ${path}: ${(e as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

export function loadState(dir: string, log: TransportLog): LoadedState {
  const file = join(dir, STATE_FILE_NAME);
  const journalFile = join(dir, JOURNAL_FILE_NAME);
  const out: LoadedState = {
    result: { kind: 'missing' },
    epoch: undefined,
    highestEpoch: 0,
    snapshotBytes: 0,
    journalValidBytes: undefined,
    legacyToRemove: false,
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    log.error(`cannot create state directory ${dir}: ${(e as Error).message}`);
  }
  const read = readCapped(file, MAX_STATE_FILE_BYTES);
  if (read.kind === 'missing') {
    moveAside(log, journalFile, 'is left without its snapshot', 'orphan');
    out.result = loadLegacy(dir, log, out);
    return out;
  }
  const decoded = read.kind === 'read' ? decodeSnapshot(read.bytes) : { ok: false as const, reason: read.reason };
  if (!decoded.ok) {
    moveAside(log, file, `is unusable (${decoded.reason})`, 'bad');
    moveAside(log, journalFile, 'is left without its snapshot', 'orphan');
    out.result = { kind: 'discarded', reason: decoded.reason };
    return out;
  }
  out.epoch = decoded.epoch;
  out.highestEpoch = decoded.epoch;
  out.snapshotBytes = read.kind === 'read' ? read.bytes.length : 0;
  out.result = { kind: 'loaded', entries: decoded.entries, changes: loadJournal(journalFile, decoded.epoch, log, out) };
  return out;
}

function loadJournal(path: string, epoch: number, log: TransportLog, out: LoadedState): Change[] {
  const read = readCapped(path, MAX_JOURNAL_FILE_BYTES);
  if (read.kind === 'missing') return [];
  const decoded = read.kind === 'read' ? decodeJournal(read.bytes) : { ok: false as const, reason: read.reason };
  if (!decoded.ok) {
    moveAside(log, path, `is unusable (${decoded.reason}); the snapshot alone is restored`, 'bad');
    return [];
  }
  if (decoded.epoch !== undefined) out.highestEpoch = Math.max(out.highestEpoch, decoded.epoch);
  // Another epoch: written before the snapshot (a crash between a compaction's two steps)
  // or after it (an older snapshot put back by hand). Either way it does not apply.
  if (decoded.epoch !== epoch) {
    if (decoded.epoch !== undefined) log.info(`journal ${path} belongs to another snapshot; ignored`);
    return [];
  }
  out.journalValidBytes = decoded.validBytes;
  if (decoded.damage?.kind === 'torn') {
    log.info(`journal ${path}: dropped an unfinished last record (${decoded.damage.reason})`);
  } else if (decoded.damage) {
    // Not a crash: damage from outside. What precedes it is a state the table really had.
    const copy = `${path}.bad-${Date.now()}`;
    let saved = `a copy is in ${copy}`;
    try {
      copyFileSync(path, copy);
    } catch (e) {
      saved = `no copy could be kept (${(e as Error).message})`;
    }
    log.warn(
      `journal ${path} is damaged (${decoded.damage.reason}): restoring the ${decoded.changes.length} changes before it, dropping the rest; ${saved}`,
    );
  }
  return decoded.changes;
}

function loadLegacy(dir: string, log: TransportLog, out: LoadedState): LoadResult {
  const legacy = join(dir, LEGACY_STATE_FILE_NAME);
  const read = readCapped(legacy, MAX_STATE_FILE_BYTES);
  if (read.kind === 'missing') return { kind: 'missing' };
  const decoded = read.kind === 'read' ? decodeLegacyState(read.bytes) : { ok: false as const, reason: read.reason };
  if (!decoded.ok) {
    moveAside(log, legacy, `is unusable (${decoded.reason})`, 'bad');
    return { kind: 'discarded', reason: decoded.reason };
  }
  out.legacyToRemove = true;
  log.info(`migrating ${decoded.entries.length} registrations from ${legacy} to ${join(dir, STATE_FILE_NAME)}`);
  return { kind: 'loaded', entries: decoded.entries, changes: [] };
}

function moveAside(log: TransportLog, path: string, why: string, tag: 'bad' | 'orphan'): void {
  const aside = `${path}.${tag}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    log.warn(`state file ${path} ${why} and could not be moved aside (${(e as Error).message}); starting without it`);
    return;
  }
  log.warn(`state file ${path} ${why}; moved to ${aside}; starting without it`);
}
