// The version 1 state file (registrations.v1, a whole-table snapshot rewritten on every change),
// read once to migrate a daemon upgraded within one boot. Layout: magic "RBTS", format version,
// entry count, the entries (prog, vers, netid, addr, owner, in XDR), then a SHA-256 of everything
// before it. Decoding trusts nothing in the file. The encoder is kept for the migration tests.

import { createRequire } from 'node:module';
import { MAX_NETID_BYTES, MAX_OWNER_BYTES, MAX_REGISTRATIONS, MAX_UADDR_BYTES } from '../../limits.js';
import type { Registration } from '../../rpcbind/index.js';
import { XdrError, XdrReader, XdrWriter } from '../../xdr/index.js';

/** node:crypto, loaded only when a version 1 file is met (rarely: it costs milliseconds at start). */
function sha256(): import('node:crypto').Hash {
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return createHash('sha256');
}

const MAGIC = 0x52425453; // "RBTS"
const LEGACY_STATE_FORMAT_VERSION = 1;
const DIGEST_BYTES = 32;
/** Fixed part of one entry: prog, vers and three string lengths. */
const ENTRY_FIXED_BYTES = 20;

export type DecodedState = { ok: true; entries: Registration[] } | { ok: false; reason: string };

/**
 * Encodes the table. With `cache` (keyed by the registry's immutable entry objects), each entry
 * is encoded once in its lifetime: a write under a burst of SETs re-encodes only new entries.
 */
export function encodeState(entries: Iterable<Registration>, cache?: WeakMap<Registration, Buffer>): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(LEGACY_STATE_FORMAT_VERSION, 4);
  const parts: Buffer[] = [head];
  let count = 0;
  for (const e of entries) {
    let b = cache?.get(e);
    if (!b) {
      b = new XdrWriter(64, Number.MAX_SAFE_INTEGER)
        .uint32(e.prog)
        .uint32(e.vers)
        .string(e.netid)
        .string(e.addr)
        .string(e.owner)
        .toBuffer();
      cache?.set(e, b);
    }
    parts.push(b);
    count++;
  }
  head.writeUInt32BE(count, 8);
  const body = Buffer.concat(parts);
  return Buffer.concat([body, sha256().update(body).digest()]);
}

export function decodeState(file: Buffer): DecodedState {
  if (file.length < 12 + DIGEST_BYTES) return { ok: false, reason: `too short (${file.length} bytes)` };
  if (file.readUInt32BE(0) !== MAGIC) return { ok: false, reason: 'not an rpcbind-ts state file (bad magic)' };
  const version = file.readUInt32BE(4);
  if (version !== LEGACY_STATE_FORMAT_VERSION) return { ok: false, reason: `unknown format version ${version}` };
  const bodyEnd = file.length - DIGEST_BYTES;
  const digest = sha256().update(file.subarray(0, bodyEnd)).digest();
  if (!digest.equals(file.subarray(bodyEnd))) return { ok: false, reason: 'checksum mismatch (torn or corrupt)' };
  const count = file.readUInt32BE(8);
  if (count > MAX_REGISTRATIONS) return { ok: false, reason: `${count} entries exceed the cap ${MAX_REGISTRATIONS}` };
  if (count * ENTRY_FIXED_BYTES > bodyEnd - 12) return { ok: false, reason: `${count} entries cannot fit` };
  const r = new XdrReader(file, 12, bodyEnd);
  const entries: Registration[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const prog = r.uint32();
      const vers = r.uint32();
      const netid = r.string(MAX_NETID_BYTES);
      const addr = r.string(MAX_UADDR_BYTES);
      const owner = r.string(MAX_OWNER_BYTES);
      entries.push({ prog, vers, netid, addr, owner });
    }
  } catch (e) {
    if (e instanceof XdrError) return { ok: false, reason: `malformed entry: ${e.message}` };
    throw e;
  }
  if (r.remaining !== 0) return { ok: false, reason: `${r.remaining} trailing bytes` };
  return { ok: true, entries };
}
