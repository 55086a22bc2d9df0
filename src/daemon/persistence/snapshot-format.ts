// The snapshot file: the whole table at one moment, written to a temporary file and renamed, so
// it is never seen half-written. Layout (big endian): magic "RBTS", format version 2, epoch
// (uint64: the journal written after this snapshot carries the same one), entry count, the
// entries (entry-codec), then a CRC-32 of everything before it. Decoding trusts nothing.

import { MAX_REGISTRATIONS } from '../../limits.js';
import type { Registration } from '../../rpcbind/index.js';
import { crc32 } from './crc32.js';
import { ENTRY_FIXED_BYTES, EntryReader, entryBytes, writeEntry } from './entry-codec.js';

const SNAPSHOT_MAGIC = 0x52425453; // "RBTS", shared with version 1
export const STATE_FORMAT_VERSION = 2;
const HEADER_BYTES = 20;
const TRAILER_BYTES = 4;

export type DecodedSnapshot = { ok: true; epoch: number; entries: Registration[] } | { ok: false; reason: string };

/**
 * `entries` is walked twice (sizing, then writing) and must yield the same entries both times.
 * It may make each entry as it goes: nothing is kept between entries, so a 100k table is
 * saved without 100k objects living long enough to reach the old space (issue 8).
 */
export function encodeSnapshot(entries: Iterable<Registration>, epoch: number): Buffer {
  let size = HEADER_BYTES + TRAILER_BYTES;
  let count = 0;
  for (const e of entries) {
    size += entryBytes(e);
    count++;
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(SNAPSHOT_MAGIC, 0);
  buf.writeUInt32BE(STATE_FORMAT_VERSION, 4);
  writeEpoch(buf, 8, epoch);
  buf.writeUInt32BE(count, 16);
  let p = HEADER_BYTES;
  let written = 0;
  for (const e of entries) {
    if (++written > count || p + entryBytes(e) > size - TRAILER_BYTES)
      throw new Error('snapshot entries changed while being saved');
    p = writeEntry(buf, p, e);
  }
  if (written !== count) throw new Error('snapshot entries changed while being saved');
  buf.writeUInt32BE(crc32(buf, 0, p), p);
  return buf;
}

export function decodeSnapshot(file: Buffer): DecodedSnapshot {
  if (file.length < HEADER_BYTES + TRAILER_BYTES) return { ok: false, reason: `too short (${file.length} bytes)` };
  if (file.readUInt32BE(0) !== SNAPSHOT_MAGIC) return { ok: false, reason: 'not an rpcbind-ts state file (bad magic)' };
  const version = file.readUInt32BE(4);
  if (version !== STATE_FORMAT_VERSION) return { ok: false, reason: `unknown format version ${version}` };
  const end = file.length - TRAILER_BYTES;
  if (crc32(file, 0, end) !== file.readUInt32BE(end))
    return { ok: false, reason: 'checksum mismatch (torn or corrupt)' };
  const epoch = readEpoch(file, 8);
  const count = file.readUInt32BE(16);
  if (count > MAX_REGISTRATIONS) return { ok: false, reason: `${count} entries exceed the cap ${MAX_REGISTRATIONS}` };
  if (count * ENTRY_FIXED_BYTES > end - HEADER_BYTES) return { ok: false, reason: `${count} entries cannot fit` };
  const r = new EntryReader(file, HEADER_BYTES);
  const entries = new Array<Registration>(count);
  for (let i = 0; i < count; i++) {
    const e = r.read(end);
    if (typeof e === 'string') return { ok: false, reason: `malformed ${e}` };
    entries[i] = e;
  }
  if (r.pos !== end) return { ok: false, reason: `${end - r.pos} trailing bytes` };
  return { ok: true, epoch, entries };
}

/** Epochs are below 2^53 (they start from a millisecond clock and count compactions). */
export function writeEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeUInt32BE(Math.floor(epoch / 0x100000000), pos);
  buf.writeUInt32BE(epoch >>> 0, pos + 4);
}

export function readEpoch(buf: Buffer, pos: number): number {
  return buf.readUInt32BE(pos) * 0x100000000 + buf.readUInt32BE(pos + 4);
}
