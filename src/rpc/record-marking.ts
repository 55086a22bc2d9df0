// RFC 5531 record marking for stream transports: a parser fed arbitrary chunks that checks each
// fragment's declared length against the record cap before buffering anything, and an encoder.

import { MAX_FRAGMENTS_PER_RECORD, MAX_RECORD_BYTES } from '../limits.js';

const LAST_FRAGMENT = 0x80000000;

export type RecordError = 'RECORD_TOO_LARGE' | 'TOO_MANY_FRAGMENTS';

export interface RecordDecoderOptions {
  maxRecordBytes?: number;
  maxFragments?: number;
}

/**
 * Feed with push(); complete records come back from push() in order. After an error the
 * decoder stays failed: the caller must close the stream.
 */
export class RecordDecoder {
  readonly #maxRecord: number;
  readonly #maxFragments: number;
  #header = Buffer.alloc(4);
  #headerHave = 0;
  #fragLeft = -1; // -1: reading a header
  #fragLast = false;
  #fragments = 0;
  #parts: Buffer[] = [];
  #recordBytes = 0;
  #error: RecordError | undefined;

  constructor(opts: RecordDecoderOptions = {}) {
    this.#maxRecord = opts.maxRecordBytes ?? MAX_RECORD_BYTES;
    this.#maxFragments = opts.maxFragments ?? MAX_FRAGMENTS_PER_RECORD;
  }

  get error(): RecordError | undefined {
    return this.#error;
  }

  /** True while part of a record has arrived but not all of it. */
  get midRecord(): boolean {
    return this.#headerHave > 0 || this.#fragLeft >= 0 || this.#fragments > 0;
  }

  /** Bytes currently held for an incomplete record. */
  get bufferedBytes(): number {
    return this.#recordBytes;
  }

  push(chunk: Buffer): Buffer[] | RecordError {
    if (this.#error) return this.#error;
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#fragLeft < 0) {
        // Header: take up to 4 bytes, possibly across chunks.
        if (this.#headerHave === 0 && chunk.length - pos >= 4) {
          this.#startFragment(chunk.readUInt32BE(pos));
          pos += 4;
        } else {
          const take = Math.min(4 - this.#headerHave, chunk.length - pos);
          chunk.copy(this.#header, this.#headerHave, pos, pos + take);
          this.#headerHave += take;
          pos += take;
          if (this.#headerHave < 4) break;
          this.#headerHave = 0;
          this.#startFragment(this.#header.readUInt32BE(0));
        }
        if (this.#error) return this.#error;
      } else {
        const take = Math.min(this.#fragLeft, chunk.length - pos);
        if (take > 0) {
          this.#parts.push(chunk.subarray(pos, pos + take));
          pos += take;
          this.#fragLeft -= take;
        }
      }
      if (this.#fragLeft === 0) {
        this.#fragLeft = -1;
        if (this.#fragLast) out.push(this.#finishRecord());
      }
    }
    return out;
  }

  #startFragment(word: number): void {
    const len = word & 0x7fffffff;
    this.#fragLast = (word & LAST_FRAGMENT) !== 0;
    this.#fragments++;
    if (this.#fragments > this.#maxFragments) {
      this.#error = 'TOO_MANY_FRAGMENTS';
      return;
    }
    if (this.#recordBytes + len > this.#maxRecord) {
      this.#error = 'RECORD_TOO_LARGE';
      return;
    }
    this.#recordBytes += len;
    this.#fragLeft = len;
  }

  #finishRecord(): Buffer {
    const parts = this.#parts;
    // Copy: the chunk views would otherwise pin the socket's read buffers.
    const rec = parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts, this.#recordBytes);
    this.#parts = [];
    this.#recordBytes = 0;
    this.#fragments = 0;
    return rec;
  }
}

/** Frames one message as a single last fragment. */
export function encodeRecord(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE((LAST_FRAGMENT | payload.length) >>> 0, 0);
  payload.copy(out, 4);
  return out;
}

/** Writes a record mark for `length` bytes at the start of `buf` (reserved by the caller). */
export function writeRecordMark(buf: Buffer, length: number): void {
  buf.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
}
