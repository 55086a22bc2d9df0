// An episode of the state store: from the first failure to save (a failed write or sync, a
// used-up reserve, a removed file) to the snapshot that ends it. Said once at each end (the log
// events state-not-durable and state-durable-again, and a health callback for the metric and
// systemd's status line); in between, retries after a wait that doubles up to a bound.

import { STATE_RETRY_FIRST_MS, STATE_RETRY_MAX_MS } from '../../limits.js';
import type { TransportLog } from '../../transport/handler.js';

/** What the store logs through: the transport's levels, and events with stable names. */
export interface StoreLog extends TransportLog {
  event(
    name: string,
    fields: Readonly<Record<string, string | number | boolean | undefined>>,
    level?: 'info' | 'notice' | 'warn' | 'error',
  ): void;
}

export interface EpisodeOptions {
  dir: string;
  log: StoreLog;
  /** What the changes get meanwhile, for the log line ('refuse' or 'accept'). */
  policy: () => 'refuse' | 'accept';
  /** Starts a try to save again (a full snapshot). */
  retry: () => void;
  onHealth?: ((durable: boolean, reason: string | undefined) => void) | undefined;
}

export class Episodes {
  readonly #o: EpisodeOptions;
  #since = 0;
  #reason: string | undefined;
  #waitMs = STATE_RETRY_FIRST_MS;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: EpisodeOptions) {
    this.#o = o;
  }

  /** Why the state is not being saved now (undefined: it is). */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Starts an episode (said once), or goes on with the current one; a retry follows. */
  begin(reason: string): void {
    if (this.#reason === undefined) {
      this.#reason = reason;
      this.#since = Date.now();
      this.#waitMs = STATE_RETRY_FIRST_MS;
      const changes =
        this.#o.policy() === 'refuse'
          ? 'refused until saved again'
          : 'ACCEPTED IN MEMORY ONLY: lost on restart until saved again';
      this.#o.log.event('state-not-durable', { dir: this.#o.dir, reason, changes }, 'error');
      this.#o.onHealth?.(false, reason);
    }
    this.retryLater();
  }

  /** Schedules the next retry unless one is scheduled (or none is wanted any more). */
  retryLater(): void {
    if (this.#reason === undefined || this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#o.retry();
    }, this.#waitMs);
    this.#timer.unref();
    this.#waitMs = Math.min(this.#waitMs * 2, STATE_RETRY_MAX_MS);
  }

  /** The state is saved again: ends the episode and says so. */
  end(snapshot: string): void {
    if (this.#reason === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reason = undefined;
    this.#o.log.event('state-durable-again', { dir: this.#o.dir, afterMs: Date.now() - this.#since, snapshot }, 'warn');
    this.#o.onHealth?.(true, undefined);
  }

  /** No more retries (shutting down). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
