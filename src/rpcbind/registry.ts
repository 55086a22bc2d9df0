// The registration table: an ordered list (DUMP order: the portmapper's own entries, then every
// SET appended) with a per-program index for the lookups, and the reference's SET/UNSET rules.
// netids compare case-insensitively, as in rpcbind.
//
// Entries live in columns (typed arrays for the numbers and links, arrays of shared strings),
// not one object each: 100k entries took ~19 MB of JS heap as objects in a Set and a Map, and
// the old space's growth multiplies whatever the heap holds (bench/memory-probe.ts, issue 8).
// Registration objects are made when asked for; a few recently looked-up ones are kept, so that
// a hot entry keeps its identity (per-entry caches such as GETADDR's merged address).

import { MAX_REGISTRATIONS, MAX_REGISTRATIONS_PER_OWNER } from '../limits.js';
import { ProgIndex } from './prog-index.js';

export interface Registration {
  readonly prog: number;
  readonly vers: number;
  readonly netid: string;
  readonly addr: string;
  readonly owner: string;
}

export type SetResult = 'added' | 'exists' | 'conflict' | 'full';

/** Told of every entry added to or removed from the table (the persistence journal). */
export type ChangeListener = (op: 'add' | 'remove', reg: Registration) => void;

const SUPERUSER = 'superuser';
const NONE = -1;
/** `prev` of a slot on the free list. */
const FREE = -2;
const MIN_SLOTS = 16;

/**
 * A program with more rows than this gets a vers/netid map, so that SET stays O(1) however a
 * table is shaped; below it a scan of the program's chain is cheaper than building keys.
 */
const SCAN_ROWS = 16;
/** Registration objects kept for looked-up entries; past it they are all dropped. */
const MAX_KEPT_VIEWS = 1024;
/** Distinct strings kept for sharing (netids, owners, and addresses, which services repeat). */
const MAX_INTERNED_STRINGS = 1024;

const versNetidKey = (vers: number, lowerNetid: string): string => `${vers}/${lowerNetid}`;

/** netid equality, case-insensitively, against an already lowercased netid. */
function sameNetid(netid: string, lower: string): boolean {
  return netid === lower || (netid.length === lower.length && netid.toLowerCase() === lower);
}

export class Registry {
  readonly #maxEntries: number;
  #maxPerOwner: number;
  // Slot columns. A slot is in the list (prev/next, list order) and in its program's chain
  // (progNext, newest first, so the last-listed row of a program is met first).
  #prog = new Uint32Array(MIN_SLOTS);
  #vers = new Uint32Array(MIN_SLOTS);
  #prev = new Int32Array(MIN_SLOTS);
  #next = new Int32Array(MIN_SLOTS);
  #progNext = new Int32Array(MIN_SLOTS);
  #netid: Array<string | undefined> = new Array<string | undefined>(MIN_SLOTS);
  #addr: Array<string | undefined> = new Array<string | undefined>(MIN_SLOTS);
  #owner: Array<string | undefined> = new Array<string | undefined>(MIN_SLOTS);
  /** Slots ever used; those below it are in the list or on the free list. */
  #used = 0;
  #freeHead = NONE;
  #head = NONE;
  #tail = NONE;
  #size = 0;
  /** prog -> the slot of its newest row. */
  readonly #byProg = new ProgIndex();
  /** Programs with more than SCAN_ROWS rows: vers/lowercased netid -> slot. */
  readonly #bigProgs = new Map<number, Map<string, number>>();
  readonly #views = new Map<number, Registration>();
  readonly #interned = new Map<string, string>();
  #generation = 0;
  /** Registrations held by each owner (the per-owner quota). */
  readonly #perOwner = new Map<string, number>();
  #listener: ChangeListener | undefined;
  /** Told once at the next change, then forgotten (caches of the table's encodings). */
  #atNextChange: Array<() => void> = [];

  constructor(maxEntries = MAX_REGISTRATIONS, maxPerOwner = MAX_REGISTRATIONS_PER_OWNER) {
    this.#maxEntries = maxEntries;
    this.#maxPerOwner = maxPerOwner;
  }

  /** A new per-owner quota (reload) for the SETs to come; entries held already stay. */
  setMaxPerOwner(n: number): void {
    this.#maxPerOwner = n;
  }

  get size(): number {
    return this.#size;
  }

  /** Increases on every change; lets callers cache encodings of the table. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Calls `fn` once, at the next change of the table: a cache of an encoding of it lets go of
   * the stale bytes then (a 100k-entry DUMP list is ~6 MB) rather than at the next DUMP.
   */
  atNextChange(fn: () => void): void {
    this.#atNextChange.push(fn);
  }

  #changed(): void {
    this.#generation++;
    if (this.#atNextChange.length === 0) return;
    const fns = this.#atNextChange;
    this.#atNextChange = [];
    for (const fn of fns) fn();
  }

  /** Every registration in list order (objects made as it goes: do not keep them all). */
  *entries(): IterableIterator<Registration> {
    for (let s = this.#head; s !== NONE; s = this.#next[s]!) yield this.#views.get(s) ?? this.#make(s);
  }

  /**
   * rpcbind's find_service: the entry for prog/vers/netid, or else the last-listed entry of
   * prog on netid with another version (the caller then learns the versions from the service).
   */
  find(prog: number, vers: number, netid: string): Registration | undefined {
    const first = this.#byProg.get(prog);
    if (first === NONE) return undefined;
    const lower = netid.toLowerCase();
    let s = this.#exactFrom(first, prog, vers, lower);
    if (s === NONE) {
      for (s = first; s !== NONE && !sameNetid(this.#netid[s]!, lower); s = this.#progNext[s]!);
    }
    return s === NONE ? undefined : this.#view(s);
  }

  /** Every netid's entry for prog/vers, in list order. */
  findAllNetids(prog: number, vers: number): readonly Registration[] {
    const out: Registration[] = [];
    for (let s = this.#byProg.get(prog); s !== NONE; s = this.#progNext[s]!)
      if (this.#vers[s] === vers) out.push(this.#view(s));
    return out.reverse();
  }

  /** Lowest and highest registered version of prog on netid (0, 0 when none). */
  versionRange(prog: number, netid: string): [number, number] {
    const lower = netid.toLowerCase();
    let low = Infinity;
    let high = 0;
    for (let s = this.#byProg.get(prog); s !== NONE; s = this.#progNext[s]!) {
      if (!sameNetid(this.#netid[s]!, lower)) continue;
      const v = this.#vers[s]!;
      if (v < low) low = v;
      if (v > high) high = v;
    }
    return low === Infinity ? [0, 0] : [low, high];
  }

  /** SET: same prog/vers/netid and address is a no-op success; another address fails. */
  set(reg: Registration): SetResult {
    const existing = this.#exact(reg.prog, reg.vers, reg.netid);
    if (existing !== NONE) return this.#addr[existing] === reg.addr ? 'exists' : 'conflict';
    if (this.#size >= this.#maxEntries) return 'full';
    // The quota keeps unprivileged local users and unknown loopback callers from filling the
    // table; root's services (NFS registers dozens of entries) are bounded by the table cap only.
    if (reg.owner !== SUPERUSER && (this.#perOwner.get(reg.owner) ?? 0) >= this.#maxPerOwner) return 'full';
    this.#insert(reg);
    return 'added';
  }

  /**
   * UNSET of prog/vers on netid (every netid when netid is ''). Entries are removed in list
   * order until one owned by somebody else is met, which makes the call fail (rpcbind's rule:
   * only the owner or the superuser may remove). Returns true when nothing blocked it.
   */
  unset(prog: number, vers: number, netid: string, owner: string): boolean {
    const lower = netid.toLowerCase();
    const targets: number[] = [];
    for (let s = this.#byProg.get(prog); s !== NONE; s = this.#progNext[s]!) {
      if (this.#vers[s] === vers && (netid === '' || sameNetid(this.#netid[s]!, lower))) targets.push(s);
    }
    for (let i = targets.length - 1; i >= 0; i--) {
      const s = targets[i]!;
      if (owner !== SUPERUSER && this.#owner[s] !== owner) return false;
      this.#remove(s);
    }
    return true;
  }

  /** Sets (or with undefined, removes) the one listener told of every later change. */
  observe(listener: ChangeListener | undefined): void {
    this.#listener = listener;
  }

  /** Drops every entry (used when restoring state). */
  clear(): void {
    if (this.#listener) for (const r of this.entries()) this.#listener('remove', r);
    this.#prog = new Uint32Array(MIN_SLOTS);
    this.#vers = new Uint32Array(MIN_SLOTS);
    this.#prev = new Int32Array(MIN_SLOTS);
    this.#next = new Int32Array(MIN_SLOTS);
    this.#progNext = new Int32Array(MIN_SLOTS);
    this.#netid = new Array<string | undefined>(MIN_SLOTS);
    this.#addr = new Array<string | undefined>(MIN_SLOTS);
    this.#owner = new Array<string | undefined>(MIN_SLOTS);
    this.#used = 0;
    this.#freeHead = this.#head = this.#tail = NONE;
    this.#size = 0;
    this.#byProg.clear();
    this.#bigProgs.clear();
    this.#views.clear();
    this.#perOwner.clear();
    this.#changed();
  }

  /** Adds an entry without the SET checks (restoring state, the portmapper's own entries). */
  restore(reg: Registration): void {
    if (this.#exact(reg.prog, reg.vers, reg.netid) === NONE) this.#insert(reg);
  }

  /** restore() for many entries at once (a saved table). */
  restoreAll(entries: Iterable<Registration>): void {
    for (const r of entries) this.restore(r);
  }

  /** Removes the entry for prog/vers/netid whoever owns it (replaying a saved removal). */
  remove(prog: number, vers: number, netid: string): boolean {
    const s = this.#exact(prog, vers, netid);
    if (s === NONE) return false;
    this.#remove(s);
    return true;
  }

  #exact(prog: number, vers: number, netid: string): number {
    const first = this.#byProg.get(prog);
    return first === NONE ? NONE : this.#exactFrom(first, prog, vers, netid.toLowerCase());
  }

  #exactFrom(first: number, prog: number, vers: number, lower: string): number {
    const big = this.#bigProgs.get(prog);
    if (big) return big.get(versNetidKey(vers, lower)) ?? NONE;
    for (let s = first; s !== NONE; s = this.#progNext[s]!) {
      if (this.#vers[s] === vers && sameNetid(this.#netid[s]!, lower)) return s;
    }
    return NONE;
  }

  #make(s: number): Registration {
    return {
      prog: this.#prog[s]!,
      vers: this.#vers[s]!,
      netid: this.#netid[s]!,
      addr: this.#addr[s]!,
      owner: this.#owner[s]!,
    };
  }

  /** The entry's object, the same one while it stays among the recently looked-up. */
  #view(s: number): Registration {
    let r = this.#views.get(s);
    if (r === undefined) {
      if (this.#views.size >= MAX_KEPT_VIEWS) this.#views.clear();
      r = this.#make(s);
      this.#views.set(s, r);
    }
    return r;
  }

  /** One shared copy of strings that repeat across entries. */
  #intern(s: string): string {
    const kept = this.#interned.get(s);
    if (kept !== undefined) return kept;
    if (this.#interned.size >= MAX_INTERNED_STRINGS) this.#interned.clear();
    this.#interned.set(s, s);
    return s;
  }

  #allocSlot(): number {
    if (this.#freeHead !== NONE) {
      const s = this.#freeHead;
      this.#freeHead = this.#next[s]!;
      return s;
    }
    if (this.#used === this.#prog.length) this.#grow(this.#prog.length * 2);
    return this.#used++;
  }

  #grow(slots: number): void {
    const grow32 = <T extends Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(slots);
      b.set(a);
      return b;
    };
    this.#prog = grow32(this.#prog, (n) => new Uint32Array(n));
    this.#vers = grow32(this.#vers, (n) => new Uint32Array(n));
    this.#prev = grow32(this.#prev, (n) => new Int32Array(n));
    this.#next = grow32(this.#next, (n) => new Int32Array(n));
    this.#progNext = grow32(this.#progNext, (n) => new Int32Array(n));
    for (const col of [this.#netid, this.#addr, this.#owner]) col.length = slots;
  }

  #insert(r: Registration): void {
    const s = this.#allocSlot();
    const prog = r.prog >>> 0;
    this.#prog[s] = prog;
    this.#vers[s] = r.vers >>> 0;
    this.#netid[s] = this.#intern(r.netid);
    this.#addr[s] = this.#intern(r.addr);
    this.#owner[s] = this.#intern(r.owner);
    this.#prev[s] = this.#tail;
    this.#next[s] = NONE;
    if (this.#tail === NONE) this.#head = s;
    else this.#next[this.#tail] = s;
    this.#tail = s;
    this.#size++;
    const first = this.#byProg.get(prog);
    this.#progNext[s] = first;
    this.#byProg.set(prog, s);
    const big = this.#bigProgs.get(prog);
    if (big) {
      big.set(versNetidKey(r.vers >>> 0, r.netid.toLowerCase()), s);
    } else if (first !== NONE) {
      let rows = 0;
      for (let x = s; x !== NONE; x = this.#progNext[x]!) rows++;
      if (rows > SCAN_ROWS) {
        // Keys are unique: no two rows share vers and netid (SET and restore check).
        const m = new Map<string, number>();
        for (let x = s; x !== NONE; x = this.#progNext[x]!)
          m.set(versNetidKey(this.#vers[x]!, this.#netid[x]!.toLowerCase()), x);
        this.#bigProgs.set(prog, m);
      }
    }
    this.#perOwner.set(this.#owner[s]!, (this.#perOwner.get(this.#owner[s]!) ?? 0) + 1);
    this.#changed();
    this.#listener?.('add', this.#make(s));
  }

  #remove(s: number): void {
    const removed = this.#listener ? (this.#views.get(s) ?? this.#make(s)) : undefined;
    const prog = this.#prog[s]!;
    // Out of the program's chain.
    const first = this.#byProg.get(prog);
    if (first === s) {
      const rest = this.#progNext[s]!;
      if (rest === NONE) this.#byProg.delete(prog);
      else this.#byProg.set(prog, rest);
    } else {
      let x = first;
      while (this.#progNext[x] !== s) x = this.#progNext[x]!;
      this.#progNext[x] = this.#progNext[s]!;
    }
    const big = this.#bigProgs.get(prog);
    if (big) {
      big.delete(versNetidKey(this.#vers[s]!, this.#netid[s]!.toLowerCase()));
      if (big.size === 0) this.#bigProgs.delete(prog);
    }
    // Out of the list.
    const prev = this.#prev[s]!;
    const next = this.#next[s]!;
    if (prev === NONE) this.#head = next;
    else this.#next[prev] = next;
    if (next === NONE) this.#tail = prev;
    else this.#prev[next] = prev;
    const owner = this.#owner[s]!;
    const n = (this.#perOwner.get(owner) ?? 1) - 1;
    if (n > 0) this.#perOwner.set(owner, n);
    else this.#perOwner.delete(owner);
    this.#views.delete(s);
    this.#netid[s] = this.#addr[s] = this.#owner[s] = undefined;
    this.#prev[s] = FREE;
    this.#next[s] = this.#freeHead;
    this.#freeHead = s;
    this.#size--;
    this.#changed();
    if (removed) this.#listener?.('remove', removed);
  }
}
