// The open journal: one descriptor, the length of what it holds, and the space reserved ahead
// of its end with fallocate (FALLOC_FL_KEEP_SIZE: the file's size stays the end of its last
// record, so its format is unchanged). Appends land in the reserve, so a file system that fills
// up fails the next extension of the reserve, never the write of a change already made; the
// store stops accepting changes before the reserve runs out (state-store.ts).
//
// On file systems with a device (not tmpfs), an append into allocated but unwritten space
// still makes fdatasync commit metadata (the extent changes state, the size grows). There,
// zeros are also written ahead of the end, between group commits (fill()), so that an append
// only overwrites data: on ext4 here p50 168 -> 105 µs per write + fdatasync (BENCHMARKS.md).
// The decoder reads zeros after the last record as the end (journal-format.ts).

import { fstatSync } from 'node:fs';
import { JOURNAL_RESERVE_BYTES, JOURNAL_RESERVE_MIN_BYTES } from '../../limits.js';
import { encodeJournalHeader } from './journal-format.js';
import { linkCount, reserveSpace, type FileIo } from './state-io.js';

export class JournalFile {
  readonly fd: number;
  readonly #io: FileIo;
  /** Bytes of header and whole records: appends go here. */
  #bytes = 0;
  /** End of the space allocated ahead (KEEP_SIZE); Infinity when preallocation is unsupported. */
  #reservedEnd = 0;
  /** End of what the file holds written: records, then zeros written ahead. */
  #written = 0;
  /** Appends reach this before another fill is tried after a failed one. */
  #fillRetryAt = 0;
  /** Whether zeros are written ahead (devices; on tmpfs fdatasync costs nothing anyway). */
  readonly #zeroFill: boolean;
  /** Why the last extension of the reserve failed (undefined: it did not). */
  shortReason: string | undefined;
  /** Why preallocation cannot be used here at all (logged once by the store). */
  unsupportedReason: string | undefined;

  private constructor(io: FileIo, fd: number) {
    this.#io = io;
    this.fd = fd;
    this.#zeroFill = !io.inline;
  }

  /** A fresh journal for `epoch` at `path` (truncating whatever was there), reserved ahead. */
  static async create(io: FileIo, path: string, epoch: number): Promise<JournalFile> {
    const j = new JournalFile(io, await io.open(path, 'w', 0o644));
    try {
      j.reserve();
      const header = encodeJournalHeader(epoch);
      await io.writeAll(j.fd, header, 0);
      await io.datasync(j.fd);
      j.#bytes = j.#written = header.length;
    } catch (e) {
      await j.close();
      throw e;
    }
    return j;
  }

  /** The journal found at start, cut back to its last whole record (`valid` bytes). */
  static async reopen(io: FileIo, path: string, valid: number): Promise<JournalFile> {
    const j = new JournalFile(io, await io.open(path, 'r+'));
    try {
      if (fstatSync(j.fd).size !== valid) {
        await io.truncate(j.fd, valid);
        await io.datasync(j.fd);
      }
      j.#bytes = j.#written = valid;
      j.reserve();
    } catch (e) {
      await j.close();
      throw e;
    }
    return j;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Reserved bytes not yet written (Infinity when preallocation is unsupported). */
  get left(): number {
    return this.#reservedEnd - this.#bytes;
  }

  /** Appends `records` and fdatasyncs; on failure cuts the file back to where it was. */
  async append(records: Buffer): Promise<void> {
    const at = this.#bytes;
    try {
      await this.#io.writeAll(this.fd, records, at);
      await this.#io.datasync(this.fd);
    } catch (e) {
      // A short or failed write may have left part of the batch: it was not acknowledged and
      // must not be replayed. Cutting back needs no space; if even that fails, the store's
      // next snapshot (a new epoch) makes this journal irrelevant.
      try {
        await this.#io.truncate(this.fd, at);
        this.#written = at;
        await this.#io.datasync(this.fd);
      } catch {
        // reported through the original error
      }
      throw e;
    }
    // An unlinked file takes writes and syncs without complaint: a removed journal (or state
    // directory) is only seen here.
    if (linkCount(this.fd) === 0) throw Object.assign(new Error('the journal file was removed'), { code: 'ENOENT' });
    this.#bytes = at + records.length;
    this.#written = Math.max(this.#written, this.#bytes);
  }

  /** Whether zeros should be written ahead now (fewer than half the reserve's worth are). */
  get wantsFill(): boolean {
    return (
      this.#zeroFill && this.#bytes >= this.#fillRetryAt && this.#written - this.#bytes < JOURNAL_RESERVE_BYTES / 2
    );
  }

  /** Writes zeros up to JOURNAL_RESERVE_BYTES past the end and syncs them. Never throws. */
  async fill(): Promise<void> {
    const from = Math.max(this.#written, this.#bytes);
    const to = this.#bytes + JOURNAL_RESERVE_BYTES;
    try {
      await this.#io.writeAll(this.fd, Buffer.alloc(to - from), from);
      await this.#io.datasync(this.fd);
      this.#written = to;
    } catch {
      // Appends go on growing the file (the reserve, not this, keeps a full disk away).
      this.#fillRetryAt = this.#bytes + JOURNAL_RESERVE_BYTES / 2;
    }
  }

  /**
   * Keeps `need` bytes plus half of JOURNAL_RESERVE_BYTES allocated ahead of the end, taking
   * smaller pieces when the file system has less; shortReason says why it could not.
   */
  reserve(need = 0): void {
    const want = need + JOURNAL_RESERVE_BYTES / 2;
    if (this.unsupportedReason !== undefined || this.left >= want) return;
    let reason = '';
    let len = Math.max(JOURNAL_RESERVE_BYTES, want - Math.max(0, this.left));
    while (this.left < want && len >= JOURNAL_RESERVE_MIN_BYTES) {
      const start = Math.max(this.#bytes, this.#reservedEnd);
      const r = reserveSpace(this.fd, start, len);
      if (r.ok) {
        this.#reservedEnd = start + len;
        continue;
      }
      if (r.unsupported) {
        this.unsupportedReason = r.reason;
        this.#reservedEnd = Infinity;
        this.shortReason = undefined;
        return;
      }
      reason = r.reason;
      len = Math.floor(len / 4);
    }
    this.shortReason = this.left >= want ? undefined : reason || 'the file system is full';
  }

  async close(): Promise<void> {
    await this.#io.close(this.fd).catch(() => {});
  }
}
