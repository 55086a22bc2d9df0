// A hash map from a program number (uint32) to a slot number (int32 >= 0) in two flat typed
// arrays: no object or boxed number per key, so 100k programs cost ~2 MB outside the JS heap
// instead of a Map's ~4 MB inside it (bench/memory-probe.ts). Open addressing, linear probing,
// deletion by backward shift (no tombstones), so a lookup stays O(1) after any churn.

const EMPTY = -1;
const MIN_CAPACITY = 16;

/** Fibonacci hashing of a 32-bit key to `bits` bits (programs are often consecutive). */
function bucketOf(key: number, shift: number): number {
  return Math.imul(key, 0x9e3779b1) >>> shift;
}

export class ProgIndex {
  #keys: Uint32Array;
  #values: Int32Array;
  /** 32 - log2(capacity). */
  #shift: number;
  #mask: number;
  #size = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity) cap *= 2;
    this.#keys = new Uint32Array(cap);
    this.#values = new Int32Array(cap).fill(EMPTY);
    this.#shift = 32 - Math.log2(cap);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** The value for `key`, or -1. */
  get(key: number): number {
    const keys = this.#keys;
    const values = this.#values;
    const k = key >>> 0;
    for (let i = bucketOf(k, this.#shift); ; i = (i + 1) & this.#mask) {
      const v = values[i]!;
      if (v === EMPTY || keys[i] === k) return v;
    }
  }

  /** Sets `key` to `value` (>= 0), adding the key if needed. */
  set(key: number, value: number): void {
    if (value < 0) throw new RangeError(`ProgIndex values are >= 0, got ${value}`);
    const k = key >>> 0;
    let i = bucketOf(k, this.#shift);
    for (; this.#values[i] !== EMPTY; i = (i + 1) & this.#mask) {
      if (this.#keys[i] === k) {
        this.#values[i] = value;
        return;
      }
    }
    this.#keys[i] = k;
    this.#values[i] = value;
    // At most 3/4 full: linear probing degrades quickly past that.
    if (++this.#size * 4 > this.#keys.length * 3) this.#resize(this.#keys.length * 2);
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    const k = key >>> 0;
    let i = bucketOf(k, this.#shift);
    for (; ; i = (i + 1) & mask) {
      if (values[i] === EMPTY) return false;
      if (keys[i] === k) break;
    }
    // Backward shift: pull later members of the probe run into the hole when their home
    // bucket does not lie (cyclically) between the hole and where they sit.
    let hole = i;
    for (let j = (i + 1) & mask; values[j] !== EMPTY; j = (j + 1) & mask) {
      const home = bucketOf(keys[j]!, this.#shift);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      keys[hole] = keys[j]!;
      values[hole] = values[j]!;
      hole = j;
    }
    values[hole] = EMPTY;
    this.#size--;
    if (this.#keys.length > MIN_CAPACITY && this.#size * 8 < this.#keys.length) this.#resize(this.#keys.length / 2);
    return true;
  }

  clear(): void {
    this.#size = 0;
    this.#keys = new Uint32Array(MIN_CAPACITY);
    this.#values = new Int32Array(MIN_CAPACITY).fill(EMPTY);
    this.#shift = 32 - Math.log2(MIN_CAPACITY);
    this.#mask = MIN_CAPACITY - 1;
  }

  #resize(capacity: number): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Uint32Array(capacity);
    this.#values = new Int32Array(capacity).fill(EMPTY);
    this.#shift = 32 - Math.log2(capacity);
    this.#mask = capacity - 1;
    for (let i = 0; i < keys.length; i++) {
      const v = values[i]!;
      if (v === EMPTY) continue;
      let j = bucketOf(keys[i]!, this.#shift);
      while (this.#values[j] !== EMPTY) j = (j + 1) & this.#mask;
      this.#keys[j] = keys[i]!;
      this.#values[j] = v;
    }
  }
}
