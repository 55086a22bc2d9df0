// The few libc calls Node does not offer (sd_notify datagrams, socket introspection for
// activation), loaded once through koffi. Every function is null when libc cannot be loaded.

import { createRequire } from 'node:module';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  close(fd: number): number;
  getsockoptInt(fd: number, level: number, name: number, out: number[], len: number[]): number;
  getsockname(fd: number, addr: Buffer, len: number[]): number;
}

let libc: Libc | null | undefined;

export function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const require = createRequire(import.meta.url);
    type Fn = (...a: unknown[]) => number;
    const koffi = require('koffi') as { load(name: string): { func(sig: string): Fn } };
    const lib = koffi.load('libc.so.6');
    const socket = lib.func('int socket(int, int, int)');
    const sendto = lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)');
    const close = lib.func('int close(int)');
    const getsockopt = lib.func('int getsockopt(int, int, int, _Out_ int *, _Inout_ uint32_t *)');
    const getsockname = lib.func('int getsockname(int, _Out_ void *, _Inout_ uint32_t *)');
    libc = {
      socket: (d, t, p) => socket(d, t, p),
      sendto: (fd, buf, len, flags, addr, addrlen) => Number(sendto(fd, buf, len, flags, addr, addrlen)),
      close: (fd) => close(fd),
      getsockoptInt: (fd, level, name, out, len) => getsockopt(fd, level, name, out, len),
      getsockname: (fd, addr, len) => getsockname(fd, addr, len),
    };
  } catch {
    libc = null;
  }
  return libc;
}
