import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcceptStat, AuthStat } from '../../../src/rpc/index.js';
import { decodePmapList, decodeRpcbList, encodeMapping } from '../../../src/proto/index.js';
import { newBinding } from '../../helpers/binding.js';
import {
  buildCall,
  ctx,
  localUser,
  loopbackUdp,
  loopbackUdpPrivileged,
  remoteUdp,
  reply,
  results,
  rpcbSet,
} from '../../helpers/calls.js';

const PROG = 0x20000101;
const mapping =
  (prog: number, vers: number, prot: number, port: number) => (w: import('../../../src/xdr/index.js').XdrWriter) =>
    encodeMapping(w, { prog, vers, prot, port });
const set = (prog: number, vers: number, prot: number, port: number) =>
  buildCall({ vers: 2, proc: 1, args: mapping(prog, vers, prot, port) });
const unset = (prog: number, vers: number) => buildCall({ vers: 2, proc: 2, args: mapping(prog, vers, 0, 0) });
const getport = (prog: number, vers: number, prot: number) =>
  buildCall({ vers: 2, proc: 3, args: mapping(prog, vers, prot, 0) });
const dump = buildCall({ vers: 2, proc: 4 });
const v3dump = buildCall({ vers: 3, proc: 4 });

test('NULL answers with no results', () => {
  const b = newBinding();
  assert.equal(results(b.call(loopbackUdp, buildCall({ vers: 2, proc: 0 }))).remaining, 0);
});

test('SET registers udp/tcp as 0.0.0.0.p1.p2 with the caller as owner; GETPORT finds it', () => {
  const b = newBinding();
  assert.equal(results(b.call(loopbackUdpPrivileged, set(PROG, 1, 17, 2049))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, set(PROG, 1, 6, 2050))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 1, 17))).uint32(), 2049);
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 1, 6))).uint32(), 2050);
  const list = decodeRpcbList(results(b.call(loopbackUdp, v3dump)), 100).slice(-2);
  assert.deepEqual(list, [
    { prog: PROG, vers: 1, netid: 'udp', addr: '0.0.0.0.8.1', owner: 'superuser' },
    { prog: PROG, vers: 1, netid: 'tcp', addr: '0.0.0.0.8.2', owner: 'unknown' },
  ]);
});

test('SET cuts the port to 16 bits, refuses unknown protocols and a second address', () => {
  const b = newBinding();
  assert.equal(results(b.call(loopbackUdp, set(PROG, 1, 17, 70000))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 1, 17))).uint32(), 4464);
  assert.equal(results(b.call(loopbackUdp, set(PROG, 2, 99, 1000))).bool(), false);
  assert.equal(results(b.call(loopbackUdp, set(PROG, 1, 17, 4464))).bool(), true); // same address
  assert.equal(results(b.call(loopbackUdp, set(PROG, 1, 17, 4465))).bool(), false);
});

test('the owner comes from the local socket peer uid', () => {
  const b = newBinding();
  results(b.call(localUser(1000), set(PROG, 1, 17, 1000)));
  const last = decodeRpcbList(results(b.call(loopbackUdp, v3dump)), 100).at(-1);
  assert.equal(last?.owner, '1000');
});

test('SET and UNSET from a remote host, or 127.0.0.2, are refused with AUTH_TOOWEAK', () => {
  const b = newBinding();
  for (const c of [remoteUdp, ctx({ peerAddress: '127.0.0.2' })]) {
    const r = reply(b.call(c, set(PROG, 1, 17, 1000)));
    assert.deepEqual(r, { kind: 'auth-error', xid: 0x1234, stat: AuthStat.AUTH_TOOWEAK });
    assert.equal(reply(b.call(c, unset(PROG, 1))).kind, 'auth-error');
  }
  assert.equal(results(b.call(remoteUdp, getport(PROG, 1, 17))).uint32(), 0);
});

test('insecure mode (-i) accepts a remote SET', () => {
  const b = newBinding({ policy: { insecure: true } });
  assert.equal(results(b.call(remoteUdp, set(PROG, 1, 17, 1000))).bool(), true);
});

test('UNSET removes udp and tcp, and only for the owner or the superuser', () => {
  const b = newBinding();
  results(b.call(localUser(1000), set(PROG, 1, 17, 1000)));
  results(b.call(localUser(1000), set(PROG, 1, 6, 1001)));
  // Another user: both removals are refused; the reply is FALSE.
  assert.equal(results(b.call(localUser(1001), unset(PROG, 1))).bool(), false);
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 1, 17))).uint32(), 1000);
  assert.equal(results(b.call(localUser(1000), unset(PROG, 1))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 1, 6))).uint32(), 0);
  // Nothing left to remove is still a success.
  assert.equal(results(b.call(localUser(1001), unset(PROG, 1))).bool(), true);
});

test('GETPORT falls back to the last-listed other version, as the reference does', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, set(PROG, 3, 17, 3000)));
  results(b.call(loopbackUdp, set(PROG, 5, 17, 5000)));
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 4, 17))).uint32(), 5000);
  assert.equal(results(b.call(loopbackUdp, getport(PROG, 3, 6))).uint32(), 0);
});

test('DUMP lists the portmapper, then udp/tcp registrations of every version, in order', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, set(PROG, 1, 17, 1000)));
  results(b.call(loopbackUdp, rpcbSet(PROG, 2, 'tcp', '127.0.0.1.4.3')));
  results(b.call(loopbackUdp, rpcbSet(PROG, 3, 'udp6', '::.4.4')));
  const list = decodePmapList(results(b.call(loopbackUdp, dump)), 100);
  assert.deepEqual(
    list.map((m) => [m.prog, m.vers, m.prot, m.port]),
    [
      [100000, 4, 6, 111],
      [100000, 3, 6, 111],
      [100000, 2, 6, 111],
      [100000, 4, 17, 111],
      [100000, 3, 17, 111],
      [100000, 2, 17, 111],
      [PROG, 1, 17, 1000],
      [PROG, 2, 6, 1027],
    ],
  );
});

test('garbage arguments get GARBAGE_ARGS; unknown procedures PROC_UNAVAIL', () => {
  const b = newBinding();
  const cut = set(PROG, 1, 17, 1000).subarray(0, 48);
  assert.deepEqual(reply(b.call(loopbackUdp, cut)), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.GARBAGE_ARGS,
  });
  assert.deepEqual(reply(b.call(loopbackUdp, buildCall({ vers: 2, proc: 6 }))), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.PROC_UNAVAIL,
  });
});

test('versions 1 and 5 get PROG_MISMATCH 2..4; other programs PROG_UNAVAIL', () => {
  const b = newBinding();
  for (const vers of [1, 5]) {
    assert.deepEqual(reply(b.call(loopbackUdp, buildCall({ vers, proc: 0 }))), {
      kind: 'accepted-error',
      xid: 0x1234,
      stat: AcceptStat.PROG_MISMATCH,
      low: 2,
      high: 4,
    });
  }
  assert.deepEqual(reply(b.call(loopbackUdp, buildCall({ prog: 100001, vers: 1, proc: 0 }))), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.PROG_UNAVAIL,
  });
});

test('CALLIT without forwarding is never answered, as Debian rpcbind without -r', () => {
  const b = newBinding();
  const callit = buildCall({
    vers: 2,
    proc: 5,
    args: (w) => w.uint32(100000).uint32(2).uint32(0).opaque(Buffer.alloc(0)),
  });
  assert.equal(b.call(loopbackUdp, callit), undefined);
  assert.equal(b.call(ctx({ netid: 'tcp' }), callit), undefined);
});
