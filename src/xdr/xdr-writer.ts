// XDR encoder into a growable buffer with a hard cap, so no reply can grow without bound.

import { XdrError } from './xdr-error.js';

/** Below this, shared() copies: a separate write costs more than copying a small part. */
export const SHARE_MIN_BYTES = 16 * 1024;

export class XdrWriter {
  #buf: Buffer;
  #pos = 0;
  readonly #max: number;
  /** Finished parts (views of own buffers, and shared buffers) before #buf[#start..#pos]. */
  #parts: Buffer[] | undefined;
  #partsBytes = 0;
  #start = 0;

  constructor(initialBytes = 256, maxBytes = 1 << 20) {
    this.#buf = Buffer.allocUnsafe(Math.min(initialBytes, maxBytes));
    this.#max = maxBytes;
  }

  get length(): number {
    return this.#partsBytes + this.#pos - this.#start;
  }

  reset(): void {
    this.#pos = 0;
    this.#start = 0;
    this.#parts = undefined;
    this.#partsBytes = 0;
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length && this.#parts === undefined) return;
    // With shared parts the total, not the own buffer's fill, is what the cap bounds.
    const total = this.length + n;
    if (total > this.#max) {
      throw new XdrError('XDR_OVERFLOW', `encoding needs ${total} bytes, cap is ${this.#max}`);
    }
    if (need <= this.#buf.length) return;
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

  /**
   * fixedOpaque() without the copy for a large `data` (a whole number of XDR units, never
   * changed afterwards): the writer keeps a reference, handed out by parts(). A cached DUMP of
   * a big table is 6 MB, and copying it into every reply made DUMP load churn gigabytes of
   * buffers per minute (bench/memory-probe.ts dump4-tcp).
   */
  shared(data: Buffer): this {
    if (data.length < SHARE_MIN_BYTES || (data.length & 3) !== 0) return this.fixedOpaque(data);
    if (this.length + data.length > this.#max) {
      throw new XdrError('XDR_OVERFLOW', `encoding needs ${this.length + data.length} bytes, cap is ${this.#max}`);
    }
    this.#parts ??= [];
    if (this.#pos > this.#start) this.#parts.push(this.#buf.subarray(this.#start, this.#pos));
    this.#parts.push(data);
    this.#partsBytes = this.length + data.length;
    this.#start = this.#pos;
    return this;
  }

  /** A fresh copy of what has been written (safe to hand to an async send). */
  toBuffer(): Buffer {
    if (this.#parts) return Buffer.concat([...this.#parts, this.#buf.subarray(this.#start, this.#pos)]);
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }

  /** A view of what has been written; valid only until the next write or reset. */
  view(): Buffer {
    if (this.#parts) return this.toBuffer();
    return this.#buf.subarray(0, this.#pos);
  }

  /** view(), or with shared() parts, the parts in order (nothing copied). */
  parts(): Buffer | Buffer[] {
    if (!this.#parts) return this.view();
    return this.#pos > this.#start ? [...this.#parts, this.#buf.subarray(this.#start, this.#pos)] : [...this.#parts];
  }
}
