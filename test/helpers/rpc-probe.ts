// A raw RPC client run *inside* a TestHost (`node dist/test/helpers/rpc-probe.js '<steps>'`):
// sends hand-built messages over UDP, TCP or a unix socket, floods and junk, and prints what
// came back as JSON on stdout. Every wait is bounded; every loop is bounded in count.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export type ProbeStep =
  /**
   * One message; `reply` is the first answer's hex, or null after timeoutMs. UDP: `broadcast`
   * sets SO_BROADCAST (a broadcast address as host), and the result's `from` says who answered.
   * `from` in the step is the local address to send from. UDP: `resendMs` sends the same
   * message again every resendMs until an answer or timeoutMs, as RPC clients over UDP do.
   */
  | {
      op: 'call';
      transport: 'udp' | 'tcp' | 'unix';
      host: string;
      port: number;
      msg: string;
      timeoutMs: number;
      broadcast?: boolean;
      from?: string;
      resendMs?: number;
    }
  /** `count` copies of msg, the xid (first word) replaced by 1..count, sent in bounded batches. */
  | { op: 'flood'; host: string; port: number; msg: string; count: number; batch: number; from?: string }
  /** `count` junk datagrams: random bytes, and REPLY-shaped messages with random xids. */
  | { op: 'junk'; host: string; port: number; count: number }
  | { op: 'sleep'; ms: number };

export interface ProbeResult {
  reply?: string | null;
  /** The address a UDP reply came from. */
  from?: string;
  sent?: number;
  replies?: number;
  /** How long the step took. */
  ms?: number;
}

const MAX_STEPS = 100;
const MAX_FLOOD = 100_000;

function udpCall(
  host: string,
  port: number,
  msg: Buffer,
  timeoutMs: number,
  {
    broadcast = false,
    from,
    resendMs,
  }: { broadcast?: boolean; from?: string | undefined; resendMs?: number | undefined } = {},
): Promise<{ msg: Buffer; from: string } | null> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    let resend: NodeJS.Timeout | undefined;
    const done = (r: { msg: Buffer; from: string } | null): void => {
      clearTimeout(timer);
      clearInterval(resend);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (m, rinfo) => done({ msg: m, from: rinfo.address }));
    sock.bind({ port: 0, ...(from !== undefined ? { address: from } : {}) }, () => {
      if (broadcast) sock.setBroadcast(true);
      sock.send(msg, port, host);
      // Bounded: the interval ends with the timeout, at most timeoutMs / resendMs sends.
      if (resendMs !== undefined && resendMs > 0) resend = setInterval(() => sock.send(msg, port, host), resendMs);
    });
  });
}

function streamCall(opts: net.NetConnectOpts, msg: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = net.connect(opts);
    let buf = Buffer.alloc(0);
    const done = (r: Buffer | null): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4) {
        const len = buf.readUInt32BE(0) & 0x7fffffff;
        if (buf.length >= 4 + len) done(buf.subarray(4, 4 + len));
      }
    });
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE((0x80000000 | msg.length) >>> 0);
    sock.write(Buffer.concat([mark, msg]));
  });
}

async function flood(
  host: string,
  port: number,
  msg: Buffer,
  count: number,
  batch: number,
  from?: string,
): Promise<ProbeResult> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let replies = 0;
  sock.on('error', () => {});
  sock.on('message', () => replies++);
  await new Promise<void>((r) => sock.bind({ address: from, port: 0 }, r));
  let sent = 0;
  for (let i = 1; i <= Math.min(count, MAX_FLOOD); i++) {
    const m = Buffer.from(msg);
    m.writeUInt32BE(i, 0);
    await new Promise<void>((r) => sock.send(m, port, host, () => r()));
    sent++;
    if (i % batch === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
  return { sent, replies };
}

async function junk(host: string, port: number, count: number): Promise<ProbeResult> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', () => {});
  let sent = 0;
  for (let i = 0; i < Math.min(count, MAX_FLOOD); i++) {
    let m: Buffer;
    if (i % 2 === 0) {
      m = randomBytes(i % 1500);
    } else {
      // xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS, then some result bytes
      m = Buffer.alloc(28 + (i % 64));
      m.writeUInt32BE(randomBytes(4).readUInt32BE(0), 0);
      m.writeUInt32BE(1, 4);
    }
    await new Promise<void>((r) => sock.send(m, port, host, () => r()));
    sent++;
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  sock.close();
  return { sent };
}

async function runStep(s: ProbeStep): Promise<ProbeResult> {
  const t0 = Date.now();
  const r = await runStepUntimed(s);
  return { ...r, ms: Date.now() - t0 };
}

async function runStepUntimed(s: ProbeStep): Promise<ProbeResult> {
  switch (s.op) {
    case 'call': {
      const msg = Buffer.from(s.msg, 'hex');
      if (s.transport === 'udp') {
        const r = await udpCall(s.host, s.port, msg, s.timeoutMs, {
          broadcast: s.broadcast === true,
          from: s.from,
          resendMs: s.resendMs,
        });
        return r ? { reply: r.msg.toString('hex'), from: r.from } : { reply: null };
      }
      const r = await streamCall(
        s.transport === 'tcp'
          ? { host: s.host, port: s.port, ...(s.from ? { localAddress: s.from } : {}) }
          : { path: s.host },
        msg,
        s.timeoutMs,
      );
      return { reply: r ? r.toString('hex') : null };
    }
    case 'flood':
      return flood(s.host, s.port, Buffer.from(s.msg, 'hex'), s.count, Math.max(1, s.batch), s.from);
    case 'junk':
      return junk(s.host, s.port, s.count);
    case 'sleep':
      await new Promise((r) => setTimeout(r, Math.min(s.ms, 10_000)));
      return {};
  }
}

async function main(): Promise<void> {
  const steps = JSON.parse(process.argv[2] ?? '[]') as ProbeStep[];
  const out: ProbeResult[] = [];
  for (const s of steps.slice(0, MAX_STEPS)) out.push(await runStep(s));
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[1]?.endsWith('rpc-probe.js')) {
  main().catch((e: unknown) => {
    process.stderr.write(`rpc-probe: ${String(e)}\n`);
    process.exit(1);
  });
}
