// Fills a daemon's table before a run: N v3 SETs over the local socket, pipelined. Programs are
// distinct (BENCH_PROG_BASE + i, version 1, netid udp) so that looking up the last one walks a
// list-based table to its end; the last program is registered on tcp as well, for the TCP rows.
//
// Usage (inside the daemon's namespace): node dist/bench/register.js COUNT [SOCKET_PATH]

import net from 'node:net';
import { XdrWriter } from '../src/xdr/index.js';
import { writeCallHeader } from '../src/rpc/index.js';
import { encodeRpcb } from '../src/rpcbind/rpcb-types.js';
import { BENCH_PROG_BASE, PMAP_PROG, targetProg } from './workloads.js';

const WINDOW = 256;
const TIMEOUT_MS = 120_000;
const PORT_ADDR = '0.0.0.0.3.232'; // port 1000: any non-zero port does

function setCall(xid: number, prog: number, netid: string): Buffer {
  const w = new XdrWriter(128);
  w.uint32(0); // record mark, written below
  writeCallHeader(w, { xid, prog: PMAP_PROG, vers: 3, proc: 1 });
  encodeRpcb(w, { prog, vers: 1, netid, addr: PORT_ADDR, owner: '' });
  const b = w.toBuffer();
  b.writeUInt32BE((0x80000000 | (b.length - 4)) >>> 0, 0);
  return b;
}

async function register(count: number, path: string): Promise<number> {
  const calls: Array<[number, string]> = [];
  for (let i = 0; i < count - 1; i++) calls.push([BENCH_PROG_BASE + i, 'udp']);
  if (count > 0) calls.push([targetProg(count), 'tcp']);
  if (calls.length === 0) return 0;
  const sock = net.connect({ path });
  await new Promise<void>((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  let next = 0;
  let done = 0;
  let failed = 0;
  let pending: Buffer = Buffer.alloc(0);
  const pump = (): void => {
    while (next < calls.length && next - done < WINDOW) {
      const [prog, netid] = calls[next]!;
      sock.write(setCall(next + 1, prog, netid));
      next++;
    }
  };
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registration not done after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    sock.on('error', reject);
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let pos = 0;
      while (pending.length - pos >= 4) {
        const len = pending.readUInt32BE(pos) & 0x7fffffff;
        if (pending.length - pos - 4 < len) break;
        // accepted SUCCESS reply with AUTH_NONE verifier: bool result at offset 24.
        const ok = len >= 28 && pending.readUInt32BE(pos + 4 + 24) === 1;
        if (!ok) failed++;
        done++;
        pos += 4 + len;
      }
      pending = Buffer.from(pending.subarray(pos));
      if (done === calls.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(failed);
      } else pump();
    });
    pump();
  });
}

const count = Number(process.argv[2] ?? '0');
const path = process.argv[3] ?? '/run/rpcbind.sock';
const t0 = Date.now();
register(count, path).then(
  (failed) => {
    process.stdout.write(JSON.stringify({ count, failed, ms: Date.now() - t0 }) + '\n');
    process.exit(failed === 0 ? 0 : 1);
  },
  (e: unknown) => {
    process.stderr.write(`register: ${String(e)}\n`);
    process.exit(1);
  },
);
