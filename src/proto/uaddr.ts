// Universal addresses (RFC 1833 section 2.2 / RFC 5665): "h1.h2.h3.h4.p1.p2" for IPv4,
// "x:x::x.p1.p2" for IPv6, the socket path for local transports.

import { isIPv4, isIPv6 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** Splits "<host>.p1.p2"; undefined unless host is a valid IPv4/IPv6 literal and p1,p2 are bytes. */
export function parseUaddr(uaddr: string): HostPort | undefined {
  const last = uaddr.lastIndexOf('.');
  if (last <= 0) return undefined;
  const prev = uaddr.lastIndexOf('.', last - 1);
  if (prev <= 0) return undefined;
  const p1s = uaddr.slice(prev + 1, last);
  const p2s = uaddr.slice(last + 1);
  if (!/^\d{1,3}$/.test(p1s) || !/^\d{1,3}$/.test(p2s)) return undefined;
  const p1 = Number(p1s);
  const p2 = Number(p2s);
  if (p1 > 255 || p2 > 255) return undefined;
  const host = uaddr.slice(0, prev);
  if (!isIPv4(host) && !isIPv6(host)) return undefined;
  return { host, port: p1 * 256 + p2 };
}

export function formatUaddr(host: string, port: number): string {
  return `${host}.${(port >> 8) & 0xff}.${port & 0xff}`;
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}
