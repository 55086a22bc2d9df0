// One closed-loop load generator process: several sockets to 127.0.0.1:111, each keeping a
// window of calls in flight; every reply (matched by xid) is timed and immediately replaced by
// the next call. Pre-encoded template, xid patched in place. Prints one JSON line on exit.
//
// Usage (inside the daemon's namespace): node dist/bench/load.js '<LoadSpec JSON>'

import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './latency-histogram.js';

export interface LoadSpec {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  /** The call messages (no record mark), hex; each slot sends them in turn. */
  messagesHex: string[];
  /**
   * When >= 0: byte offset of a program number in every message, rewritten per slot to
   * progBase + generatorId * 65536 + slot, so slots change distinct registrations (SET/UNSET).
   */
  progOffset: number;
  progBase: number;
  sockets: number;
  /** Calls in flight per socket. */
  window: number;
  warmupMs: number;
  durationMs: number;
  /** A UDP call unanswered this long is sent again with a new xid. */
  udpRetryMs: number;
  /** Distinguishes generators so their xids never collide (0..255). */
  generatorId: number;
}

export interface LoadResult {
  calls: number;
  /** Replies including the warm-up (the C generator reports it; absent: same as calls). */
  totalCalls?: number;
  elapsedMs: number;
  /** Replies whose bytes after the xid differ from the first reply's. */
  mismatches: number;
  retries: number;
  firstReplyHex: string;
  histogram: Array<[number, number]>;
}

const XID_SLOT_BITS = 16;

function run(spec: LoadSpec): Promise<LoadResult> {
  const tcp = spec.transport === 'tcp';
  const bodies = spec.messagesHex.map((h) => Buffer.from(h, 'hex'));
  const hist = new LatencyHistogram();
  const nSlots = spec.sockets * spec.window;
  const sentAt = new Float64Array(nSlots);
  const seq = new Uint32Array(nSlots);
  let calls = 0;
  let totalCalls = 0;
  let mismatches = 0;
  let retries = 0;
  let first: Buffer | undefined;
  let measuring = false;
  let stopped = false;
  let tStart = 0;

  // Templates per slot: the xid is patched just before each send (TCP adds a record mark).
  const frame = (body: Buffer, slot: number): Buffer => {
    const hdr = tcp ? 4 : 0;
    const b = Buffer.allocUnsafe(hdr + body.length);
    if (tcp) b.writeUInt32BE((0x80000000 | body.length) >>> 0, 0);
    body.copy(b, hdr);
    if (spec.progOffset >= 0) {
      b.writeUInt32BE((spec.progBase + spec.generatorId * 65536 + slot) >>> 0, hdr + spec.progOffset);
    }
    return b;
  };
  const xidOf = (slot: number): number =>
    ((spec.generatorId << 24) | ((seq[slot]! & 0xff) << XID_SLOT_BITS) | slot) >>> 0;

  const onReply = (msg: Buffer, off: number, len: number): void => {
    const xid = msg.readUInt32BE(off);
    const slot = xid & 0xffff;
    if (slot >= nSlots || xid !== xidOf(slot) || sentAt[slot] === 0) return; // stale (retried)
    const now = performance.now();
    if (first === undefined) first = Buffer.from(msg.subarray(off, off + len));
    else if (first.length !== len || msg.compare(first, 4, len, off + 4, off + len) !== 0) mismatches++;
    totalCalls++;
    if (measuring) {
      calls++;
      hist.record((now - sentAt[slot]!) * 1000);
    }
    sentAt[slot] = 0;
    if (!stopped) send(slot);
  };

  const udpSocks: dgram.Socket[] = [];
  const tcpSocks: net.Socket[] = [];
  const templates: Buffer[][] = [];
  for (let slot = 0; slot < nSlots; slot++) templates.push(bodies.map((b) => frame(b, slot)));
  const send = (slot: number): void => {
    const s = Math.floor(slot / spec.window);
    seq[slot] = (seq[slot]! + 1) & 0xff;
    const ts = templates[slot]!;
    const t = ts[seq[slot]! % ts.length]!;
    sentAt[slot] = performance.now();
    if (tcp) {
      t.writeUInt32BE(xidOf(slot), 4);
      // write() copies nothing: hand it a fresh copy since the template is reused at once.
      tcpSocks[s]!.write(Buffer.from(t));
    } else {
      t.writeUInt32BE(xidOf(slot), 0);
      // libuv may queue the send (it defers while inside a receive callback): send a copy.
      udpSocks[s]!.send(Buffer.from(t));
    }
  };

  return new Promise<LoadResult>((resolve, reject) => {
    let open = 0;
    const ready = (): void => {
      if (++open < spec.sockets) return;
      for (let slot = 0; slot < nSlots; slot++) send(slot);
      setTimeout(() => {
        measuring = true;
        tStart = performance.now();
        setTimeout(finish, spec.durationMs);
      }, spec.warmupMs);
      if (!tcp) {
        const retry = setInterval(
          () => {
            const limit = performance.now() - spec.udpRetryMs;
            for (let slot = 0; slot < nSlots; slot++) {
              if (sentAt[slot] !== 0 && sentAt[slot]! < limit) {
                retries++;
                send(slot);
              }
            }
          },
          Math.max(10, spec.udpRetryMs / 2),
        );
        retry.unref();
      }
    };
    const finish = (): void => {
      const elapsedMs = performance.now() - tStart;
      measuring = false;
      stopped = true;
      for (const s of udpSocks) s.close();
      for (const s of tcpSocks) s.destroy();
      resolve({
        calls,
        totalCalls,
        elapsedMs,
        mismatches,
        retries,
        // The head is enough to check the outcome; a DUMP reply can be megabytes.
        firstReplyHex: first?.subarray(0, 64).toString('hex') ?? '',
        histogram: hist.toPairs(),
      });
    };
    for (let s = 0; s < spec.sockets; s++) {
      if (tcp) {
        const sock = net.connect({ host: spec.host, port: spec.port, noDelay: true }, ready);
        sock.on('error', reject);
        let pending: Buffer | undefined;
        // Chunks of a large reply (a DUMP) are collected and joined once it is complete.
        const held: Buffer[] = [];
        let heldBytes = 0;
        let needBytes = 0;
        sock.on('data', (chunk: Buffer) => {
          if (needBytes > 0) {
            held.push(chunk);
            heldBytes += chunk.length;
            if (heldBytes < needBytes) return;
            chunk = Buffer.concat(held, heldBytes);
            held.length = 0;
            heldBytes = 0;
            needBytes = 0;
            pending = undefined;
          }
          let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
          let pos = 0;
          // Replies are single-fragment records here; a multi-fragment one is reassembled.
          for (;;) {
            let end = pos;
            let last = false;
            const parts: Buffer[] = [];
            while (!last && buf.length - end >= 4) {
              const mark = buf.readUInt32BE(end);
              const len = mark & 0x7fffffff;
              if (buf.length - end - 4 < len) break;
              parts.push(buf.subarray(end + 4, end + 4 + len));
              end += 4 + len;
              last = (mark & 0x80000000) !== 0;
            }
            if (!last) break;
            if (parts.length === 1) onReply(buf, pos + 4, parts[0]!.length);
            else {
              const rec = Buffer.concat(parts);
              onReply(rec, 0, rec.length);
            }
            pos = end;
          }
          pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : undefined;
          if (pending && pending.length >= 4) {
            // Wait for the whole first fragment before parsing again.
            const need = 4 + (pending.readUInt32BE(0) & 0x7fffffff);
            if (need > pending.length) {
              needBytes = need;
              held.push(pending);
              heldBytes = pending.length;
            }
          }
          buf = Buffer.alloc(0);
        });
        tcpSocks.push(sock);
      } else {
        const sock = dgram.createSocket('udp4');
        sock.on('error', reject);
        sock.on('message', (msg) => onReply(msg, 0, msg.length));
        sock.bind(0, '127.0.0.1', () => sock.connect(spec.port, spec.host, ready));
        udpSocks.push(sock);
      }
    }
  });
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
run(spec).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
  },
  (e: unknown) => {
    process.stderr.write(`load: ${String(e)}\n`);
    process.exit(1);
  },
);
