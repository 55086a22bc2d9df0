// Batched datagram I/O for the UDP service: once Node has delivered one datagram of a socket,
// the ones already waiting behind it are read with one recvmmsg(2), and the replies that are
// ready at once leave with one sendmmsg(2), both called through the libc table (os/libc.ts) on
// the socket's fd.
// Node's dgram costs a receive callback, a 64 KiB allocation and a send request per datagram
// (about 18 µs of CPU per call here, against 3 µs batched: bench/run.ts getaddr4-udp).
//
// Native memory only: the kernel reads and writes fixed arenas allocated once, which JS sees
// through Buffers on the same memory. Every datagram handed out is a copy, so nothing a
// handler keeps (a forwarded call's arguments, say) points into the arena.

import { formatIPv4, formatIPv6 } from '../net/index.js';
import { loadLibc, type Libc, type NativeMemory } from '../os/libc.js';
import { newSecurityCounters, type SecurityCounters } from './security-counters.js';

/** What the batch counts: datagrams it drops unread, and replies the kernel refuses. */
export type BatchCounters = Pick<SecurityCounters, 'udpBatchDropped' | 'udpSendErrors'>;

/** Datagrams read (and replies sent) per system call. */
export const BATCH_DATAGRAMS = 32;
/**
 * Arena slot for one received datagram: the largest valid call (forwarded arguments at their
 * cap plus header and two 400-byte auth bodies) fits; anything longer is read truncated and
 * dropped (MSG_TRUNC), as it cannot be a call we would accept.
 */
export const BATCH_SLOT_BYTES = 16 * 1024;
/** Replies up to this size are copied into the send arena; larger ones go out one by one. */
export const BATCH_REPLY_SLOT_BYTES = 1024;

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const AF_INET = 2;
const AF_INET6 = 10;
/** sizeof(struct sockaddr_in6), the larger of the two. */
const NAME_BYTES = 28;
const IOVEC_BYTES = 16;
/** sizeof(struct mmsghdr) on LP64 Linux: msghdr (56) + msg_len (4) + padding. */
const MMSGHDR_BYTES = 64;
const HDR_NAME = 0;
const HDR_NAMELEN = 8;
const HDR_IOV = 16;
const HDR_IOVLEN = 24;
const HDR_FLAGS = 48;
const HDR_LEN = 56;

/** The libc table, where the struct layouts below hold (Linux on x64 and arm64). */
function loadNative(): Libc | null {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return null;
  return loadLibc();
}

/** Who sent a datagram, as Node's rinfo would say it. */
export interface DatagramPeer {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * One arena pair for the whole process (the UDP service handles datagrams one at a time, on
 * one thread): receive into it, queue replies, flush to the socket they came from.
 */
export class DatagramBatch {
  readonly #n: Libc;
  readonly #in: NativeMemory;
  readonly #out: NativeMemory;
  #queued = 0;
  /** Datagrams the last drain read: the slots whose senders queue() may answer. */
  #received = 0;
  readonly #ifName = Buffer.alloc(16);
  readonly #v4Names = new Map<number, string>();
  readonly #v6Names = new Map<string, string>();
  /** Datagrams dropped (too long for a slot, unknown family) and sends the kernel refused. */
  readonly counters: BatchCounters;

  private constructor(n: Libc, counters: BatchCounters) {
    this.#n = n;
    this.counters = counters;
    this.#in = n.alloc(BATCH_DATAGRAMS * (BATCH_SLOT_BYTES + NAME_BYTES + IOVEC_BYTES + MMSGHDR_BYTES));
    this.#out = n.alloc(BATCH_DATAGRAMS * (BATCH_REPLY_SLOT_BYTES + NAME_BYTES + IOVEC_BYTES + MMSGHDR_BYTES));
    for (let i = 0; i < BATCH_DATAGRAMS; i++) {
      this.#initHeader(this.#in, BATCH_SLOT_BYTES, i);
      this.#initHeader(this.#out, BATCH_REPLY_SLOT_BYTES, i);
    }
  }

  /**
   * The batch, or null where it cannot work (no koffi, not Linux x64/arm64). It counts into
   * `counters` (the daemon's SecurityCounters), or into its own.
   */
  static create(counters: BatchCounters = newSecurityCounters()): DatagramBatch | null {
    const n = loadNative();
    return n ? new DatagramBatch(n, counters) : null;
  }

  // Arena layout: [slots x data][slots x sockaddr][slots x iovec][slots x mmsghdr].
  static #nameOff(slotBytes: number, i: number): number {
    return BATCH_DATAGRAMS * slotBytes + i * NAME_BYTES;
  }
  static #iovOff(slotBytes: number, i: number): number {
    return BATCH_DATAGRAMS * (slotBytes + NAME_BYTES) + i * IOVEC_BYTES;
  }
  static #hdrOff(slotBytes: number, i: number): number {
    return BATCH_DATAGRAMS * (slotBytes + NAME_BYTES + IOVEC_BYTES) + i * MMSGHDR_BYTES;
  }

  #initHeader(a: NativeMemory, slotBytes: number, i: number): void {
    const h = DatagramBatch.#hdrOff(slotBytes, i);
    const iov = DatagramBatch.#iovOff(slotBytes, i);
    a.view.fill(0, h, h + MMSGHDR_BYTES);
    a.view.writeBigUInt64LE(BigInt(a.address + DatagramBatch.#nameOff(slotBytes, i)), h + HDR_NAME);
    a.view.writeUInt32LE(NAME_BYTES, h + HDR_NAMELEN);
    a.view.writeBigUInt64LE(BigInt(a.address + iov), h + HDR_IOV);
    a.view.writeBigUInt64LE(1n, h + HDR_IOVLEN);
    a.view.writeBigUInt64LE(BigInt(a.address + i * slotBytes), iov);
    a.view.writeBigUInt64LE(BigInt(slotBytes), iov + 8);
  }

  /**
   * Reads the datagrams waiting on `fd` (at most one batch) without blocking and calls
   * `onDatagram` for each with a copy of its bytes; returns how many were read (0 when none
   * or on error). Replies queued from inside `onDatagram` go to that datagram's sender.
   */
  drain(fd: number, onDatagram: (data: Buffer, peer: DatagramPeer, slot: number) => void): number {
    const { view } = this.#in;
    for (let i = 0; i < BATCH_DATAGRAMS; i++) {
      const h = DatagramBatch.#hdrOff(BATCH_SLOT_BYTES, i);
      view.writeUInt32LE(NAME_BYTES, h + HDR_NAMELEN);
      view.writeUInt32LE(0, h + HDR_FLAGS);
    }
    const got = this.#n.recvmmsg(
      fd,
      this.#in.address + DatagramBatch.#hdrOff(BATCH_SLOT_BYTES, 0),
      BATCH_DATAGRAMS,
      MSG_DONTWAIT,
      null,
    );
    if (got <= 0) return 0;
    this.#received = got;
    for (let i = 0; i < got; i++) {
      const h = DatagramBatch.#hdrOff(BATCH_SLOT_BYTES, i);
      if ((view.readUInt32LE(h + HDR_FLAGS) & MSG_TRUNC) !== 0) {
        this.counters.udpBatchDropped++;
        continue;
      }
      const peer = this.#peer(view, DatagramBatch.#nameOff(BATCH_SLOT_BYTES, i));
      if (peer === undefined) {
        this.counters.udpBatchDropped++;
        continue;
      }
      const len = view.readUInt32LE(h + HDR_LEN);
      const data = Buffer.allocUnsafe(len);
      view.copy(data, 0, i * BATCH_SLOT_BYTES, i * BATCH_SLOT_BYTES + len);
      onDatagram(data, peer, i);
    }
    return got;
  }

  /**
   * Queues a reply to the sender of slot `slot` of the last drain (sent by flush(), or at once
   * when it is larger than a reply slot).
   */
  queue(fd: number, reply: Buffer, slot: number): void {
    if (slot < 0 || slot >= this.#received) {
      // Not a slot of the last drain (a caller's bug): nowhere to send it; never throw here.
      this.counters.udpSendErrors++;
      return;
    }
    const nameOff = DatagramBatch.#nameOff(BATCH_SLOT_BYTES, slot);
    const name = this.#in.view.subarray(nameOff, nameOff + NAME_BYTES);
    const nameLen = name.readUInt16LE(0) === AF_INET6 ? NAME_BYTES : 16;
    if (reply.length > BATCH_REPLY_SLOT_BYTES || this.#queued === BATCH_DATAGRAMS) {
      if (reply.length > BATCH_REPLY_SLOT_BYTES) {
        if (this.#n.sendto(fd, reply, reply.length, 0, name, nameLen) < 0) this.counters.udpSendErrors++;
        return;
      }
      this.flush(fd);
    }
    const k = this.#queued++;
    const { view } = this.#out;
    reply.copy(view, k * BATCH_REPLY_SLOT_BYTES);
    name.copy(view, DatagramBatch.#nameOff(BATCH_REPLY_SLOT_BYTES, k), 0, nameLen);
    view.writeBigUInt64LE(BigInt(reply.length), DatagramBatch.#iovOff(BATCH_REPLY_SLOT_BYTES, k) + 8);
    view.writeUInt32LE(nameLen, DatagramBatch.#hdrOff(BATCH_REPLY_SLOT_BYTES, k) + HDR_NAMELEN);
  }

  /** Sends every queued reply (one sendmmsg; what the kernel refuses is dropped, as UDP may). */
  flush(fd: number): void {
    let done = 0;
    while (done < this.#queued) {
      const sent = this.#n.sendmmsg(
        fd,
        this.#out.address + DatagramBatch.#hdrOff(BATCH_REPLY_SLOT_BYTES, done),
        this.#queued - done,
        0,
      );
      if (sent <= 0) {
        // One datagram the kernel will not take (EAGAIN: buffer full; EPERM: filtered...):
        // drop it and go on with the rest.
        this.counters.udpSendErrors++;
        done++;
        continue;
      }
      done += sent;
    }
    this.#queued = 0;
  }

  /** The sender of a received slot as Node would describe it; undefined for other families. */
  #peer(view: Buffer, off: number): DatagramPeer | undefined {
    const family = view.readUInt16LE(off);
    const port = view.readUInt16BE(off + 2);
    if (family === AF_INET) {
      const key = view.readUInt32BE(off + 4);
      let address = this.#v4Names.get(key);
      if (address === undefined) {
        address = formatIPv4(key);
        remember(this.#v4Names, key, address);
      }
      return { address, port, family: 'IPv4' };
    }
    if (family === AF_INET6) {
      const scope = view.readUInt32LE(off + 24);
      const key = view.toString('latin1', off + 8, off + 24) + (scope ? `%${scope}` : '');
      let address = this.#v6Names.get(key);
      if (address === undefined) {
        address = formatIPv6(view.subarray(off + 8, off + 24));
        // Node names the interface of a link-local peer (uv_if_indextoiid).
        if (scope !== 0 && view[off + 8] === 0xfe && (view[off + 9]! & 0xc0) === 0x80) {
          this.#ifName.fill(0);
          const r = this.#n.ifIndexToName(scope, this.#ifName);
          const end = this.#ifName.indexOf(0);
          address += `%${r !== null && end > 0 ? this.#ifName.toString('latin1', 0, end) : String(scope)}`;
        }
        remember(this.#v6Names, key, address);
      }
      return { address, port, family: 'IPv6' };
    }
    return undefined;
  }
}

/** Name caches stay small: a flood from many sources only costs re-formatting. */
const MAX_CACHED_NAMES = 1024;

function remember<K>(m: Map<K, string>, k: K, v: string): void {
  if (m.size >= MAX_CACHED_NAMES) m.clear();
  m.set(k, v);
}
