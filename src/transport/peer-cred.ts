// SO_PEERCRED for accepted unix-socket connections (libuv does not expose it), through the libc
// table (os/libc.ts).
// Returns undefined whenever the credentials cannot be read: callers then treat the peer as
// an unknown user.

import type { Socket } from 'node:net';
import { loadLibc } from '../os/libc.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** sizeof(struct ucred): pid (int32), uid (uint32), gid (uint32). */
const UCRED_BYTES = 12;

/** The file descriptor under a connected net.Socket (Linux, libuv pipe/tcp handle). */
function socketFd(sock: Socket): number | undefined {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

export function peerCred(sock: Socket): PeerCred | undefined {
  const libc = loadLibc();
  const fd = socketFd(sock);
  if (!libc || fd === undefined) return undefined;
  // struct ucred, then the uint32 length getsockopt reads and writes.
  const buf = Buffer.alloc(UCRED_BYTES + 4);
  buf.writeUInt32LE(UCRED_BYTES, UCRED_BYTES);
  try {
    if (libc.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf.subarray(0, UCRED_BYTES), buf.subarray(UCRED_BYTES)) !== 0)
      return undefined;
  } catch {
    return undefined;
  }
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}
