// Bounded XDR (RFC 4506) decoder over a Buffer: every length is checked against what remains
// and against a caller-given cap before anything is sliced or allocated.

import { XdrError } from './xdr-error.js';

export class XdrReader {
  readonly buf: Buffer;
  #pos: number;
  readonly #end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #need(n: number, what: string): void {
    if (this.#end - this.#pos < n) {
      throw new XdrError('XDR_SHORT', `${what}: need ${n} bytes, ${this.#end - this.#pos} remain`);
    }
  }

  uint32(): number {
    this.#need(4, 'uint');
    const v = this.buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  int32(): number {
    this.#need(4, 'int');
    const v = this.buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  bool(): boolean {
    const v = this.uint32();
    if (v > 1) throw new XdrError('XDR_BAD_BOOL', `bool word ${v}`);
    return v === 1;
  }

  /** Variable-length opaque<max>: returns a view into the underlying buffer (no copy). */
  opaque(max: number): Buffer {
    const len = this.uint32();
    if (len > max) throw new XdrError('XDR_TOO_LONG', `opaque of ${len} bytes exceeds cap ${max}`);
    const padded = (len + 3) & ~3;
    this.#need(padded, 'opaque body');
    const v = this.buf.subarray(this.#pos, this.#pos + len);
    this.#pos += padded;
    return v;
  }

  /** Fixed-length opaque[n] (n is ours, not the wire's). */
  fixedOpaque(n: number): Buffer {
    const padded = (n + 3) & ~3;
    this.#need(padded, 'fixed opaque');
    const v = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += padded;
    return v;
  }

  /** string<max>, decoded as latin1 so any byte sequence round-trips. */
  string(max: number): string {
    const len = this.uint32();
    if (len > max) throw new XdrError('XDR_TOO_LONG', `string of ${len} bytes exceeds cap ${max}`);
    const padded = (len + 3) & ~3;
    this.#need(padded, 'string body');
    const v = this.buf.toString('latin1', this.#pos, this.#pos + len);
    this.#pos += padded;
    return v;
  }

  /** Counted array<max> of items. */
  array<T>(max: number, item: (r: XdrReader) => T): T[] {
    const n = this.uint32();
    if (n > max) throw new XdrError('XDR_TOO_MANY', `array of ${n} items exceeds cap ${max}`);
    // Each item takes at least 4 bytes: reject a count the remaining bytes cannot hold.
    this.#need(n * 4, 'array items');
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  /** XDR optional-data linked list (`*T` with a next pointer), capped at max elements. */
  list<T>(max: number, item: (r: XdrReader) => T): T[] {
    const out: T[] = [];
    while (this.bool()) {
      if (out.length >= max) throw new XdrError('XDR_TOO_MANY', `list longer than cap ${max}`);
      out.push(item(this));
    }
    return out;
  }

  skip(n: number): void {
    this.#need(n, 'skip');
    this.#pos += n;
  }

  /** The unread bytes, as a view. */
  rest(): Buffer {
    return this.buf.subarray(this.#pos, this.#end);
  }
}
