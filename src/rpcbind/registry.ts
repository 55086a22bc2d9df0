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

const SUPERUSER = 'superuser';

function progNetidKey(prog: number, netid: string): string {
  return `${prog}/${netid.toLowerCase()}`;
}

function progVersKey(prog: number, vers: number): string {
  return `${prog}:${vers}`;
}

export class Registry {
  readonly #maxEntries: number;
  /** Every registration in list order; the value's identity is the entry. */
  readonly #list = new Set<Registration>();
  /** prog/netid -> vers -> entry (insertion order = list order). */
  readonly #byProgNetid = new Map<string, Map<number, Registration>>();
  /** prog:vers -> netid -> entry (insertion order = list order). */
  readonly #byProgVers = new Map<string, Map<string, Registration>>();
  #generation = 0;
  readonly #maxPerOwner: number;
  /** Registrations held by each owner (the per-owner quota). */
  readonly #perOwner = new Map<string, number>();

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
    const byVers = this.#byProgNetid.get(progNetidKey(prog, netid));
    if (!byVers) return undefined;
    const exact = byVers.get(vers);
    if (exact) return exact;
    let last: Registration | undefined;
    for (const r of byVers.values()) last = r;
    return last;
  }

  /** Every netid's entry for prog/vers, in list order. */
  findAllNetids(prog: number, vers: number): Iterable<Registration> {
    return this.#byProgVers.get(progVersKey(prog, vers))?.values() ?? [];
  }

  /** Lowest and highest registered version of prog on netid (0, 0 when none). */
  versionRange(prog: number, netid: string): [number, number] {
    const byVers = this.#byProgNetid.get(progNetidKey(prog, netid));
    if (!byVers || byVers.size === 0) return [0, 0];
    let low = Infinity;
    let high = 0;
    for (const v of byVers.keys()) {
      if (v < low) low = v;
      if (v > high) high = v;
    }
    return [low, high];
  }

  /** SET: same prog/vers/netid and address is a no-op success; another address fails. */
  set(reg: Registration): SetResult {
    const byVers = this.#byProgNetid.get(progNetidKey(reg.prog, reg.netid));
    const existing = byVers?.get(reg.vers);
    if (existing) return existing.addr === reg.addr ? 'exists' : 'conflict';
    if (this.#list.size >= this.#maxEntries) return 'full';
    if ((this.#perOwner.get(reg.owner) ?? 0) >= this.#maxPerOwner) return 'full';
    this.#insert({ ...reg });
    return 'added';
  }

  /**
   * UNSET of prog/vers on netid (every netid when netid is ''). Entries are removed in list
   * order until one owned by somebody else is met, which makes the call fail (rpcbind's rule:
   * only the owner or the superuser may remove). Returns true when nothing blocked it.
   */
  unset(prog: number, vers: number, netid: string, owner: string): boolean {
    const byNetid = this.#byProgVers.get(progVersKey(prog, vers));
    if (!byNetid) return true;
    const targets = netid === '' ? [...byNetid.values()] : [byNetid.get(netid.toLowerCase())].filter((r) => r !== undefined);
    for (const r of targets) {
      if (owner !== SUPERUSER && r.owner !== owner) return false;
      this.#remove(r);
    }
    return true;
  }

  /** Drops every entry (used when restoring state). */
  clear(): void {
    this.#list.clear();
    this.#byProgNetid.clear();
    this.#byProgVers.clear();
    this.#perOwner.clear();
    this.#generation++;
  }

  /** Adds an entry without the SET checks (restoring state, the portmapper's own entries). */
  restore(reg: Registration): void {
    const byVers = this.#byProgNetid.get(progNetidKey(reg.prog, reg.netid));
    if (byVers?.has(reg.vers)) return;
    this.#insert({ ...reg });
  }

  #insert(r: Registration): void {
    this.#list.add(r);
    this.#perOwner.set(r.owner, (this.#perOwner.get(r.owner) ?? 0) + 1);
    const k1 = progNetidKey(r.prog, r.netid);
    let byVers = this.#byProgNetid.get(k1);
    if (!byVers) this.#byProgNetid.set(k1, (byVers = new Map()));
    byVers.set(r.vers, r);
    const k2 = progVersKey(r.prog, r.vers);
    let byNetid = this.#byProgVers.get(k2);
    if (!byNetid) this.#byProgVers.set(k2, (byNetid = new Map()));
    byNetid.set(r.netid.toLowerCase(), r);
    this.#generation++;
  }

  #remove(r: Registration): void {
    this.#list.delete(r);
    const n = (this.#perOwner.get(r.owner) ?? 1) - 1;
    if (n > 0) this.#perOwner.set(r.owner, n);
    else this.#perOwner.delete(r.owner);
    const k1 = progNetidKey(r.prog, r.netid);
    const byVers = this.#byProgNetid.get(k1);
    if (byVers) {
      byVers.delete(r.vers);
      if (byVers.size === 0) this.#byProgNetid.delete(k1);
    }
    const k2 = progVersKey(r.prog, r.vers);
    const byNetid = this.#byProgVers.get(k2);
    if (byNetid) {
      byNetid.delete(r.netid.toLowerCase());
      if (byNetid.size === 0) this.#byProgVers.delete(k2);
    }
    this.#generation++;
  }
}
