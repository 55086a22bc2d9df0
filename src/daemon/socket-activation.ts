// systemd socket activation (sd_listen_fds(3)): the descriptors from fd 3 on, with LISTEN_PID,
// LISTEN_FDS and LISTEN_FDNAMES. Each is classified from the kernel (type, family, bound
// address, v6-only), not from its name, so units may list the sockets in any order.

import { MAX_INHERITED_SOCKETS } from '../limits.js';
import { formatIPv4, formatIPv6 } from '../net/index.js';
import { loadLibc } from '../os/libc.js';

const SD_LISTEN_FDS_START = 3;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_DOMAIN = 39;
const SO_ACCEPTCONN = 30;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_STORAGE_BYTES = 128;

type InheritedKind = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'local';

export interface InheritedSocket {
  fd: number;
  /** The unit's FileDescriptorName= (or the socket unit's name). */
  name: string;
  kind: InheritedKind;
  /** IP address bound ('0.0.0.0', '::', ...) or the unix path ('@name' for abstract). */
  address: string;
  port: number;
  /** An IPv6 socket that also takes IPv4 (BindIPv6Only=both or the kernel default). */
  dualStack: boolean;
}

/**
 * The sockets passed to this process, or [] when none were (or they were meant for another
 * process). Removes LISTEN_* from the environment so children do not take them for theirs.
 * Throws with a one-line reason for a socket the daemon cannot serve.
 */
export function inheritedSockets(env: NodeJS.ProcessEnv = process.env): InheritedSocket[] {
  const pid = Number(env.LISTEN_PID);
  const count = Number(env.LISTEN_FDS);
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (pid !== process.pid || !Number.isInteger(count) || count <= 0) return [];
  if (count > MAX_INHERITED_SOCKETS)
    throw new Error(`socket activation: ${count} sockets passed, at most ${MAX_INHERITED_SOCKETS} are served`);
  const lc = loadLibc();
  if (!lc) throw new Error('socket activation: cannot load libc to inspect the inherited sockets');
  const out: InheritedSocket[] = [];
  for (let i = 0; i < count; i++) {
    const fd = SD_LISTEN_FDS_START + i;
    const what = `socket activation: fd ${fd}${names[i] ? ` (${names[i]})` : ''}`;
    const opt = (level: number, name: number): number => {
      const v = lc.getsockoptInt(fd, level, name);
      if (v === undefined) throw new Error(`${what} is not a socket`);
      return v;
    };
    const type = opt(SOL_SOCKET, SO_TYPE);
    const domain = opt(SOL_SOCKET, SO_DOMAIN);
    const sa = Buffer.alloc(SOCKADDR_STORAGE_BYTES);
    const len = lc.getsockname(fd, sa);
    if (len < 0) throw new Error(`${what}: getsockname failed`);
    if (type === SOCK_STREAM && opt(SOL_SOCKET, SO_ACCEPTCONN) === 0)
      throw new Error(`${what} is a stream socket that does not listen`);
    const name = names[i] ?? '';
    if (domain === AF_UNIX && type === SOCK_STREAM) {
      const raw = sa.subarray(2, len);
      const path = raw[0] === 0 ? `@${raw.subarray(1).toString()}` : raw.toString().replace(/\0.*$/s, '');
      out.push({ fd, name, kind: 'local', address: path, port: 0, dualStack: false });
    } else if (domain === AF_INET && (type === SOCK_STREAM || type === SOCK_DGRAM)) {
      const address = formatIPv4(sa.readUInt32BE(4));
      out.push({
        fd,
        name,
        kind: type === SOCK_STREAM ? 'tcp' : 'udp',
        address,
        port: sa.readUInt16BE(2),
        dualStack: false,
      });
    } else if (domain === AF_INET6 && (type === SOCK_STREAM || type === SOCK_DGRAM)) {
      const address = formatIPv6(sa.subarray(8, 24));
      const dualStack = opt(IPPROTO_IPV6, IPV6_V6ONLY) === 0;
      out.push({
        fd,
        name,
        kind: type === SOCK_STREAM ? 'tcp6' : 'udp6',
        address,
        port: sa.readUInt16BE(2),
        dualStack,
      });
    } else {
      throw new Error(`${what}: unsupported socket (family ${domain}, type ${type})`);
    }
  }
  return out;
}

export function describeInherited(s: InheritedSocket): string {
  if (s.kind === 'local') return `local ${s.address}`;
  const host = s.kind.endsWith('6') ? `[${s.address}]` : s.address;
  return `${s.kind} ${host}:${s.port}${s.dualStack ? ' (dual-stack)' : ''}`;
}
