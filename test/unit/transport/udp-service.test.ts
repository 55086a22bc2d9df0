// UdpService (src/transport/udp-service.ts) on an ephemeral loopback port, no root: the rate
// limiter's verdict, the amplification guard, late replies, and the batched read path.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { CallerContext, Reply } from '../../../src/rpc/index.js';
import { DatagramBatch } from '../../../src/transport/datagram-batch.js';
import { newSecurityCounters } from '../../../src/transport/security-counters.js';
import { UdpService } from '../../../src/transport/udp-service.js';
import { waitFor } from '../../helpers/netns.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * A service on 127.0.0.1 (an ephemeral port) whose handler answers a datagram "<n>..." with n
 * bytes (after a turn of the event loop when it starts with 'L'), and a client.
 */
async function setup(t: TestContext, admit?: (ctx: CallerContext) => boolean) {
  const counters = newSecurityCounters();
  const seen: CallerContext[] = [];
  const handler = (msg: Buffer, ctx: CallerContext): Reply | Promise<Reply> => {
    seen.push(ctx);
    const late = msg[0] === 0x4c;
    const reply = Buffer.alloc(parseInt(msg.subarray(late ? 1 : 0).toString(), 10), 0x61);
    return late ? new Promise<Reply>((r) => setImmediate(() => r(reply))) : reply;
  };
  let sock: dgram.Socket | undefined;
  const svc = new UdpService({
    port: 0,
    addresses: () => ['127.0.0.1'],
    handler,
    log: quiet,
    tolerateUnavailable: false,
    admit,
    counters,
    onSocket: (s) => {
      sock = s;
    },
  });
  await svc.start();
  const port = sock!.address().port;
  const client = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  client.bind(0, '127.0.0.1');
  await once(client, 'listening');
  const replies: Buffer[] = [];
  client.on('message', (m) => void replies.push(m));
  t.after(() => {
    client.close();
    svc.close();
  });
  /** A datagram of at least `size` bytes asking for a reply of `want` bytes. */
  const send = (want: string, size = 40): void => client.send(Buffer.from(want.padEnd(size, ' ')), port, '127.0.0.1');
  return { svc, counters, seen, replies, send };
}

test('a datagram the limiter refuses is dropped unread and counted; setAdmit swaps the limiter', async (t) => {
  let allow = true;
  const s = await setup(t, () => allow);
  s.send('100');
  await waitFor(() => s.replies.length === 1, { what: 'an admitted datagram answered' });
  assert.equal(s.replies[0]!.length, 100);
  assert.equal(s.seen[0]!.peerAddress, '127.0.0.1');
  allow = false;
  s.send('100');
  await waitFor(() => s.counters.udpRateLimited === 1, { what: 'a refusal counted' });
  assert.equal(s.seen.length, 1, 'refused before the handler');
  s.svc.setAdmit(undefined);
  s.send('100');
  await waitFor(() => s.replies.length === 2, { what: 'answered without a limiter' });
  s.svc.setAdmit(() => false);
  s.send('100');
  await waitFor(() => s.counters.udpRateLimited === 2, { what: 'refused by the new limiter' });
  assert.equal(s.seen.length, 2);
});

test('amplification guard: a datagram shorter than a call gets no larger reply, at once or later', async (t) => {
  const s = await setup(t);
  s.send('100', 10);
  s.send('L100', 10);
  s.send('8', 10);
  s.send('L9', 10);
  s.send('L500', 40);
  await waitFor(() => s.replies.length === 3 && s.counters.udpAmplificationDropped === 2, {
    what: 'three answered, two dropped',
  });
  assert.deepEqual(
    s.replies.map((r) => r.length).sort((a, b) => a - b),
    [8, 9, 500],
  );
});

test('batched path: datagrams queued behind the first are answered through the batch, the guard applied', async (t) => {
  const batch = DatagramBatch.create();
  assert.ok(batch, 'koffi and the Linux layout are available here');
  const s = await setup(t);
  let queued = 0;
  const queue = batch.queue.bind(batch);
  batch.queue = (fd, reply, slot) => {
    queued++;
    queue(fd, reply, slot);
  };
  s.svc.enableBatching(batch);
  const n = 200;
  // Every fourth datagram is short and asks for more than it sent: dropped.
  for (let i = 0; i < n; i++) s.send('64', i % 4 === 0 ? 10 : 40);
  await waitFor(() => s.replies.length + s.counters.udpAmplificationDropped === n, { what: 'every datagram decided' });
  assert.equal(s.counters.udpAmplificationDropped, n / 4);
  assert.ok(s.replies.every((r) => r.length === 64));
  assert.ok(queued > 0, 'replies left through the batch');
});
