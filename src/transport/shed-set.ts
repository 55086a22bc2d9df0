// Which sources are shed (dropped in the kernel, see kernel-shed.ts): a source the rate
// limiter keeps refusing for a while is shed for a time that doubles with each repeat offence,
// in a set of bounded size. Pure: the clock is passed in, nothing here touches a socket.

export interface ShedSetOptions {
  /** Sources shed at once; 0 sheds nothing. */
  maxSources: number;
  /** A source is shed once it has been over its limit this long without a pause... */
  afterMs: number;
  /** ...and refused at least this many times in that spell. */
  minRefusals: number;
  /** A pause this long without a refusal ends a spell. */
  spellGapMs: number;
  /** First shedding lasts this long; each repeat offence doubles it, up to maxMs. */
  firstMs: number;
  maxMs: number;
  /** An offender not shed again for this long starts over at firstMs. */
  forgetMs: number;
  /** Sources in a spell, and offenders, remembered at once (least recent forgotten first). */
  maxTracked: number;
  /** Never shed these (loopback, this host's addresses, allow-listed callers). */
  exempt: (source: string) => boolean;
}

/** A source just shed: until when, and for how many offences in a row. */
export interface ShedDecision {
  source: string;
  untilMs: number;
  durationMs: number;
  offence: number;
}

interface Spell {
  firstMs: number;
  lastMs: number;
  refusals: number;
}

interface Offender {
  offences: number;
  lastShedMs: number;
}

export class ShedSet {
  readonly #o: ShedSetOptions;
  readonly #spells = new Map<string, Spell>();
  readonly #offenders = new Map<string, Offender>();
  /** Shed sources and when each is let back in. */
  readonly #shed = new Map<string, number>();
  /** A source was refused a place because the set was full (cleared when one leaves). */
  full = false;

  constructor(o: ShedSetOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#shed.size;
  }

  get maxSources(): number {
    return this.#o.maxSources;
  }

  isShed(source: string): boolean {
    return this.#shed.has(source);
  }

  /** The shed sources, in the order they were shed. */
  sources(): string[] {
    return [...this.#shed.keys()];
  }

  /**
   * The rate limiter refused `source` once more. Returns the decision when this refusal makes
   * it shed; undefined otherwise (also when it is shed already: its packets still in flight).
   */
  refused(source: string, nowMs: number): ShedDecision | undefined {
    const o = this.#o;
    if (o.maxSources === 0 || this.#shed.has(source)) return undefined;
    let s = this.#spells.get(source);
    if (s === undefined || nowMs - s.lastMs > o.spellGapMs) {
      if (s) this.#spells.delete(source);
      else if (this.#spells.size >= o.maxTracked) this.#spells.delete(this.#spells.keys().next().value!);
      s = { firstMs: nowMs, lastMs: nowMs, refusals: 0 };
      this.#spells.set(source, s);
    }
    s.lastMs = nowMs;
    s.refusals++;
    if (nowMs - s.firstMs < o.afterMs || s.refusals < o.minRefusals) return undefined;
    // Checked once per spell that gets this far, not per datagram.
    this.#spells.delete(source);
    if (o.exempt(source)) return undefined;
    if (this.#shed.size >= o.maxSources) {
      this.full = true;
      return undefined;
    }
    let off = this.#offenders.get(source);
    if (off !== undefined && nowMs - off.lastShedMs > o.forgetMs) off = undefined;
    const offence = (off?.offences ?? 0) + 1;
    this.#offenders.delete(source);
    if (this.#offenders.size >= o.maxTracked) this.#offenders.delete(this.#offenders.keys().next().value!);
    this.#offenders.set(source, { offences: offence, lastShedMs: nowMs });
    const durationMs = Math.min(o.maxMs, o.firstMs * 2 ** Math.min(offence - 1, 30));
    const untilMs = nowMs + durationMs;
    this.#shed.set(source, untilMs);
    return { source, untilMs, durationMs, offence };
  }

  /** Lets back in every source whose time is up; returns them. */
  expire(nowMs: number): string[] {
    const out: string[] = [];
    for (const [source, until] of this.#shed) {
      if (until <= nowMs) {
        this.#shed.delete(source);
        out.push(source);
      }
    }
    if (out.length > 0) this.full = false;
    return out;
  }

  /** Lets back in the sources `keep` rejects (a reload made them exempt); returns them. */
  retain(keep: (source: string) => boolean): string[] {
    const out = [...this.#shed.keys()].filter((s) => !keep(s));
    for (const s of out) this.#shed.delete(s);
    if (out.length > 0) this.full = false;
    return out;
  }

  /** When the next shed source is due back, or undefined when none is shed. */
  nextExpiryMs(): number | undefined {
    let next: number | undefined;
    for (const until of this.#shed.values()) if (next === undefined || until < next) next = until;
    return next;
  }
}
