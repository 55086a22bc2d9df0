// The host's addresses to serve UDP on: every configured IPv4 and IPv6 address (link-local
// ones with their interface scope), or the -h list plus loopback.

import { networkInterfaces } from 'node:os';

function hostAddresses(): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4') out.push(a.address);
      else if (a.address.startsWith('fe80:')) out.push(`${a.address}%${name}`);
      else out.push(a.address);
    }
  }
  return [...new Set(out)];
}

export function hasIpv6(): boolean {
  return hostAddresses().some((a) => a.includes(':'));
}

export function hasIpv4(): boolean {
  return hostAddresses().some((a) => !a.includes(':'));
}

/** The -h list plus loopback, without duplicates; loopback of a family the host lacks is left out. */
export function withLoopback(hosts: string[]): string[] {
  const out = new Set(hosts);
  if (hasIpv4()) out.add('127.0.0.1');
  if (hasIpv6()) out.add('::1');
  return [...out];
}
