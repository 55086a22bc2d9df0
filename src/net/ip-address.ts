// IP address text: the IPv4-mapped folding, rpcbind's loopback rule, and a parser to four
// 32-bit words for matching against networks. No sockets; shared by every layer above.

/** Strips the IPv4-mapped prefix so one rule covers both spellings of an IPv4 peer. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/**
 * rpcbind's is_loopback: exactly 127.0.0.1 or ::1 (the reference refuses 127.0.0.2 and the
 * rest of 127/8 too).
 */
export function isLoopbackAddress(addr: string): boolean {
  const a = normalizeAddress(addr);
  return a === '127.0.0.1' || a === '::1';
}

/** An address as four 32-bit words (IPv4: the last word; `v4` set). */
export interface Parsed {
  v4: boolean;
  w: [number, number, number, number];
}

export function parseIPv4(s: string): number | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n >>> 0;
}

export function parseIPv6(s: string): [number, number, number, number] | undefined {
  const scope = s.indexOf('%');
  if (scope >= 0) s = s.slice(0, scope);
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite as two hex groups.
    const v4 = parseIPv4(s.slice(lastColon + 1));
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
  const v4 = parseIPv4(a);
  if (v4 !== undefined) return { v4: true, w: [0, 0, 0, v4] };
  const v6 = parseIPv6(a);
  if (!v6) return undefined;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) return { v4: true, w: [0, 0, 0, v6[3]] };
  return { v4: false, w: v6 };
}
