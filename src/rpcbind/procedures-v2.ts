// PMAP version 2 procedures (RFC 1833 section 3): NULL, SET, UNSET, GETPORT, DUMP, CALLIT.

import type { XdrWriter } from '../xdr/index.js';
import { remoteCallProcedure } from './remote-call.js';
import type { BindingState } from './binding-state.js';
import type { CallerContext } from '../rpc/index.js';
import { ownerOf } from './caller.js';
import { IPPROTO_TCP, IPPROTO_UDP, PMAP_VERS, PmapProc } from '../proto/index.js';
import {
  afterChange,
  mayChange,
  NOT_SAVED,
  registrationDone,
  cachedEncoding,
  encodeCached,
  decodeVoid,
  encodeBool,
  encodeUint,
  nullProcedure,
} from './procedure-helpers.js';
import { procedure, type AnyRpcbProcedure } from './procedure-table.js';
import type { Registration } from './registry.js';
import { decodeMapping, encodePmapList, formatUaddr, type PmapMapping, uaddrPortAtoi } from '../proto/index.js';

export function protToNetid(prot: number): 'udp' | 'tcp' | undefined {
  return prot === IPPROTO_UDP ? 'udp' : prot === IPPROTO_TCP ? 'tcp' : undefined;
}

/** The v2 view of a registration: only udp and tcp entries with a port. */
function toMapping(r: Registration): PmapMapping | undefined {
  const prot = r.netid === 'udp' ? IPPROTO_UDP : r.netid === 'tcp' ? IPPROTO_TCP : 0;
  if (prot === 0) return undefined;
  const port = uaddrPortAtoi(r.addr);
  return port === undefined ? undefined : { prog: r.prog, vers: r.vers, prot, port };
}

function* pmapList(state: BindingState): Generator<PmapMapping> {
  for (const r of state.registry.entries()) {
    const m = toMapping(r);
    if (m) yield m;
  }
}

/**
 * Version 2's procedures. A table of declarations, which counts as data for the size rule: the number, RFC 1833 name,
 * access class and local-only flag of each procedure are read from here and nowhere else.
 */
export function pmapProcedures(state: BindingState): AnyRpcbProcedure[] {
  return [
    nullProcedure(),
    procedure({
      num: PmapProc.SET,
      name: 'SET',
      class: 'register',
      localOnly: true,
      decode: decodeMapping,
      encode: encodeBool,
      handle: (m, ctx) => set(state, m, ctx),
    }),
    procedure({
      num: PmapProc.UNSET,
      name: 'UNSET',
      class: 'register',
      localOnly: true,
      decode: decodeMapping,
      encode: encodeBool,
      handle: (m, ctx) => unset(state, m, ctx),
    }),
    procedure({
      num: PmapProc.GETPORT,
      name: 'GETPORT',
      class: 'query',
      localOnly: false,
      decode: decodeMapping,
      encode: encodeUint,
      handle: (m, ctx) => getport(state, m, ctx),
    }),
    procedure({
      num: PmapProc.DUMP,
      name: 'DUMP',
      class: 'dump',
      localOnly: false,
      decode: decodeVoid,
      encode: encodeCached,
      handle: pmapDump(state),
    }),
    remoteCallProcedure(state, PMAP_VERS, PmapProc.CALLIT, 'CALLIT'),
  ];
}

function set(state: BindingState, m: PmapMapping, ctx: CallerContext): boolean | Promise<boolean> {
  const netid = protToNetid(m.prot);
  const event = {
    op: 'SET',
    prog: m.prog,
    vers: m.vers,
    netid: netid ?? `prot ${m.prot}`,
    addr: String(m.port),
  } as const;
  const report = (answer: boolean, why: string): boolean => registrationDone(state, ctx, PMAP_VERS, event, answer, why);
  if (!netid) return report(false, 'refused');
  if (!mayChange(state)) return report(false, NOT_SAVED);
  const addr = formatUaddr('0.0.0.0', m.port);
  const res = state.registry.set({ prog: m.prog, vers: m.vers, netid, addr, owner: ownerOf(ctx) });
  const ok = res === 'added' || res === 'exists';
  return afterChange(state, { changed: res === 'added', ok }, (answer, unsaved) =>
    report(answer, unsaved ? NOT_SAVED : 'refused'),
  );
}

function unset(state: BindingState, m: PmapMapping, ctx: CallerContext): boolean | Promise<boolean> {
  const { registry } = state;
  const event = { op: 'UNSET', prog: m.prog, vers: m.vers, netid: 'udp+tcp', addr: '' } as const;
  const report = (answer: boolean, why: string): boolean => registrationDone(state, ctx, PMAP_VERS, event, answer, why);
  if (!mayChange(state)) return report(false, NOT_SAVED);
  const owner = ownerOf(ctx);
  const before = registry.generation;
  const okTcp = registry.unset(m.prog, m.vers, 'tcp', owner);
  const okUdp = registry.unset(m.prog, m.vers, 'udp', owner);
  return afterChange(state, { changed: registry.generation !== before, ok: okTcp || okUdp }, (answer, unsaved) =>
    report(answer, unsaved ? NOT_SAVED : 'refused'),
  );
}

function getport(state: BindingState, m: PmapMapping, ctx: CallerContext): number {
  state.security?.lookup(ctx, m.prog);
  const netid = protToNetid(m.prot);
  let port = 0;
  if (netid) {
    // The v2 view holds only entries whose netid is exactly udp/tcp (case matters here).
    const r = state.registry.find(m.prog, m.vers, netid);
    if (r && r.netid === netid) port = uaddrPortAtoi(r.addr) ?? 0;
    state.stats.lookupDone(PMAP_VERS, m.prog, m.vers, netid, port !== 0);
  }
  return port;
}

/** DUMP's answer: the v2 list, encoded again only when the table changed. */
function pmapDump(state: BindingState): () => Buffer {
  const { registry } = state;
  return cachedEncoding(
    (w: XdrWriter) => encodePmapList(w, pmapList(state)),
    registry,
    // An upper bound (entries that are not udp/tcp are left out): one more word per entry.
    () => 4 + 20 * registry.size,
  );
}
