// Per-source token buckets in a bounded table (least recently seen source evicted first), plus
// one global bucket. take() is O(1) and allocates only when a new source is seen and the table
// is not yet full (evicted buckets are reused).

export interface RateLimits {
  /** Calls per second a source may sustain; 0 disables per-source limiting. */
  perSourcePerSecond: number;
  /** Calls a source may make in a burst. */
  perSourceBurst: number;
  /** Calls per second over all non-exempt sources; 0 disables the global cap. */
  globalPerSecond: number;
  /** Sources remembered at once. */
  maxSources: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

export class RateLimiter {
  readonly #l: RateLimits;
  readonly #table = new Map<string, Bucket>();
  readonly #global: Bucket;
  readonly #now: () => number;
  /** Whether the last refusal of take() was the source's own limit (not the global one). */
  refusedBySource = false;

  constructor(limits: RateLimits, now: () => number = () => performance.now()) {
    this.#l = limits;
    this.#now = now;
    this.#global = { tokens: limits.globalPerSecond, lastMs: now() };
  }

  get limits(): RateLimits {
    return this.#l;
  }

  get trackedSources(): number {
    return this.#table.size;
  }

  /** Takes one token for `source`; false when the source or the whole daemon is over its rate. */
  take(source: string): boolean {
    const now = this.#now();
    const l = this.#l;
    if (l.perSourcePerSecond > 0) {
      let b = this.#table.get(source);
      if (b) {
        this.#table.delete(source); // re-inserted below: Map order is recency
        refill(b, now, l.perSourcePerSecond, l.perSourceBurst);
      } else if (this.#table.size >= l.maxSources) {
        const oldest = this.#table.keys().next().value!;
        b = this.#table.get(oldest)!;
        this.#table.delete(oldest);
        b.tokens = l.perSourceBurst;
        b.lastMs = now;
      } else {
        b = { tokens: l.perSourceBurst, lastMs: now };
      }
      this.#table.set(source, b);
      if (b.tokens < 1) {
        this.refusedBySource = true;
        return false;
      }
      b.tokens -= 1;
    }
    if (l.globalPerSecond > 0) {
      refill(this.#global, now, l.globalPerSecond, l.globalPerSecond);
      if (this.#global.tokens < 1) {
        this.refusedBySource = false;
        return false;
      }
      this.#global.tokens -= 1;
    }
    return true;
  }

  /** Milliseconds until `source` will have a token again (for throttling streams). */
  waitMs(): number {
    const l = this.#l;
    const rate = Math.min(l.perSourcePerSecond || Infinity, l.globalPerSecond || Infinity);
    return rate === Infinity ? 0 : Math.ceil(1000 / rate);
  }
}

function refill(b: Bucket, now: number, perSecond: number, burst: number): void {
  const add = ((now - b.lastMs) * perSecond) / 1000;
  b.lastMs = now;
  b.tokens = Math.min(burst, b.tokens + add);
}
