// The transports rpcbind knows (/etc/netconfig's udp, tcp, udp6, tcp6, local) and the
// conversions between universal addresses and transport addresses (struct sockaddr bytes).

import { isIPv4, isIPv6 } from 'node:net';
import { formatIPv4, formatIPv6, ipv6Bytes, parseIPv4 } from '../net/index.js';
import { NcSemantics } from '../proto/index.js';
import { formatUaddr, splitUaddrAtoi } from '../proto/index.js';

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

/**
 * RPCBPROC_UADDR2TADDR for a transport family, as a netbuf (maxlen and bytes); undefined when
 * the address does not convert.
 */
export function uaddrToTaddr(nc: NetconfigEntry, uaddr: string): { maxlen: number; buf: Buffer } | undefined {
  if (nc.protofmly === 'loopback') {
    // A path is taken whole; anything else loses its last two dot-parts, as in libtirpc.
    const path = uaddr.startsWith('/') ? uaddr : splitUaddrAtoi(uaddr)?.host;
    if (path === undefined || path.length === 0 || path.length >= SUN_PATH_BYTES) return undefined;
    const b = Buffer.alloc(2 + path.length);
    b.writeUInt16LE(AF_LOCAL, 0);
    b.write(path, 2, 'latin1');
    return { maxlen: 2 + SUN_PATH_BYTES, buf: b };
  }
  const hp = splitUaddrAtoi(uaddr);
  if (!hp) return undefined;
  if (nc.protofmly === 'inet') {
    const v4 = isIPv4(hp.host) ? parseIPv4(hp.host) : undefined;
    if (v4 === undefined) return undefined;
    const b = Buffer.alloc(SOCKADDR_IN_BYTES);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(hp.port, 2);
    b.writeUInt32BE(v4, 4);
    return { maxlen: SOCKADDR_IN_BYTES, buf: b };
  }
  // inet_pton takes no zone index; a scope written after the port bytes is ignored by atoi.
  const v6 = hp.host.includes('%') || !isIPv6(hp.host) ? undefined : ipv6Bytes(hp.host);
  if (!v6) return undefined;
  const b = Buffer.alloc(SOCKADDR_IN6_BYTES);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(hp.port, 2);
  v6.copy(b, 8);
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
    return formatUaddr(formatIPv4(taddr.readUInt32BE(4)), taddr.readUInt16BE(2));
  }
  if (taddr.length < SOCKADDR_IN6_BYTES) return undefined;
  return formatUaddr(formatIPv6(taddr.subarray(8, 24)), taddr.readUInt16BE(2));
}
