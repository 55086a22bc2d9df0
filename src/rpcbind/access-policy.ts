// Who may do what: address/CIDR sets (IPv4 and IPv6, IPv4-mapped folded to IPv4), the four
// operation classes of program 100000, and the per-call decisions (allow or deny, and how large
// a UDP reply may be). Pure: rules come in as text already read by the daemon.

import type { CallerContext } from './caller.js';
import { mayAmplify, normalizeAddress } from './caller.js';

export type OperationClass = 'query' | 'dump' | 'register' | 'callit';
export const OPERATION_CLASSES: readonly OperationClass[] = ['query', 'dump', 'register', 'callit'];

// [vers 2, 3, 4] procedure number -> class. Unknown procedures are 'query' (they get
// PROC_UNAVAIL, which is small).
const V2: readonly OperationClass[] = ['query', 'register', 'register', 'query', 'dump', 'callit'];
const V34: readonly OperationClass[] = [
  'query', 'register', 'register', 'query', 'dump', 'callit', 'query', 'query', 'query',
  'query', 'callit', 'query', 'dump',
];

export function classify(vers: number, proc: number): OperationClass {
  return (vers === 2 ? V2[proc] : V34[proc]) ?? 'query';
}

/** An address as 4 words (IPv4 lives in word 3 with words 0-2 marking the family). */
/** An address as four 32-bit words (IPv4: the last word; `v4` set). */
export interface Parsed {
  v4: boolean;
  w: [number, number, number, number];
}

function parseV4(s: string): number | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n >>> 0;
}

function parseV6(s: string): [number, number, number, number] | undefined {
  const scope = s.indexOf('%');
  if (scope >= 0) s = s.slice(0, scope);
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite as two hex groups.
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const a = groups(halves[0]!);
  const b = halves.length === 2 ? groups(halves[1]!) : [];
  if (!a || !b) return undefined;
  const have = a.length + b.length;
  if (halves.length === 1 ? have !== 8 : have > 7) return undefined;
  const all = [...a, ...new Array<number>(8 - have).fill(0), ...b];
  return [0, 1, 2, 3].map((i) => ((all[2 * i]! << 16) | all[2 * i + 1]!) >>> 0) as [number, number, number, number];
}

/** Parses a peer address; IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(addr: string): Parsed | undefined {
  const a = normalizeAddress(addr);
  const v4 = parseV4(a);
  if (v4 !== undefined) return { v4: true, w: [0, 0, 0, v4] };
  const v6 = parseV6(a);
  if (!v6) return undefined;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) return { v4: true, w: [0, 0, 0, v6[3]] };
  return { v4: false, w: v6 };
}

interface Net {
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
    const full = parseV4([...parts, ...new Array<string>(4 - parts.length).fill('0')].join('.'));
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
  else if (a.v4 && parseV4(len) !== undefined) mask = [0xffffffff, 0xffffffff, 0xffffffff, parseV4(len)!];
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
        ((a.w[0] & n.mask[0]) >>> 0) === n.w[0] &&
        ((a.w[1] & n.mask[1]) >>> 0) === n.w[1] &&
        ((a.w[2] & n.mask[2]) >>> 0) === n.w[2] &&
        ((a.w[3] & n.mask[3]) >>> 0) === n.w[3]
      ) {
        return true;
      }
    }
    return false;
  }
}

/** A libwrap rule: clients (minus exceptions) get `allow`. First match wins. */
export interface HostsRule {
  readonly clients: AddressSet;
  readonly except: AddressSet;
  readonly allow: boolean;
}

export interface AccessPolicyConfig {
  /** Per class: explicitly allowed and denied patterns. */
  allow?: Partial<Record<OperationClass, readonly string[]>>;
  deny?: Partial<Record<OperationClass, readonly string[]>>;
  /** hosts.allow rules then hosts.deny rules for daemon rpcbind, in file order. */
  hostsRules?: readonly HostsRule[];
}

export type AccessDecision = 'allow' | 'deny';

/**
 * The decision for one call. A class allow-list match wins; else a class deny-list match
 * denies; else the hosts.allow / hosts.deny rules (libwrap order) decide; else allow. The
 * local socket is never filtered (as in rpcbind's libwrap check).
 */
export class AccessPolicy {
  readonly #allow: Record<OperationClass, AddressSet>;
  readonly #deny: Record<OperationClass, AddressSet>;
  readonly #hosts: readonly HostsRule[];
  readonly #trivial: boolean;

  constructor(c: AccessPolicyConfig = {}) {
    const sets = (src: AccessPolicyConfig['allow']): Record<OperationClass, AddressSet> => ({
      query: AddressSet.parse(src?.query ?? []),
      dump: AddressSet.parse(src?.dump ?? []),
      register: AddressSet.parse(src?.register ?? []),
      callit: AddressSet.parse(src?.callit ?? []),
    });
    this.#allow = sets(c.allow);
    this.#deny = sets(c.deny);
    this.#hosts = c.hostsRules ?? [];
    this.#trivial = this.#hosts.length === 0 && OPERATION_CLASSES.every((k) => this.#deny[k].empty);
  }

  /** Patterns that did not parse (reported by the daemon at start and reload). */
  get invalidPatterns(): string[] {
    return OPERATION_CLASSES.flatMap((k) => [...this.#allow[k].invalid, ...this.#deny[k].invalid]);
  }

  decide(cls: OperationClass, ctx: CallerContext): AccessDecision {
    if (ctx.netid === 'local' || this.#trivial) return 'allow';
    const a = parseAddress(ctx.peerAddress);
    if (!a) return 'deny';
    if (this.#allow[cls].hasParsed(a)) return 'allow';
    if (this.#deny[cls].hasParsed(a)) return 'deny';
    for (const r of this.#hosts) {
      if (r.clients.hasParsed(a) && !r.except.hasParsed(a)) return r.allow ? 'allow' : 'deny';
    }
    return 'allow';
  }

  /** Whether `addr` is on the allow list of any class (such callers are never shed). */
  allowListed(addr: string): boolean {
    const a = parseAddress(addr);
    return a !== undefined && OPERATION_CLASSES.some((k) => this.#allow[k].hasParsed(a));
  }

  /**
   * Largest reply for this call. Over UDP, callers other than loopback, this host's own
   * addresses and those explicitly allow-listed for the class get no reply larger than their
   * request (no amplification).
   */
  replyCap(cls: OperationClass, ctx: CallerContext, requestBytes: number, maxBytes: number): number {
    if (ctx.netid !== 'udp' && ctx.netid !== 'udp6') return maxBytes;
    if (mayAmplify(ctx)) return maxBytes;
    if (!this.#allow[cls].empty && this.#allow[cls].has(ctx.peerAddress)) return maxBytes;
    return Math.min(maxBytes, requestBytes);
  }
}
