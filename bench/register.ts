// Fills a daemon's table before a run: N v3 SETs over the local socket, pipelined. Programs are
// distinct (BENCH_PROG_BASE + i, version 1, netid udp) so that looking up the last one walks a
// list-based table to its end; the last program is registered on tcp as well, for the TCP rows.
//
// Debian's rpcbind checks every SET against its whole list, so 100k SETs take minutes; for it
// the same table is written as its warm-start files instead (read back at start with -w).
//
// Usage (inside the daemon's namespace): node dist/bench/register.js COUNT [SOCKET_PATH]
//                                        node dist/bench/register.js COUNT --warmstart DIR

import net from 'node:net';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePmapList, encodeRpcbList, type Rpcb } from '../src/proto/index.js';
import { selfRegistrations } from '../src/rpcbind/index.js';
import { XdrWriter } from '../src/xdr/index.js';
import { writeCallHeader } from '../src/rpc/index.js';
import { encodeRpcb } from '../src/proto/index.js';
import { BENCH_PROG_BASE, PMAP_PROG, targetProg } from './workloads.js';

const WINDOW = 256;
const TIMEOUT_MS = 120_000;
// Port 1000 on a documentation address: any non-zero port does, and a remote address is left
// alone by our daemon's liveness check of restored entries (the restart row).
const PORT_ADDR = '198.51.100.1.3.232';

function setCall(xid: number, prog: number, netid: string): Buffer {
  const w = new XdrWriter(128);
  w.uint32(0); // record mark, written below
  writeCallHeader(w, { xid, prog: PMAP_PROG, vers: 3, proc: 1 });
  encodeRpcb(w, { prog, vers: 1, netid, addr: PORT_ADDR, owner: '' });
  const b = w.toBuffer();
  b.writeUInt32BE((0x80000000 | (b.length - 4)) >>> 0, 0);
  return b;
}

function table(count: number): Array<[number, string]> {
  const calls: Array<[number, string]> = [];
  for (let i = 0; i < count - 1; i++) calls.push([BENCH_PROG_BASE + i, 'udp']);
  if (count > 0) calls.push([targetProg(count), 'tcp']);
  return calls;
}

/** rpcbind's rpcbind.xdr (rpcblist) and portmap.xdr (pmaplist): its own entries, then ours. */
function writeWarmstart(count: number, dir: string): void {
  const list: Rpcb[] = selfRegistrations({ port: 111, socketPath: '/run/rpcbind.sock', ipv4: true, ipv6: true });
  for (const [prog, netid] of table(count)) list.push({ prog, vers: 1, netid, addr: PORT_ADDR, owner: 'superuser' });
  const rpcb = new XdrWriter(1 << 20, 256 << 20);
  encodeRpcbList(rpcb, list);
  const pmap = new XdrWriter(1 << 20, 256 << 20);
  const port = (addr: string): number => {
    const p = addr.split('.');
    return Number(p[p.length - 2]) * 256 + Number(p[p.length - 1]);
  };
  encodePmapList(
    pmap,
    list
      .filter((b) => b.netid === 'udp' || b.netid === 'tcp')
      .map((b) => ({ prog: b.prog, vers: b.vers, prot: b.netid === 'udp' ? 17 : 6, port: port(b.addr) })),
  );
  // rpcbind reads them after dropping to its user, and only files that user owns.
  const pw = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('_rpc:'))
    ?.split(':');
  for (const [name, w] of [
    ['rpcbind.xdr', rpcb],
    ['portmap.xdr', pmap],
  ] as const) {
    writeFileSync(join(dir, name), w.view(), { mode: 0o600 });
    if (pw) chownSync(join(dir, name), Number(pw[2]), Number(pw[3]));
  }
}

async function register(count: number, path: string): Promise<number> {
  const calls = table(count);
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
const done =
  path === '--warmstart'
    ? Promise.resolve(writeWarmstart(count, process.argv[4] ?? '/run/rpcbind')).then(() => 0)
    : register(count, path);
done.then(
  (failed) => {
    process.stdout.write(`${JSON.stringify({ count, failed, ms: Date.now() - t0 })}\n`);
    process.exit(failed === 0 ? 0 : 1);
  },
  (e: unknown) => {
    process.stderr.write(`register: ${String(e)}\n`);
    process.exit(1);
  },
);
