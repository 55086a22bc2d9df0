// Universal addresses (RFC 1833 section 2.2 / RFC 5665): "h1.h2.h3.h4.p1.p2" for IPv4,
// "x:x::x.p1.p2" for IPv6, the socket path for local transports.
//
// One split, three readings of the port bytes, each where the reference reads it so:
// - parseUaddr: strict (a valid IP literal, two decimal bytes); what we build and trust.
// - uaddrPortAtoi: rpcbind's pmap view of a registration (GETPORT, DUMP v2): the leading digits
//   of each byte part (0 when none), p1 * 256 + p2, unsigned, no cut to 16 bits.
// - splitUaddrAtoi: libtirpc's uaddr2taddr (UADDR2TADDR): atoi of each part, OR-ed, cut to
//   16 bits; the host is whatever precedes them.

import { isIPv4, isIPv6 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** "<host>.p1.p2" split at its last two dots, unchecked; undefined with fewer than two dots. */
export function splitUaddr(uaddr: string): { host: string; p1: string; p2: string } | undefined {
  const last = uaddr.lastIndexOf('.');
  if (last < 0) return undefined;
  const prev = uaddr.lastIndexOf('.', last - 1);
  if (prev < 0) return undefined;
  return { host: uaddr.slice(0, prev), p1: uaddr.slice(prev + 1, last), p2: uaddr.slice(last + 1) };
}

/** Splits "<host>.p1.p2"; undefined unless host is a valid IPv4/IPv6 literal and p1,p2 are bytes. */
export function parseUaddr(uaddr: string): HostPort | undefined {
  const parts = splitUaddr(uaddr);
  if (!parts || parts.host === '') return undefined;
  const { host, p1: p1s, p2: p2s } = parts;
  if (!/^\d{1,3}$/.test(p1s) || !/^\d{1,3}$/.test(p2s)) return undefined;
  const p1 = Number(p1s);
  const p2 = Number(p2s);
  if (p1 > 255 || p2 > 255) return undefined;
  if (!isIPv4(host) && !isIPv6(host)) return undefined;
  return { host, port: p1 * 256 + p2 };
}

/** The port of a universal address as rpcbind reads it (the last two dotted parts, parseInt). */
export function uaddrPortAtoi(uaddr: string): number | undefined {
  const parts = splitUaddr(uaddr);
  if (!parts) return undefined;
  const num = (s: string): number => {
    const n = parseInt(s, 10);
    return Number.isFinite(n) ? n : 0;
  };
  return (num(parts.p1) * 256 + num(parts.p2)) >>> 0;
}

/** C atoi: optional sign and leading digits; anything else reads as 0. */
function atoi(str: string): number {
  const m = /^\s*([+-]?\d+)/.exec(str);
  return m ? Number.parseInt(m[1]!, 10) | 0 : 0;
}

/**
 * Splits a universal address the way libtirpc's uaddr2taddr does: the last two dot-separated
 * parts are the port bytes (atoi, OR-ed, cut to 16 bits), the rest is the host.
 */
export function splitUaddrAtoi(uaddr: string): HostPort | undefined {
  const parts = splitUaddr(uaddr);
  if (!parts) return undefined;
  return { host: parts.host, port: ((atoi(parts.p1) << 8) | atoi(parts.p2)) & 0xffff };
}

export function formatUaddr(host: string, port: number): string {
  return `${host}.${(port >> 8) & 0xff}.${port & 0xff}`;
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}
