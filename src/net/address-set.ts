// Sets of networks ("ALL", addresses, CIDR prefixes, netmasks, libwrap's "10.1." prefixes) and
// matching a parsed address against them without allocating.

import { parseAddress, parseIPv4, type Parsed } from './ip-address.js';

export interface Net {
  v4: boolean;
  w: [number, number, number, number];
  mask: [number, number, number, number];
}

function maskOf(prefix: number, v4: boolean): [number, number, number, number] {
  const bits = v4 ? prefix + 96 : prefix;
  const m: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const b = Math.max(0, Math.min(32, bits - 32 * i));
    m[i] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  }
  return m;
}

/**
 * One pattern: "ALL", an address, "addr/prefix", "a.b.c.d/m.m.m.m", "[v6]/prefix", or a
 * libwrap IPv4 prefix "10.1." (trailing dot). Undefined for anything else (host names).
 */
export function parseNet(text: string): Net | 'all' | undefined {
  const t = text.trim();
  if (/^all$/i.test(t)) return 'all';
  if (/^[\d.]+\.$/.test(t)) {
    const parts = t.slice(0, -1).split('.');
    if (parts.length > 3) return undefined;
    const full = parseIPv4([...parts, ...new Array<string>(4 - parts.length).fill('0')].join('.'));
    return full === undefined ? undefined : { v4: true, w: [0, 0, 0, full], mask: maskOf(8 * parts.length, true) };
  }
  const slash = t.indexOf('/');
  let host = slash >= 0 ? t.slice(0, slash) : t;
  const len = slash >= 0 ? t.slice(slash + 1) : undefined;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const a = parseAddress(host);
  if (!a) return undefined;
  let mask: [number, number, number, number];
  if (len === undefined) mask = maskOf(a.v4 ? 32 : 128, a.v4);
  else if (/^\d{1,3}$/.test(len) && Number(len) <= (a.v4 ? 32 : 128)) mask = maskOf(Number(len), a.v4);
  else if (a.v4 && parseIPv4(len) !== undefined) mask = [0xffffffff, 0xffffffff, 0xffffffff, parseIPv4(len)!];
  else return undefined;
  const w = a.w.map((x, i) => (x & mask[i]!) >>> 0) as [number, number, number, number];
  return { v4: a.v4, w, mask };
}

/** A set of networks; matching is a scan (lists are short) with no allocation. */
export class AddressSet {
  readonly #nets: Net[] = [];
  #all = false;
  readonly invalid: string[] = [];

  static parse(patterns: Iterable<string>): AddressSet {
    const s = new AddressSet();
    for (const p of patterns) s.add(p);
    return s;
  }

  /** Adds a pattern; unparseable ones are remembered in `invalid` and never match. */
  add(pattern: string): boolean {
    const n = parseNet(pattern);
    if (n === undefined) {
      this.invalid.push(pattern);
      return false;
    }
    if (n === 'all') this.#all = true;
    else this.#nets.push(n);
    return true;
  }

  get empty(): boolean {
    return !this.#all && this.#nets.length === 0;
  }

  has(addr: string): boolean {
    if (this.#all) return true;
    if (this.#nets.length === 0) return false;
    const a = parseAddress(addr);
    return a !== undefined && this.hasParsed(a);
  }

  hasParsed(a: Parsed): boolean {
    if (this.#all) return true;
    for (const n of this.#nets) {
      if (n.v4 !== a.v4) continue;
      if (
        (a.w[0] & n.mask[0]) >>> 0 === n.w[0] &&
        (a.w[1] & n.mask[1]) >>> 0 === n.w[1] &&
        (a.w[2] & n.mask[2]) >>> 0 === n.w[2] &&
        (a.w[3] & n.mask[3]) >>> 0 === n.w[3]
      ) {
        return true;
      }
    }
    return false;
  }
}
