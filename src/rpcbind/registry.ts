// The registration table: an ordered list (DUMP order: the portmapper's own entries, then every
// SET appended) with O(1) indexes for the lookups, and the reference's SET/UNSET rules.
// netids compare case-insensitively, as in rpcbind.

import { MAX_REGISTRATIONS, MAX_REGISTRATIONS_PER_OWNER } from '../limits.js';

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

function exactKey(prog: number, vers: number, netid: string): string {
  return `${prog}/${vers}/${netid.toLowerCase()}`;
}

function progNetidKey(prog: number, netid: string): string {
  return `${prog}/${netid.toLowerCase()}`;
}

function progVersKey(prog: number, vers: number): string {
  return `${prog}:${vers}`;
}

/** Appends to the array under key, creating it (a one-element array is far cheaper than a Map). */
function push(index: Map<string, Registration[]>, key: string, r: Registration): void {
  const arr = index.get(key);
  if (arr) arr.push(r);
  else index.set(key, [r]);
}

function drop(index: Map<string, Registration[]>, key: string, r: Registration): void {
  const arr = index.get(key);
  if (!arr) return;
  const i = arr.indexOf(r);
  if (i >= 0) arr.splice(i, 1);
  if (arr.length === 0) index.delete(key);
}

export class Registry {
  readonly #maxEntries: number;
  /** Every registration in list order; the value's identity is the entry. */
  readonly #list = new Set<Registration>();
  /** prog/vers/netid -> entry. */
  readonly #exact = new Map<string, Registration>();
  /** prog/netid -> entries of every version, in list order. */
  readonly #byProgNetid = new Map<string, Registration[]>();
  /** prog:vers -> entries of every netid, in list order. */
  readonly #byProgVers = new Map<string, Registration[]>();
  #generation = 0;
  readonly #maxPerOwner: number;
  /** Registrations held by each owner (the per-owner quota). */
  readonly #perOwner = new Map<string, number>();
  #listener: ChangeListener | undefined;

  constructor(maxEntries = MAX_REGISTRATIONS, maxPerOwner = MAX_REGISTRATIONS_PER_OWNER) {
    this.#maxEntries = maxEntries;
    this.#maxPerOwner = maxPerOwner;
  }

  get size(): number {
    return this.#list.size;
  }

  /** Increases on every change; lets callers cache encodings of the table. */
  get generation(): number {
    return this.#generation;
  }

  entries(): IterableIterator<Registration> {
    return this.#list.values();
  }

  /**
   * rpcbind's find_service: the entry for prog/vers/netid, or else the last-listed entry of
   * prog on netid with another version (the caller then learns the versions from the service).
   */
  find(prog: number, vers: number, netid: string): Registration | undefined {
    const exact = this.#exact.get(exactKey(prog, vers, netid));
    if (exact) return exact;
    const arr = this.#byProgNetid.get(progNetidKey(prog, netid));
    return arr?.[arr.length - 1];
  }

  /** Every netid's entry for prog/vers, in list order. */
  findAllNetids(prog: number, vers: number): readonly Registration[] {
    return this.#byProgVers.get(progVersKey(prog, vers)) ?? [];
  }

  /** Lowest and highest registered version of prog on netid (0, 0 when none). */
  versionRange(prog: number, netid: string): [number, number] {
    const arr = this.#byProgNetid.get(progNetidKey(prog, netid));
    if (!arr) return [0, 0];
    let low = Infinity;
    let high = 0;
    for (const r of arr) {
      if (r.vers < low) low = r.vers;
      if (r.vers > high) high = r.vers;
    }
    return [low, high];
  }

  /** SET: same prog/vers/netid and address is a no-op success; another address fails. */
  set(reg: Registration): SetResult {
    const existing = this.#exact.get(exactKey(reg.prog, reg.vers, reg.netid));
    if (existing) return existing.addr === reg.addr ? 'exists' : 'conflict';
    if (this.#list.size >= this.#maxEntries) return 'full';
    // The quota keeps unprivileged local users and unknown loopback callers from filling the
    // table; root's services (NFS registers dozens of entries) are bounded by the table cap only.
    if (reg.owner !== SUPERUSER && (this.#perOwner.get(reg.owner) ?? 0) >= this.#maxPerOwner) return 'full';
    this.#insert({ ...reg });
    return 'added';
  }

  /**
   * UNSET of prog/vers on netid (every netid when netid is ''). Entries are removed in list
   * order until one owned by somebody else is met, which makes the call fail (rpcbind's rule:
   * only the owner or the superuser may remove). Returns true when nothing blocked it.
   */
  unset(prog: number, vers: number, netid: string, owner: string): boolean {
    const arr = this.#byProgVers.get(progVersKey(prog, vers));
    if (!arr) return true;
    const lower = netid.toLowerCase();
    const targets = netid === '' ? [...arr] : arr.filter((r) => r.netid.toLowerCase() === lower);
    for (const r of targets) {
      if (owner !== SUPERUSER && r.owner !== owner) return false;
      this.#remove(r);
    }
    return true;
  }

  /** Sets (or with undefined, removes) the one listener told of every later change. */
  observe(listener: ChangeListener | undefined): void {
    this.#listener = listener;
  }

  /** Drops every entry (used when restoring state). */
  clear(): void {
    if (this.#listener) for (const r of this.#list) this.#listener('remove', r);
    this.#list.clear();
    this.#exact.clear();
    this.#byProgNetid.clear();
    this.#byProgVers.clear();
    this.#perOwner.clear();
    this.#generation++;
  }

  /** Adds an entry without the SET checks (restoring state, the portmapper's own entries). */
  restore(reg: Registration): void {
    if (this.#exact.has(exactKey(reg.prog, reg.vers, reg.netid))) return;
    this.#insert({ ...reg });
  }

  /**
   * restore() for many entries at once (a saved table). The entries become the registry's own:
   * the caller must not keep or change them.
   */
  restoreAll(entries: readonly Registration[]): void {
    for (const r of entries) if (!this.#exact.has(exactKey(r.prog, r.vers, r.netid))) this.#insert(r);
  }

  /** Removes the entry for prog/vers/netid whoever owns it (replaying a saved removal). */
  remove(prog: number, vers: number, netid: string): boolean {
    const r = this.#exact.get(exactKey(prog, vers, netid));
    if (!r) return false;
    this.#remove(r);
    return true;
  }

  #insert(r: Registration): void {
    this.#list.add(r);
    this.#perOwner.set(r.owner, (this.#perOwner.get(r.owner) ?? 0) + 1);
    this.#exact.set(exactKey(r.prog, r.vers, r.netid), r);
    push(this.#byProgNetid, progNetidKey(r.prog, r.netid), r);
    push(this.#byProgVers, progVersKey(r.prog, r.vers), r);
    this.#generation++;
    this.#listener?.('add', r);
  }

  #remove(r: Registration): void {
    this.#list.delete(r);
    const n = (this.#perOwner.get(r.owner) ?? 1) - 1;
    if (n > 0) this.#perOwner.set(r.owner, n);
    else this.#perOwner.delete(r.owner);
    this.#exact.delete(exactKey(r.prog, r.vers, r.netid));
    drop(this.#byProgNetid, progNetidKey(r.prog, r.netid), r);
    drop(this.#byProgVers, progVersKey(r.prog, r.vers), r);
    this.#generation++;
    this.#listener?.('remove', r);
  }
}
