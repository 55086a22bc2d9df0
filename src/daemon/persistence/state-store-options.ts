// What a StateStore is given (the policy, the snapshot source, the hooks), and the shared promise
// its callers wait on; apart from state-store.ts to keep that file about when to write what.

import type { Registration } from '../../rpcbind/index.js';
import type { Change } from './journal-format.js';
import type { StoreLog } from './state-episode.js';
import type { FileIo } from './state-io.js';

/** What changes get while the state cannot be saved: refused (answered FALSE), or kept in memory. */
export type FailurePolicy = 'refuse' | 'accept';

export interface StateStoreOptions {
  dir: string;
  log: StoreLog;
  /**
   * The entries to save in a snapshot, read synchronously when a compaction starts (walked
   * twice, see encodeSnapshot).
   */
  snapshot: () => Iterable<Registration>;
  /** Undoes changes that could not be saved, given newest first (policy 'refuse'). */
  undo?: (changes: readonly Change[]) => void;
  policy?: FailurePolicy;
  /** Told of every write (journal append or compaction): its duration and outcome. */
  onWrite?: (seconds: number, ok: boolean) => void;
  /** Told when the state stops (with the reason) or starts again being saved. */
  onHealth?: (durable: boolean, reason: string | undefined) => void;
  /** File operations (tests inject faults); by default chosen for the directory's file system. */
  io?: FileIo;
}

/** A promise shared by the callers waiting for one write, and its resolver. */
export interface Waiters {
  promise: Promise<boolean>;
  resolve: (saved: boolean) => void;
}

export function waiters(): Waiters {
  let resolve!: (saved: boolean) => void;
  const promise = new Promise<boolean>((r) => (resolve = r));
  return { promise, resolve };
}
