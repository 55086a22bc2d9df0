// Builders for rpcbind calls used by the adversarial tests: every procedure's arguments, so a
// test can cut, mutate or replay them. Not a client library: no retries, no parsing beyond need.
import type { XdrWriter } from '../../src/xdr/index.js';
import { buildCall } from './calls.js';
import { encodeMapping, encodeRpcb, encodeRmtCallArgs, encodeNetbuf, PMAP_PROG } from '../../src/proto/index.js';
import { Registry, RpcbStats, createRpcbindProgram } from '../../src/rpcbind/index.js';

export interface BuiltCall {
  name: string;
  vers: number;
  proc: number;
  bytes: Buffer;
}

function call(xid: number, vers: number, proc: number, args: (w: XdrWriter) => void): Buffer {
  return buildCall({ xid, prog: PMAP_PROG, vers, proc, args });
}

export function getportCall(xid: number, prog: number, vers = 1, prot = 17): Buffer {
  return call(xid, 2, 3, (w) => encodeMapping(w, { prog, vers, prot, port: 0 }));
}

export function setCall(xid: number, prog: number, vers: number, port: number, prot = 17): Buffer {
  return call(xid, 2, 1, (w) => encodeMapping(w, { prog, vers, prot, port }));
}

export function unsetCall(xid: number, prog: number, vers: number): Buffer {
  return call(xid, 2, 2, (w) => encodeMapping(w, { prog, vers, prot: 17, port: 0 }));
}

export function rpcbSetCall(xid: number, prog: number, vers: number, netid: string, addr: string): Buffer {
  return call(xid, 4, 1, (w) => encodeRpcb(w, { prog, vers, netid, addr, owner: '' }));
}

export function rpcbUnsetCall(xid: number, prog: number, vers: number, netid: string): Buffer {
  return call(xid, 4, 2, (w) => encodeRpcb(w, { prog, vers, netid, addr: '', owner: '' }));
}

export function getaddrCall(xid: number, prog: number, vers: number, netid: string, rpcbVers: 3 | 4 = 4): Buffer {
  return call(xid, rpcbVers, 3, (w) => encodeRpcb(w, { prog, vers, netid, addr: '', owner: '' }));
}

export function dumpCall(xid: number, vers = 2): Buffer {
  return call(xid, vers, 4, () => {});
}

export function nullCall(xid: number, vers = 2): Buffer {
  return call(xid, vers, 0, () => {});
}

const rpcbArgs = (w: XdrWriter): void =>
  encodeRpcb(w, { prog: 100003, vers: 3, netid: 'udp', addr: '127.0.0.1.8.1', owner: 'x' });
const rmtArgs = (w: XdrWriter): void => encodeRmtCallArgs(w, { prog: 100003, vers: 3, proc: 0, args: Buffer.alloc(8) });
const mapArgs = (w: XdrWriter): void => encodeMapping(w, { prog: 100003, vers: 3, prot: 17, port: 2049 });
const noArgs = (): void => {};

/** Well-formed arguments per procedure name ('v2 SET' before 'SET': version 2 takes a mapping). */
const ARGS: Readonly<Record<string, (w: XdrWriter) => void>> = {
  'v2 SET': mapArgs,
  'v2 UNSET': mapArgs,
  GETPORT: mapArgs,
  NULL: noArgs,
  SET: rpcbArgs,
  UNSET: rpcbArgs,
  GETADDR: rpcbArgs,
  DUMP: noArgs,
  CALLIT: rmtArgs,
  BCAST: rmtArgs,
  GETTIME: noArgs,
  UADDR2TADDR: (w) => w.string('127.0.0.1.0.111'),
  TADDR2UADDR: (w) => encodeNetbuf(w, { maxlen: 16, buf: Buffer.from('0200006f7f0000010000000000000000', 'hex') }),
  GETVERSADDR: rpcbArgs,
  INDIRECT: rmtArgs,
  GETADDRLIST: rpcbArgs,
  GETSTAT: noArgs,
};

/**
 * One well-formed call of every procedure the daemon declares, in version and number order;
 * xids are xid, xid + 1, ... A procedure with no entry in ARGS fails here, so none is left out.
 */
export function everyProcedureCall(xid = 1): BuiltCall[] {
  const state = { registry: new Registry(), stats: new RpcbStats(), policy: { insecure: false }, now: () => 0 };
  const out: BuiltCall[] = [];
  for (const [vers, { procedures }] of createRpcbindProgram(state).versions) {
    for (const p of procedures) {
      if (!p) continue;
      const name = `v${vers} ${p.name}`;
      const args = ARGS[name] ?? ARGS[p.name];
      if (!args) throw new Error(`rpc-calls.ts: no arguments for ${name}`);
      out.push({ name, vers, proc: p.num, bytes: call(xid + out.length, vers, p.num, args) });
    }
  }
  return out;
}

/** Frames a message as one last fragment. */
export function record(msg: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE((0x80000000 | msg.length) >>> 0, 0);
  return Buffer.concat([h, msg]);
}
