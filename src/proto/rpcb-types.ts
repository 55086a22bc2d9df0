// Wire structs of program 100000 (RFC 1833), each encoder beside its decoder. Shared by the
// daemon's procedures and the client library.

import type { XdrReader, XdrWriter } from '../xdr/index.js';
import { MAX_NETBUF_BYTES, MAX_NETID_BYTES, MAX_OWNER_BYTES, MAX_RECORD_BYTES, MAX_UADDR_BYTES } from '../limits.js';
import { RPCBSTAT_HIGHPROC } from './constants.js';

// ---- v2 ----

export interface PmapMapping {
  prog: number;
  vers: number;
  prot: number;
  port: number;
}

export function decodeMapping(r: XdrReader): PmapMapping {
  return { prog: r.uint32(), vers: r.uint32(), prot: r.uint32(), port: r.uint32() };
}

export function encodeMapping(w: XdrWriter, m: PmapMapping): void {
  w.uint32(m.prog).uint32(m.vers).uint32(m.prot).uint32(m.port);
}

export function encodePmapList(w: XdrWriter, list: Iterable<PmapMapping>): void {
  for (const m of list) {
    w.bool(true);
    encodeMapping(w, m);
  }
  w.bool(false);
}

export function decodePmapList(r: XdrReader, max: number): PmapMapping[] {
  return r.list(max, decodeMapping);
}

/** call_args (v2) and rpcb_rmtcallargs (v3/v4) share one layout. */
export interface RmtCallArgs {
  prog: number;
  vers: number;
  proc: number;
  args: Buffer;
}

export function decodeRmtCallArgs(r: XdrReader): RmtCallArgs {
  return { prog: r.uint32(), vers: r.uint32(), proc: r.uint32(), args: r.opaque(MAX_RECORD_BYTES) };
}

export function encodeRmtCallArgs(w: XdrWriter, a: RmtCallArgs): void {
  w.uint32(a.prog).uint32(a.vers).uint32(a.proc).opaque(a.args);
}

/** v2 call_result. */
export interface PmapCallResult {
  port: number;
  res: Buffer;
}

export function encodePmapCallResult(w: XdrWriter, c: PmapCallResult): void {
  w.uint32(c.port).opaque(c.res);
}

export function decodePmapCallResult(r: XdrReader, maxRes: number): PmapCallResult {
  return { port: r.uint32(), res: r.opaque(maxRes) };
}

// ---- v3/v4 ----

export interface Rpcb {
  prog: number;
  vers: number;
  netid: string;
  addr: string;
  owner: string;
}

export function decodeRpcb(r: XdrReader): Rpcb {
  return {
    prog: r.uint32(),
    vers: r.uint32(),
    netid: r.string(MAX_NETID_BYTES),
    addr: r.string(MAX_UADDR_BYTES),
    owner: r.string(MAX_OWNER_BYTES),
  };
}

export function encodeRpcb(w: XdrWriter, b: Rpcb): void {
  w.uint32(b.prog).uint32(b.vers).string(b.netid).string(b.addr).string(b.owner);
}

/** Bytes of an XDR string of `len` latin1 characters. */
const stringBytes = (len: number): number => 4 + ((len + 3) & ~3);

/** What encodeRpcbList writes for `list`, to the byte (a 100k list is sized once, not grown). */
export function rpcbListBytes(list: Iterable<Rpcb>): number {
  let n = 4;
  for (const b of list)
    n += 12 + stringBytes(b.netid.length) + stringBytes(b.addr.length) + stringBytes(b.owner.length);
  return n;
}

export function encodeRpcbList(w: XdrWriter, list: Iterable<Rpcb>): void {
  for (const b of list) {
    w.bool(true);
    encodeRpcb(w, b);
  }
  w.bool(false);
}

export function decodeRpcbList(r: XdrReader, max: number): Rpcb[] {
  return r.list(max, decodeRpcb);
}

export interface RmtCallRes {
  addr: string;
  results: Buffer;
}

export function encodeRmtCallRes(w: XdrWriter, c: RmtCallRes): void {
  w.string(c.addr).opaque(c.results);
}

export function decodeRmtCallRes(r: XdrReader, maxRes: number): RmtCallRes {
  return { addr: r.string(MAX_UADDR_BYTES), results: r.opaque(maxRes) };
}

export interface Netbuf {
  maxlen: number;
  buf: Buffer;
}

export function decodeNetbuf(r: XdrReader): Netbuf {
  return { maxlen: r.uint32(), buf: r.opaque(MAX_NETBUF_BYTES) };
}

export function encodeNetbuf(w: XdrWriter, n: Netbuf): void {
  w.uint32(n.maxlen).opaque(n.buf);
}

export interface RpcbEntry {
  maddr: string;
  netid: string;
  semantics: number;
  protofmly: string;
  proto: string;
}

function decodeRpcbEntry(r: XdrReader): RpcbEntry {
  return {
    maddr: r.string(MAX_UADDR_BYTES),
    netid: r.string(MAX_NETID_BYTES),
    semantics: r.uint32(),
    protofmly: r.string(MAX_NETID_BYTES),
    proto: r.string(MAX_NETID_BYTES),
  };
}

export function encodeRpcbEntryList(w: XdrWriter, list: Iterable<RpcbEntry>): void {
  for (const e of list) {
    w.bool(true);
    w.string(e.maddr).string(e.netid).uint32(e.semantics).string(e.protofmly).string(e.proto);
  }
  w.bool(false);
}

export function decodeRpcbEntryList(r: XdrReader, max: number): RpcbEntry[] {
  return r.list(max, decodeRpcbEntry);
}

// ---- GETSTAT ----

export interface AddrStatRow {
  prog: number;
  vers: number;
  success: number;
  failure: number;
  netid: string;
}

export interface RmtStatRow {
  prog: number;
  vers: number;
  proc: number;
  success: number;
  failure: number;
  indirect: number;
  netid: string;
}

export interface RpcbStat {
  info: number[]; // RPCBSTAT_HIGHPROC counters
  setinfo: number;
  unsetinfo: number;
  addrinfo: AddrStatRow[];
  rmtinfo: RmtStatRow[];
}

function encodeRpcbStat(w: XdrWriter, s: RpcbStat): void {
  for (let i = 0; i < RPCBSTAT_HIGHPROC; i++) w.int32(s.info[i] ?? 0);
  w.int32(s.setinfo).int32(s.unsetinfo);
  for (const a of s.addrinfo) {
    w.bool(true);
    w.uint32(a.prog).uint32(a.vers).int32(a.success).int32(a.failure).string(a.netid);
  }
  w.bool(false);
  for (const m of s.rmtinfo) {
    w.bool(true);
    w.uint32(m.prog).uint32(m.vers).uint32(m.proc);
    w.int32(m.success).int32(m.failure).int32(m.indirect).string(m.netid);
  }
  w.bool(false);
}

function decodeRpcbStat(r: XdrReader, maxRows: number): RpcbStat {
  const info: number[] = [];
  for (let i = 0; i < RPCBSTAT_HIGHPROC; i++) info.push(r.int32());
  const setinfo = r.int32();
  const unsetinfo = r.int32();
  const addrinfo = r.list(maxRows, (x) => ({
    prog: x.uint32(),
    vers: x.uint32(),
    success: x.int32(),
    failure: x.int32(),
    netid: x.string(MAX_NETID_BYTES),
  }));
  const rmtinfo = r.list(maxRows, (x) => ({
    prog: x.uint32(),
    vers: x.uint32(),
    proc: x.uint32(),
    success: x.int32(),
    failure: x.int32(),
    indirect: x.int32(),
    netid: x.string(MAX_NETID_BYTES),
  }));
  return { info, setinfo, unsetinfo, addrinfo, rmtinfo };
}

/** rpcb_stat_byvers: index 0 = v2, 1 = v3, 2 = v4. */
export type RpcbStatByVers = [RpcbStat, RpcbStat, RpcbStat];

export function encodeRpcbStatByVers(w: XdrWriter, s: RpcbStatByVers): void {
  for (const v of s) encodeRpcbStat(w, v);
}

export function decodeRpcbStatByVers(r: XdrReader, maxRows: number): RpcbStatByVers {
  return [decodeRpcbStat(r, maxRows), decodeRpcbStat(r, maxRows), decodeRpcbStat(r, maxRows)];
}
