// IP address text: the IPv4-mapped folding, rpcbind's loopback rule, a parser to four 32-bit
// words for matching against networks (and to the 16 bytes of a sockaddr_in6), and the one
// formatter of address bytes as inet_ntop writes them. No sockets; shared by every layer above.

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

/** The 16 bytes of an IPv6 address written in any textual form (a zone index is ignored). */
export function ipv6Bytes(s: string): Buffer | undefined {
  const w = parseIPv6(s);
  if (!w) return undefined;
  const b = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) b.writeUInt32BE(w[i]!, 4 * i);
  return b;
}

/** A 32-bit IPv4 address (network order read as a number) in dotted-quad form. */
export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * 16 address bytes as inet_ntop writes them (BIND's, which glibc and libuv both carry, so the
 * text equals Node's and the reference rpcbind's): the longest run of two or more zero groups
 * (the first of equals) as "::", lowercase hex, and an embedded IPv4 address for ::a.b.c.d and
 * ::ffff:a.b.c.d.
 */
export function formatIPv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  const [bestBase, bestLen] = longestZeroRun(words);
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** [start, length] of the first longest run of at least two zero words; [-1, 0] when none. */
function longestZeroRun(words: readonly number[]): [number, number] {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < words.length; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < words.length && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  return bestLen < 2 ? [-1, 0] : [bestBase, bestLen];
}
