// The transports rpcbind knows (/etc/netconfig's udp, tcp, udp6, tcp6, local) and the
// conversions between universal addresses and transport addresses (struct sockaddr bytes).

import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { NcSemantics } from '../proto/index.js';
import { formatUaddr } from '../proto/index.js';

export interface NetconfigEntry {
  readonly netid: string;
  readonly semantics: number;
  readonly protofmly: 'inet' | 'inet6' | 'loopback';
  readonly proto: string;
}

const NETCONFIG: ReadonlyMap<string, NetconfigEntry> = new Map(
  (
    [
      ['udp', NcSemantics.CLTS, 'inet', 'udp'],
      ['tcp', NcSemantics.COTS_ORD, 'inet', 'tcp'],
      ['udp6', NcSemantics.CLTS, 'inet6', 'udp'],
      ['tcp6', NcSemantics.COTS_ORD, 'inet6', 'tcp'],
      ['local', NcSemantics.COTS_ORD, 'loopback', '-'],
      ['unix', NcSemantics.COTS_ORD, 'loopback', '-'],
    ] as const
  ).map(([netid, semantics, protofmly, proto]) => [netid, { netid, semantics, protofmly, proto }]),
);

export function getNetconfig(netid: string): NetconfigEntry | undefined {
  return NETCONFIG.get(netid);
}

// sockaddr layouts on Linux: the family field is host byte order (little-endian on the
// platforms we run on), the port network order.
const AF_LOCAL = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_IN_BYTES = 16;
const SOCKADDR_IN6_BYTES = 28;
const SUN_PATH_BYTES = 108;

/** C atoi: optional sign and leading digits; anything else reads as 0. */
function atoi(str: string): number {
  const m = /^\s*([+-]?\d+)/.exec(str);
  return m ? Number.parseInt(m[1]!, 10) | 0 : 0;
}

/**
 * Splits a universal address the way libtirpc's uaddr2taddr does: the last two dot-separated
 * parts are the port bytes (atoi, OR-ed, cut to 16 bits), the rest is the host.
 */
function splitUaddr(uaddr: string): { host: string; port: number } | undefined {
  const last = uaddr.lastIndexOf('.');
  if (last < 0) return undefined;
  const prev = uaddr.lastIndexOf('.', last - 1);
  if (prev < 0) return undefined;
  const port = ((atoi(uaddr.slice(prev + 1, last)) << 8) | atoi(uaddr.slice(last + 1))) & 0xffff;
  return { host: uaddr.slice(0, prev), port };
}

/**
 * RPCBPROC_UADDR2TADDR for a transport family, as a netbuf (maxlen and bytes); undefined when
 * the address does not convert.
 */
export function uaddrToTaddr(nc: NetconfigEntry, uaddr: string): { maxlen: number; buf: Buffer } | undefined {
  if (nc.protofmly === 'loopback') {
    // A path is taken whole; anything else loses its last two dot-parts, as in libtirpc.
    const path = uaddr.startsWith('/') ? uaddr : splitUaddr(uaddr)?.host;
    if (path === undefined || path.length === 0 || path.length >= SUN_PATH_BYTES) return undefined;
    const b = Buffer.alloc(2 + path.length);
    b.writeUInt16LE(AF_LOCAL, 0);
    b.write(path, 2, 'latin1');
    return { maxlen: 2 + SUN_PATH_BYTES, buf: b };
  }
  const hp = splitUaddr(uaddr);
  if (!hp) return undefined;
  if (nc.protofmly === 'inet') {
    if (!isIPv4(hp.host)) return undefined;
    const b = Buffer.alloc(SOCKADDR_IN_BYTES);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(hp.port, 2);
    hp.host.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
    return { maxlen: SOCKADDR_IN_BYTES, buf: b };
  }
  // inet_pton takes no zone index; a scope written after the port bytes is ignored by atoi.
  if (hp.host.includes('%') || !isIPv6(hp.host)) return undefined;
  const b = Buffer.alloc(SOCKADDR_IN6_BYTES);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(hp.port, 2);
  ipv6ToBytes(hp.host).copy(b, 8);
  return { maxlen: SOCKADDR_IN6_BYTES, buf: b };
}

/** RPCBPROC_TADDR2UADDR for a transport family; undefined when the bytes are not such an address. */
export function taddrToUaddr(nc: NetconfigEntry, taddr: Buffer): string | undefined {
  if (nc.protofmly === 'loopback') {
    if (taddr.length <= 2) return undefined;
    const path = taddr.subarray(2);
    const nul = path.indexOf(0);
    return path.toString('latin1', 0, nul < 0 ? path.length : nul);
  }
  if (nc.protofmly === 'inet') {
    if (taddr.length < SOCKADDR_IN_BYTES) return undefined;
    const host = `${taddr[4]}.${taddr[5]}.${taddr[6]}.${taddr[7]}`;
    return formatUaddr(host, taddr.readUInt16BE(2));
  }
  if (taddr.length < SOCKADDR_IN6_BYTES) return undefined;
  return formatUaddr(bytesToIpv6(taddr.subarray(8, 24)), taddr.readUInt16BE(2));
}

function ipv6ToBytes(host: string): Buffer {
  // SocketAddress parses every textual form, including embedded IPv4.
  const sa = new SocketAddress({ address: host, family: 'ipv6' });
  const b = Buffer.alloc(16);
  const full = expandIpv6(sa.address);
  full.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

function expandIpv6(host: string): number[] {
  let h = host;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    h = h.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = h.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - hs.length - ts.length).fill('0');
  return [...hs, ...fill, ...ts].map((g) => parseInt(g, 16));
}

/** The text form glibc's inet_ntop prints (RFC 5952, with its IPv4-compatible special case). */
export function bytesToIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  const dotted = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${dotted}`;
  if (groups.slice(0, 6).every((g) => g === 0) && groups[6] !== 0) return `::${dotted}`;
  // Longest run of zero groups (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}
