import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { XdrWriter } from '../../../src/xdr/index.js';
import { AcceptStat, AuthStat } from '../../../src/rpc/index.js';
import {
  decodeNetbuf,
  decodeRpcbEntryList,
  decodeRpcbList,
  decodeRpcbStatByVers,
  encodeNetbuf,
  encodeRpcb,
  type Rpcb,
} from '../../../src/proto/index.js';
import { newBinding } from '../../helpers/binding.js';
import { buildCall, ctx, localRoot, localUser, loopbackUdp, remoteUdp, reply, results } from '../../helpers/calls.js';

const PROG = 0x20000101;
const rpcb = (b: Partial<Rpcb>) => (w: XdrWriter) =>
  encodeRpcb(w, { prog: PROG, vers: 1, netid: 'udp', addr: '', owner: '', ...b });
const call = (vers: number, proc: number, b: Partial<Rpcb> = {}) => buildCall({ vers, proc, args: rpcb(b) });
const tcp = ctx({ netid: 'tcp' });
const udp6 = ctx({ netid: 'udp6', peerAddress: '::1', localAddress: '::1' });

test('SET and GETADDR: the wildcard address is merged with the address the caller reached', () => {
  const b = newBinding();
  assert.equal(results(b.call(loopbackUdp, call(3, 1, { addr: '0.0.0.0.8.1' }))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, call(3, 1, { netid: 'udp6', addr: '::.8.1' }))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, call(3, 3))).string(100), '127.0.0.1.8.1');
  assert.equal(results(b.call(remoteUdp, call(4, 3))).string(100), '198.18.0.1.8.1');
  assert.equal(results(b.call(udp6, call(4, 3))).string(100), '::1.8.1');
});

test('GETADDR answers for the arrival transport, whatever r_netid says', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, call(3, 1, { addr: '0.0.0.0.8.1' })));
  assert.equal(results(b.call(loopbackUdp, call(3, 3, { netid: 'tcp' }))).string(100), '127.0.0.1.8.1');
  assert.equal(results(b.call(tcp, call(3, 3, { netid: 'udp' }))).string(100), '');
});

test('GETADDR falls back to another version; GETVERSADDR does not', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, call(4, 1, { vers: 2, addr: '0.0.0.0.8.2' })));
  assert.equal(results(b.call(loopbackUdp, call(4, 3, { vers: 1 }))).string(100), '127.0.0.1.8.2');
  assert.equal(results(b.call(loopbackUdp, call(4, 9, { vers: 1 }))).string(100), '');
  assert.equal(results(b.call(loopbackUdp, call(4, 9, { vers: 2 }))).string(100), '127.0.0.1.8.2');
});

test('an address that does not parse, and local-socket entries, come back verbatim', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, call(3, 1, { addr: 'garbage' })));
  results(b.call(localRoot, call(3, 1, { netid: 'local', addr: '/run/svc.sock' })));
  assert.equal(results(b.call(loopbackUdp, call(3, 3))).string(100), 'garbage');
  assert.equal(results(b.call(localRoot, call(3, 3))).string(100), '/run/svc.sock');
});

test('DUMP lists the portmapper entries as the reference does, then registrations, with owners', () => {
  const b = newBinding();
  results(b.call(localUser(1000), call(3, 1, { addr: '0.0.0.0.8.1', owner: 'ignored' })));
  const list = decodeRpcbList(results(b.call(loopbackUdp, call(4, 4))), 100);
  assert.deepEqual(
    list.map((r) => `${r.vers} ${r.netid} ${r.addr} ${r.owner}`),
    [
      '4 tcp6 ::.0.111 superuser',
      '3 tcp6 ::.0.111 superuser',
      '4 udp6 ::.0.111 superuser',
      '3 udp6 ::.0.111 superuser',
      '4 tcp 0.0.0.0.0.111 superuser',
      '3 tcp 0.0.0.0.0.111 superuser',
      '2 tcp 0.0.0.0.0.111 superuser',
      '4 udp 0.0.0.0.0.111 superuser',
      '3 udp 0.0.0.0.0.111 superuser',
      '2 udp 0.0.0.0.0.111 superuser',
      '4 local /run/rpcbind.sock superuser',
      '3 local /run/rpcbind.sock superuser',
      '1 udp 0.0.0.0.8.1 1000',
    ],
  );
});

test('UNSET with an empty netid removes all netids; refused remotely', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, call(3, 1, { addr: '0.0.0.0.8.1' })));
  results(b.call(loopbackUdp, call(3, 1, { netid: 'tcp', addr: '0.0.0.0.8.1' })));
  assert.deepEqual(reply(b.call(remoteUdp, call(3, 2, { netid: '' }))), {
    kind: 'auth-error',
    xid: 0x1234,
    stat: AuthStat.AUTH_TOOWEAK,
  });
  assert.equal(results(b.call(loopbackUdp, call(3, 2, { netid: '' }))).bool(), true);
  assert.equal(results(b.call(loopbackUdp, call(3, 3))).string(100), '');
  assert.equal(b.state.registry.size, 12);
});

test('GETADDRLIST lists the entries of the arrival family, merged, with netconfig facts', () => {
  const b = newBinding();
  for (const [netid, addr] of [
    ['udp', '0.0.0.0.2.1'],
    ['tcp', '0.0.0.0.2.2'],
    ['udp6', '::.2.3'],
    ['local', '/run/g.sock'],
  ]) {
    results(b.call(localRoot, call(4, 1, { netid, addr })));
  }
  const v4 = decodeRpcbEntryList(results(b.call(loopbackUdp, call(4, 11))), 10);
  assert.deepEqual(v4, [
    { maddr: '127.0.0.1.2.1', netid: 'udp', semantics: 1, protofmly: 'inet', proto: 'udp' },
    { maddr: '127.0.0.1.2.2', netid: 'tcp', semantics: 3, protofmly: 'inet', proto: 'tcp' },
  ]);
  const v6 = decodeRpcbEntryList(results(b.call(udp6, call(4, 11))), 10);
  assert.deepEqual(v6, [{ maddr: '::1.2.3', netid: 'udp6', semantics: 1, protofmly: 'inet6', proto: 'udp' }]);
  assert.deepEqual(decodeRpcbEntryList(results(b.call(localRoot, call(4, 11))), 10), []);
});

test('GETTIME answers the clock in seconds', () => {
  const b = newBinding();
  assert.equal(results(b.call(loopbackUdp, buildCall({ vers: 3, proc: 6 }))).uint32(), 1_700_000_000);
});

test('UADDR2TADDR and TADDR2UADDR use the arrival transport family (golden vectors from the reference)', () => {
  const b = newBinding();
  const u2t = (c: typeof loopbackUdp, s: string) =>
    decodeNetbuf(results(b.call(c, buildCall({ vers: 3, proc: 7, args: (w) => w.string(s) }))));
  const inet = u2t(loopbackUdp, '127.0.0.1.2.1');
  assert.equal(inet.maxlen, 16);
  assert.equal(inet.buf.toString('hex'), '020002017f0000010000000000000000');
  assert.equal(u2t(loopbackUdp, '1.2.3.4.5.300').buf.subarray(2, 4).toString('hex'), '052c');
  assert.equal(u2t(loopbackUdp, '1.2.3.4.-1.0').buf.subarray(2, 4).toString('hex'), 'ff00');
  for (const bad of ['01.2.3.4.0.1', '1.2.3.4', '1.2.3.4.5.6.7', '::1.2.1', '']) {
    assert.deepEqual(u2t(loopbackUdp, bad), { maxlen: 0, buf: Buffer.alloc(0) }, bad);
  }
  const in6 = u2t(udp6, '::1.2.1');
  assert.equal(in6.maxlen, 28);
  assert.equal(in6.buf.toString('hex'), '0a000201' + '00000000' + '00000000000000000000000000000001' + '00000000');
  const un = u2t(localRoot, '127.0.0.1.2.1');
  assert.equal(un.maxlen, 110);
  assert.equal(un.buf.toString('latin1'), '\x01\x00127.0.0.1');

  const t2u = (c: typeof loopbackUdp, maxlen: number, buf: Buffer) =>
    b.call(c, buildCall({ vers: 4, proc: 8, args: (w) => encodeNetbuf(w, { maxlen, buf }) }));
  assert.equal(results(t2u(loopbackUdp, 16, inet.buf)).string(100), '127.0.0.1.2.1');
  assert.equal(results(t2u(udp6, 28, in6.buf)).string(100), '::1.2.1');
  assert.equal(results(t2u(loopbackUdp, 8, inet.buf.subarray(0, 8))).string(100), '');
  assert.equal(results(t2u(localRoot, 110, un.buf)).string(100), '127.0.0.1');
  assert.deepEqual(reply(t2u(loopbackUdp, 0, inet.buf)), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.GARBAGE_ARGS,
  });
});

test('GETSTAT counts as the reference: itself, successes only, lookups newest first; remote callers refused', () => {
  const b = newBinding();
  results(b.call(loopbackUdp, call(3, 1, { addr: '0.0.0.0.8.1' }))); // SET ok
  results(b.call(loopbackUdp, call(3, 1, { addr: '0.0.0.0.8.2' }))); // SET conflict
  reply(b.call(remoteUdp, call(3, 1, { addr: '0.0.0.0.8.2' }))); // refused, still counted in info
  results(b.call(loopbackUdp, call(3, 3))); // GETADDR hit
  results(b.call(tcp, call(3, 3, { prog: 5 }))); // GETADDR miss
  reply(b.call(loopbackUdp, buildCall({ vers: 3, proc: 12 }))); // PROC_UNAVAIL: not counted
  assert.equal(reply(b.call(remoteUdp, buildCall({ vers: 4, proc: 12 }))).kind, 'auth-error');
  const [v2, v3, v4] = decodeRpcbStatByVers(results(b.call(loopbackUdp, buildCall({ vers: 4, proc: 12 }))), 100);
  assert.deepEqual(v3.info.slice(0, 9), [0, 3, 0, 2, 0, 0, 0, 0, 0]);
  assert.equal(v3.setinfo, 1);
  assert.deepEqual(v3.addrinfo, [
    { prog: 5, vers: 1, success: 0, failure: 1, netid: 'tcp' },
    { prog: PROG, vers: 1, success: 1, failure: 0, netid: 'udp' },
  ]);
  assert.equal(v4.info[12], 2); // the refused one and this one
  assert.deepEqual(v2.info, new Array(13).fill(0));
});

test('SET/UNSET with a journal: FALSE without a change while it refuses; FALSE when saving fails (undone); TRUE once saved', async () => {
  let accepting = true;
  let saves = true;
  let refused = 0;
  const b = newBinding();
  b.state.journal = {
    accepting: () => accepting,
    persist: async () => {
      if (saves) return true;
      // What the store does before answering false: it undoes the change (here the SET of vers 3).
      b.state.registry.remove(PROG, 3, 'udp');
      return false;
    },
    refused: () => void refused++,
  };
  const mine = () =>
    decodeRpcbList(results(b.call(loopbackUdp, call(4, 4))), 100)
      .filter((r) => r.prog === PROG)
      .map((r) => r.vers);
  const setinfo = () =>
    decodeRpcbStatByVers(results(b.call(loopbackUdp, buildCall({ vers: 4, proc: 12 }))), 100)[1]!.setinfo;
  assert.equal(results((await b.callAsync(loopbackUdp, call(3, 1, { addr: '0.0.0.0.8.1' })))!).bool(), true);
  assert.deepEqual(mine(), [1]);
  assert.equal(setinfo(), 1);
  accepting = false;
  // Refused at once (no write is waited for), the table untouched: SET and UNSET alike.
  assert.equal(results(b.call(loopbackUdp, call(3, 2))).bool(), false);
  assert.equal(results(b.call(loopbackUdp, call(3, 1, { vers: 2, addr: '0.0.0.0.8.2' }))).bool(), false);
  assert.deepEqual(mine(), [1]);
  assert.equal(refused, 2);
  accepting = true;
  saves = false;
  assert.equal(results((await b.callAsync(loopbackUdp, call(3, 1, { vers: 3, addr: '0.0.0.0.8.3' })))!).bool(), false);
  assert.deepEqual(mine(), [1]);
  assert.equal(refused, 3);
  assert.equal(setinfo(), 1, 'GETSTAT counts what callers were told');
});
