// DUMP replies come from an encoding cached by registry generation (a hot-path shortcut): every
// change to the table must show in the next DUMP, for v2 and for v3/v4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type XdrReader, XdrWriter } from '../../../src/xdr/index.js';
import { Dispatcher, decodeReply, writeCallHeader } from '../../../src/rpc/index.js';
import { Registry, RpcbStats, createRpcbindProgram, type BindingState } from '../../../src/rpcbind/index.js';
import { decodePmapList, decodeRpcbList, encodeRpcbList, rpcbListBytes } from '../../../src/proto/index.js';
import type { CallerContext } from '../../../src/rpc/index.js';

const LOCAL: CallerContext = { netid: 'local', peerAddress: '', peerPort: 0, localAddress: '', uid: 0 };

function setup(): {
  state: BindingState;
  call: (vers: number, proc: number, body?: (w: XdrWriter) => void) => XdrReader;
} {
  const state: BindingState = {
    registry: new Registry(),
    stats: new RpcbStats(),
    policy: { insecure: false },
    now: () => 0,
  };
  const d = new Dispatcher<CallerContext>();
  d.addProgram(createRpcbindProgram(state));
  let xid = 1;
  const call = (vers: number, proc: number, body?: (w: XdrWriter) => void): XdrReader => {
    const w = new XdrWriter();
    writeCallHeader(w, { xid: xid++, prog: 100000, vers, proc });
    body?.(w);
    const reply = d.dispatch(w.toBuffer(), LOCAL, 1 << 20);
    assert.ok(reply instanceof Buffer);
    const r = decodeReply(reply);
    assert.equal(r.kind, 'success');
    return (r as { results: XdrReader }).results;
  };
  return { state, call };
}

const rpcbSet = (prog: number, netid: string) => (w: XdrWriter) =>
  w.uint32(prog).uint32(1).string(netid).string('0.0.0.0.3.232').string('');

test('v3/v4 DUMP follows SET and UNSET', () => {
  const { call } = setup();
  const dump = (vers: number) => decodeRpcbList(call(vers, 4), 100).map((b) => `${b.prog}/${b.netid}`);
  assert.deepEqual(dump(4), []);
  assert.equal(call(3, 1, rpcbSet(7, 'udp')).bool(), true);
  assert.deepEqual(dump(4), ['7/udp']);
  assert.deepEqual(dump(3), ['7/udp']);
  assert.equal(call(3, 1, rpcbSet(8, 'tcp')).bool(), true);
  assert.deepEqual(dump(3), ['7/udp', '8/tcp']);
  assert.equal(call(3, 2, rpcbSet(7, 'udp')).bool(), true);
  assert.deepEqual(dump(4), ['8/tcp']);
});

test('v2 DUMP follows SET and UNSET', () => {
  const { call } = setup();
  const dump = () => decodePmapList(call(2, 4), 100).map((m) => `${m.prog}/${m.prot}/${m.port}`);
  const mapping = (prog: number, prot: number, port: number) => (w: XdrWriter) =>
    w.uint32(prog).uint32(1).uint32(prot).uint32(port);
  assert.deepEqual(dump(), []);
  assert.equal(call(2, 1, mapping(9, 17, 700)).bool(), true);
  assert.deepEqual(dump(), ['9/17/700']);
  assert.equal(call(2, 2, mapping(9, 17, 0)).bool(), true);
  assert.deepEqual(dump(), []);
});

test('rpcbListBytes is exactly what encodeRpcbList writes', () => {
  const list = [
    { prog: 1, vers: 2, netid: 'udp', addr: '0.0.0.0.3.232', owner: 'superuser' },
    { prog: 3, vers: 4, netid: 'tcp6', addr: '::.3.232', owner: '' },
    { prog: 5, vers: 6, netid: 'local', addr: '/run/rpcbind.sock', owner: '1000' },
  ];
  for (let n = 0; n <= list.length; n++) {
    const w = new XdrWriter(16);
    encodeRpcbList(w, list.slice(0, n));
    assert.equal(rpcbListBytes(list.slice(0, n)), w.length);
  }
});

test('a large DUMP reply shares the cached list (one buffer for every reply) and decodes whole', () => {
  const state: BindingState = {
    registry: new Registry(),
    stats: new RpcbStats(),
    policy: { insecure: false },
    now: () => 0,
  };
  for (let i = 0; i < 2000; i++)
    state.registry.set({ prog: 0x20000000 + i, vers: 1, netid: 'udp', addr: '0.0.0.0.3.232', owner: 'superuser' });
  const d = new Dispatcher<CallerContext>();
  d.addProgram(createRpcbindProgram(state));
  const dump = (xid: number): Buffer[] => {
    const w = new XdrWriter();
    writeCallHeader(w, { xid, prog: 100000, vers: 4, proc: 4 });
    const reply = d.dispatch(w.toBuffer(), LOCAL, 1 << 20);
    assert.ok(Array.isArray(reply));
    return reply;
  };
  const a = dump(1);
  const b = dump(2);
  assert.equal(a[1], b[1]);
  const r = decodeReply(Buffer.concat(a));
  assert.equal(r.kind, 'success');
  const list = decodeRpcbList((r as { results: XdrReader }).results, 10_000);
  assert.equal(list.length, 2000);
  assert.equal(list[1999]!.prog, 0x20000000 + 1999);
});

test('a cached DUMP encoding waits for one change of the table at a time (a stale one is let go at the change)', () => {
  const { state, call } = setup();
  let waiting = 0;
  const registry = state.registry;
  const atNextChange = registry.atNextChange.bind(registry);
  registry.atNextChange = (fn) => {
    waiting++;
    atNextChange(() => {
      waiting--;
      fn();
    });
  };
  call(2, 4);
  call(4, 4);
  call(3, 4);
  assert.equal(waiting, 2, 'the v2 list and the v3/v4 list, each once');
  call(3, 1, rpcbSet(0x20000001, 'udp'));
  assert.equal(waiting, 0);
  call(4, 4);
  call(4, 4);
  assert.equal(waiting, 1);
});
