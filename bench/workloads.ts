// The calls the benchmark sends, pre-encoded once: each workload names its transport, the
// message template (xid at offset 0, patched per call) and how many calls a slot keeps in flight.

import { XdrWriter } from '../src/xdr/index.js';
import { writeCallHeader } from '../src/rpc/index.js';
import { encodeRpcb } from '../src/proto/index.js';

export const PMAP_PROG = 100000;
/** First program number of the registrations the runner adds (local-use range). */
export const BENCH_PROG_BASE = 0x20000000;

/** The program a lookup workload asks for: the last one registered (see register.ts). */
export function targetProg(count: number): number {
  return BENCH_PROG_BASE + Math.max(0, count - 2);
}

export type Transport = 'udp' | 'tcp';

export interface Workload {
  /** Stable name used on the command line and in the table. */
  readonly name: string;
  readonly transport: Transport;
  /** One call window per generator socket is multiplied by this (1 for the latency row). */
  readonly window?: number;
  readonly sockets?: number;
  readonly generators?: number;
  /** Needs the daemon's --state-dir (durable SET); skipped for daemons without it. */
  readonly needsStateDir?: boolean;
  /** Builds the calls (sent in turn by each slot) for a given target program. */
  messages(targetProg: number): Buffer[];
  /** Offset of a program number the generator rewrites per slot (-1: none). */
  readonly progOffset?: number;
}

/** Offset of the first argument word in a call with AUTH_NONE credential and verifier. */
export const ARGS_OFFSET = 40;
/** Programs the durable-SET workload registers and removes (clear of the lookup targets). */
export const SET_PROG_BASE = 0x30000000;

function call(proc: number, vers: number, body: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(128);
  writeCallHeader(w, { xid: 0, prog: PMAP_PROG, vers, proc });
  body(w);
  return w.toBuffer();
}

const getport = (prog: number): Buffer => call(3, 2, (w) => w.uint32(prog).uint32(1).uint32(17).uint32(0));
const getaddr =
  (vers: 3 | 4) =>
  (prog: number): Buffer =>
    call(3, vers, (w) => encodeRpcb(w, { prog, vers: 1, netid: '', addr: '', owner: '' }));
const dump = (): Buffer => call(4, 4, () => {});
const rpcbChange = (proc: 1 | 2): Buffer =>
  call(proc, 3, (w) => encodeRpcb(w, { prog: SET_PROG_BASE, vers: 1, netid: 'tcp', addr: '0.0.0.0.3.232', owner: '' }));

export const WORKLOADS: readonly Workload[] = [
  { name: 'getport2-udp', transport: 'udp', messages: (p) => [getport(p)] },
  { name: 'getport2-tcp', transport: 'tcp', messages: (p) => [getport(p)] },
  { name: 'getaddr3-udp', transport: 'udp', messages: (p) => [getaddr(3)(p)] },
  { name: 'getaddr3-tcp', transport: 'tcp', messages: (p) => [getaddr(3)(p)] },
  { name: 'getaddr4-udp', transport: 'udp', messages: (p) => [getaddr(4)(p)] },
  { name: 'getaddr4-tcp', transport: 'tcp', messages: (p) => [getaddr(4)(p)] },
  // One DUMP at a time per connection, as rpcinfo does (a deep pipeline of large replies is
  // what both daemons treat as a peer that does not read).
  { name: 'dump4-tcp', transport: 'tcp', window: 1, messages: () => [dump()] },
  // SET then UNSET of a program per slot over TCP loopback: each reply waits for durability
  // when the daemon persists its table.
  {
    name: 'set-unset3-tcp',
    transport: 'tcp',
    needsStateDir: true,
    progOffset: ARGS_OFFSET,
    messages: () => [rpcbChange(1), rpcbChange(2)],
  },
  // One generator, one socket, one call in flight: the latency row.
  { name: 'getport2-udp-1', transport: 'udp', window: 1, sockets: 1, generators: 1, messages: (p) => [getport(p)] },
];

export function findWorkload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload ${name}; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
  return w;
}
