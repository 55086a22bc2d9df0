// broadcast(): replies from a portmapper on a loopback port (no port 111, no broadcast address);
// what the caller's callback throws reaches the caller.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { XdrWriter } from '../../../src/xdr/index.js';
import { AcceptStat, decodeCall, writeAcceptedHeader } from '../../../src/rpc/index.js';
import { encodePmapCallResult } from '../../../src/proto/index.js';
import { broadcast } from '../../../src/client/index.js';

/** Answers every CALLIT with port 2049 and four result bytes. */
async function fakePortmapper(): Promise<{ port: number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('error', () => undefined);
  sock.on('message', (m, r) => {
    const d = decodeCall(m);
    if (d.kind !== 'call') return;
    const w = new XdrWriter();
    writeAcceptedHeader(w, d.call.xid, AcceptStat.SUCCESS);
    encodePmapCallResult(w, { port: 2049, res: Buffer.from([0, 0, 0, 1]) });
    sock.send(w.toBuffer(), r.port, r.address);
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  return { port: sock.address().port, close: () => sock.close() };
}

test('broadcast reports a reply and stops when the callback says so', async () => {
  const pm = await fakePortmapper();
  try {
    const seen: number[] = [];
    const n = await broadcast(
      { prog: 100003, vers: 3, proc: 0 },
      (r) => {
        seen.push(r.port);
        return true;
      },
      {
        addresses: ['127.0.0.1'],
        port: pm.port,
        timeoutMs: 10_000,
      },
    );
    assert.equal(n, 1);
    assert.deepEqual(seen, [2049]);
  } finally {
    pm.close();
  }
});

test("broadcast rejects with the exception the caller's callback threw", async () => {
  const pm = await fakePortmapper();
  try {
    const boom = new Error('callback failed');
    await assert.rejects(
      broadcast(
        { prog: 100003, vers: 3, proc: 0 },
        () => {
          throw boom;
        },
        { addresses: ['127.0.0.1'], port: pm.port, timeoutMs: 10_000 },
      ),
      (e: unknown) => e === boom,
    );
  } finally {
    pm.close();
  }
});
