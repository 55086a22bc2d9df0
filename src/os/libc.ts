// The libc calls Node does not offer, declared once for the whole program and loaded once
// through koffi (load-koffi.ts): sd_notify datagrams (socket, sendto), socket activation
// (getsockopt, getsockname), the journal's reserve (fallocate), the state files' link count
// (fstat), the instance lock (flock), SO_PEERCRED, the kernel shedding filter and receive
// buffer (getsockopt, setsockopt), batched UDP (recvmmsg, sendmmsg, if_indextoname), the
// netlink watch (socket, bind) and the resident memory (mallopt, malloc_trim, madvise).
// loadLibc() is null where libc cannot be reached (no koffi, not Linux): callers then do
// without what it gives. Struct layouts are the callers'; this file only binds functions.

import { loadKoffi } from './load-koffi.js';

/**
 * A pointer argument: a Buffer (its bytes are passed by address, and the call may write into
 * them), or an address inside native memory from alloc().
 */
type Pointer = Buffer | number;

/** Native memory that never moves: its address, and a Buffer over the same bytes. */
export interface NativeMemory {
  address: number;
  view: Buffer;
}

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Pointer, len: number): number;
  close(fd: number): number;
  sendto(fd: number, buf: Pointer, len: number, flags: number, addr: Pointer, addrLen: number): number;
  recvmmsg(fd: number, vec: Pointer, vlen: number, flags: number, timeout: Pointer | null): number;
  sendmmsg(fd: number, vec: Pointer, vlen: number, flags: number): number;
  /** getsockopt(2); `lenPtr` points at a uint32 the call reads and writes. */
  getsockopt(fd: number, level: number, name: number, value: Pointer, lenPtr: Pointer): number;
  setsockopt(fd: number, level: number, name: number, value: Pointer, len: number): number;
  /** getsockname(2) into `addr`: the address length, or -1. */
  getsockname(fd: number, addr: Buffer): number;
  /** An int socket option, or undefined when it cannot be read. */
  getsockoptInt(fd: number, level: number, name: number): number | undefined;
  /** Sets an int socket option: 0, or -1. */
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** fallocate(2): 0, or -errno. */
  fallocate(fd: number, mode: number, offset: number, len: number): number;
  /** flock(2): 0, or -1. */
  flock(fd: number, op: number): number;
  /** fstat(2) into `statBuf` (struct stat): 0, or -1. Absent where libc has no fstat symbol (glibc < 2.33). */
  fstat?: (fd: number, statBuf: Buffer) => number;
  /** if_indextoname(3) into `out` (IF_NAMESIZE bytes): null when the index is unknown. */
  ifIndexToName(index: number, out: Buffer): unknown;
  /** mallopt(3): 1 on success, 0 on an error. */
  mallopt(param: number, value: number): number;
  /** malloc_trim(3): 1 if memory was released. */
  mallocTrim(pad: number): number;
  /** madvise(2) on an address range of this process: 0, or -1. */
  madvise(addr: number, length: number, advice: number): number;
  /** The errno of the last call made through koffi on this thread. */
  errno(): number;
  alloc(bytes: number): NativeMemory;
}

let libc: Libc | null | undefined;
let loadError = '';

export function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    libc = bind();
  } catch (e) {
    loadError = (e as Error).message;
    libc = null;
  }
  return libc;
}

/** Why loadLibc() is null ('' when it is not). */
export function libcUnavailable(): string {
  return loadLibc() ? '' : loadError || 'unavailable';
}

/**
 * koffi takes a Buffer for a `void *` as the address of its bytes, and a bigint as an address;
 * a plain number would be cut to 32 bits.
 */
function ptr(p: Pointer): Buffer | bigint {
  return typeof p === 'number' ? BigInt(p) : p;
}

function bind(): Libc {
  type Fn = (...a: unknown[]) => unknown;
  const koffi = loadKoffi();
  if (!koffi) throw new Error('koffi did not load');
  const lib = koffi.load('libc.so.6');
  const func = (sig: string): Fn => lib.func(sig) as Fn;
  const socket = func('int socket(int, int, int)');
  const bindFn = func('int bind(int, const void *, uint32_t)');
  const close = func('int close(int)');
  const sendto = func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const recvmmsg = func('int recvmmsg(int, void *, unsigned int, int, void *)');
  const sendmmsg = func('int sendmmsg(int, void *, unsigned int, int)');
  const getsockopt = func('int getsockopt(int, int, int, void *, void *)');
  const setsockopt = func('int setsockopt(int, int, int, const void *, uint32_t)');
  const getsockname = func('int getsockname(int, void *, void *)');
  const fallocate = func('int fallocate(int, int, int64_t, int64_t)');
  const flock = func('int flock(int, int)');
  const ifIndexToName = func('char *if_indextoname(unsigned int, void *)');
  const mallopt = func('int mallopt(int, int)');
  const mallocTrim = func('int malloc_trim(size_t)');
  const madvise = func('int madvise(uintptr_t, size_t, int)');
  // Older glibc exports only __fxstat: then absent, and callers use Node's fstatSync.
  const optional = (sig: string): Fn | undefined => {
    try {
      return func(sig);
    } catch {
      return undefined;
    }
  };
  const fstat = optional('int fstat(int, void *)');
  const table: Libc = {
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, addr, len) => bindFn(fd, ptr(addr), len) as number,
    close: (fd) => close(fd) as number,
    sendto: (fd, buf, len, flags, addr, addrLen) => Number(sendto(fd, ptr(buf), len, flags, ptr(addr), addrLen)),
    recvmmsg: (fd, vec, vlen, flags, timeout) =>
      recvmmsg(fd, ptr(vec), vlen, flags, timeout === null ? null : ptr(timeout)) as number,
    sendmmsg: (fd, vec, vlen, flags) => sendmmsg(fd, ptr(vec), vlen, flags) as number,
    getsockopt: (fd, level, name, value, lenPtr) => getsockopt(fd, level, name, ptr(value), ptr(lenPtr)) as number,
    setsockopt: (fd, level, name, value, len) => setsockopt(fd, level, name, ptr(value), len) as number,
    getsockname: (fd, addr) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(addr.length);
      return getsockname(fd, addr, len) === 0 ? len.readUInt32LE(0) : -1;
    },
    getsockoptInt: (fd, level, name) => {
      const v = Buffer.alloc(8);
      v.writeUInt32LE(4, 4);
      return getsockopt(fd, level, name, v, v.subarray(4)) === 0 ? v.readInt32LE(0) : undefined;
    },
    setsockoptInt: (fd, level, name, value) => {
      const v = Buffer.alloc(4);
      v.writeInt32LE(value);
      return setsockopt(fd, level, name, v, 4) as number;
    },
    fallocate: (fd, mode, offset, len) => (fallocate(fd, mode, offset, len) === 0 ? 0 : -koffi.errno()),
    flock: (fd, op) => flock(fd, op) as number,
    fstat: fstat && ((fd, statBuf) => fstat(fd, statBuf) as number),
    ifIndexToName: (index, out) => ifIndexToName(index, out),
    mallopt: (param, value) => mallopt(param, value) as number,
    mallocTrim: (pad) => mallocTrim(pad) as number,
    madvise: (addr, length, advice) => madvise(addr, length, advice) as number,
    errno: () => koffi.errno(),
    alloc: (bytes) => {
      const p = koffi.alloc('uint8_t', bytes);
      return { address: Number(koffi.address(p)), view: Buffer.from(koffi.view(p, bytes)) };
    },
  };
  return table;
}
