// XDR encoder into a growable buffer with a hard cap, so no reply can grow without bound.

import { XdrError } from './xdr-error.js';

export class XdrWriter {
  #buf: Buffer;
  #pos = 0;
  readonly #max: number;

  constructor(initialBytes = 256, maxBytes = 1 << 20) {
    this.#buf = Buffer.allocUnsafe(Math.min(initialBytes, maxBytes));
    this.#max = maxBytes;
  }

  get length(): number {
    return this.#pos;
  }

  reset(): void {
    this.#pos = 0;
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    if (need > this.#max) {
      throw new XdrError('XDR_OVERFLOW', `encoding needs ${need} bytes, cap is ${this.#max}`);
    }
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(size, this.#max));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  uint32(v: number): this {
    this.#ensure(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#pos);
    this.#pos += 4;
    return this;
  }

  int32(v: number): this {
    this.#ensure(4);
    this.#buf.writeInt32BE(v | 0, this.#pos);
    this.#pos += 4;
    return this;
  }

  bool(v: boolean): this {
    return this.uint32(v ? 1 : 0);
  }

  #padded(bytes: number): void {
    const pad = (4 - (bytes & 3)) & 3;
    for (let i = 0; i < pad; i++) this.#buf[this.#pos++] = 0;
  }

  opaque(data: Uint8Array): this {
    this.#ensure(4 + data.length + 3);
    this.#buf.writeUInt32BE(data.length, this.#pos);
    this.#pos += 4;
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
    this.#padded(data.length);
    return this;
  }

  fixedOpaque(data: Uint8Array): this {
    this.#ensure(data.length + 3);
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
    this.#padded(data.length);
    return this;
  }

  /** string, written as latin1 (the reader's inverse). */
  string(s: string): this {
    const len = s.length;
    this.#ensure(4 + len + 3);
    this.#buf.writeUInt32BE(len, this.#pos);
    this.#pos += 4;
    this.#buf.write(s, this.#pos, len, 'latin1');
    this.#pos += len;
    this.#padded(len);
    return this;
  }

  /** A fresh copy of what has been written (safe to hand to an async send). */
  toBuffer(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }

  /** A view of what has been written; valid only until the next write or reset. */
  view(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}
