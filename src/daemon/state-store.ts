// Crash-safe storage of the registration table: a snapshot (the whole table, written to a
// temporary file, fsynced, renamed, directory fsynced) plus a journal of the changes since,
// appended and fdatasynced once per group commit through one long-lived handle. persist() calls
// arriving while a write is in flight share the next write. When the journal would outgrow its
// bound, the next write is a new snapshot (compaction) instead, and the journal starts over.

import { closeSync, copyFileSync, fstatSync, mkdirSync, openSync, readSync, renameSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  JOURNAL_COMPACT_FLOOR_BYTES,
  JOURNAL_COMPACT_SNAPSHOT_MULTIPLE,
  MAX_JOURNAL_FILE_BYTES,
  MAX_STATE_FILE_BYTES,
} from '../limits.js';
import type { Registration } from '../rpcbind/index.js';
import type { TransportLog } from '../transport/handler.js';
import { JOURNAL_HEADER_BYTES, decodeJournal, encodeJournalHeader, encodeRecords, type Change, type ChangeOp } from './journal-format.js';
import { decodeState as decodeLegacyState } from './legacy-state-format.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-format.js';

export const STATE_FILE_NAME = 'registrations.v2';
export const JOURNAL_FILE_NAME = 'registrations.v2.journal';
const TEMP_FILE_NAME = 'registrations.v2.tmp';
/** The previous format (one snapshot rewritten per change), migrated once. */
export const LEGACY_STATE_FILE_NAME = 'registrations.v1';

export type LoadResult =
  | { kind: 'missing' }
  /** The snapshot's entries, then the journal's changes to replay over them, in order. */
  | { kind: 'loaded'; entries: Registration[]; changes: Change[] }
  | { kind: 'discarded'; reason: string };

export interface StateStoreOptions {
  dir: string;
  log: TransportLog;
  /**
   * The entries to save in a snapshot, read synchronously when a compaction starts (walked
   * twice, see encodeSnapshot).
   */
  snapshot: () => Iterable<Registration>;
  /** Told of every durable write (journal append or compaction): its duration and outcome. */
  onWrite?: (seconds: number, ok: boolean) => void;
}

interface Waiters {
  promise: Promise<void>;
  resolve: () => void;
}

function waiters(): Waiters {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// node:fs/promises (with readline, which it loads) takes milliseconds to load: not before the
// first write, which comes after the first answers (persistence.ts).
let fsPromises: Promise<typeof import('node:fs/promises')> | undefined;
const files = (): Promise<typeof import('node:fs/promises')> => (fsPromises ??= import('node:fs/promises'));

type FileRead = { kind: 'missing' } | { kind: 'read'; bytes: Buffer } | { kind: 'error'; reason: string };

/** Reads a whole file after checking its size against `cap` (nothing read from disk is trusted). */
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

export class StateStore {
  readonly dir: string;
  readonly file: string;
  readonly journalFile: string;
  readonly #temp: string;
  readonly #log: TransportLog;
  readonly #snapshot: () => Iterable<Registration>;
  /** Callers waiting for a write that has not started yet. */
  #next: Waiters | undefined;
  #writing: Promise<void> | undefined;
  /** Changes not yet handed to a write. */
  #pending: Change[] = [];
  #durable = true;
  #writes = 0;
  #compactions = 0;
  /** Epoch of the snapshot on disk; undefined until there is one of ours. */
  #epoch: number | undefined;
  /** Highest epoch seen in any file, so that a new one never matches a stale journal. */
  #highestEpoch = 0;
  #snapshotBytes = 0;
  /** Set when the next write must be a snapshot (no usable one, or a failed write). */
  #needSnapshot = true;
  /** Where appends to the journal found at start continue; undefined: the journal needs a reset. */
  #journalValidBytes: number | undefined;
  #journal: FileHandle | undefined;
  #journalBytes = 0;
  readonly #onWrite: ((seconds: number, ok: boolean) => void) | undefined;
  #legacyToRemove = false;

  constructor(o: StateStoreOptions) {
    this.dir = o.dir;
    this.file = join(o.dir, STATE_FILE_NAME);
    this.journalFile = join(o.dir, JOURNAL_FILE_NAME);
    this.#temp = join(o.dir, TEMP_FILE_NAME);
    this.#log = o.log;
    this.#snapshot = o.snapshot;
    this.#onWrite = o.onWrite;
  }

  /** False after a failed write, until a write succeeds again. */
  get durable(): boolean {
    return this.#durable;
  }

  /** Completed write attempts, appends and compactions (for tests and benchmarks). */
  get writes(): number {
    return this.#writes;
  }

  /** Snapshots written (for tests and benchmarks). */
  get compactions(): number {
    return this.#compactions;
  }

  /** Bytes in the journal after the last write. */
  get journalBytes(): number {
    return this.#journalBytes;
  }

  /**
   * Reads the saved table: the snapshot, and the journal of the same epoch. A missing snapshot
   * is an empty table (or the previous format's file, migrated); anything unusable is moved
   * aside with a warning. Never throws.
   */
  load(): LoadResult {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      this.#log.error(`cannot create state directory ${this.dir}: ${(e as Error).message}`);
    }
    const read = readCapped(this.file, MAX_STATE_FILE_BYTES);
    if (read.kind === 'missing') {
      this.#moveAside(this.journalFile, 'is left without its snapshot', 'orphan');
      return this.#loadLegacy();
    }
    const decoded = read.kind === 'read' ? decodeSnapshot(read.bytes) : { ok: false as const, reason: read.reason };
    if (!decoded.ok) {
      this.#moveAside(this.file, `is unusable (${decoded.reason})`, 'bad');
      this.#moveAside(this.journalFile, 'is left without its snapshot', 'orphan');
      return { kind: 'discarded', reason: decoded.reason };
    }
    this.#epoch = decoded.epoch;
    this.#highestEpoch = decoded.epoch;
    this.#snapshotBytes = read.kind === 'read' ? read.bytes.length : 0;
    this.#needSnapshot = false;
    return { kind: 'loaded', entries: decoded.entries, changes: this.#loadJournal(decoded.epoch) };
  }

  /** Queues a change for the next write (the registry's change listener). */
  record(op: ChangeOp, reg: Registration): void {
    this.#pending.push({ op, reg });
  }

  /** Resolves once a write that started after this call has finished (or failed, logged). */
  persist(): Promise<void> {
    this.#next ??= waiters();
    const p = this.#next.promise;
    this.#writing ??= this.#drain();
    return p;
  }

  /** Waits for the write in flight and any requested after it. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Finishes the writes, folds the journal into a snapshot (a quicker next start), closes. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#durable && this.#journalBytes > JOURNAL_HEADER_BYTES) {
      this.#needSnapshot = true;
      await this.persist();
    }
    await this.#journal?.close().catch(() => {});
    this.#journal = undefined;
  }

  #loadJournal(epoch: number): Change[] {
    const read = readCapped(this.journalFile, MAX_JOURNAL_FILE_BYTES);
    if (read.kind === 'missing') return [];
    const decoded = read.kind === 'read' ? decodeJournal(read.bytes) : { ok: false as const, reason: read.reason };
    if (!decoded.ok) {
      this.#moveAside(this.journalFile, `is unusable (${decoded.reason}); the snapshot alone is restored`, 'bad');
      return [];
    }
    if (decoded.epoch !== undefined) this.#highestEpoch = Math.max(this.#highestEpoch, decoded.epoch);
    // Another epoch: written before the snapshot (a crash between a compaction's two steps)
    // or after it (an older snapshot put back by hand). Either way it does not apply.
    if (decoded.epoch !== epoch) {
      if (decoded.epoch !== undefined) this.#log.info(`journal ${this.journalFile} belongs to another snapshot; ignored`);
      return [];
    }
    this.#journalValidBytes = decoded.validBytes;
    if (decoded.damage?.kind === 'torn') {
      this.#log.info(`journal ${this.journalFile}: dropped an unfinished last record (${decoded.damage.reason})`);
    } else if (decoded.damage) {
      // Not a crash: damage from outside. What precedes it is a state the table really had.
      const copy = `${this.journalFile}.bad-${Date.now()}`;
      let saved = `a copy is in ${copy}`;
      try {
        copyFileSync(this.journalFile, copy);
      } catch (e) {
        saved = `no copy could be kept (${(e as Error).message})`;
      }
      this.#log.warn(
        `journal ${this.journalFile} is damaged (${decoded.damage.reason}): restoring the ${decoded.changes.length} changes before it, dropping the rest; ${saved}`,
      );
    }
    return decoded.changes;
  }

  #loadLegacy(): LoadResult {
    const legacy = join(this.dir, LEGACY_STATE_FILE_NAME);
    const read = readCapped(legacy, MAX_STATE_FILE_BYTES);
    if (read.kind === 'missing') return { kind: 'missing' };
    const decoded = read.kind === 'read' ? decodeLegacyState(read.bytes) : { ok: false as const, reason: read.reason };
    if (!decoded.ok) {
      this.#moveAside(legacy, `is unusable (${decoded.reason})`, 'bad');
      return { kind: 'discarded', reason: decoded.reason };
    }
    this.#legacyToRemove = true;
    this.#log.info(`migrating ${decoded.entries.length} registrations from ${legacy} to ${this.file}`);
    return { kind: 'loaded', entries: decoded.entries, changes: [] };
  }

  #moveAside(path: string, why: string, tag: 'bad' | 'orphan'): void {
    const aside = `${path}.${tag}-${Date.now()}`;
    try {
      renameSync(path, aside);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      this.#log.warn(`state file ${path} ${why} and could not be moved aside (${(e as Error).message}); starting without it`);
      return;
    }
    this.#log.warn(`state file ${path} ${why}; moved to ${aside}; starting without it`);
  }

  #journalLimitBytes(): number {
    return Math.max(JOURNAL_COMPACT_FLOOR_BYTES, this.#snapshotBytes * JOURNAL_COMPACT_SNAPSHOT_MULTIPLE);
  }

  async #drain(): Promise<void> {
    try {
      while (this.#next) {
        const batch = this.#next;
        this.#next = undefined;
        // Taken in the same tick as the snapshot below: the snapshot holds exactly these changes.
        const changes = this.#pending;
        this.#pending = [];
        const records = changes.length > 0 ? encodeRecords(changes) : undefined;
        const tooBig = records !== undefined && this.#journalBytes + records.length > this.#journalLimitBytes();
        const started = process.hrtime.bigint();
        if (this.#needSnapshot || tooBig) await this.#compact(this.#snapshot());
        else await this.#append(records);
        this.#onWrite?.(Number(process.hrtime.bigint() - started) / 1e9, this.#durable);
        batch.resolve();
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #append(records: Buffer | undefined): Promise<void> {
    this.#writes++;
    try {
      if (!this.#journal) await this.#openJournal();
      const fh = this.#journal!;
      if (records) {
        const { bytesWritten } = await fh.write(records, 0, records.length, this.#journalBytes);
        if (bytesWritten !== records.length) throw new Error(`short write (${bytesWritten} of ${records.length} bytes)`);
        await fh.datasync();
        this.#journalBytes += records.length;
      }
      this.#succeeded();
    } catch (e) {
      await this.#failed(e as Error);
    }
  }

  /** Reopens the journal found at start (cutting an unfinished last record), or resets it. */
  async #openJournal(): Promise<void> {
    const valid = this.#journalValidBytes;
    this.#journalValidBytes = undefined;
    if (valid === undefined || this.#epoch === undefined) return this.#resetJournal(this.#epoch ?? 0);
    const fh = await (await files()).open(this.journalFile, 'r+');
    try {
      if ((await fh.stat()).size !== valid) {
        await fh.truncate(valid);
        await fh.datasync();
      }
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
    this.#journal = fh;
    this.#journalBytes = valid;
  }

  /** Starts the journal over for `epoch`: empty but for its header. */
  async #resetJournal(epoch: number): Promise<void> {
    const header = encodeJournalHeader(epoch);
    let fh = this.#journal;
    if (fh) {
      await fh.truncate(0);
    } else {
      fh = await (await files()).open(this.journalFile, 'w', 0o644);
      this.#journal = fh;
    }
    this.#journalBytes = 0;
    const { bytesWritten } = await fh.write(header, 0, header.length, 0);
    if (bytesWritten !== header.length) throw new Error('short write of the journal header');
    await fh.datasync();
    await this.#syncDir();
    this.#journalBytes = header.length;
  }

  async #compact(entries: Iterable<Registration>): Promise<void> {
    this.#writes++;
    const epoch = Math.max(Date.now(), this.#highestEpoch + 1);
    const bytes = encodeSnapshot(entries, epoch);
    try {
      const { open, rename } = await files();
      const fh = await open(this.#temp, 'w', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(this.#temp, this.file);
      await this.#syncDir();
      // The new snapshot holds everything: from here the old journal's epoch no longer matches.
      this.#epoch = epoch;
      this.#highestEpoch = epoch;
      this.#snapshotBytes = bytes.length;
      this.#compactions++;
      await this.#resetJournal(epoch);
      this.#needSnapshot = false;
      if (this.#legacyToRemove) {
        this.#legacyToRemove = false;
        await (await files()).unlink(join(this.dir, LEGACY_STATE_FILE_NAME)).catch(() => {});
      }
      this.#succeeded();
    } catch (e) {
      await (await files()).unlink(this.#temp).catch(() => {});
      await this.#failed(e as Error);
    }
  }

  async #syncDir(): Promise<void> {
    const dh = await (await files()).open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  #succeeded(): void {
    if (!this.#durable) this.#log.warn(`state is durable again in ${this.dir}`);
    this.#durable = true;
  }

  /** After any failure the next write is a whole snapshot and a fresh journal. */
  async #failed(e: Error): Promise<void> {
    if (this.#durable) {
      this.#log.error(
        `cannot save registrations in ${this.dir}: ${e.message}; REGISTRATIONS ARE NOT DURABLE and will be lost on restart`,
      );
    }
    this.#durable = false;
    this.#needSnapshot = true;
    await this.#journal?.close().catch(() => {});
    this.#journal = undefined;
  }
}
