// RPCBIND version 3 and 4 procedures (RFC 1833 section 2): the v3 set and the v4 additions.

import { XdrError, XdrReader, XdrWriter } from '../xdr/index.js';
import { remoteCallProcedure } from './remote-call.js';
import type { AnyProcedure } from '../rpc/index.js';
import type { BindingState, RemoteCallRequest } from './binding-state.js';
import type { CallerContext } from '../rpc/index.js';
import { ownerOf } from './caller.js';
import { RPCB_VERS4 } from '../proto/index.js';
import { mergeAddress } from './merge-address.js';
import { getNetconfig, taddrToUaddr, uaddrToTaddr } from './netconfig.js';
import {
  afterChange,
  mayChange,
  NOT_SAVED,
  cachedEncoding,
  declare,
  encodeCached,
  decodeVoid,
  encodeBool,
  encodeString,
  encodeUint,
  mayModify,
  nullProcedure,
  WEAK_AUTH,
} from './procedure-helpers.js';
import type { Registration } from './registry.js';
import { decodeNetbuf, decodeRpcb, encodeNetbuf, encodeRpcbEntryList, encodeRpcbList, rpcbListBytes, encodeRpcbStatByVers, type Netbuf, type RpcbEntry, type RpcbStatByVers } from '../proto/index.js';
import { MAX_RECORD_BYTES } from '../limits.js';

/** One cached rpcblist per registry, shared by the v3 and v4 DUMP. */
const dumpCaches = new WeakMap<BindingState['registry'], () => Buffer>();

function dumpEncoding(state: BindingState): () => Buffer {
  let c = dumpCaches.get(state.registry);
  if (!c) {
    const registry = state.registry;
    c = cachedEncoding(
      (w) => encodeRpcbList(w, registry.entries()),
      () => registry.generation,
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

function lookup(state: BindingState, vers: number, prog: number, pvers: number, ctx: CallerContext, anyVersion: boolean): string {
  state.security?.lookup(ctx, prog);
  const r = state.registry.find(prog, pvers, ctx.netid);
  const addr = r && (anyVersion || r.vers === pvers) ? mergedAddress(ctx, r) : '';
  state.stats.lookupDone(vers, prog, pvers, ctx.netid, addr !== '');
  return addr;
}

function addrList(state: BindingState, prog: number, vers: number, ctx: CallerContext): RpcbEntry[] {
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

export function rpcbProcedures(state: BindingState, vers: 3 | 4): Array<AnyProcedure<CallerContext> | undefined> {
  const { registry, stats } = state;

  const set = declare('SET', decodeRpcb, encodeBool, (b, ctx) => {
    if (!mayModify(state, ctx)) return WEAK_AUTH;
    const report = (answer: boolean, why: string): boolean => {
      state.security?.registration(ctx, 'SET', b.prog, b.vers, b.netid, b.addr, answer ? 'ok' : why);
      stats.setDone(vers, answer);
      return answer;
    };
    if (!mayChange(state)) return report(false, NOT_SAVED);
    const res = registry.set({ prog: b.prog, vers: b.vers, netid: b.netid, addr: b.addr, owner: ownerOf(ctx) });
    const ok = res === 'added' || res === 'exists';
    return afterChange(state, res === 'added', ok, (answer, unsaved) => report(answer, unsaved ? NOT_SAVED : res));
  });

  const unset = declare('UNSET', decodeRpcb, encodeBool, (b, ctx) => {
    if (!mayModify(state, ctx)) return WEAK_AUTH;
    const report = (answer: boolean, why: string): boolean => {
      state.security?.registration(ctx, 'UNSET', b.prog, b.vers, b.netid, '', answer ? 'ok' : why);
      stats.unsetDone(vers, answer);
      return answer;
    };
    if (!mayChange(state)) return report(false, NOT_SAVED);
    const before = registry.generation;
    const ok = registry.unset(b.prog, b.vers, b.netid, ownerOf(ctx));
    return afterChange(state, registry.generation !== before, ok, (answer, unsaved) => report(answer, unsaved ? NOT_SAVED : 'refused'));
  });

  const getaddr = declare('GETADDR', decodeRpcb, encodeString, (b, ctx) =>
    lookup(state, vers, b.prog, b.vers, ctx, true),
  );

  const dump = declare('DUMP', decodeVoid, encodeCached, dumpEncoding(state));

  const remote = (procedure: RemoteCallRequest['procedure']) => remoteCallProcedure(state, vers, procedure);

  const gettime = declare('GETTIME', decodeVoid, encodeUint, () => state.now());

  const uaddr2taddr = declare(
    'UADDR2TADDR',
    (r: XdrReader) => r.string(MAX_RECORD_BYTES),
    (w: XdrWriter, n: Netbuf) => encodeNetbuf(w, n),
    (uaddr, ctx) => {
      const nc = getNetconfig(ctx.netid);
      return (nc && uaddrToTaddr(nc, uaddr)) ?? { maxlen: 0, buf: Buffer.alloc(0) };
    },
  );

  const taddr2uaddr = declare(
    'TADDR2UADDR',
    (r: XdrReader) => {
      const n = decodeNetbuf(r);
      // libtirpc decodes the body against maxlen: a longer body is malformed.
      if (n.buf.length > n.maxlen) throw new XdrError("XDR_TOO_LONG", "netbuf body longer than maxlen");
      return n;
    },
    encodeString,
    (n, ctx) => {
      const nc = getNetconfig(ctx.netid);
      return (nc && taddrToUaddr(nc, n.buf)) ?? '';
    },
  );

  const procs: Array<AnyProcedure<CallerContext> | undefined> = [
    nullProcedure(),
    set,
    unset,
    getaddr,
    dump,
    remote(vers === 3 ? 'CALLIT' : 'BCAST'),
    gettime,
    uaddr2taddr,
    taddr2uaddr,
  ] as Array<AnyProcedure<CallerContext>>;
  if (vers === 3) return procs;

  const getversaddr = declare('GETVERSADDR', decodeRpcb, encodeString, (b, ctx) =>
    lookup(state, vers, b.prog, b.vers, ctx, false),
  );
  const getaddrlist = declare(
    'GETADDRLIST',
    decodeRpcb,
    (w: XdrWriter, l: RpcbEntry[]) => encodeRpcbEntryList(w, l),
    (b, ctx) => addrList(state, b.prog, b.vers, ctx),
  );
  const getstat = declare(
    'GETSTAT',
    decodeVoid,
    (w: XdrWriter, s: RpcbStatByVers) => encodeRpcbStatByVers(w, s),
    (_a, ctx) => (mayModify(state, ctx) ? stats.snapshot() : WEAK_AUTH),
  );
  procs.push(getversaddr, remote('INDIRECT'), getaddrlist, getstat as AnyProcedure<CallerContext>);
  return procs;
}
