// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) over a byte range: the state files' checksum.
// zlib's native crc32 (Node >= 20.15) is ~10x faster than JS on a whole snapshot (1 ms against
// 12 ms for 5 MB, see the commit adding it); the table-driven loop serves older Node 20 releases.

import { createRequire } from 'node:module';

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** The portable implementation (also the reference for the native one in the tests). */
export function crc32Table(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

type Crc32 = (data: Uint8Array) => number;
// node:zlib is loaded on the first checksum large enough to need it, not at start-up: an empty
// table's files never are, and zlib takes milliseconds to load.
let native: Crc32 | null | undefined;

function loadNative(): Crc32 | null {
  const zlib = createRequire(import.meta.url)('node:zlib') as { crc32?: Crc32 };
  return typeof zlib.crc32 === 'function' ? zlib.crc32 : null;
}

export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  if (end - start >= 64) {
    native ??= loadNative();
    if (native) return native(buf.subarray(start, end)) >>> 0;
  }
  return crc32Table(buf, start, end);
}
