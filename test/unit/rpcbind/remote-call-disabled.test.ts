import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcceptStat, AuthStat } from '../../../src/rpc/index.js';
import { decodeRpcbStatByVers } from '../../../src/proto/index.js';
import { isForwardingDenied } from '../../../src/rpcbind/index.js';
import { newBinding } from '../../helpers/binding.js';
import { buildCall, ctx, loopbackUdp, reply, results, rpcbSet } from '../../helpers/calls.js';

const PROG = 0x20000101;
const rmt = (vers: number, proc: number, prog: number, pvers: number, pproc = 1) =>
  buildCall({
    vers,
    proc,
    args: (w) =>
      w
        .uint32(prog)
        .uint32(pvers)
        .uint32(pproc)
        .opaque(Buffer.from([0, 0, 0, 1])),
  });

function withService() {
  const b = newBinding();
  results(b.call(loopbackUdp, rpcbSet(PROG, 2, 'udp', '0.0.0.0.8.1')));
  results(b.call(loopbackUdp, rpcbSet(PROG, 5, 'udp', '0.0.0.0.8.5')));
  return b;
}

test('INDIRECT over UDP without forwarding reports why, as Debian rpcbind without -r', () => {
  const b = withService();
  const err = (m: Buffer) => reply(b.call(loopbackUdp, m));
  assert.deepEqual(err(rmt(4, 10, 0x3fffffff, 1)), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.PROG_UNAVAIL,
  });
  assert.deepEqual(err(rmt(4, 10, PROG, 3)), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.PROG_MISMATCH,
    low: 2,
    high: 5,
  });
  assert.deepEqual(err(rmt(4, 10, PROG, 2)), { kind: 'accepted-error', xid: 0x1234, stat: AcceptStat.SYSTEM_ERR });
  assert.deepEqual(err(buildCall({ vers: 4, proc: 10, args: (w) => w.uint32(PROG) })), {
    kind: 'accepted-error',
    xid: 0x1234,
    stat: AcceptStat.GARBAGE_ARGS,
  });
});

test('CALLIT and BCAST are never answered; nothing is answered over streams', () => {
  const b = withService();
  for (const m of [rmt(2, 5, PROG, 2), rmt(3, 5, PROG, 2), rmt(4, 5, PROG, 9), rmt(4, 5, 0x3fffffff, 1)]) {
    assert.equal(b.call(loopbackUdp, m), undefined);
  }
  assert.equal(b.call(ctx({ netid: 'tcp' }), rmt(4, 10, PROG, 2)), undefined);
  assert.equal(b.call(ctx({ netid: 'local', uid: 0 }), rmt(4, 10, PROG, 2)), undefined);
});

test('denied targets get AUTH_TOOWEAK, NULL is always allowed', () => {
  const b = withService();
  assert.deepEqual(reply(b.call(loopbackUdp, rmt(2, 5, 100003, 3, 1))), {
    kind: 'auth-error',
    xid: 0x1234,
    stat: AuthStat.AUTH_TOOWEAK,
  });
  assert.equal(isForwardingDenied(100000, 3, false), true);
  assert.equal(isForwardingDenied(100000, 3, true), false);
  assert.equal(isForwardingDenied(100003, 0, false), false);
  assert.equal(isForwardingDenied(100005, 1, false), true);
  assert.equal(isForwardingDenied(100005, 2, false), false);
  assert.equal(isForwardingDenied(100004, 8, false), true);
  assert.equal(isForwardingDenied(100007, 2, false), true);
  assert.equal(isForwardingDenied(100009, 1, false), true);
  assert.equal(isForwardingDenied(100011, 1, false), true);
});

test('remote calls are counted in the rmtcall table, UDP only, new rows with indirect=1', () => {
  const b = withService();
  b.call(loopbackUdp, rmt(4, 10, PROG, 2));
  b.call(loopbackUdp, rmt(4, 10, PROG, 2));
  b.call(loopbackUdp, rmt(4, 5, PROG, 3));
  b.call(ctx({ netid: 'tcp' }), rmt(4, 10, PROG, 2));
  const [, , v4] = decodeRpcbStatByVers(results(b.call(loopbackUdp, buildCall({ vers: 4, proc: 12 }))), 10);
  assert.equal(v4.info[5], 1);
  assert.equal(v4.info[10], 3);
  assert.deepEqual(v4.rmtinfo, [
    { prog: PROG, vers: 3, proc: 1, success: 0, failure: 1, indirect: 1, netid: 'udp' },
    { prog: PROG, vers: 2, proc: 1, success: 2, failure: 0, indirect: 2, netid: 'udp' },
  ]);
});
