// Broadcast NULL-style calls through every IPv4 broadcast-capable interface's portmapper
// (PMAP CALLIT v2 to port 111), reporting each reply until the timeout.

import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { type XdrReader, XdrWriter } from '../xdr/index.js';
import { decodeReply, writeCallHeader } from '../rpc/index.js';
import { MAX_DATAGRAM_BYTES, MAX_RECORD_BYTES } from '../limits.js';
import { PMAP_PORT, PMAP_PROG, PmapProc } from '../proto/index.js';
import { decodePmapCallResult, encodeRmtCallArgs } from '../proto/index.js';
import { RpcClientError } from './rpc-client-error.js';
import { newXid } from './rpc-transport.js';

export interface BroadcastReply {
  /** Sender address and the service port it reported. */
  address: string;
  port: number;
  results: Buffer;
}

/** IPv4 broadcast addresses of the non-loopback interfaces. */
export function broadcastAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || a.family !== 'IPv4') continue;
      const ip = a.address.split('.').map(Number);
      const mask = a.netmask.split('.').map(Number);
      out.add(ip.map((b, i) => (b | (~(mask[i] ?? 0) & 0xff)) & 0xff).join('.'));
    }
  }
  return [...out];
}

/**
 * Sends the call and invokes onReply for each answer; resolves with the number of replies when
 * `onReply` returns true or the timeout passes. RPC_UNKNOWNPROTO when no interface can broadcast.
 * An exception thrown by `onReply` ends the broadcast: the returned promise rejects with it.
 * `port` (default 111) is where the portmappers are asked.
 */
export async function broadcast(
  call: { prog: number; vers: number; proc: number; args?: Buffer },
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that returns nothing goes on listening
  onReply: (r: BroadcastReply) => boolean | void,
  opts: { timeoutMs?: number; addresses?: string[]; port?: number } = {},
): Promise<number> {
  const targets = opts.addresses ?? broadcastAddresses();
  if (targets.length === 0) throw new RpcClientError('RPC_UNKNOWNPROTO', { detail: 'no broadcast-capable interface' });
  const xid = newXid();
  const w = new XdrWriter(256, MAX_RECORD_BYTES);
  writeCallHeader(w, { xid, prog: PMAP_PROG, vers: 2, proc: PmapProc.CALLIT });
  encodeRmtCallArgs(w, { prog: call.prog, vers: call.vers, proc: call.proc, args: call.args ?? Buffer.alloc(0) });
  const msg = w.toBuffer();
  const sock = dgram.createSocket('udp4');
  let count = 0;
  return new Promise<number>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (failure?: { error: unknown }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (failure) reject(failure.error);
      else resolve(count);
    };
    sock.on('error', () => finish());
    sock.on('message', (m, rinfo) => {
      if (done || m.length > MAX_DATAGRAM_BYTES || m.length < 4 || m.readUInt32BE(0) !== xid) return;
      let reply: BroadcastReply;
      try {
        const d = decodeReply(m);
        if (d.kind !== 'success') return;
        const res = decodePmapCallResult(d.results as XdrReader, MAX_DATAGRAM_BYTES);
        reply = { address: rinfo.address, port: res.port, results: Buffer.from(res.res) };
      } catch {
        return; // malformed reply: ignore it
      }
      count++;
      // The caller's exception is the caller's to see, not a malformed reply.
      // biome-ignore lint/suspicious/noConfusingVoidType: what onReply returns
      let stop: boolean | void;
      try {
        stop = onReply(reply);
      } catch (error) {
        finish({ error });
        return;
      }
      if (stop) finish();
    });
    sock.bind(0, () => {
      if (done) return;
      sock.setBroadcast(true);
      for (const t of targets) sock.send(msg, opts.port ?? PMAP_PORT, t);
      timer = setTimeout(() => finish(), opts.timeoutMs ?? 10_000);
    });
  });
}
