// The daemon's resident memory (issue 16: RSS <= 64 MiB with 100,000 registrations after load).
// Measured with bench/memory-probe.ts and /proc/PID/smaps, two parts of the RSS were not the
// daemon's working set:
//
// - malloc's dynamic mmap threshold. glibc raises it to the size of any mmap'ed block freed,
//   up to 32 MiB; after that, ArrayBuffers of a few MiB (the table's columns as they grow, the
//   cached DUMP reply) come from the brk heap, and the holes they leave stay resident (~11 MiB
//   of [heap] at 100k after load, against ~5 MiB with the threshold fixed). Setting it fixes
//   it at glibc's own initial 128 KiB: large blocks are mapped and unmapped on their own.
// - File pages mapped during start-up and not used again. Node's binary is ~100 MB; a start
//   maps ~34 MiB of it (the dynamic symbol table, start-up code, the snapshot; the kernel maps
//   64 KiB around each page fault), of which ~10-20 MiB are what the running daemon executes
//   and reads. Once the daemon serves, it tells the kernel (madvise MADV_DONTNEED) to drop its
//   mappings of those pages: pages it uses again are mapped again from the page cache on their
//   next access, as they were the first time. Only private, read-only file mappings holding
//   no private (copied-on-write) page are dropped, so what is read back is what was there.
//
// Both go through libc (koffi); without it, or on an error, the daemon runs as it would
// without them.

import { readFileSync } from 'node:fs';
import type { Libc } from '../os/libc.js';

/** mallopt(3) parameter: the size from which malloc maps a block on its own. */
const M_MMAP_THRESHOLD = -3;
/** glibc's initial (and, unless changed, lowest) M_MMAP_THRESHOLD. */
const MMAP_THRESHOLD_BYTES = 128 * 1024;
const MADV_DONTNEED = 4;

/** A mapping of /proc/self/smaps that may be dropped, with its resident KiB. */
export interface DroppableMapping {
  start: number;
  length: number;
  rssKiB: number;
  path: string;
}

/**
 * The mappings of an smaps text whose resident pages can be dropped without losing anything:
 * backed by a file (an absolute path, not deleted), private, neither writable nor holding
 * anonymous (copied-on-write) pages, and with some page resident.
 */
export function droppableMappings(smaps: string): DroppableMapping[] {
  const out: DroppableMapping[] = [];
  let cur: (DroppableMapping & { perms: string; anonKiB: number }) | undefined;
  const flush = (): void => {
    if (!cur) return;
    const ok = /^r-[x-]p$/.test(cur.perms) && cur.path.startsWith('/') && !cur.path.endsWith(' (deleted)');
    if (ok && cur.anonKiB === 0 && cur.rssKiB > 0)
      out.push({ start: cur.start, length: cur.length, rssKiB: cur.rssKiB, path: cur.path });
    cur = undefined;
  };
  for (const line of smaps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      flush();
      const start = parseInt(m[1]!, 16);
      const end = parseInt(m[2]!, 16);
      // -1 until the Anonymous: line is seen: a mapping without one is not dropped.
      cur = { start, length: end - start, perms: m[3]!, path: m[4]!, rssKiB: 0, anonKiB: -1 };
      continue;
    }
    if (!cur) continue;
    const f = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (f?.[1] === 'Rss') cur.rssKiB = Number(f[2]);
    else if (f?.[1] === 'Anonymous') cur.anonKiB = Number(f[2]);
  }
  flush();
  return out;
}

/** Fixes malloc's mmap threshold (see the top of this file); false if libc said no. */
export function fixMallocThreshold(libc: Libc): boolean {
  return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) === 1;
}

/**
 * Drops the process's mappings of its clean read-only file pages and returns malloc's free
 * memory to the kernel; returns the KiB that were resident in the dropped mappings.
 */
export function releaseStartupPages(
  libc: Libc,
  smaps = (): string => readFileSync('/proc/self/smaps', 'utf8'),
): number {
  let kib = 0;
  for (const m of droppableMappings(smaps())) {
    if (libc.madvise(m.start, m.length, MADV_DONTNEED) === 0) kib += m.rssKiB;
  }
  libc.mallocTrim(0);
  return kib;
}

/** How often, and how many times at most, `whenIdle` looks for a quiet moment. */
export interface IdleWait {
  readonly everyMs: number;
  readonly tries: number;
  /** CPU time (µs, user + system) in one period below which the process counts as idle. */
  readonly idleCpuUs: number;
}

/**
 * Runs `fn` at the first period of `everyMs` in which this process used less than `idleCpuUs`
 * of CPU, or after `tries` periods in any case: the page drop costs a pause of a few ms (reading
 * smaps, then the pages mapped again as they are used), which should not land among calls being
 * answered (bench/set-latency.ts: the largest SET wait went from 7-9 to 13-15 ms with a fixed
 * delay). The timer does not keep the process alive. Returns a cancel function.
 */
export function whenIdle(
  fn: () => void,
  wait: IdleWait,
  cpuUs = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
): () => void {
  let last = cpuUs();
  let left = wait.tries;
  let done = false;
  const timer = setInterval(() => {
    if (done) return;
    const now = cpuUs();
    const used = now - last;
    last = now;
    left--;
    if (used < wait.idleCpuUs || left <= 0) {
      done = true;
      clearInterval(timer);
      fn();
    }
  }, wait.everyMs);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}
