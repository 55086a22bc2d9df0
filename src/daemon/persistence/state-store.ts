// Crash-safe storage of the registration table: a snapshot (the whole table, written to a
// temporary file, fsynced, renamed, directory fsynced) plus a journal of the changes since,
// appended and fdatasynced once per group commit into space reserved ahead (journal-file.ts);
// the files themselves are state-files.ts's.
// When the journal would outgrow its bound, the next write is a new snapshot instead.
//
// The promise: a change is reported saved only once it is on disk. When a write fails, or the
// reserve runs out and cannot be extended, an episode begins: with the policy 'refuse' (the
// default) every change not yet saved is undone (`undo`, newest first) and reported unsaved,
// and accepting() is false until a full snapshot has been written again; with 'accept' the
// changes stay in memory, reported saved, and the next snapshot holds them. Either way the
// episode is said once at each end and retried meanwhile (state-episode.ts).

import {
  JOURNAL_COMPACT_FLOOR_BYTES,
  JOURNAL_COMPACT_SNAPSHOT_MULTIPLE,
  JOURNAL_RESERVE_MIN_BYTES,
} from '../../limits.js';
import type { Registration } from '../../rpcbind/index.js';
import type { JournalFile } from './journal-file.js';
import {
  JOURNAL_HEADER_BYTES,
  MAX_RECORD_BYTES,
  encodeRecords,
  recordBytes,
  type Change,
  type ChangeOp,
} from './journal-format.js';
import { encodeSnapshot } from './snapshot-format.js';
import { Episodes, type StoreLog } from './state-episode.js';
import { type FailurePolicy, type StateStoreOptions, type Waiters, waiters } from './state-store-options.js';
import { StateFiles } from './state-files.js';
import { loadState, type LoadResult } from './state-load.js';

export { JOURNAL_FILE_NAME, LEGACY_STATE_FILE_NAME, STATE_FILE_NAME, type LoadResult } from './state-load.js';

export type { FailurePolicy, StateStoreOptions } from './state-store-options.js';
export type { StoreLog } from './state-episode.js';

type Compaction = { ok: true } | { ok: false; renamed: boolean; error: Error };

export class StateStore {
  readonly dir: string;
  readonly file: string;
  readonly journalFile: string;
  readonly #files: StateFiles;
  readonly #log: StoreLog;
  readonly #snapshot: () => Iterable<Registration>;
  readonly #undo: ((changes: readonly Change[]) => void) | undefined;
  readonly #onWrite: ((seconds: number, ok: boolean) => void) | undefined;
  policy: FailurePolicy;
  /** Callers waiting for a write that has not started yet. */
  #next: Waiters | undefined;
  #writing: Promise<void> | undefined;
  /** Changes not yet handed to a write, and the journal bytes they will take. */
  #pending: Change[] = [];
  #claimed = 0;
  /** Journal bytes of the batch being written. */
  #writingBytes = 0;
  #writes = 0;
  #compactions = 0;
  #refused = 0;
  #epoch: number | undefined;
  #highestEpoch = 0;
  #snapshotBytes = 0;
  /** Set when the next write must be a snapshot (none of ours, or after a failure). */
  #needSnapshot = true;
  #journalValidBytes: number | undefined;
  #journal: JournalFile | undefined;
  #legacyToRemove = false;
  readonly #episodes: Episodes;
  #reserveWarned = false;
  #unsupportedLogged = false;
  #closing = false;

  constructor(o: StateStoreOptions) {
    this.#files = new StateFiles(o.dir, o.io);
    this.dir = o.dir;
    this.file = this.#files.file;
    this.journalFile = this.#files.journalFile;
    this.#log = o.log;
    this.#snapshot = o.snapshot;
    this.#undo = o.undo;
    this.#onWrite = o.onWrite;
    this.policy = o.policy ?? 'refuse';
    this.#episodes = new Episodes({
      dir: o.dir,
      log: o.log,
      policy: () => this.policy,
      onHealth: o.onHealth,
      retry: () => {
        this.#needSnapshot = true;
        void this.#request();
      },
    });
  }

  /** False from a failed write (or a used-up reserve) until a snapshot is written again. */
  get durable(): boolean {
    return this.#episodes.reason === undefined;
  }

  /** Why the state is not durable now (undefined when it is). */
  get problem(): string | undefined {
    return this.#episodes.reason;
  }

  /** Completed write attempts, appends and compactions (for tests and benchmarks). */
  get writes(): number {
    return this.#writes;
  }

  /** Snapshots written (for tests and benchmarks). */
  get compactions(): number {
    return this.#compactions;
  }

  /** Changes answered FALSE because they could not be saved (counted by refused()). */
  get refusedChanges(): number {
    return this.#refused;
  }

  /** Bytes in the journal after the last write. */
  get journalBytes(): number {
    return this.#journal?.bytes ?? 0;
  }

  /** Journal space reserved and not yet written; Infinity where preallocation is unsupported. */
  get reserveBytes(): number {
    return this.#journal ? Math.max(0, this.#journal.left) : 0;
  }

  /** Reads the saved table (state-load.ts). Never throws. */
  load(): LoadResult {
    const s = loadState(this.dir, this.#log);
    this.#files.chooseIo();
    this.#epoch = s.epoch;
    this.#highestEpoch = s.highestEpoch;
    this.#snapshotBytes = s.snapshotBytes;
    this.#journalValidBytes = s.journalValidBytes;
    this.#legacyToRemove = s.legacyToRemove;
    this.#needSnapshot = s.epoch === undefined;
    if (!this.#needSnapshot) this.#files.holdSnapshot();
    return s.result;
  }

  /** Queues a change for the next write (the registry's change listener). */
  record(op: ChangeOp, reg: Registration): void {
    this.#pending.push({ op, reg });
    this.#claimed += recordBytes(reg);
  }

  /**
   * Whether a change may be made now. With 'refuse': not during an episode, nor when the
   * reserve left (less what queued changes will take) could not hold one more record; the
   * latter begins an episode.
   */
  accepting(): boolean {
    if (this.policy === 'accept') return true;
    if (!this.durable) return false;
    const j = this.#journal;
    // Room for what is queued or being written, and one more record of the largest size.
    const need = this.#claimed + this.#writingBytes + MAX_RECORD_BYTES;
    if (j && j.left < need) {
      j.reserve(need);
      if (j.left < need) {
        this.#episodes.begin(
          `the journal's reserved space is used up (${j.shortReason ?? 'it could not be extended'})`,
        );
        return false;
      }
    }
    return true;
  }

  /** Counts a change answered FALSE because the state could not be saved. */
  refused(): void {
    this.#refused++;
  }

  /**
   * Resolves true once every change recorded before this call is on disk, false when they
   * could not be saved and were undone (policy 'refuse').
   */
  persist(): Promise<boolean> {
    if (!this.durable && !this.#closing) {
      // 'accept': kept in memory; the snapshot that ends the episode holds them.
      if (this.policy === 'accept') return Promise.resolve(true);
      // 'refuse': accepting() let nothing in; anything queued regardless is undone.
      if (this.#pending.length === 0) return Promise.resolve(true);
      this.#rollBack([]);
      return Promise.resolve(false);
    }
    return this.#request();
  }

  /** The first write: reopens the journal found (cutting an unfinished record) or writes a snapshot. */
  open(): Promise<boolean> {
    return this.#request();
  }

  /** Waits for the write in flight and any requested after it. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Finishes the writes, folds the journal into a snapshot (a quicker next start), closes. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#episodes.stop();
    await this.flush();
    const failing = !this.durable;
    if (failing || (this.#journal && this.#journal.bytes > JOURNAL_HEADER_BYTES)) {
      this.#needSnapshot = true;
      await this.#request();
      if (failing && !this.durable) {
        const lost = this.policy === 'accept' ? 'changes accepted in memory since the failure' : 'nothing';
        this.#log.event('state-not-durable', { dir: this.dir, reason: this.problem, at: 'exit', lost }, 'error');
      }
    }
    await this.#journal?.close();
    this.#journal = undefined;
    this.#files.releaseSnapshot();
  }

  #request(): Promise<boolean> {
    this.#next ??= waiters();
    const p = this.#next.promise;
    // Started once this turn of the event loop has read all its sockets (setImmediate runs
    // right after the poll phase): the SETs that arrived together, on any connection, share
    // one write (bench/durable-set.ts: 64 registrants).
    this.#writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    return p;
  }

  #journalLimitBytes(): number {
    return Math.max(JOURNAL_COMPACT_FLOOR_BYTES, this.#snapshotBytes * JOURNAL_COMPACT_SNAPSHOT_MULTIPLE);
  }

  async #drain(): Promise<void> {
    try {
      while (this.#next) {
        const batch = this.#next;
        this.#next = undefined;
        // Taken in the same tick as the snapshot: a snapshot holds exactly these changes.
        const changes = this.#pending;
        this.#pending = [];
        this.#claimed = 0;
        const started = process.hrtime.bigint();
        const ok = await this.#write(changes);
        this.#onWrite?.(Number(process.hrtime.bigint() - started) / 1e9, ok);
        if (ok || this.policy === 'accept') {
          batch.resolve(true);
          // Between group commits, after the answers: calls queued meanwhile wait for it.
          if (ok && this.#journal?.wantsFill) await this.#journal.fill();
          continue;
        }
        // Nothing of what was not saved stays: the changes made during the write (built on
        // these) and these, newest first. Their callers are answered FALSE.
        this.#rollBack(changes);
        batch.resolve(false);
        // (Re-read: the write awaited above let callers queue meanwhile.)
        const meanwhile = this.#next as Waiters | undefined;
        this.#next = undefined;
        meanwhile?.resolve(false);
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /** Undoes the queued changes, then `older`, newest first. */
  #rollBack(older: readonly Change[]): void {
    const all = [...older, ...this.#pending].reverse();
    this.#pending = [];
    this.#claimed = 0;
    this.#undo?.(all);
  }

  async #write(changes: readonly Change[]): Promise<boolean> {
    this.#writes++;
    const records = changes.length > 0 ? encodeRecords(changes) : undefined;
    const tooBig = records !== undefined && this.journalBytes + records.length > this.#journalLimitBytes();
    try {
      if (this.#needSnapshot || tooBig) {
        const c = await this.#compact();
        if (c.ok) return this.#succeeded(true);
        // A compaction due only to size that failed before the rename left the files as they
        // were: the journal goes on within its reserve.
        if (this.#needSnapshot || c.renamed) throw c.error;
        this.#log.warn(`cannot compact the journal in ${this.dir} (${c.error.message}); appending to it meanwhile`);
      }
      this.#journal ??= await this.#openJournal();
      if (records) {
        this.#writingBytes = records.length;
        await this.#journal.append(records);
      }
      if (this.#files.snapshotGone()) throw Object.assign(new Error(`${this.file} was removed`), { code: 'ENOENT' });
      return this.#succeeded(false);
    } catch (e) {
      await this.#failed(e as Error);
      return false;
    } finally {
      this.#writingBytes = 0;
    }
  }

  /** Reopens the journal found at start (cut back to its last whole record), or starts it over. */
  async #openJournal(): Promise<JournalFile> {
    const valid = this.#journalValidBytes;
    this.#journalValidBytes = undefined;
    if (valid === undefined) return this.#files.createJournal(this.#epoch ?? 0);
    return this.#files.reopenJournal(valid);
  }

  async #compact(): Promise<Compaction> {
    const epoch = Math.max(Date.now(), this.#highestEpoch + 1);
    const bytes = encodeSnapshot(this.#snapshot(), epoch);
    try {
      await this.#files.writeSnapshot(bytes);
    } catch (e) {
      return { ok: false, renamed: false, error: e as Error };
    }
    try {
      // From here the old journal's epoch no longer matches: it is never appended to again.
      this.#highestEpoch = epoch;
      const old = this.#journal;
      this.#journal = undefined;
      await old?.close();
      await this.#files.syncDir();
      this.#journal = await this.#files.createJournal(epoch);
      this.#epoch = epoch;
      this.#snapshotBytes = bytes.length;
      this.#compactions++;
      this.#needSnapshot = false;
      if (this.#legacyToRemove) {
        this.#legacyToRemove = false;
        await this.#files.removeLegacy();
      }
      return { ok: true };
    } catch (e) {
      return { ok: false, renamed: true, error: e as Error };
    }
  }

  /** After a write: keeps the reserve up, and ends an episode once a snapshot is written. */
  #succeeded(snapshot: boolean): boolean {
    const j = this.#journal!;
    j.reserve();
    if (j.unsupportedReason !== undefined && !this.#unsupportedLogged) {
      this.#unsupportedLogged = true;
      this.#log.info(
        `journal space in ${this.dir} cannot be reserved ahead (${j.unsupportedReason}): a full file system shows as a failed write, whose changes are refused`,
      );
    }
    if (j.shortReason !== undefined && !this.#reserveWarned) {
      this.#reserveWarned = true;
      this.#log.event(
        'state-reserve-short',
        { dir: this.dir, reason: j.shortReason, leftBytes: Math.max(0, j.left) },
        'warn',
      );
    } else if (j.shortReason === undefined) {
      this.#reserveWarned = false;
    }
    if (snapshot && j.left >= JOURNAL_RESERVE_MIN_BYTES) this.#episodes.end(this.file);
    else this.#episodes.retryLater();
    return true;
  }

  /** After any failure the next write is a whole snapshot and a fresh journal. */
  async #failed(e: Error): Promise<void> {
    this.#needSnapshot = true;
    const j = this.#journal;
    this.#journal = undefined;
    await j?.close();
    this.#episodes.begin(e.message);
  }
}
