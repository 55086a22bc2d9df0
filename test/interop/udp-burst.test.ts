// Bursts of UDP calls against our daemon (inside a private network + mount namespace): calls
// that queue up at the socket are read and answered in batches (recvmmsg/sendmmsg, see
// src/transport/datagram-batch.ts); every one must be answered once, correctly, to the socket
// that sent it, over IPv4 and IPv6, whichever path (Node's or the batch) read it.
//
// Needs root and: ci-packages: iproute2 util-linux
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeReply } from '../../src/rpc/index.js';
import { daemons, findRepoRoot, startDaemon, type RunningDaemon } from '../helpers/daemons.js';
import { TestHost } from '../helpers/netns.js';
import { getaddrCall, getportCall } from '../helpers/rpc-calls.js';

const TOOL = join(findRepoRoot(), 'dist', 'test', 'helpers', 'attack-tool.js');
const ours = daemons.find((d) => d.name === 'ours')!;
const SOCKETS = 4;
const PER_SOCKET = 300;
/** Calls each socket sends at once: 4 x 40 in flight fit the daemon's receive buffer. */
const WAVE = 40;

let host: TestHost;
let daemon: RunningDaemon;

before(async () => {
  host = await TestHost.create();
  daemon = await startDaemon(host, ours);
});

after(async () => {
  await daemon?.stop();
  await host?.dispose();
});

interface SocketResult {
  answered: number;
  foreign: number;
  duplicates: number;
  bodies: string[];
}

async function burst(target: string, payload: Buffer): Promise<SocketResult[]> {
  const spec = {
    op: 'burst',
    target,
    port: 111,
    sockets: SOCKETS,
    perSocket: PER_SOCKET,
    wave: WAVE,
    payload: payload.toString('hex'),
    waitMs: 5000,
  };
  const r = await host.run(process.execPath, [TOOL], { input: JSON.stringify(spec), timeoutMs: 20_000 });
  assert.equal(r.code, 0, `burst tool failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SocketResult[];
}

function checkAllAnswered(results: SocketResult[]): string {
  let lost = 0;
  for (const [k, s] of results.entries()) {
    assert.equal(s.foreign, 0, `socket ${k} got replies meant for another socket`);
    assert.equal(s.duplicates, 0, `socket ${k} got a reply twice`);
    lost += PER_SOCKET - s.answered;
  }
  // Loopback can drop a datagram when a receive buffer fills; the daemon must answer the rest.
  assert.ok(lost <= (SOCKETS * PER_SOCKET) / 100, `${lost} of ${SOCKETS * PER_SOCKET} calls unanswered`);
  const bodies = new Set(results.flatMap((s) => s.bodies));
  assert.equal(bodies.size, 1, 'every reply is the same answer (after the xid)');
  return [...bodies][0]!;
}

test('a burst of v2 GETPORTs over IPv4 is answered call by call, each to its own socket', async () => {
  const body = checkAllAnswered(await burst('127.0.0.1', getportCall(0, 100000, 2, 17)));
  const d = decodeReply(Buffer.concat([Buffer.alloc(4), Buffer.from(body, 'hex')]));
  assert.equal(d.kind, 'success');
  if (d.kind === 'success') assert.equal(d.results.uint32(), 111);
});

test('a burst of v4 GETADDRs over IPv6 is answered call by call with the merged ::1 address', async () => {
  const body = checkAllAnswered(await burst('::1', getaddrCall(0, 100000, 4, 'udp6')));
  const d = decodeReply(Buffer.concat([Buffer.alloc(4), Buffer.from(body, 'hex')]));
  assert.equal(d.kind, 'success');
  if (d.kind === 'success') assert.equal(d.results.string(128), '::1.0.111');
});
