// StreamConnection (src/transport/stream-connection.ts) on the server end of a loopback TCP pair
// on an ephemeral port: no root, no daemon. Framing, ordered replies, backpressure, the throttle,
// the deadlines, the output cap and errors.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { CallerContext, Reply } from '../../../src/rpc/index.js';
import { RecordDecoder } from '../../../src/rpc/index.js';
import { newSecurityCounters } from '../../../src/transport/security-counters.js';
import { StreamConnection, type ConnectionSettings } from '../../../src/transport/stream-connection.js';
import { waitFor } from '../../helpers/netns.js';

const ctx: CallerContext = {
  netid: 'tcp',
  peerAddress: '127.0.0.1',
  peerPort: 1,
  localAddress: '127.0.0.1',
  uid: undefined,
};

/** A record in one fragment. */
function rec(body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((0x80000000 | b.length) >>> 0);
  return Buffer.concat([mark, b]);
}

interface Pair {
  conn: StreamConnection;
  /** The connection's socket (the server end). */
  server: net.Socket;
  client: net.Socket;
  settings: ConnectionSettings;
  logged: { warn: string[]; error: string[] };
  /** Drain listeners on the server end before the connection added its own. */
  drainBase: number;
}

/** A connected loopback pair, the server end served by a StreamConnection; closed after the test. */
async function pair(t: TestContext, o: Partial<ConnectionSettings> = {}): Promise<Pair> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  const [server] = await accepted;
  srv.close();
  const logged = { warn: [] as string[], error: [] as string[] };
  const settings: ConnectionSettings = {
    handler: (msg) => msg,
    log: { debug: () => {}, info: () => {}, warn: (m) => logged.warn.push(m), error: (m) => logged.error.push(m) },
    counters: newSecurityCounters(),
    maxRecordBytes: 1024,
    maxPendingOutputBytes: 256 * 1024,
    recordDeadlineMs: 60_000,
    idleMs: 60_000,
    admit: undefined,
    throttleMs: () => 10,
    ...o,
  };
  const drainBase = server.listenerCount('drain');
  const conn = new StreamConnection(server, ctx, settings);
  t.after(() => {
    client.destroy();
    server.destroy();
  });
  return { conn, server, client, settings, logged, drainBase };
}

/** The replies the client reads, record by record. */
function collect(client: net.Socket): Buffer[] {
  const out: Buffer[] = [];
  const d = new RecordDecoder({ maxRecordBytes: 1 << 24 });
  client.on('data', (chunk: Buffer) => {
    const r = d.push(chunk);
    assert.ok(Array.isArray(r), String(r));
    out.push(...r);
  });
  return out;
}

/** MaxListenersExceededWarning and other process warnings emitted while the test runs. */
function watchWarnings(t: TestContext): Error[] {
  const seen: Error[] = [];
  const onWarning = (w: Error): void => void seen.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  return seen;
}

test('records split byte by byte are served whole and answered in order', async (t) => {
  const p = await pair(t);
  const replies = collect(p.client);
  const bytes = Buffer.concat([rec('first'), rec('second')]);
  for (const byte of bytes) {
    const arrived = once(p.server, 'data');
    p.client.write(Buffer.from([byte]));
    await arrived;
  }
  await waitFor(() => replies.length === 2, { what: 'two replies' });
  assert.deepEqual(replies.map(String), ['first', 'second']);
});

test('several records in one chunk: replies leave in request order, async ones too', async (t) => {
  const p = await pair(t, {
    // The first reply is late: the others wait behind it.
    handler: (msg) => (String(msg) === 'a' ? new Promise<Reply>((r) => setImmediate(() => r(msg))) : msg),
  });
  const replies = collect(p.client);
  p.client.write(Buffer.concat(['a', 'b', 'c', 'd'].map(rec)));
  await waitFor(() => replies.length === 4, { what: 'four replies' });
  assert.deepEqual(replies.map(String), ['a', 'b', 'c', 'd']);
});

test('a peer that does not read: reading stops with one drain listener, and resumes once it reads', async (t) => {
  const warnings = watchWarnings(t);
  const big = Buffer.alloc(256 * 1024, 7);
  let served = 0;
  const handler = (): Reply => {
    served++;
    return [big];
  };
  const p = await pair(t, { handler, maxPendingOutputBytes: 64 * 1024 * 1024 });
  p.client.pause();
  // 40 calls in one chunk, 10 MB of replies: far more than the kernel's buffers take.
  p.client.write(Buffer.concat(Array.from({ length: 40 }, () => rec('x'))));
  await waitFor(() => served === 40, { what: '40 calls served' });
  assert.equal(p.server.isPaused(), true, 'reading stopped');
  assert.equal(p.server.listenerCount('drain'), p.drainBase + 1, 'one drain listener');
  await tick();
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
    [],
  );
  // The peer reads everything: 'drain' comes and reading resumes.
  let got = 0;
  p.client.on('data', (c: Buffer) => {
    got += c.length;
  });
  p.client.resume();
  await waitFor(() => !p.server.isPaused(), { timeoutMs: 10_000, what: 'reading resumed' });
  p.client.write(rec('y'));
  await waitFor(() => served === 41, { what: 'the next call served' });
  await waitFor(() => got === 41 * (big.length + 4), { timeoutMs: 10_000, what: 'all replies read' });
  assert.equal(p.server.listenerCount('drain'), p.drainBase + 1);
  assert.equal(p.settings.counters.outputCapClosed, 0);
});

test('the output cap: a peer that does not read is closed once its pending replies pass the cap', async (t) => {
  const warnings = watchWarnings(t);
  const big = Buffer.alloc(256 * 1024, 7);
  const p = await pair(t, { handler: () => [big], maxPendingOutputBytes: 1024 * 1024 });
  p.client.pause();
  const closed = once(p.server, 'close');
  p.client.write(Buffer.concat(Array.from({ length: 40 }, () => rec('x'))));
  await closed;
  assert.equal(p.settings.counters.outputCapClosed, 1);
  assert.match(p.logged.warn.join('\n'), /peer is not reading its replies/);
  await tick();
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
    [],
  );
});

test('the throttle: a refused record waits with reading stopped, then is served', async (t) => {
  let allow = false;
  let served = 0;
  const p = await pair(t, { handler: () => void served++, admit: () => allow, throttleMs: () => 5 });
  p.client.write(Buffer.concat([rec('a'), rec('b')]));
  await waitFor(() => p.settings.counters.streamThrottled >= 2, { what: 'throttled twice' });
  assert.equal(served, 0);
  assert.equal(p.server.isPaused(), true, 'reading stopped while records wait');
  allow = true;
  await waitFor(() => served === 2, { what: 'both served after the wait' });
  await waitFor(() => !p.server.isPaused(), { what: 'reading resumed' });
  p.client.write(rec('c'));
  await waitFor(() => served === 3, { what: 'the next record served at once' });
});

test('the throttle ends while the peer does not read: reading stays stopped until drain', async (t) => {
  const big = Buffer.alloc(4 * 1024 * 1024, 7);
  let asked = 0;
  let allow = false;
  let served = 0;
  const p = await pair(t, {
    handler: () => {
      served++;
      return [big];
    },
    // The first record is admitted and its reply fills the buffers; the next ones wait.
    admit: () => asked++ === 0 || allow,
    throttleMs: () => 5,
    maxPendingOutputBytes: 1024 * 1024 * 1024,
  });
  p.client.pause();
  p.client.write(Buffer.concat(Array.from({ length: 5 }, () => rec('x'))));
  await waitFor(() => p.settings.counters.streamThrottled >= 1, { what: 'throttled' });
  assert.equal(served, 1);
  allow = true;
  await waitFor(() => served === 5, { what: 'the backlog served' });
  await tick();
  assert.equal(p.server.isPaused(), true, 'still stopped: the peer has not drained its replies');
  assert.equal(p.server.listenerCount('drain'), p.drainBase + 1);
  p.client.resume();
  await waitFor(() => !p.server.isPaused(), { timeoutMs: 20_000, what: 'reading resumed on drain' });
});

test('record deadline: a record begun and not finished in time closes the connection', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let served = 0;
  const p = await pair(t, { handler: () => void served++, recordDeadlineMs: 1000 });
  const full = rec('hello');
  let arrived = once(p.server, 'data');
  p.client.write(full.subarray(0, 6));
  await arrived;
  t.mock.timers.tick(999);
  assert.equal(p.server.destroyed, false);
  arrived = once(p.server, 'data');
  p.client.write(full.subarray(6));
  await arrived;
  assert.equal(served, 1);
  t.mock.timers.tick(5000);
  assert.equal(p.server.destroyed, false, 'a finished record clears its deadline');
  arrived = once(p.server, 'data');
  p.client.write(full.subarray(0, 3));
  await arrived;
  t.mock.timers.tick(1000);
  assert.equal(p.server.destroyed, true);
  assert.equal(p.settings.counters.recordDeadlineClosed, 1);
});

test('idle timeout: a connection that sends nothing is closed', async (t) => {
  const p = await pair(t, { idleMs: 50 });
  await once(p.server, 'close');
  assert.equal(p.settings.counters.idleClosed, 1);
});

test('a framing error (record over the cap) closes the connection', async (t) => {
  const p = await pair(t, { maxRecordBytes: 16 });
  p.client.write(rec(Buffer.alloc(17)));
  await once(p.server, 'close');
  assert.equal(p.settings.counters.framingClosed, 1);
});

test('errors end in destroy, with an error handler in place', async (t) => {
  const throwing = await pair(t, {
    handler: () => {
      throw new Error('boom');
    },
  });
  assert.ok(throwing.server.listenerCount('error') >= 1);
  throwing.client.write(rec('x'));
  await once(throwing.server, 'close');
  assert.match(throwing.logged.error.join('\n'), /handler failed: Error: boom/);

  const rejecting = await pair(t, { handler: () => Promise.reject(new Error('late boom')) });
  rejecting.client.write(rec('x'));
  await once(rejecting.server, 'close');
  assert.match(rejecting.logged.error.join('\n'), /handler failed: Error: late boom/);

  // A reset from the peer surfaces as the socket's 'error' (ECONNRESET) and is absorbed.
  const reset = await pair(t);
  const errored = once(reset.server, 'error');
  reset.client.resetAndDestroy();
  await errored;
  await once(reset.server, 'close');
});
