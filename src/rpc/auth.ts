// opaque_auth and AUTH_SYS credentials (RFC 5531 section 8 and 9.2).

import { XdrReader, XdrWriter } from '../xdr/index.js';
import { MAX_AUTH_BYTES, MAX_AUTH_GIDS, MAX_MACHINENAME_BYTES } from '../limits.js';
import { AuthFlavor } from './constants.js';

export interface OpaqueAuth {
  flavor: number;
  body: Buffer;
}

export interface AuthSysParms {
  stamp: number;
  machinename: string;
  uid: number;
  gid: number;
  gids: number[];
}

export const AUTH_NONE_EMPTY: OpaqueAuth = Object.freeze({
  flavor: AuthFlavor.AUTH_NONE,
  body: Buffer.alloc(0),
}) as OpaqueAuth;

export function decodeOpaqueAuth(r: XdrReader): OpaqueAuth {
  const flavor = r.uint32();
  const body = r.opaque(MAX_AUTH_BYTES);
  return { flavor, body };
}

export function encodeOpaqueAuth(w: XdrWriter, a: OpaqueAuth): void {
  w.uint32(a.flavor).opaque(a.body);
}

/** Decodes an AUTH_SYS body; throws XdrError when it is malformed (trailing bytes are tolerated, as libtirpc does). */
export function decodeAuthSys(body: Buffer): AuthSysParms {
  const r = new XdrReader(body);
  const stamp = r.uint32();
  const machinename = r.string(MAX_MACHINENAME_BYTES);
  const uid = r.uint32();
  const gid = r.uint32();
  const gids = r.array(MAX_AUTH_GIDS, (x) => x.uint32());
  return { stamp, machinename, uid, gid, gids };
}

export function encodeAuthSys(p: AuthSysParms): Buffer {
  const w = new XdrWriter(64, MAX_AUTH_BYTES);
  w.uint32(p.stamp).string(p.machinename).uint32(p.uid).uint32(p.gid);
  w.uint32(p.gids.length);
  for (const g of p.gids) w.uint32(g);
  return w.toBuffer();
}
