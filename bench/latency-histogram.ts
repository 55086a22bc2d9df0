// Latency histogram with 1 µs buckets up to a cap (later samples land in the last bucket):
// recording is one array increment, so the generator spends its time sending, not measuring.

export const HISTOGRAM_MAX_US = 2_000_000;

export class LatencyHistogram {
  readonly counts = new Uint32Array(HISTOGRAM_MAX_US + 1);
  total = 0;

  record(us: number): void {
    const i = us < HISTOGRAM_MAX_US ? Math.floor(us) : HISTOGRAM_MAX_US;
    this.counts[i]!++;
    this.total++;
  }

  /** Sparse [µs, count] pairs, for passing between processes. */
  toPairs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) out.push([i, this.counts[i]!]);
    return out;
  }

  addPairs(pairs: ReadonlyArray<readonly [number, number]>): void {
    for (const [us, n] of pairs) {
      this.counts[Math.min(us, HISTOGRAM_MAX_US)]! += n;
      this.total += n;
    }
  }

  /** The q-quantile in µs (0 when empty). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i;
    }
    return HISTOGRAM_MAX_US;
  }
}
