// Wires durable state into a daemon: restores the saved table (or imports Linux rpcbind's
// warm-start files when we have none), makes every change durable through the store (undoing
// those it could not save), and runs the background liveness checks. The portmapper's own
// entries are never saved.

import { MIN_REAP_INTERVAL_S } from '../../limits.js';
import { PMAP_PROG } from '../../proto/index.js';
import type { ChangeJournal, Registration, Registry } from '../../rpcbind/index.js';
import type { Change } from './journal-format.js';
import { StateStore, type FailurePolicy, type StoreLog } from './state-store.js';
import { consumeWarmStart, importWarmStart, RPCBIND_WARMSTART_DIR } from './warmstart-import.js';

export const DEFAULT_STATE_DIR = '/run/rpcbind-ts';

export interface PersistenceOptions {
  stateDir: string;
  /** Where Linux rpcbind keeps its warm-start files. */
  warmStartDir?: string;
  /** Seconds between liveness checks while running; 0: only after a restore. */
  reapIntervalS: number;
  registry: Registry;
  /** The portmapper's own entries, already in the registry. */
  self: readonly Registration[];
  log: StoreLog;
  /** What SET/UNSET get while the state cannot be saved (--state-failure). */
  policy: FailurePolicy;
  /** Told of every durable write: its duration and outcome (metrics). */
  onWrite?: (seconds: number, ok: boolean) => void;
  /** Told when the state stops (with the reason) or starts again being saved. */
  onHealth?: (durable: boolean, reason: string | undefined) => void;
}

export interface Persistence {
  /** The binding core's view: may a change be made, is it saved. */
  readonly journal: ChangeJournal;
  readonly store: StateStore;
  /** Starts the liveness check of restored entries and the periodic one. */
  startChecks(): void;
  /** Stops checks and waits for writes in flight. */
  close(): Promise<void>;
}

const key = (r: Registration): string => `${r.prog}:${r.vers}:${r.netid.toLowerCase()}:${r.addr}:${r.owner}`;

/** Puts a loaded state into the table: the snapshot's entries, then the journal's changes in order. */
export function replayLoaded(
  registry: Registry,
  loaded: { entries: Registration[]; changes: readonly Change[] },
): void {
  registry.restoreAll(loaded.entries);
  for (const c of loaded.changes) {
    if (c.op === 'add') registry.restore(c.reg);
    else registry.remove(c.reg.prog, c.reg.vers, c.reg.netid);
  }
}

/** Takes back changes that could not be saved, given newest first. */
export function undoChanges(registry: Registry, changes: readonly Change[]): void {
  for (const c of changes) {
    // An undone UNSET puts the entry back at the end of the list (DUMP order).
    if (c.op === 'add') registry.remove(c.reg.prog, c.reg.vers, c.reg.netid);
    else registry.restore(c.reg);
  }
}

/** What was restored at start-up, for the log line said once the daemon serves. */
interface Restored {
  report: string;
  restored: number;
  imported: boolean;
}

/** Fills the table from our own state files or, with none, from rpcbind's warm-start files. */
function restore(o: PersistenceOptions, store: StateStore): Restored {
  const { registry, log } = o;
  const loaded = store.load();
  if (loaded.kind === 'loaded') {
    replayLoaded(registry, loaded);
    const restored = registry.size - o.self.length;
    return { report: `restored ${restored} registrations from ${store.file}`, restored, imported: false };
  }
  if (loaded.kind === 'missing') {
    const warm = importWarmStart(o.warmStartDir ?? RPCBIND_WARMSTART_DIR);
    if (warm.kind === 'imported') {
      for (const p of warm.problems) log.warn(`rpcbind warm-start import: ${p}`);
      registry.restoreAll(warm.entries);
      const restored = warm.entries.length;
      return { report: `imported ${restored} registrations from rpcbind's warm-start files`, restored, imported: true };
    }
  }
  return { report: '', restored: 0, imported: false };
}

/** The background liveness checks: one after a restore, then every `reapIntervalS` if set. */
function livenessChecks(o: PersistenceOptions, journal: ChangeJournal) {
  const { registry, log } = o;
  const aborter = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<unknown> | undefined;
  const check = (why: string): void => {
    if (checking || aborter.signal.aborted) return;
    // Loaded on first use, after the start (it brings the RPC client side and node:crypto).
    checking = import('../liveness-check.js')
      .then(({ reapDeadRegistrations }) => reapDeadRegistrations({ registry, log, journal, signal: aborter.signal }))
      .then(
        // The check after a restore is an event (operators and tests wait for it); the
        // periodic ones are said only with -d.
        (n) => {
          if (why === 'periodic') log.debug(`liveness check (periodic): ${n} dropped`);
          else log.event('liveness-check-done', { reason: why, dropped: n });
        },
        (e) => log.error(`liveness check failed: ${(e as Error).stack ?? String(e)}`),
      )
      .finally(() => (checking = undefined));
  };
  return {
    start(restored: number): void {
      // The checks start after the first answers can go out: they never delay the start.
      if (restored > 0) setImmediate(() => check('restored entries'));
      if (o.reapIntervalS >= MIN_REAP_INTERVAL_S) {
        timer = setInterval(() => check('periodic'), o.reapIntervalS * 1000);
        timer.unref();
      }
    },
    stop(): void {
      aborter.abort();
      if (timer) clearInterval(timer);
    },
  };
}

/** Restores the table into `registry` (after the self entries) and returns the persistence handle. */
export function setUpPersistence(o: PersistenceOptions): Persistence {
  const { registry, log } = o;
  const selfKeys = new Set(o.self.map(key));
  const isSelf = (r: Registration): boolean => r.prog === PMAP_PROG && selfKeys.has(key(r));
  // Undoing a change must not journal it again.
  let undoing = false;
  const undo = (changes: readonly Change[]): void => {
    undoing = true;
    try {
      undoChanges(registry, changes);
    } finally {
      undoing = false;
    }
  };
  const store = new StateStore({
    dir: o.stateDir,
    log,
    policy: o.policy,
    undo,
    ...(o.onWrite ? { onWrite: o.onWrite } : {}),
    ...(o.onHealth ? { onHealth: o.onHealth } : {}),
    // Made entry by entry from the table's columns as the snapshot is encoded.
    snapshot: () => ({
      *[Symbol.iterator]() {
        for (const r of registry.entries()) if (!isSelf(r)) yield r;
      },
    }),
  });
  // Logged once the daemon serves, so that a failed start stays one line.
  const { report, restored, imported } = restore(o, store);
  // From here every change goes to the journal; the portmapper's own entries are never saved.
  registry.observe((op, r) => {
    if (!undoing && !isSelf(r)) store.record(op, r);
  });
  const journal: ChangeJournal = {
    accepting: () => store.accepting(),
    persist: () => store.persist(),
    refused: () => store.refused(),
  };
  const checks = livenessChecks(o, journal);
  let first: Promise<unknown> | undefined;
  return {
    journal,
    store,
    startChecks() {
      if (report) log.info(report);
      // The first write reopens the journal (cutting an unfinished last record) or, without a
      // usable snapshot, writes one: an import or a migration becomes ours at once. A failure
      // begins an episode (logged by the store). It waits one turn of the event loop, so that
      // calls already queued are answered first (bench: first answer after start).
      first = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => store.open())
        .then((saved) => {
          // Imported entries are ours once written: rpcbind's files go, as rpcbind removes them.
          if (saved && imported) {
            for (const p of consumeWarmStart(o.warmStartDir ?? RPCBIND_WARMSTART_DIR))
              log.warn(`rpcbind warm-start import: ${p}`);
          }
        });
      checks.start(restored);
    },
    async close() {
      checks.stop();
      await first;
      registry.observe(undefined);
      await store.close();
    },
  };
}
