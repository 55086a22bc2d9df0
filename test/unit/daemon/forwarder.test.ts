import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Forwarder } from '../../../src/daemon/forwarder.js';
import type { DatagramPort } from '../../../src/transport/forwarding-socket.js';
import { AcceptStat, AuthFlavor, RpcOutcome, type CallHeader } from '../../../src/rpc/index.js';
import type { CallerContext } from '../../../src/rpc/index.js';
import type { RemoteCallRequest, RemoteCallResult } from '../../../src/rpcbind/index.js';
import { XdrReader, XdrWriter } from '../../../src/xdr/index.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

// The forwarder's timers are unref'd (a daemon's sockets keep it alive); with only a fake
// socket here, keep the event loop alive while tests await those timers.
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

class FakeSocket implements DatagramPort {
  sent: Array<{ msg: Buffer; host: string; port: number }> = [];
  #rx: (msg: Buffer, host: string, port: number) => void = () => {};
  send(msg: Buffer, host: string, port: number): void {
    this.sent.push({ msg, host, port });
  }
  onMessage(r: (msg: Buffer, host: string, port: number) => void): void {
    this.#rx = r;
  }
  deliver(msg: Buffer, host: string, port: number): void {
    this.#rx(msg, host, port);
  }
  close(): void {}
}

function setup(maxInFlight = 8, timeoutMs = 1000, own = new Set(['198.18.0.1'])) {
  const socket = new FakeSocket();
  const fwd = new Forwarder({ socket, maxInFlight, timeoutMs, isOwnAddress: (a) => own.has(a), log: quiet });
  return { socket, fwd };
}

const cred = {
  flavor: AuthFlavor.AUTH_SYS,
  body: Buffer.from('0000000100000003666f6f000000000000000000000000', 'hex'),
};

function request(
  o: { xid?: number; procedure?: RemoteCallRequest['procedure']; version?: number; addr?: string; port?: number } = {},
): RemoteCallRequest {
  const call: CallHeader = {
    xid: o.xid ?? 7,
    rpcvers: 2,
    prog: 100000,
    vers: o.version ?? 2,
    proc: 5,
    cred,
    verf: { flavor: 0, body: Buffer.alloc(0) },
    authSys: undefined,
  };
  const ctx: CallerContext = {
    netid: 'udp',
    peerAddress: '127.0.0.1',
    peerPort: o.port ?? 900,
    localAddress: '127.0.0.1',
    uid: undefined,
  };
  return {
    version: o.version ?? 2,
    procedure: o.procedure ?? 'CALLIT',
    args: { prog: 0x20000101, vers: 1, proc: 1, args: Buffer.from('0000000200000003', 'hex') },
    call,
    ctx,
    target: { prog: 0x20000101, vers: 1, netid: 'udp', addr: o.addr ?? '0.0.0.0.4.1', owner: 'superuser' },
  };
}

function successReply(xid: number, results: string): Buffer {
  return Buffer.from(`${xid.toString(16).padStart(8, '0')}0000000100000000000000000000000000000000${results}`, 'hex');
}

function encode(r: RemoteCallResult): Buffer {
  assert.equal(typeof r, 'function');
  const w = new XdrWriter(64);
  (r as (w: XdrWriter) => void)(w);
  return w.toBuffer();
}

test('forwards with the caller credentials and relays the reply (v2: port + results)', async () => {
  const { socket, fwd } = setup();
  const p = fwd.forward(request());
  assert.equal(socket.sent.length, 1);
  const { msg, host, port } = socket.sent[0]!;
  assert.deepEqual([host, port], ['127.0.0.1', 1025]);
  const r = new XdrReader(msg);
  const xid = r.uint32();
  assert.deepEqual([r.uint32(), r.uint32(), r.uint32(), r.uint32(), r.uint32()], [0, 2, 0x20000101, 1, 1]);
  assert.equal(r.uint32(), AuthFlavor.AUTH_SYS);
  assert.deepEqual(r.opaque(400), cred.body);
  assert.deepEqual([r.uint32(), r.uint32()], [0, 0]);
  assert.equal(r.rest().toString('hex'), '0000000200000003');
  socket.deliver(successReply(xid, '00000005'), '127.0.0.1', 1025);
  assert.equal(encode(await p).toString('hex'), '00000401' + '00000004' + '00000005');
  assert.equal(fwd.inFlight, 0);
});

test('v3/v4: the merged universal address of the target', async () => {
  const { socket, fwd } = setup();
  const p = fwd.forward(request({ version: 4, procedure: 'BCAST' }));
  socket.deliver(successReply(new XdrReader(socket.sent[0]!.msg).uint32(), ''), '127.0.0.1', 1025);
  const r = new XdrReader(encode(await p));
  assert.equal(r.string(64), '127.0.0.1.4.1');
  assert.equal(r.opaque(10).length, 0);
});

test('replies from any other address or port, and junk, are ignored', async () => {
  const { socket, fwd } = setup();
  const p = fwd.forward(request());
  const xid = new XdrReader(socket.sent[0]!.msg).uint32();
  socket.deliver(successReply(xid, '00000001'), '127.0.0.1', 1026);
  socket.deliver(successReply(xid, '00000001'), '127.0.0.2', 1025);
  socket.deliver(Buffer.from('01'), '127.0.0.1', 1025);
  socket.deliver(Buffer.from(`${xid.toString(16).padStart(8, '0')}00000000`, 'hex'), '127.0.0.1', 1025); // a CALL
  assert.equal(fwd.inFlight, 1);
  assert.equal(fwd.counters.stray, 4);
  socket.deliver(successReply(xid, '00000009'), '127.0.0.1', 1025);
  assert.equal(encode(await p).toString('hex'), '00000401' + '00000004' + '00000009');
});

test('a retransmitted call in flight is not forwarded twice', async () => {
  const { socket, fwd } = setup();
  void fwd.forward(request({ xid: 9 }));
  assert.equal(await fwd.forward(request({ xid: 9 })), RpcOutcome.NO_REPLY);
  void fwd.forward(request({ xid: 9, port: 901 })); // another caller, same xid: a different call
  assert.equal(socket.sent.length, 2);
  assert.equal(fwd.counters.duplicates, 1);
  fwd.close();
});

test('timeout: CALLIT is not answered, INDIRECT gets SYSTEM_ERR', async () => {
  const { fwd } = setup(8, 20);
  const a = fwd.forward(request({ xid: 1 }));
  const b = fwd.forward(request({ xid: 2, version: 4, procedure: 'INDIRECT' }));
  assert.equal(await a, RpcOutcome.NO_REPLY);
  const rb = await b;
  assert.ok(rb instanceof RpcOutcome && rb.kind === 'accept-error' && rb.stat === AcceptStat.SYSTEM_ERR);
  assert.equal(fwd.counters.timedOut, 2);
  assert.equal(fwd.inFlight, 0);
});

test('INDIRECT passes the target error on', async () => {
  const { socket, fwd } = setup();
  const p = fwd.forward(request({ version: 4, procedure: 'INDIRECT' }));
  const xid = new XdrReader(socket.sent[0]!.msg).uint32();
  socket.deliver(
    Buffer.from(`${xid.toString(16).padStart(8, '0')}0000000100000000000000000000000000000003`, 'hex'),
    '127.0.0.1',
    1025,
  );
  const r = await p;
  assert.ok(r instanceof RpcOutcome && r.kind === 'accept-error' && r.stat === AcceptStat.PROC_UNAVAIL);
});

test('the table is bounded: the oldest call is given up', async () => {
  const { socket, fwd } = setup(4);
  const results = Array.from({ length: 10 }, (_, i) => fwd.forward(request({ xid: 100 + i })));
  assert.equal(socket.sent.length, 10);
  assert.equal(fwd.inFlight, 4);
  assert.equal(fwd.counters.evicted, 6);
  for (const r of results.slice(0, 6)) assert.equal(await r, RpcOutcome.NO_REPLY);
  fwd.close();
  for (const r of results.slice(6)) assert.equal(await r, RpcOutcome.NO_REPLY);
});

test("an address the host gains or loses counts at once for the target's locality", async () => {
  const own = new Set(['198.18.0.1']);
  const { socket, fwd } = setup(8, 1000, own);
  assert.equal(await fwd.forward(request({ xid: 1, addr: '198.18.0.7.4.1' })), RpcOutcome.NO_REPLY);
  assert.equal(socket.sent.length, 0);
  own.add('198.18.0.7');
  void fwd.forward(request({ xid: 2, addr: '198.18.0.7.4.1' }));
  assert.deepEqual(
    socket.sent.map((s) => s.host),
    ['198.18.0.7'],
  );
  own.delete('198.18.0.7');
  assert.equal(await fwd.forward(request({ xid: 3, addr: '198.18.0.7.4.1' })), RpcOutcome.NO_REPLY);
  assert.equal(socket.sent.length, 1);
  fwd.close();
});

test('targets registered on another host or on port 0 are not forwarded to', async () => {
  const { socket, fwd } = setup();
  assert.equal(await fwd.forward(request({ addr: '192.0.2.9.4.1' })), RpcOutcome.NO_REPLY);
  assert.equal(await fwd.forward(request({ addr: '0.0.0.0.0.0' })), RpcOutcome.NO_REPLY);
  assert.equal(await fwd.forward(request({ addr: 'garbage' })), RpcOutcome.NO_REPLY);
  void fwd.forward(request({ addr: '198.18.0.1.4.1' }));
  assert.deepEqual(
    socket.sent.map((s) => s.host),
    ['198.18.0.1'],
  );
  fwd.close();
});
