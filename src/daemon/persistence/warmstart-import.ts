// One-time migration from Linux rpcbind: reads its warm-start files (rpcbind -w writes
// rpcbind.xdr, an XDR rpcblist, and portmap.xdr, an XDR pmaplist, on SIGTERM) into registrations.
// The portmapper's own entries are left out: this daemon adds its own.

import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_REGISTRATIONS, MAX_WARMSTART_FILE_BYTES } from '../../limits.js';
import { PMAP_PROG, decodePmapList, decodeRpcbList, formatUaddr } from '../../proto/index.js';
import { protToNetid, type Registration } from '../../rpcbind/index.js';
import { XdrError, XdrReader } from '../../xdr/index.js';

export const RPCBIND_WARMSTART_DIR = '/run/rpcbind';
const RPCBIND_FILE = 'rpcbind.xdr';
const PORTMAP_FILE = 'portmap.xdr';

/** rpcbind's owner for registrations it cannot attribute (v2 SETs from the network). */
const UNKNOWN_OWNER = 'unknown';

export type ImportResult = { kind: 'none' } | { kind: 'imported'; entries: Registration[]; problems: string[] };

type FileRead<T> = { kind: 'missing' } | { kind: 'ok'; items: T[] } | { kind: 'bad'; reason: string };

function readList<T>(path: string, decode: (r: XdrReader) => T[]): FileRead<T> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'bad', reason: `${path}: ${(e as Error).message}` };
  }
  if (bytes.length > MAX_WARMSTART_FILE_BYTES)
    return { kind: 'bad', reason: `${path}: ${bytes.length} bytes is too large` };
  try {
    const r = new XdrReader(bytes);
    const items = decode(r);
    if (r.remaining !== 0) return { kind: 'bad', reason: `${path}: ${r.remaining} trailing bytes` };
    return { kind: 'ok', items };
  } catch (e) {
    if (e instanceof XdrError) return { kind: 'bad', reason: `${path}: ${e.message}` };
    throw e;
  }
}

/** Reads rpcbind's warm-start files from `dir`; never throws. */
export function importWarmStart(dir: string = RPCBIND_WARMSTART_DIR): ImportResult {
  const rpcb = readList(join(dir, RPCBIND_FILE), (r) => decodeRpcbList(r, MAX_REGISTRATIONS));
  const pmap = readList(join(dir, PORTMAP_FILE), (r) => decodePmapList(r, MAX_REGISTRATIONS));
  if (rpcb.kind === 'missing' && pmap.kind === 'missing') return { kind: 'none' };
  const problems: string[] = [];
  const entries: Registration[] = [];
  const seen = new Set<string>();
  const add = (e: Registration): void => {
    if (e.prog === PMAP_PROG) return;
    const key = `${e.prog}:${e.vers}:${e.netid.toLowerCase()}`;
    if (seen.has(key)) return;
    seen.add(key);
    entries.push(e);
  };
  if (rpcb.kind === 'bad') problems.push(rpcb.reason);
  if (rpcb.kind === 'ok') for (const b of rpcb.items) add({ ...b });
  if (pmap.kind === 'bad') problems.push(pmap.reason);
  // rpcbind lists v2 registrations in both files; portmap.xdr only adds what rpcbind.xdr lacks.
  if (pmap.kind === 'ok') {
    for (const m of pmap.items) {
      const netid = protToNetid(m.prot);
      if (netid === undefined || m.port > 0xffff) {
        problems.push(`${PORTMAP_FILE}: skipped prog ${m.prog} vers ${m.vers} prot ${m.prot} port ${m.port}`);
        continue;
      }
      add({ prog: m.prog, vers: m.vers, netid, addr: formatUaddr('0.0.0.0', m.port), owner: UNKNOWN_OWNER });
    }
  }
  return { kind: 'imported', entries, problems };
}

/**
 * Removes rpcbind's warm-start files once their entries are ours (durably saved), as rpcbind
 * itself does after reading them: a later rpcbind -w (the way back to Debian's) must not take
 * up registrations that are long gone. Returns the problems met (never throws).
 */
export function consumeWarmStart(dir: string = RPCBIND_WARMSTART_DIR): string[] {
  const problems: string[] = [];
  for (const name of [RPCBIND_FILE, PORTMAP_FILE]) {
    try {
      unlinkSync(join(dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        problems.push(`cannot remove ${join(dir, name)}: ${(e as Error).message}`);
    }
  }
  return problems;
}
