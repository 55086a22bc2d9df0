// The registration table: an ordered list (DUMP order: the portmapper's own entries, then every
// SET appended) with a per-program index for the lookups, and the reference's SET/UNSET rules.
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

/**
 * The rows of one program, in list order. Programs have a handful of rows (versions x netids),
 * which a scan finds faster than a string-keyed map can be filled: a restart of 100k entries
 * spent most of its time building such keys (bench/restart-time.ts). A program with more rows
 * than SCAN_ROWS gets a vers/netid map, so that SET stays O(1) however a table is shaped.
 */
interface ProgRows {
  rows: Registration[];
  byVersNetid: Map<string, Registration> | undefined;
}

/** Most programs have one row: it is stored as it is (a restart allocates ~3 objects fewer per entry). */
type ProgSlot = Registration | ProgRows;

const isRows = (s: ProgSlot): s is ProgRows => (s as ProgRows).rows !== undefined;
const rowsOf = (s: ProgSlot | undefined): readonly Registration[] => (s === undefined ? [] : isRows(s) ? s.rows : [s]);

const SCAN_ROWS = 16;

const versNetidKey = (vers: number, lowerNetid: string): string => `${vers}/${lowerNetid}`;

/** netid equality, case-insensitively, against an already lowercased netid. */
function sameNetid(netid: string, lower: string): boolean {
  return netid === lower || (netid.length === lower.length && netid.toLowerCase() === lower);
}

export class Registry {
  readonly #maxEntries: number;
  /** Every registration in list order; the value's identity is the entry. */
  readonly #list = new Set<Registration>();
  /** prog -> its row or rows. */
  readonly #byProg = new Map<number, ProgSlot>();
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
    const p = this.#byProg.get(prog);
    if (!p) return undefined;
    const lower = netid.toLowerCase();
    const exact = this.#exactIn(p, vers, lower);
    if (exact) return exact;
    const rows = rowsOf(p);
    for (let i = rows.length - 1; i >= 0; i--) if (sameNetid(rows[i]!.netid, lower)) return rows[i];
    return undefined;
  }

  /** Every netid's entry for prog/vers, in list order. */
  findAllNetids(prog: number, vers: number): readonly Registration[] {
    return rowsOf(this.#byProg.get(prog)).filter((r) => r.vers === vers);
  }

  /** Lowest and highest registered version of prog on netid (0, 0 when none). */
  versionRange(prog: number, netid: string): [number, number] {
    const lower = netid.toLowerCase();
    let low = Infinity;
    let high = 0;
    for (const r of rowsOf(this.#byProg.get(prog))) {
      if (!sameNetid(r.netid, lower)) continue;
      if (r.vers < low) low = r.vers;
      if (r.vers > high) high = r.vers;
    }
    return low === Infinity ? [0, 0] : [low, high];
  }

  /** SET: same prog/vers/netid and address is a no-op success; another address fails. */
  set(reg: Registration): SetResult {
    const existing = this.#exact(reg.prog, reg.vers, reg.netid);
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
    const lower = netid.toLowerCase();
    const targets = rowsOf(this.#byProg.get(prog)).filter((r) => r.vers === vers && (netid === '' || sameNetid(r.netid, lower)));
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
    this.#byProg.clear();
    this.#perOwner.clear();
    this.#generation++;
  }

  /** Adds an entry without the SET checks (restoring state, the portmapper's own entries). */
  restore(reg: Registration): void {
    if (this.#exact(reg.prog, reg.vers, reg.netid)) return;
    this.#insert({ ...reg });
  }

  /**
   * restore() for many entries at once (a saved table). The entries become the registry's own:
   * the caller must not keep or change them.
   */
  restoreAll(entries: readonly Registration[]): void {
    for (const r of entries) if (!this.#exact(r.prog, r.vers, r.netid)) this.#insert(r);
  }

  /** Removes the entry for prog/vers/netid whoever owns it (replaying a saved removal). */
  remove(prog: number, vers: number, netid: string): boolean {
    const r = this.#exact(prog, vers, netid);
    if (!r) return false;
    this.#remove(r);
    return true;
  }

  #exact(prog: number, vers: number, netid: string): Registration | undefined {
    const p = this.#byProg.get(prog);
    return p && this.#exactIn(p, vers, netid.toLowerCase());
  }

  #exactIn(p: ProgSlot, vers: number, lower: string): Registration | undefined {
    if (!isRows(p)) return p.vers === vers && sameNetid(p.netid, lower) ? p : undefined;
    if (p.byVersNetid) return p.byVersNetid.get(versNetidKey(vers, lower));
    for (const r of p.rows) if (r.vers === vers && sameNetid(r.netid, lower)) return r;
    return undefined;
  }

  #insert(r: Registration): void {
    this.#list.add(r);
    this.#perOwner.set(r.owner, (this.#perOwner.get(r.owner) ?? 0) + 1);
    const p = this.#byProg.get(r.prog);
    if (!p) {
      this.#byProg.set(r.prog, r);
    } else if (!isRows(p)) {
      this.#byProg.set(r.prog, { rows: [p, r], byVersNetid: undefined });
    } else {
      p.rows.push(r);
      if (p.byVersNetid) p.byVersNetid.set(versNetidKey(r.vers, r.netid.toLowerCase()), r);
      else if (p.rows.length > SCAN_ROWS) p.byVersNetid = new Map(p.rows.map((x) => [versNetidKey(x.vers, x.netid.toLowerCase()), x]));
    }
    this.#generation++;
    this.#listener?.('add', r);
  }

  #remove(r: Registration): void {
    this.#list.delete(r);
    const n = (this.#perOwner.get(r.owner) ?? 1) - 1;
    if (n > 0) this.#perOwner.set(r.owner, n);
    else this.#perOwner.delete(r.owner);
    const p = this.#byProg.get(r.prog);
    if (p === r) {
      this.#byProg.delete(r.prog);
    } else if (p && isRows(p)) {
      const i = p.rows.indexOf(r);
      if (i >= 0) p.rows.splice(i, 1);
      p.byVersNetid?.delete(versNetidKey(r.vers, r.netid.toLowerCase()));
      if (p.rows.length === 0) this.#byProg.delete(r.prog);
    }
    this.#generation++;
    this.#listener?.('remove', r);
  }
}
