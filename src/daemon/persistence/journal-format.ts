// The journal file: the changes made since the snapshot of the same epoch, appended one group
// commit at a time. Layout (big endian): a header (magic "RBTJ", format version 2, epoch
// uint64, CRC-32 of those 16 bytes), then records: CRC-32 of the rest of the record, body
// length, body (op: 1 add, 2 remove; then the entry, entry-codec). A crash can only cut the
// last record short, which is dropped; a record that fails its check anywhere else is damage
// from outside, reported with the valid prefix (every prefix is a state the table really had).
// Zero bytes after the last record are space written ahead (journal-file.ts), not records: a
// record never starts with eight zero bytes (its length is at least 2), and a failed record
// followed only by zeros is the last one written (torn).

import type { Registration } from '../../rpcbind/index.js';
import { crc32 } from './crc32.js';
import { EntryReader, MAX_ENTRY_BYTES, entryBytes, writeEntry } from './entry-codec.js';
import { STATE_FORMAT_VERSION, readEpoch, writeEpoch } from './snapshot-format.js';

const JOURNAL_MAGIC = 0x5242544a; // "RBTJ"
export const JOURNAL_HEADER_BYTES = 20;
const RECORD_HEAD_BYTES = 8;
const MAX_BODY_BYTES = 1 + MAX_ENTRY_BYTES;
/** The largest record one change makes. */
export const MAX_RECORD_BYTES = RECORD_HEAD_BYTES + MAX_BODY_BYTES;

/** The bytes the record of `reg` takes in the journal. */
export const recordBytes = (reg: Registration): number => RECORD_HEAD_BYTES + 1 + entryBytes(reg);

export type ChangeOp = 'add' | 'remove';
export interface Change {
  readonly op: ChangeOp;
  readonly reg: Registration;
}

export type DecodedJournal =
  | {
      ok: true;
      /** Undefined when the header itself was cut short (a crash while the journal was reset). */
      epoch: number | undefined;
      changes: Change[];
      /** Bytes up to the end of the last good record: appends continue there. */
      validBytes: number;
      /** Why the bytes after validBytes were ignored. */
      damage?: { kind: 'torn' | 'corrupt'; reason: string };
    }
  | { ok: false; reason: string };

export function encodeJournalHeader(epoch: number): Buffer {
  const b = Buffer.alloc(JOURNAL_HEADER_BYTES);
  b.writeUInt32BE(JOURNAL_MAGIC, 0);
  b.writeUInt32BE(STATE_FORMAT_VERSION, 4);
  writeEpoch(b, 8, epoch);
  b.writeUInt32BE(crc32(b, 0, 16), 16);
  return b;
}

/** One buffer holding the records of a group commit. */
export function encodeRecords(changes: readonly Change[]): Buffer {
  let size = 0;
  for (const c of changes) size += RECORD_HEAD_BYTES + 1 + entryBytes(c.reg);
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  for (const c of changes) {
    const start = p;
    buf[p + RECORD_HEAD_BYTES] = c.op === 'add' ? 1 : 2;
    p = writeEntry(buf, p + RECORD_HEAD_BYTES + 1, c.reg);
    buf.writeUInt32BE(p - start - RECORD_HEAD_BYTES, start + 4);
    buf.writeUInt32BE(crc32(buf, start + 4, p), start);
  }
  return buf;
}

/** Whether every byte of `b` from `from` on is zero (true for an empty range). */
function zeroFrom(b: Buffer, from: number): boolean {
  for (let i = from; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function decodeJournal(file: Buffer): DecodedJournal {
  const header = Buffer.from(encodeJournalHeader(0).subarray(0, 8));
  if (file.length < JOURNAL_HEADER_BYTES) {
    // A reset cut short leaves a prefix of our own header; anything else is not ours.
    if (header.subarray(0, file.length).equals(file.subarray(0, 8)))
      return { ok: true, epoch: undefined, changes: [], validBytes: 0 };
    return { ok: false, reason: `not an rpcbind-ts journal (${file.length} bytes)` };
  }
  if (file.readUInt32BE(0) !== JOURNAL_MAGIC) return { ok: false, reason: 'not an rpcbind-ts journal (bad magic)' };
  const version = file.readUInt32BE(4);
  if (version !== STATE_FORMAT_VERSION) return { ok: false, reason: `unknown format version ${version}` };
  if (crc32(file, 0, 16) !== file.readUInt32BE(16)) return { ok: false, reason: 'header checksum mismatch' };
  const epoch = readEpoch(file, 8);
  const changes: Change[] = [];
  const r = new EntryReader(file, 0);
  let p = JOURNAL_HEADER_BYTES;
  const result = (damage?: { kind: 'torn' | 'corrupt'; reason: string }): DecodedJournal =>
    damage ? { ok: true, epoch, changes, validBytes: p, damage } : { ok: true, epoch, changes, validBytes: p };
  while (p < file.length) {
    if (file[p] === 0 && zeroFrom(file, p)) break;
    const left = file.length - p;
    if (left < RECORD_HEAD_BYTES)
      return result({ kind: 'torn', reason: `${left} bytes of a record head at byte ${p}` });
    const len = file.readUInt32BE(p + 4);
    if (len < 2 || len > MAX_BODY_BYTES) {
      const kind = zeroFrom(file, p + RECORD_HEAD_BYTES) ? 'torn' : 'corrupt';
      return result({ kind, reason: `record at byte ${p} declares ${len} bytes` });
    }
    const end = p + RECORD_HEAD_BYTES + len;
    if (end > file.length) return result({ kind: 'torn', reason: `record at byte ${p} is cut short` });
    if (crc32(file, p + 4, end) !== file.readUInt32BE(p)) {
      // Only the last record can be one a crash interrupted.
      const kind = zeroFrom(file, end) ? 'torn' : 'corrupt';
      return result({ kind, reason: `record at byte ${p} fails its checksum` });
    }
    const op = file[p + RECORD_HEAD_BYTES];
    r.pos = p + RECORD_HEAD_BYTES + 1;
    const reg = r.read(end);
    if (typeof reg === 'string' || r.pos !== end || (op !== 1 && op !== 2)) {
      return result({ kind: 'corrupt', reason: `record at byte ${p} is malformed` });
    }
    changes.push({ op: op === 1 ? 'add' : 'remove', reg });
    p = end;
  }
  return result();
}
