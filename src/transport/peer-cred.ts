// SO_PEERCRED for accepted unix-socket connections (libuv does not expose it), through koffi.
// Returns undefined whenever the credentials cannot be read: callers then treat the peer as
// an unknown user.

import type { Socket } from 'node:net';
import { loadKoffi } from '../os/load-koffi.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

type GetSockOpt = (fd: number, level: number, name: number, out: PeerCred, len: number[]) => number;

let getsockopt: GetSockOpt | null | undefined;

function load(): GetSockOpt | null {
  if (getsockopt !== undefined) return getsockopt;
  try {
    const koffi = loadKoffi();
    if (!koffi) throw new Error('koffi cannot be loaded');
    koffi.struct('rpcbind_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func('int getsockopt(int, int, int, _Out_ rpcbind_ucred *, _Inout_ uint32 *)') as GetSockOpt;
  } catch {
    getsockopt = null;
  }
  return getsockopt;
}

/** The file descriptor under a connected net.Socket (Linux, libuv pipe/tcp handle). */
export function socketFd(sock: Socket): number | undefined {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

export function peerCred(sock: Socket): PeerCred | undefined {
  const fn = load();
  const fd = socketFd(sock);
  if (!fn || fd === undefined) return undefined;
  const out: PeerCred = { pid: 0, uid: 0, gid: 0 };
  const len = [12];
  try {
    if (fn(fd, SOL_SOCKET, SO_PEERCRED, out, len) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return out;
}
