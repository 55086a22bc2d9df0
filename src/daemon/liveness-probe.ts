// Is the service behind one registration still there? A TCP mapping is dead when its port
// refuses connections; a UDP mapping when an RPC NULL call to its prog/vers gets no answer (or
// an ICMP port-unreachable); a local one when its socket file is gone. Anything we cannot judge
// (a remote address, an unknown netid, a network error) counts as alive.

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { LIVENESS_PROBE_ATTEMPTS, LIVENESS_PROBE_TIMEOUT_MS } from '../limits.js';
import { decodeReply, writeCallHeader } from '../rpc/index.js';
import { isWildcardHost, parseUaddr } from '../proto/index.js';
import type { Registration } from '../rpcbind/index.js';
import { XdrWriter } from '../xdr/index.js';

type Verdict = 'alive' | 'dead';
type Attempt = 'answered' | 'refused' | 'silent' | 'unknown';

export interface ProbeOptions {
  /** Addresses of this host; a registration elsewhere is not probed. */
  localAddresses: ReadonlySet<string>;
  timeoutMs?: number;
  attempts?: number;
}

/** Why a registration was judged dead, for the log. */
export interface ProbeResult {
  verdict: Verdict;
  reason: string;
}

const ALIVE: ProbeResult = { verdict: 'alive', reason: '' };

export async function probeRegistration(reg: Registration, o: ProbeOptions): Promise<ProbeResult> {
  const netid = reg.netid.toLowerCase();
  if (netid === 'local' || netid === 'unix') return probeLocal(reg.addr);
  const stream = netid === 'tcp' || netid === 'tcp6';
  if (!stream && netid !== 'udp' && netid !== 'udp6') return ALIVE;
  const hp = parseUaddr(reg.addr);
  if (!hp || hp.port === 0) return ALIVE;
  const v6 = hp.host.includes(':');
  let host = hp.host;
  if (isWildcardHost(host)) host = v6 ? '::1' : '127.0.0.1';
  else if (!o.localAddresses.has(host)) return ALIVE;
  const timeoutMs = o.timeoutMs ?? LIVENESS_PROBE_TIMEOUT_MS;
  const attempts = o.attempts ?? LIVENESS_PROBE_ATTEMPTS;
  let last: Attempt = 'unknown';
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await delay(timeoutMs / 2);
    last = stream ? await tcpAttempt(host, hp.port, timeoutMs) : await udpNullAttempt(host, hp.port, reg, timeoutMs);
    if (last === 'answered' || last === 'unknown') return ALIVE;
    // A TCP service that accepts slowly is busy, not dead: only refusals count.
    if (stream && last === 'silent') return ALIVE;
  }
  const what = stream
    ? `tcp port ${hp.port} refuses connections`
    : last === 'refused'
      ? `udp port ${hp.port} is closed`
      : `no answer to NULL on udp port ${hp.port}`;
  return { verdict: 'dead', reason: `${what} (${attempts} attempts)` };
}

async function probeLocal(path: string): Promise<ProbeResult> {
  if (path.startsWith('@') || path.startsWith('\0')) return ALIVE;
  try {
    await stat(path);
    return ALIVE;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { verdict: 'dead', reason: `socket ${path} is gone` };
    return ALIVE;
  }
}

function tcpAttempt(host: string, port: number, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (a: Attempt): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'unknown'));
    s.on('connect', () => done('answered'));
  });
}

function udpNullAttempt(host: string, port: number, reg: Registration, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const xid = randomInt(0, 0x7fffffff);
    const w = new XdrWriter(64);
    writeCallHeader(w, { xid, prog: reg.prog, vers: reg.vers, proc: 0 });
    const msg = w.toBuffer();
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let finished = false;
    const done = (a: Attempt): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.close();
      resolve(a);
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'unknown'));
    s.on('message', (buf: Buffer) => {
      try {
        // Any reply to our xid (even PROG_MISMATCH) shows a live RPC service.
        if (decodeReply(buf).xid === xid) done('answered');
      } catch {
        // Not a reply for us: keep waiting.
      }
    });
    s.connect(port, host, () => s.send(msg));
  });
}
