// Address and link changes as the kernel announces them: an rtnetlink socket (AF_NETLINK,
// groups RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR) opened and bound through the libc
// table (os/libc.ts).
// Node has no handle for such a socket, so libuv reads it as a pipe: non-blocking, on the
// event loop, one datagram per read into libuv's own 64 KiB buffer. The messages are only a
// signal that something changed: nothing in them is parsed or trusted (the caller re-reads
// the interfaces), so the only work per message is a callback the caller coalesces.

import net from 'node:net';
import { loadLibc, type Libc } from '../os/libc.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const RTMGRP_LINK = 0x1;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV6_IFADDR = 0x100;
/** sizeof(struct sockaddr_nl): family (u16), pad (u16), pid (u32), groups (u32). */
const SOCKADDR_NL_BYTES = 12;

type PipeHandle = { open(fd: number): number; close(): void };
type PipeBinding = { Pipe: new (kind: number) => PipeHandle; constants: { SOCKET: number } };

function loadNative(): Libc | null {
  return process.platform === 'linux' ? loadLibc() : null;
}

/** libuv's pipe handle, which adopts any descriptor it can read; undefined where Node hides it. */
function pipeBinding(): PipeBinding | undefined {
  try {
    const b = (process as unknown as { binding(name: string): unknown }).binding('pipe_wrap') as Partial<PipeBinding>;
    return typeof b.Pipe === 'function' && typeof b.constants?.SOCKET === 'number' ? (b as PipeBinding) : undefined;
  } catch {
    return undefined;
  }
}

export interface NetlinkWatch {
  close(): void;
}

/**
 * Calls `onChange` whenever the kernel announces an address or link change (possibly several
 * times for one change: coalesce), and `onFailure` once if the socket stops (ENOBUFS after an
 * overrun: announcements were lost, so re-read everything). Returns why it cannot watch
 * instead when the platform offers no way (not Linux, no koffi, no pipe handle).
 */
export function watchAddressChanges(onChange: () => void, onFailure: (reason: string) => void): NetlinkWatch | string {
  const n = loadNative();
  if (!n) return 'netlink is unavailable (not Linux, or koffi cannot be loaded)';
  const binding = pipeBinding();
  if (!binding) return 'this Node.js offers no handle to read a netlink socket with';
  const fd = n.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return 'cannot open a netlink socket';
  const sa = Buffer.alloc(SOCKADDR_NL_BYTES);
  sa.writeUInt16LE(AF_NETLINK, 0);
  sa.writeUInt32LE(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, 8);
  if (n.bind(fd, sa, SOCKADDR_NL_BYTES) !== 0) {
    n.close(fd);
    return 'cannot bind the netlink socket to the address groups';
  }
  let sock: net.Socket;
  try {
    const handle = new binding.Pipe(binding.constants.SOCKET);
    if (handle.open(fd) !== 0) {
      n.close(fd);
      return 'libuv cannot adopt the netlink socket';
    }
    // From here the handle owns the descriptor: destroying the socket closes it.
    sock = new net.Socket({ handle, readable: true, writable: false } as net.SocketConstructorOpts);
  } catch (e) {
    n.close(fd);
    return `libuv cannot adopt the netlink socket: ${(e as Error).message}`;
  }
  let done = false;
  const fail = (reason: string): void => {
    if (done) return;
    done = true;
    sock.destroy();
    onFailure(reason);
  };
  sock.on('error', (e) => fail(e.message));
  sock.on('end', () => fail('the netlink socket was closed'));
  sock.on('data', () => {
    if (!done) onChange();
  });
  sock.unref();
  return {
    close(): void {
      done = true;
      sock.destroy();
    },
  };
}
