// File operations for the state store, by descriptor, in one of two ways: on the event loop
// (tmpfs and ramfs, where fdatasync has no device to wait for and a write is a memory copy of
// a few µs: two thread-pool round trips per group commit would cost more than the work,
// bench/set-latency.ts) or through libuv's thread pool (any other file system, where a sync
// can take milliseconds that lookups must not wait for). Also the journal's space reserve.

import fs from 'node:fs';
import { promisify } from 'node:util';
import { loadLibc } from '../../os/libc.js';

export interface FileIo {
  /** True when operations run on the event loop. */
  readonly inline: boolean;
  open(path: string, flags: string, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** Writes all of `buf` at `pos`; a short write is an error. */
  writeAll(fd: number, buf: Buffer, pos: number): Promise<void>;
  datasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  truncate(fd: number, len: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

const shortWrite = (n: number, of: number): Error =>
  Object.assign(new Error(`short write (${n} of ${of} bytes)`), { code: 'ENOSPC' });

/** Node's promise API is not used: node:fs/promises takes milliseconds to load at start-up. */
const pooled = {
  open: promisify(fs.open),
  close: promisify(fs.close),
  write: (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
    new Promise((resolve, reject) => fs.write(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n)))),
  fdatasync: promisify(fs.fdatasync),
  fsync: promisify(fs.fsync),
  ftruncate: promisify(fs.ftruncate),
  rename: promisify(fs.rename),
  unlink: promisify(fs.unlink),
};

const threadPoolIo: FileIo = {
  inline: false,
  open: (p, flags, mode) => pooled.open(p, flags, mode),
  close: (fd) => pooled.close(fd),
  async writeAll(fd, buf, pos) {
    const n = await pooled.write(fd, buf, 0, buf.length, pos);
    if (n !== buf.length) throw shortWrite(n, buf.length);
  },
  datasync: (fd) => pooled.fdatasync(fd),
  fsync: (fd) => pooled.fsync(fd),
  truncate: (fd, len) => pooled.ftruncate(fd, len),
  rename: (a, b) => pooled.rename(a, b),
  unlink: (p) => pooled.unlink(p),
};

// async: a throw becomes a rejection, as from the pooled calls.
const inlineIo: FileIo = {
  inline: true,
  open: async (p, flags, mode) => fs.openSync(p, flags, mode),
  close: async (fd) => fs.closeSync(fd),
  async writeAll(fd, buf, pos) {
    const n = fs.writeSync(fd, buf, 0, buf.length, pos);
    if (n !== buf.length) throw shortWrite(n, buf.length);
  },
  datasync: async (fd) => fs.fdatasyncSync(fd),
  fsync: async (fd) => fs.fsyncSync(fd),
  truncate: async (fd, len) => fs.ftruncateSync(fd, len),
  rename: async (a, b) => fs.renameSync(a, b),
  unlink: async (p) => fs.unlinkSync(p),
};

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** The way to write files in `dir`: inline on memory file systems, pooled elsewhere. */
export function fileIoFor(dir: string): FileIo {
  try {
    const type = fs.statfsSync(dir).type;
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC ? inlineIo : threadPoolIo;
  } catch {
    return threadPoolIo;
  }
}

/** Allocates without changing the file's size (reads still end at the last record). */
const FALLOC_FL_KEEP_SIZE = 1;

export type ReserveResult = { ok: true } | { ok: false; unsupported: boolean; reason: string };

/**
 * Allocates [offset, offset+len) of `fd` ahead of writing it, so that writes there cannot fail
 * for lack of space (tmpfs, ext4, xfs, btrfs). Synchronous: an allocation, no data written.
 */
export function reserveSpace(fd: number, offset: number, len: number): ReserveResult {
  const libc = loadLibc();
  if (!libc) return { ok: false, unsupported: true, reason: 'fallocate unavailable (koffi did not load)' };
  const r = libc.fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, len);
  if (r === 0) return { ok: true };
  const errno = -r;
  // EOPNOTSUPP (95): the file system cannot preallocate (some FUSE and network ones).
  if (errno === 95) return { ok: false, unsupported: true, reason: 'the file system cannot preallocate (EOPNOTSUPP)' };
  return {
    ok: false,
    unsupported: false,
    reason: errno === 28 ? 'no space left on device (ENOSPC)' : `fallocate failed (errno ${errno})`,
  };
}

/** Where struct stat keeps st_nlink, and how wide it is, on the 64-bit Linux ABIs we know. */
const NLINK_FIELD: Partial<Record<string, { offset: number; bytes: 4 | 8 }>> = {
  x64: { offset: 16, bytes: 8 },
  arm64: { offset: 20, bytes: 4 },
};
/** Larger than struct stat on either (144 and 128 bytes); reused: one call at a time. */
const statBuf = Buffer.alloc(256);

/**
 * The link count of an open file (0 once it was removed): fstat(2) into a reused buffer, not
 * fs.fstatSync, whose Stats object and four Dates were ~1.9 KB of the ~9.6 KB a durable SET
 * allocated (two checks per group commit; BENCHMARKS.md, SET/UNSET latency). Falls back to
 * fstatSync where libc's fstat or the layout is unknown.
 */
export function linkCount(fd: number): number {
  const field = NLINK_FIELD[process.arch];
  const fstat = field && process.platform === 'linux' ? loadLibc()?.fstat : undefined;
  if (fstat && field && fstat(fd, statBuf) === 0) {
    // Two 32-bit halves rather than readBigUInt64LE, whose BigInt arithmetic was ~3 % of a cold
    // SET's CPU (a profile of the first calls after start).
    const low = statBuf.readUInt32LE(field.offset);
    return field.bytes === 8 ? low + statBuf.readUInt32LE(field.offset + 4) * 0x1_0000_0000 : low;
  }
  return fs.fstatSync(fd).nlink;
}
