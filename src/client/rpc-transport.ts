// What every client transport offers: send one call record, get back the reply whose xid matches.

import { randomInt } from 'node:crypto';
import type { Netid } from '../rpc/caller.js';

export type { Netid };

export interface RpcTransport {
  readonly netid: Netid;
  /** Sends `call` (a complete RPC call message starting with `xid`) and resolves with the reply. */
  exchange(xid: number, call: Buffer, timeoutMs: number): Promise<Buffer>;
  close(): void;
}

let nextXid = randomInt(0, 0x7fffffff);

/** Fresh xids: random start, then incrementing, as libtirpc does. */
export function newXid(): number {
  nextXid = (nextXid + 1) >>> 0;
  return nextXid;
}
