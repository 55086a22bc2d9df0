// Runs inside a TestHost (spawned with node): performs one attack or probe described by a
// JSON spec on stdin and prints a JSON result. Every loop is bounded in count and time.
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

type Spec =
  | { op: 'udp'; target: string; from?: string; port: number; payloads: string[]; waitMs: number; paceEvery?: number }
  | {
      op: 'tcp';
      target: string;
      from?: string;
      port: number;
      chunks: string[];
      gapMs: number;
      maxMs: number;
      reset?: boolean;
    }
  | { op: 'local'; path: string; chunks: string[]; maxMs: number }
  | {
      op: 'idle';
      target: string;
      from?: string;
      port: number;
      count: number;
      holdMs: number;
      untilClosed?: number;
      /** With untilClosed: how long the rest are held once that many were closed. */
      thenHoldMs?: number;
    }
  | { op: 'noread'; target: string; from?: string; port: number; record: string; count: number; maxMs: number }
  | {
      op: 'burst';
      target: string;
      port: number;
      sockets: number;
      perSocket: number;
      wave: number;
      payload: string;
      waitMs: number;
    };

function readStdin(): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    process.stdin
      .setEncoding('utf8')
      .on('data', (d: string) => (s += d))
      .on('end', () => resolve(s));
  });
}

async function udp(s: Extract<Spec, { op: 'udp' }>): Promise<unknown> {
  const v6 = s.target.includes(':');
  const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  sock.on('error', () => {});
  await new Promise<void>((r) => sock.bind({ address: s.from ?? (v6 ? '::' : '0.0.0.0'), port: 0 }, () => r()));
  const replies: Array<{ xid: number; bytes: number; hex: string }> = [];
  const t0 = Date.now();
  let firstReplyMs: number | undefined;
  sock.on('message', (m) => {
    firstReplyMs ??= Date.now() - t0;
    replies.push({
      xid: m.length >= 4 ? m.readUInt32BE(0) : -1,
      bytes: m.length,
      hex: m.length <= 64 ? m.toString('hex') : '',
    });
  });
  const sent: number[] = [];
  let i = 0;
  for (const hex of s.payloads) {
    const b = Buffer.from(hex, 'hex');
    sent.push(b.length);
    await new Promise<void>((r) => sock.send(b, s.port, s.target, () => r()));
    if (s.paceEvery && ++i % s.paceEvery === 0) await delay(1);
  }
  await delay(s.waitMs);
  sock.close();
  return { sent, replies, firstReplyMs };
}

/**
 * Several sockets each fire `perSocket` copies of one call (xid = socket << 16 | i) in waves
 * of `wave` per socket: a wave's sends are not awaited, so they queue at the daemon, and the
 * next wave leaves once the replies are in (or after `waitMs`; the daemon's receive buffer
 * holds a few hundred small datagrams, beyond which the kernel drops them). Reports, per
 * socket, what came back to it.
 */
async function burst(s: Extract<Spec, { op: 'burst' }>): Promise<unknown> {
  const v6 = s.target.includes(':');
  const template = Buffer.from(s.payload, 'hex');
  const socks: dgram.Socket[] = [];
  const seen: Array<{ answered: Set<number>; foreign: number; duplicates: number; bodies: Set<string> }> = [];
  let total = 0;
  let waveDone: (() => void) | undefined;
  let waveTarget = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  for (let k = 0; k < s.sockets; k++) {
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    sock.on('error', () => {});
    const mine = { answered: new Set<number>(), foreign: 0, duplicates: 0, bodies: new Set<string>() };
    seen.push(mine);
    sock.on('message', (m) => {
      const xid = m.length >= 4 ? m.readUInt32BE(0) : -1;
      if (xid >>> 16 !== k || (xid & 0xffff) >= s.perSocket) mine.foreign++;
      else if (mine.answered.has(xid)) mine.duplicates++;
      else {
        mine.answered.add(xid);
        if (++total === s.sockets * s.perSocket) done();
        if (total >= waveTarget) waveDone?.();
      }
      mine.bodies.add(m.subarray(4).toString('hex'));
    });
    await new Promise<void>((r) => sock.bind({ address: v6 ? '::1' : '127.0.0.1', port: 0 }, () => r()));
    socks.push(sock);
  }
  for (let i0 = 0; i0 < s.perSocket; i0 += s.wave) {
    const end = Math.min(s.perSocket, i0 + s.wave);
    waveTarget = end * s.sockets;
    const waveIn = new Promise<void>((r) => (waveDone = r));
    for (let i = i0; i < end; i++) {
      for (let k = 0; k < s.sockets; k++) {
        const b = Buffer.from(template);
        b.writeUInt32BE(((k << 16) | i) >>> 0, 0);
        socks[k]!.send(b, s.port, s.target);
      }
    }
    await Promise.race([waveIn, delay(s.waitMs)]);
  }
  await Promise.race([all, delay(s.waitMs)]);
  for (const sock of socks) sock.close();
  return seen.map((m) => ({
    answered: m.answered.size,
    foreign: m.foreign,
    duplicates: m.duplicates,
    bodies: [...m.bodies],
  }));
}

function connect(target: string, port: number, from?: string): net.Socket {
  const opts: net.NetConnectOpts = from ? { host: target, port, localAddress: from } : { host: target, port };
  const c = net.connect(opts);
  c.on('error', () => {});
  return c;
}

async function stream(c: net.Socket, chunks: string[], gapMs: number, maxMs: number, reset = false): Promise<unknown> {
  const t0 = Date.now();
  let received = 0;
  let closedMs: number | undefined;
  let firstDataMs: number | undefined;
  c.on('data', (d: Buffer) => {
    firstDataMs ??= Date.now() - t0;
    received += d.length;
  });
  c.on('close', () => (closedMs ??= Date.now() - t0));
  await new Promise<void>((r) => {
    c.once('connect', () => r());
    c.once('close', () => r());
  });
  for (const hex of chunks) {
    if (c.destroyed || Date.now() - t0 > maxMs) break;
    c.write(Buffer.from(hex, 'hex'));
    if (gapMs > 0) await delay(gapMs);
  }
  if (reset) {
    c.resetAndDestroy();
    return { reset: true, received };
  }
  while (closedMs === undefined && Date.now() - t0 < maxMs) await delay(20);
  c.destroy();
  return { closedByServer: closedMs !== undefined, closedMs, received, firstDataMs };
}

async function idle(s: Extract<Spec, { op: 'idle' }>): Promise<unknown> {
  const socks: net.Socket[] = [];
  let opened = 0;
  let closed = 0;
  for (let i = 0; i < s.count; i++) {
    const c = connect(s.target, s.port, s.from);
    c.once('connect', () => opened++);
    c.once('close', () => closed++);
    socks.push(c);
    if (i % 200 === 199) await delay(20);
  }
  // Held for holdMs, or (untilClosed) until that many were closed by the server, within holdMs,
  // and then thenHoldMs more.
  if (s.untilClosed === undefined) await delay(s.holdMs);
  else {
    for (const t0 = Date.now(); closed < s.untilClosed && Date.now() - t0 < s.holdMs; ) await delay(20);
    await delay(Math.min(s.thenHoldMs ?? 0, 10_000));
  }
  const result = { opened, closedByServer: closed };
  for (const c of socks) c.destroy();
  return result;
}

async function noread(s: Extract<Spec, { op: 'noread' }>): Promise<unknown> {
  const c = connect(s.target, s.port, s.from);
  c.pause(); // never read
  const rec = Buffer.from(s.record, 'hex');
  const t0 = Date.now();
  let closedMs: number | undefined;
  c.on('close', () => (closedMs = Date.now() - t0));
  await new Promise<void>((r) => {
    c.once('connect', () => r());
    c.once('close', () => r());
  });
  let written = 0;
  for (let i = 0; i < s.count && closedMs === undefined; i++) {
    if (!c.write(rec)) await Promise.race([new Promise((r) => c.once('drain', r)), delay(200)]);
    written++;
    if (Date.now() - t0 > s.maxMs) break;
  }
  const wroteMs = Date.now() - t0;
  // A paused socket does not notice the peer's close: wait, then read what is queued; a
  // connection the daemon closed ends after that, one it kept open does not.
  while (closedMs === undefined && Date.now() - t0 < s.maxMs) await delay(50);
  c.on('data', () => {});
  c.resume();
  const readFrom = Date.now();
  while (closedMs === undefined && Date.now() - readFrom < 1000) await delay(20);
  c.destroy();
  return { written, wroteMs, closedByServer: closedMs !== undefined };
}

async function main(): Promise<void> {
  const spec = JSON.parse(await readStdin()) as Spec;
  let out: unknown;
  switch (spec.op) {
    case 'udp':
      out = await udp(spec);
      break;
    case 'tcp':
      out = await stream(connect(spec.target, spec.port, spec.from), spec.chunks, spec.gapMs, spec.maxMs, spec.reset);
      break;
    case 'local': {
      const c = net.connect({ path: spec.path });
      c.on('error', () => {});
      const t0 = Date.now();
      const got: Buffer[] = [];
      c.on('data', (d: Buffer) => got.push(d));
      await new Promise<void>((r) => {
        c.once('connect', () => r());
        c.once('close', () => r());
      });
      for (const hex of spec.chunks) c.write(Buffer.from(hex, 'hex'));
      // Replies are records; wait until one per chunk arrived or time is up.
      while (Date.now() - t0 < spec.maxMs) {
        const all = Buffer.concat(got);
        let n = 0;
        for (let p = 0; p + 4 <= all.length; ) {
          const len = all.readUInt32BE(p) & 0x7fffffff;
          if (p + 4 + len > all.length) break;
          n++;
          p += 4 + len;
        }
        if (n >= spec.chunks.length) break;
        await delay(10);
      }
      c.destroy();
      out = { received: Buffer.concat(got).toString('hex') };
      break;
    }
    case 'idle':
      out = await idle(spec);
      break;
    case 'noread':
      out = await noread(spec);
      break;
    case 'burst':
      out = await burst(spec);
      break;
  }
  // Let stdout drain (process.exit would cut a large result), then stop lingering timers.
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (e: unknown) => {
    process.stderr.write(String((e as Error).stack ?? e));
    process.exit(2);
  },
);
