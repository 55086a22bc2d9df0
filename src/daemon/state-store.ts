// Crash-safe storage of the registration table: every write is a whole new file, fsynced, renamed
// over the old one, and the directory fsynced. Group commit: persist() calls that arrive while a
// write is in flight all wait for the next write, so a burst costs a few fsyncs.

import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_STATE_FILE_BYTES } from '../limits.js';
import type { Registration } from '../rpcbind/index.js';
import type { TransportLog } from '../transport/handler.js';
import { decodeState, encodeState } from './state-format.js';

export const STATE_FILE_NAME = 'registrations.v1';
const TEMP_FILE_NAME = 'registrations.v1.tmp';

export type LoadResult =
  | { kind: 'missing' }
  | { kind: 'loaded'; entries: Registration[] }
  | { kind: 'discarded'; reason: string };

export interface StateStoreOptions {
  dir: string;
  log: TransportLog;
  /** The entries to save, read at the start of each write. */
  snapshot: () => Iterable<Registration>;
}

interface Waiters {
  promise: Promise<void>;
  resolve: () => void;
}

function waiters(): Waiters {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class StateStore {
  readonly dir: string;
  readonly file: string;
  readonly #temp: string;
  readonly #log: TransportLog;
  readonly #snapshot: () => Iterable<Registration>;
  /** Callers waiting for a write that has not started yet. */
  #next: Waiters | undefined;
  #writing: Promise<void> | undefined;
  #durable = true;
  #writes = 0;
  readonly #encoded = new WeakMap<Registration, Buffer>();

  constructor(o: StateStoreOptions) {
    this.dir = o.dir;
    this.file = join(o.dir, STATE_FILE_NAME);
    this.#temp = join(o.dir, TEMP_FILE_NAME);
    this.#log = o.log;
    this.#snapshot = o.snapshot;
  }

  /** False after a failed write, until a write succeeds again. */
  get durable(): boolean {
    return this.#durable;
  }

  /** Completed write attempts (for tests and benchmarks). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Reads the saved table. A missing file is an empty table; anything unreadable is moved
   * aside with a warning. Never throws.
   */
  load(): LoadResult {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      this.#log.error(`cannot create state directory ${this.dir}: ${(e as Error).message}`);
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { kind: 'missing' };
      const reason = `cannot read ${this.file}: ${(e as Error).message}`;
      this.#log.warn(`${reason}; starting with an empty table`);
      return { kind: 'discarded', reason };
    }
    const decoded =
      bytes.length > MAX_STATE_FILE_BYTES
        ? { ok: false as const, reason: `${bytes.length} bytes exceed the cap ${MAX_STATE_FILE_BYTES}` }
        : decodeState(bytes);
    if (decoded.ok) return { kind: 'loaded', entries: decoded.entries };
    const aside = `${this.file}.bad-${Date.now()}`;
    try {
      renameSync(this.file, aside);
      this.#log.warn(`state file ${this.file} is unusable (${decoded.reason}); moved to ${aside}; starting with an empty table`);
    } catch (e) {
      this.#log.warn(
        `state file ${this.file} is unusable (${decoded.reason}) and could not be moved aside (${(e as Error).message}); starting with an empty table`,
      );
    }
    return { kind: 'discarded', reason: decoded.reason };
  }

  /** Resolves once a write that started after this call has finished (or failed, logged). */
  persist(): Promise<void> {
    this.#next ??= waiters();
    const p = this.#next.promise;
    this.#writing ??= this.#drain();
    return p;
  }

  /** Writes, fsyncs and removes a small probe file; marks the store not durable on failure. */
  async checkWritable(): Promise<void> {
    const probe = join(this.dir, '.write-probe');
    try {
      const fh = await open(probe, 'w', 0o644);
      try {
        await fh.writeFile('ok');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await unlink(probe);
    } catch (e) {
      this.#durable = false;
      this.#log.error(
        `cannot write in state directory ${this.dir}: ${(e as Error).message}; REGISTRATIONS ARE NOT DURABLE and will be lost on restart`,
      );
    }
  }

  /** Waits for the write in flight and any requested after it. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#next) {
        const batch = this.#next;
        this.#next = undefined;
        const bytes = encodeState(this.#snapshot(), this.#encoded);
        await this.#write(bytes);
        batch.resolve();
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(bytes: Buffer): Promise<void> {
    this.#writes++;
    try {
      const fh = await open(this.#temp, 'w', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(this.#temp, this.file);
      const dh = await open(this.dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
      if (!this.#durable) this.#log.warn(`state is durable again in ${this.dir}`);
      this.#durable = true;
    } catch (e) {
      if (this.#durable) {
        this.#log.error(
          `cannot save registrations in ${this.dir}: ${(e as Error).message}; REGISTRATIONS ARE NOT DURABLE and will be lost on restart`,
        );
      }
      this.#durable = false;
      await unlink(this.#temp).catch(() => {});
    }
  }
}
