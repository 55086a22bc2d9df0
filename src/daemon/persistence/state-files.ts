// The files of the saved state in their directory (state-store.ts decides when to write them):
// the snapshot, written whole (a temporary file, datasynced, renamed over the old one, the
// directory fsynced) and held open so that its removal is noticed; the journal beside it,
// created (and the directory fsynced) or reopened at its last whole record.

import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JournalFile } from './journal-file.js';
import { fileIoFor, linkCount, type FileIo } from './state-io.js';
import { JOURNAL_FILE_NAME, LEGACY_STATE_FILE_NAME, STATE_FILE_NAME } from './state-load.js';

const TEMP_FILE_NAME = 'registrations.v2.tmp';

export class StateFiles {
  readonly dir: string;
  /** The snapshot. */
  readonly file: string;
  readonly journalFile: string;
  readonly #temp: string;
  #io: FileIo | undefined;
  /** The snapshot in use, held open so that its removal is seen with an fstat. */
  #snapshotFd: number | undefined;

  /** `io`: file operations (tests inject faults); by default chosen for the directory's file system. */
  constructor(dir: string, io: FileIo | undefined) {
    this.dir = dir;
    this.file = join(dir, STATE_FILE_NAME);
    this.journalFile = join(dir, JOURNAL_FILE_NAME);
    this.#temp = join(dir, TEMP_FILE_NAME);
    this.#io = io;
  }

  /** Chooses the file operations for the directory's file system (unless given); load() does. */
  chooseIo(): void {
    this.#io ??= fileIoFor(this.dir);
  }

  get io(): FileIo {
    this.chooseIo();
    return this.#io!;
  }

  /** Writes `bytes` as the snapshot, renamed over the old one, and holds it; throws before the rename. */
  async writeSnapshot(bytes: Buffer): Promise<void> {
    const io = this.io;
    try {
      // Recreated if it was removed while running (a journal open there is then unlinked).
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      const fd = await io.open(this.#temp, 'w', 0o644);
      try {
        await io.writeAll(fd, bytes, 0);
        await io.datasync(fd);
      } finally {
        await io.close(fd);
      }
      await io.rename(this.#temp, this.file);
    } catch (e) {
      await io.unlink(this.#temp).catch(() => {});
      throw e;
    }
    this.holdSnapshot();
  }

  holdSnapshot(): void {
    this.releaseSnapshot();
    try {
      this.#snapshotFd = openSync(this.file, 'r');
    } catch {
      // checked by path instead
    }
  }

  releaseSnapshot(): void {
    if (this.#snapshotFd !== undefined) closeSync(this.#snapshotFd);
    this.#snapshotFd = undefined;
  }

  /** A removed snapshot would orphan the journal at the next start. */
  snapshotGone(): boolean {
    if (this.#snapshotFd !== undefined) return linkCount(this.#snapshotFd) === 0;
    return !statSync(this.file, { throwIfNoEntry: false });
  }

  /** A new, empty journal for the snapshot of `epoch`, its directory entry synced. */
  async createJournal(epoch: number): Promise<JournalFile> {
    const j = await JournalFile.create(this.io, this.journalFile, epoch);
    try {
      await this.syncDir();
    } catch (e) {
      await j.close();
      throw e;
    }
    return j;
  }

  /** The journal found at start, cut back to `validBytes` (its last whole record). */
  reopenJournal(validBytes: number): Promise<JournalFile> {
    return JournalFile.reopen(this.io, this.journalFile, validBytes);
  }

  /** Linux rpcbind's old state file, once a snapshot holds what was imported from it. */
  async removeLegacy(): Promise<void> {
    await this.io.unlink(join(this.dir, LEGACY_STATE_FILE_NAME)).catch(() => {});
  }

  async syncDir(): Promise<void> {
    const io = this.io;
    const fd = await io.open(this.dir, 'r');
    try {
      await io.fsync(fd);
    } finally {
      await io.close(fd);
    }
  }
}
