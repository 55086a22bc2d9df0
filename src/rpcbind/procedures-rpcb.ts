// RPCBIND version 3 and 4 procedures (RFC 1833 section 2): the v3 set and the v4 additions.

import { XdrError, type XdrReader } from '../xdr/index.js';
import { remoteCallProcedure } from './remote-call.js';
import type { BindingState } from './binding-state.js';
import type { CallerContext } from '../rpc/index.js';
import { ownerOf } from './caller.js';
import { RPCB_VERS4, RpcbProc } from '../proto/index.js';
import { mergeAddress } from './merge-address.js';
import { getNetconfig, taddrToUaddr, uaddrToTaddr } from './netconfig.js';
import {
  afterChange,
  mayChange,
  NOT_SAVED,
  registrationDone,
  cachedEncoding,
  encodeCached,
  decodeVoid,
  encodeBool,
  encodeString,
  encodeUint,
  nullProcedure,
} from './procedure-helpers.js';
import { procedure, type AnyRpcbProcedure } from './procedure-table.js';
import type { Registration } from './registry.js';
import {
  decodeNetbuf,
  decodeRpcb,
  encodeNetbuf,
  encodeRpcbEntryList,
  encodeRpcbList,
  rpcbListBytes,
  encodeRpcbStatByVers,
  type Netbuf,
  type Rpcb,
  type RpcbEntry,
} from '../proto/index.js';
import { MAX_RECORD_BYTES } from '../limits.js';

/** One cached rpcblist per registry, shared by the v3 and v4 DUMP. */
const dumpCaches = new WeakMap<BindingState['registry'], () => Buffer>();

function dumpEncoding(state: BindingState): () => Buffer {
  let c = dumpCaches.get(state.registry);
  if (!c) {
    const registry = state.registry;
    c = cachedEncoding(
      (w) => encodeRpcbList(w, registry.entries()),
      registry,
      () => rpcbListBytes(registry.entries()),
    );
    dumpCaches.set(registry, c);
  }
  return c;
}

/**
 * The merged address of a registration as seen from `localAddress`, remembered per entry:
 * merging parses and formats the address every time (bench/run.ts getaddr3-udp/getaddr4-udp).
 * Entries are immutable, so a remembered answer stays right for as long as the entry lives.
 */
const merged = new WeakMap<Registration, { local: string; addr: string }>();

function mergedAddress(ctx: CallerContext, r: Registration): string {
  const m = merged.get(r);
  if (m !== undefined && m.local === ctx.localAddress) return m.addr;
  // What cannot be merged (a local-socket caller, an address that does not parse) is
  // returned as registered.
  const addr = mergeAddress(ctx, r.netid, r.addr) ?? r.addr;
  merged.set(r, { local: ctx.localAddress, addr });
  return addr;
}

/**
 * Versions 3 and 4's procedures. A table of declarations, which counts as data for the size rule: the number, RFC 1833
 * name, access class and local-only flag of each procedure are read from here and nowhere else.
 */
export function rpcbProcedures(state: BindingState, vers: 3 | 4): AnyRpcbProcedure[] {
  const v3: AnyRpcbProcedure[] = [
    nullProcedure(),
    procedure({
      num: RpcbProc.SET,
      name: 'SET',
      class: 'register',
      localOnly: true,
      decode: decodeRpcb,
      encode: encodeBool,
      handle: (b, ctx) => set(state, vers, b, ctx),
    }),
    procedure({
      num: RpcbProc.UNSET,
      name: 'UNSET',
      class: 'register',
      localOnly: true,
      decode: decodeRpcb,
      encode: encodeBool,
      handle: (b, ctx) => unset(state, vers, b, ctx),
    }),
    procedure({
      num: RpcbProc.GETADDR,
      name: 'GETADDR',
      class: 'query',
      localOnly: false,
      decode: decodeRpcb,
      encode: encodeString,
      handle: (b, ctx) => lookup(state, vers, b, ctx, 'any'),
    }),
    procedure({
      num: RpcbProc.DUMP,
      name: 'DUMP',
      class: 'dump',
      localOnly: false,
      decode: decodeVoid,
      encode: encodeCached,
      handle: dumpEncoding(state),
    }),
    vers === 3
      ? remoteCallProcedure(state, vers, RpcbProc.CALLIT, 'CALLIT')
      : remoteCallProcedure(state, vers, RpcbProc.BCAST, 'BCAST'),
    procedure({
      num: RpcbProc.GETTIME,
      name: 'GETTIME',
      class: 'query',
      localOnly: false,
      decode: decodeVoid,
      encode: encodeUint,
      handle: () => state.now(),
    }),
    procedure({
      num: RpcbProc.UADDR2TADDR,
      name: 'UADDR2TADDR',
      class: 'query',
      localOnly: false,
      decode: (r: XdrReader) => r.string(MAX_RECORD_BYTES),
      encode: encodeNetbuf,
      handle: uaddr2taddr,
    }),
    procedure({
      num: RpcbProc.TADDR2UADDR,
      name: 'TADDR2UADDR',
      class: 'query',
      localOnly: false,
      decode: decodeTaddr,
      encode: encodeString,
      handle: taddr2uaddr,
    }),
  ];
  if (vers === 3) return v3;
  return [
    ...v3,
    procedure({
      num: RpcbProc.GETVERSADDR,
      name: 'GETVERSADDR',
      class: 'query',
      localOnly: false,
      decode: decodeRpcb,
      encode: encodeString,
      handle: (b, ctx) => lookup(state, vers, b, ctx, 'exact'),
    }),
    remoteCallProcedure(state, vers, RpcbProc.INDIRECT, 'INDIRECT'),
    procedure({
      num: RpcbProc.GETADDRLIST,
      name: 'GETADDRLIST',
      class: 'query',
      localOnly: false,
      decode: decodeRpcb,
      encode: encodeRpcbEntryList,
      handle: (b, ctx) => addrList(state, b, ctx),
    }),
    procedure({
      num: RpcbProc.GETSTAT,
      name: 'GETSTAT',
      class: 'dump',
      localOnly: true,
      decode: decodeVoid,
      encode: encodeRpcbStatByVers,
      handle: () => state.stats.snapshot(),
    }),
  ];
}

function set(state: BindingState, vers: number, b: Rpcb, ctx: CallerContext): boolean | Promise<boolean> {
  const event = { op: 'SET', prog: b.prog, vers: b.vers, netid: b.netid, addr: b.addr } as const;
  const report = (answer: boolean, why: string): boolean => registrationDone(state, ctx, vers, event, answer, why);
  if (!mayChange(state)) return report(false, NOT_SAVED);
  const res = state.registry.set({ prog: b.prog, vers: b.vers, netid: b.netid, addr: b.addr, owner: ownerOf(ctx) });
  const ok = res === 'added' || res === 'exists';
  return afterChange(state, { changed: res === 'added', ok }, (answer, unsaved) =>
    report(answer, unsaved ? NOT_SAVED : res),
  );
}

function unset(state: BindingState, vers: number, b: Rpcb, ctx: CallerContext): boolean | Promise<boolean> {
  const event = { op: 'UNSET', prog: b.prog, vers: b.vers, netid: b.netid, addr: '' } as const;
  const report = (answer: boolean, why: string): boolean => registrationDone(state, ctx, vers, event, answer, why);
  if (!mayChange(state)) return report(false, NOT_SAVED);
  const before = state.registry.generation;
  const ok = state.registry.unset(b.prog, b.vers, b.netid, ownerOf(ctx));
  return afterChange(state, { changed: state.registry.generation !== before, ok }, (answer, unsaved) =>
    report(answer, unsaved ? NOT_SAVED : 'refused'),
  );
}

/**
 * GETADDR ('any': the address of another version of the program when the asked one is not
 * registered, as rpcbind answers) and GETVERSADDR ('exact': only the asked version).
 */
function lookup(state: BindingState, vers: number, b: Rpcb, ctx: CallerContext, versions: 'any' | 'exact'): string {
  state.security?.lookup(ctx, b.prog);
  const r = state.registry.find(b.prog, b.vers, ctx.netid);
  const addr = r && (versions === 'any' || r.vers === b.vers) ? mergedAddress(ctx, r) : '';
  state.stats.lookupDone(vers, b.prog, b.vers, ctx.netid, addr !== '');
  return addr;
}

function addrList(state: BindingState, b: Rpcb, ctx: CallerContext): RpcbEntry[] {
  const { prog, vers } = b;
  state.security?.lookup(ctx, prog);
  const here = getNetconfig(ctx.netid);
  const out: RpcbEntry[] = [];
  for (const r of state.registry.findAllNetids(prog, vers)) {
    // Entries of another family, and (as in the reference) entries that cannot be merged,
    // which includes every local-socket entry, are left out. An unknown netid makes the
    // reference send no reply at all; we leave that entry out instead.
    const nc = getNetconfig(r.netid);
    if (!nc || !here || nc.protofmly !== here.protofmly) continue;
    const maddr = mergeAddress(ctx, r.netid, r.addr);
    if (maddr === undefined) continue;
    out.push({ maddr, netid: nc.netid, semantics: nc.semantics, protofmly: nc.protofmly, proto: nc.proto });
  }
  state.stats.lookupDone(RPCB_VERS4, prog, vers, ctx.netid, out.length > 0);
  return out;
}

function uaddr2taddr(uaddr: string, ctx: CallerContext): Netbuf {
  const nc = getNetconfig(ctx.netid);
  return (nc && uaddrToTaddr(nc, uaddr)) ?? { maxlen: 0, buf: Buffer.alloc(0) };
}

function decodeTaddr(r: XdrReader): Netbuf {
  const n = decodeNetbuf(r);
  // libtirpc decodes the body against maxlen: a longer body is malformed.
  if (n.buf.length > n.maxlen) throw new XdrError('XDR_TOO_LONG', 'netbuf body longer than maxlen');
  return n;
}

function taddr2uaddr(n: Netbuf, ctx: CallerContext): string {
  const nc = getNetconfig(ctx.netid);
  return (nc && taddrToUaddr(nc, n.buf)) ?? '';
}
