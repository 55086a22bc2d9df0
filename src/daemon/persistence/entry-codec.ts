// One registration as stored in the snapshot and the journal: prog and vers (uint32, big
// endian), then netid, addr and owner, each a one-byte length and its latin1 bytes. The wire
// decoder reads strings as latin1 (one byte per character) and caps them far below 256 bytes.

import { MAX_NETID_BYTES, MAX_OWNER_BYTES, MAX_UADDR_BYTES } from '../../limits.js';
import type { Registration } from '../../rpcbind/index.js';

/** prog, vers and the three lengths. */
export const ENTRY_FIXED_BYTES = 11;
/** The largest entry a valid file holds. */
export const MAX_ENTRY_BYTES = ENTRY_FIXED_BYTES + MAX_NETID_BYTES + MAX_UADDR_BYTES + MAX_OWNER_BYTES;

export function entryBytes(r: Registration): number {
  return ENTRY_FIXED_BYTES + r.netid.length + r.addr.length + r.owner.length;
}

/** Writes `r` at `pos` (the caller sized `buf` with entryBytes); returns the end. */
export function writeEntry(buf: Buffer, pos: number, r: Registration): number {
  buf.writeUInt32BE(r.prog >>> 0, pos);
  buf.writeUInt32BE(r.vers >>> 0, pos + 4);
  buf[pos + 8] = r.netid.length;
  buf[pos + 9] = r.addr.length;
  buf[pos + 10] = r.owner.length;
  let p = pos + ENTRY_FIXED_BYTES;
  p += buf.write(r.netid, p, 'latin1');
  p += buf.write(r.addr, p, 'latin1');
  p += buf.write(r.owner, p, 'latin1');
  return p;
}

/** Distinct netids and owners kept for reuse by one reader. */
const INTERNED_STRINGS = 16;

/** Buffer's latin1 decoder without toString()'s argument handling (a third of a 100k-entry decode). */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/**
 * Reads entries one after another. Strings that repeat (netids, owners) are interned, so that
 * a big table shares a handful of them. Errors are values: read() returns a reason string.
 */
export class EntryReader {
  pos: number;
  readonly #buf: Buffer;
  readonly #slicer: Latin1Slicer;
  readonly #interned: string[] = [];

  constructor(buf: Buffer, pos: number) {
    this.#buf = buf;
    this.#slicer = buf as unknown as Latin1Slicer;
    this.pos = pos;
  }

  /** The entry at pos, ending at or before `end`; advances pos on success. */
  read(end: number): Registration | string {
    const b = this.#buf;
    const p = this.pos;
    if (p + ENTRY_FIXED_BYTES > end) return `entry at byte ${p} is cut short`;
    const netidLen = b[p + 8]!;
    const addrLen = b[p + 9]!;
    const ownerLen = b[p + 10]!;
    if (netidLen > MAX_NETID_BYTES || addrLen > MAX_UADDR_BYTES || ownerLen > MAX_OWNER_BYTES) {
      return `entry at byte ${p} has an oversized string`;
    }
    const s = p + ENTRY_FIXED_BYTES;
    const next = s + netidLen + addrLen + ownerLen;
    if (next > end) return `entry at byte ${p} is cut short`;
    const prog = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    const vers = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    const netid = this.#intern(s, netidLen);
    const addr = this.#slicer.latin1Slice(s + netidLen, s + netidLen + addrLen);
    const owner = this.#intern(s + netidLen + addrLen, ownerLen);
    this.pos = next;
    return { prog, vers, netid, addr, owner };
  }

  /** A netid or owner seen before is found among the few kept (no allocation on a hit). */
  #intern(start: number, len: number): string {
    const kept = this.#interned;
    for (let i = 0; i < kept.length; i++) {
      const k = kept[i]!;
      if (k.length === len && sameLatin1(k, this.#buf, start)) return k;
    }
    const s = this.#slicer.latin1Slice(start, start + len);
    if (kept.length < INTERNED_STRINGS) kept.push(s);
    return s;
  }
}

function sameLatin1(s: string, b: Buffer, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[start + i]) return false;
  return true;
}
