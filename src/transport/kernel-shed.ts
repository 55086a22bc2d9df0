// Dropping shed sources in the kernel: a classic BPF socket filter (SO_ATTACH_FILTER) that
// refuses packets whose IP source is in a short list, attached to every UDP socket and TCP
// listener, so a flood from those sources never reaches a socket queue nor costs us a read.
// Also the receive buffer size (SO_RCVBUFFORCE) and the kernel's drop count (SO_MEMINFO).
//
// What the filter sees: on a UDP socket the packet's data starts at the UDP header (the IP
// header is already pulled), on a TCP listener at the TCP header; both reach the IP header
// through the ancillary offset SKF_NET_OFF. A dual-stack IPv6 socket gets IPv4 packets with
// an IPv4 header, so the program looks at the IP version first, not the socket's family.

import { parseAddress, type Parsed } from '../net/index.js';
import { libcUnavailable, loadLibc, type Libc, type NativeMemory } from '../os/libc.js';

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_ATTACH_FILTER = 26;
const SO_DETACH_FILTER = 27;
const SO_RCVBUFFORCE = 33;
const SO_MEMINFO = 55;
/** Index of SK_MEMINFO_DROPS in the u32 array SO_MEMINFO fills. */
const SK_MEMINFO_DROPS = 8;
const SK_MEMINFO_VARS = 9;
const ENOENT = 2;

// Classic BPF opcodes (linux/filter.h).
const BPF_LD = 0x00;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_W = 0x00;
const BPF_B = 0x10;
const BPF_ABS = 0x20;
const BPF_RSH = 0x70;
const BPF_JA = 0x00;
const BPF_JEQ = 0x10;
const BPF_K = 0x00;
/** Negative offsets from here address the network (IP) header. */
export const SKF_NET_OFF = -0x100000;
/** Instructions the kernel accepts in one program (BPF_MAXINSNS). */
export const BPF_MAX_INSNS = 4096;
const ACCEPT = 0xffffffff;
const DROP = 0;

/** One sock_filter: { u16 code; u8 jt; u8 jf; u32 k }. */
export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const stmt = (code: number, k: number): BpfInsn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jump = (code: number, k: number, jt: number, jf: number): BpfInsn => ({ code, jt, jf, k: k >>> 0 });
const loadNet = (size: number, off: number): BpfInsn => stmt(BPF_LD | size | BPF_ABS, SKF_NET_OFF + off);

/** A source to shed, as the access policy parses it (IPv4-mapped IPv6 becomes IPv4). */
export type ShedAddress = Parsed;

/** Parses a literal address ("198.18.0.2", "2001:db8::2", "fe80::1%eth0"); undefined otherwise. */
export function shedAddress(text: string): ShedAddress | undefined {
  return parseAddress(text);
}

/**
 * The filter for a set of sources: packets from them are dropped (return 0), every other
 * packet is accepted whole. Each IPv4 address costs 2 instructions, each IPv6 address 9, so
 * 256 IPv6 sources fit the kernel's 4,096.
 */
export function buildShedProgram(sources: readonly ShedAddress[]): BpfInsn[] {
  const v4 = sources.filter((s) => s.v4);
  const v6 = sources.filter((s) => !s.v4);
  const p: BpfInsn[] = [];
  p.push(loadNet(BPF_B, 0)); // version and IHL / traffic class
  p.push(stmt(BPF_ALU | BPF_RSH | BPF_K, 4));
  // IPv6: jump (BPF_JA has a 32-bit offset; the 8-bit jt/jf cannot cross a long IPv4 list).
  p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 1));
  const toV6 = p.push(stmt(BPF_JMP | BPF_JA, 0)) - 1;
  p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 4, 1, 0));
  p.push(stmt(BPF_RET | BPF_K, ACCEPT)); // neither: not ours to judge
  if (v4.length > 0) {
    p.push(loadNet(BPF_W, 12)); // IPv4 source address
    for (const a of v4) {
      p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, a.w[3], 0, 1));
      p.push(stmt(BPF_RET | BPF_K, DROP));
    }
  }
  p.push(stmt(BPF_RET | BPF_K, ACCEPT));
  p[toV6] = stmt(BPF_JMP | BPF_JA, p.length - toV6 - 1);
  for (const a of v6) {
    // IPv6 source address at 8..23, word by word; a mismatch skips to the next address.
    for (let i = 0; i < 4; i++) {
      p.push(loadNet(BPF_W, 8 + 4 * i));
      p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, a.w[i]!, 0, 2 * (3 - i) + 1));
    }
    p.push(stmt(BPF_RET | BPF_K, DROP));
  }
  p.push(stmt(BPF_RET | BPF_K, ACCEPT));
  return p;
}

/** Instructions a program for these many sources takes (to bound the set before building). */
export function shedProgramLength(v4: number, v6: number): number {
  return 7 + 2 * v4 + 1 + 9 * v6 + 1;
}

/** The libc table and this file's scratch memory. */
interface Native {
  libc: Libc;
  mem: NativeMemory;
}

let native: Native | null | undefined;
let nativeError = '';

/** Scratch memory: the fprog header, an int, the SO_MEMINFO array and the program. */
const OFF_FPROG = 0;
const OFF_INT = 16;
const OFF_LEN = 24;
const OFF_MEMINFO = 32;
const OFF_PROG = 80;
const SCRATCH_BYTES = OFF_PROG + 8 * BPF_MAX_INSNS;

function loadNative(): Native | null {
  if (native !== undefined) return native;
  try {
    if (process.platform !== 'linux') throw new Error(`not on ${process.platform}`);
    if (process.arch !== 'x64' && process.arch !== 'arm64') throw new Error(`struct layout unknown on ${process.arch}`);
    const libc = loadLibc();
    if (!libc) throw new Error(libcUnavailable());
    native = { libc, mem: libc.alloc(SCRATCH_BYTES) };
  } catch (e) {
    nativeError = (e as Error).message;
    native = null;
  }
  return native;
}

/** Why the socket options cannot be used here ('' when they can). */
export function kernelShedUnavailable(): string {
  return loadNative() ? '' : nativeError || 'unavailable';
}

/** Result of a socket option call: 0, or the errno it failed with (-1 when none is known). */
export type SockResult = number;

/** Attaches `program` to the socket `fd` (replacing any filter); an empty program detaches. */
export function attachFilter(fd: number, program: readonly BpfInsn[]): SockResult {
  const n = loadNative();
  if (!n) return -1;
  if (program.length === 0) {
    const r = n.libc.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, n.mem.address + OFF_INT, 4);
    const err = r === 0 ? 0 : n.libc.errno();
    return err === ENOENT ? 0 : err; // nothing was attached: as good as detached
  }
  if (program.length > BPF_MAX_INSNS) throw new Error(`BPF program of ${program.length} instructions`);
  const v = n.mem.view;
  for (let i = 0; i < program.length; i++) {
    const at = OFF_PROG + 8 * i;
    const ins = program[i]!;
    v.writeUInt16LE(ins.code, at);
    v.writeUInt8(ins.jt, at + 2);
    v.writeUInt8(ins.jf, at + 3);
    v.writeUInt32LE(ins.k, at + 4);
  }
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (LP64: pointer at 8)
  v.fill(0, OFF_FPROG, OFF_FPROG + 16);
  v.writeUInt16LE(program.length, OFF_FPROG);
  v.writeBigUInt64LE(BigInt(n.mem.address + OFF_PROG), OFF_FPROG + 8);
  const r = n.libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, n.mem.address + OFF_FPROG, 16);
  return r === 0 ? 0 : n.libc.errno() || -1;
}

/**
 * Sets the receive buffer to `bytes`: SO_RCVBUFFORCE (CAP_NET_ADMIN, past net.core.rmem_max),
 * else SO_RCVBUF (capped by rmem_max); a buffer already as large is left alone. Returns what
 * the kernel then reports (it doubles the value for its own bookkeeping), or -1.
 */
export function setReceiveBuffer(fd: number, bytes: number): { bytes: number; forced: boolean } {
  const n = loadNative();
  if (!n) return { bytes: -1, forced: false };
  // Never shrink a buffer someone made larger (systemd's ReceiveBuffer= on an inherited socket).
  const current = receiveBuffer(n, fd);
  if (current >= 2 * bytes) return { bytes: current, forced: false };
  n.mem.view.writeInt32LE(Math.min(bytes, 0x7fffffff), OFF_INT);
  const forced = n.libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, n.mem.address + OFF_INT, 4) === 0;
  if (!forced) {
    n.mem.view.writeInt32LE(Math.min(bytes, 0x7fffffff), OFF_INT);
    n.libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, n.mem.address + OFF_INT, 4);
  }
  return { bytes: receiveBuffer(n, fd), forced };
}

/** SO_RCVBUF as the kernel reports it (twice what was granted), or -1. */
function receiveBuffer(n: Native, fd: number): number {
  n.mem.view.writeUInt32LE(4, OFF_LEN);
  const r = n.libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, n.mem.address + OFF_INT, n.mem.address + OFF_LEN);
  return r === 0 ? n.mem.view.readInt32LE(OFF_INT) : -1;
}

/**
 * Packets the kernel dropped on this socket so far (sk_drops: refused by the filter, or no
 * room in the receive queue), or -1 when it cannot be read.
 */
export function socketDrops(fd: number): number {
  const n = loadNative();
  if (!n) return -1;
  n.mem.view.writeUInt32LE(4 * SK_MEMINFO_VARS, OFF_LEN);
  const r = n.libc.getsockopt(fd, SOL_SOCKET, SO_MEMINFO, n.mem.address + OFF_MEMINFO, n.mem.address + OFF_LEN);
  if (r !== 0 || n.mem.view.readUInt32LE(OFF_LEN) < 4 * (SK_MEMINFO_DROPS + 1)) return -1;
  return n.mem.view.readUInt32LE(OFF_MEMINFO + 4 * SK_MEMINFO_DROPS);
}
