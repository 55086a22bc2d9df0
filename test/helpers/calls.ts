// Builders for RPC calls and readers for replies, shared by unit and adversarial tests.

import { type XdrReader, XdrWriter } from '../../src/xdr/index.js';
import { writeCallHeader, decodeReply, encodeAuthSys, AuthFlavor } from '../../src/rpc/index.js';
import type { OpaqueAuth, DecodedReply } from '../../src/rpc/index.js';
import type { CallerContext } from '../../src/rpc/index.js';
import { encodeRpcb } from '../../src/proto/index.js';

export interface CallOptions {
  xid?: number;
  prog?: number;
  vers: number;
  proc: number;
  cred?: OpaqueAuth;
  args?: (w: XdrWriter) => void;
}

export function buildCall(o: CallOptions): Buffer {
  const w = new XdrWriter(128);
  writeCallHeader(w, {
    xid: o.xid ?? 0x1234,
    prog: o.prog ?? 100000,
    vers: o.vers,
    proc: o.proc,
    ...(o.cred ? { cred: o.cred } : {}),
  });
  o.args?.(w);
  return w.toBuffer();
}

/** An RPCBPROC_SET call (v3 unless `rpcbVers` says 4) with an empty owner, as rpcb_set sends it. */
export function rpcbSet(prog: number, vers: number, netid: string, addr: string, rpcbVers: 3 | 4 = 3): Buffer {
  return buildCall({ vers: rpcbVers, proc: 1, args: (w) => encodeRpcb(w, { prog, vers, netid, addr, owner: '' }) });
}

export function authSys(uid: number, gid = uid): OpaqueAuth {
  return {
    flavor: AuthFlavor.AUTH_SYS,
    body: encodeAuthSys({ stamp: 1, machinename: 'test', uid, gid, gids: [gid] }),
  };
}

export function reply(buf: Buffer | undefined): DecodedReply {
  if (!buf) throw new Error('expected a reply, got none');
  return decodeReply(buf);
}

/** The results of a SUCCESS reply; fails the test on anything else. */
export function results(buf: Buffer | undefined): XdrReader {
  const r = reply(buf);
  if (r.kind !== 'success') throw new Error(`expected SUCCESS, got ${JSON.stringify(r)}`);
  return r.results;
}

export const loopbackUdp: CallerContext = {
  netid: 'udp',
  peerAddress: '127.0.0.1',
  peerPort: 40000,
  localAddress: '127.0.0.1',
  uid: undefined,
};

export const loopbackUdpPrivileged: CallerContext = { ...loopbackUdp, peerPort: 900 };

export const remoteUdp: CallerContext = {
  netid: 'udp',
  peerAddress: '198.18.0.2',
  peerPort: 40000,
  localAddress: '198.18.0.1',
  uid: undefined,
};

export const localRoot: CallerContext = { netid: 'local', peerAddress: '', peerPort: 0, localAddress: '', uid: 0 };

export function localUser(uid: number): CallerContext {
  return { ...localRoot, uid };
}

export function ctx(over: Partial<CallerContext>): CallerContext {
  return { ...loopbackUdp, ...over };
}
