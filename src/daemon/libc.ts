// The few libc calls Node does not offer (sd_notify datagrams, socket introspection for
// activation, fallocate for the journal's reserve, flock for the instance lock), loaded once
// through koffi. Every function is null when libc cannot be loaded.

import { loadKoffi } from '../os/load-koffi.js';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  close(fd: number): number;
  getsockoptInt(fd: number, level: number, name: number, out: number[], len: number[]): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  getsockname(fd: number, addr: Buffer, len: number[]): number;
  /** fallocate(2): 0, or -errno. */
  fallocate(fd: number, mode: number, offset: number, len: number): number;
  /** flock(2): 0, or -1. */
  flock(fd: number, op: number): number;
}

let libc: Libc | null | undefined;

export function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    type Fn = (...a: unknown[]) => number;
    const koffi = loadKoffi();
    if (!koffi) throw new Error('koffi cannot be loaded');
    const lib = koffi.load('libc.so.6');
    const func = (sig: string): Fn => lib.func(sig) as Fn;
    const socket = func('int socket(int, int, int)');
    const sendto = func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)');
    const close = func('int close(int)');
    const getsockopt = func('int getsockopt(int, int, int, _Out_ int *, _Inout_ uint32_t *)');
    const setsockopt = func('int setsockopt(int, int, int, const void *, uint32_t)');
    const getsockname = func('int getsockname(int, _Out_ void *, _Inout_ uint32_t *)');
    const fallocate = func('int fallocate(int, int, int64_t, int64_t)');
    const flock = func('int flock(int, int)');
    libc = {
      socket: (d, t, p) => socket(d, t, p),
      sendto: (fd, buf, len, flags, addr, addrlen) => Number(sendto(fd, buf, len, flags, addr, addrlen)),
      close: (fd) => close(fd),
      getsockoptInt: (fd, level, name, out, len) => getsockopt(fd, level, name, out, len),
      setsockoptInt: (fd, level, name, value) => {
        const v = Buffer.alloc(4);
        v.writeInt32LE(value);
        return setsockopt(fd, level, name, v, 4);
      },
      getsockname: (fd, addr, len) => getsockname(fd, addr, len),
      fallocate: (fd, mode, offset, len) => (fallocate(fd, mode, offset, len) === 0 ? 0 : -koffi.errno()),
      flock: (fd, op) => flock(fd, op),
    };
  } catch {
    libc = null;
  }
  return libc;
}
