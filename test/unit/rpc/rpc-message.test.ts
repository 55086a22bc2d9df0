import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdrWriter } from '../../../src/xdr/index.js';
import {
  AuthStat,
  decodeCall,
  decodeReply,
  writeAcceptedHeader,
  writeAuthError,
  writeProgMismatch,
  writeRpcMismatch,
  AcceptStat,
} from '../../../src/rpc/index.js';
import { authSys, buildCall } from '../../helpers/calls.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('a NULL call with AUTH_NONE decodes', () => {
  const d = decodeCall(
    hex('00000001 00000000 00000002 000186a0 00000002 00000000 00000000 00000000 00000000 00000000'),
  );
  assert.equal(d.kind, 'call');
  if (d.kind !== 'call') return;
  assert.equal(d.call.xid, 1);
  assert.equal(d.call.prog, 100000);
  assert.equal(d.call.vers, 2);
  assert.equal(d.call.proc, 0);
  assert.equal(d.args.remaining, 0);
});

test('AUTH_SYS credentials are decoded', () => {
  const d = decodeCall(buildCall({ vers: 3, proc: 0, cred: authSys(1000, 100) }));
  assert.ok(d.kind === 'call' && d.call.authSys);
  if (d.kind === 'call') {
    assert.equal(d.call.authSys?.uid, 1000);
    assert.equal(d.call.authSys?.machinename, 'test');
  }
});

test('what cannot be answered is dropped', () => {
  assert.deepEqual(decodeCall(Buffer.alloc(0)), { kind: 'drop', reason: 'SHORT_HEADER' });
  assert.deepEqual(decodeCall(hex('00000001 0000')), { kind: 'drop', reason: 'SHORT_HEADER' });
  assert.deepEqual(decodeCall(hex('00000001 00000001 00000000')), { kind: 'drop', reason: 'REPLY' });
  assert.deepEqual(decodeCall(hex('00000001 00000002')), { kind: 'drop', reason: 'BAD_MSG_TYPE' });
});

test('a wrong RPC version is rejected with RPC_MISMATCH (RFC 5531)', () => {
  assert.deepEqual(decodeCall(hex('00000007 00000000 00000003 000186a0 00000002 00000000')), {
    kind: 'reject',
    xid: 7,
    reply: 'RPC_MISMATCH',
  });
});

test('a header cut after the xid is garbage', () => {
  assert.deepEqual(decodeCall(hex('00000007 00000000 00000002 000186a0')), { kind: 'garbage', xid: 7 });
});

test('credential problems map to the auth_stat libtirpc servers use', () => {
  const withCred = (flavor: number, body: string): Buffer =>
    hex(
      `00000009 00000000 00000002 000186a0 00000002 00000000 ${flavor.toString(16).padStart(8, '0')} ${body} 00000000 00000000`,
    );
  const stat = (b: Buffer): number | undefined => {
    const d = decodeCall(b);
    return d.kind === 'reject' && d.reply === 'AUTH_ERROR' ? d.authStat : undefined;
  };
  assert.equal(stat(withCred(1, '00000004 ffffffff')), AuthStat.AUTH_BADCRED); // garbage AUTH_SYS
  assert.equal(stat(withCred(2, '00000000')), AuthStat.AUTH_REJECTEDCRED); // AUTH_SHORT
  assert.equal(stat(withCred(99, '00000000')), AuthStat.AUTH_REJECTEDCRED);
  assert.equal(stat(withCred(3, '00000000')), AuthStat.AUTH_FAILED); // AUTH_DH
  assert.equal(stat(withCred(6, '00000000')), AuthStat.AUTH_BADCRED); // RPCSEC_GSS
  assert.equal(stat(withCred(0, '00000191')), AuthStat.AUTH_BADCRED); // body of 401 bytes
});

test('every reply kind encodes and decodes', () => {
  const w = new XdrWriter();
  writeAcceptedHeader(w, 5, AcceptStat.SUCCESS);
  w.uint32(111);
  assert.equal(
    w.toBuffer().toString('hex'),
    '00000005' + '00000001' + '00000000' + '00000000' + '00000000' + '00000000' + '0000006f',
  );
  const ok = decodeReply(w.toBuffer());
  assert.equal(ok.kind, 'success');
  for (const stat of [
    AcceptStat.PROG_UNAVAIL,
    AcceptStat.PROC_UNAVAIL,
    AcceptStat.GARBAGE_ARGS,
    AcceptStat.SYSTEM_ERR,
  ]) {
    const e = new XdrWriter();
    writeAcceptedHeader(e, 6, stat);
    assert.deepEqual(decodeReply(e.toBuffer()), { kind: 'accepted-error', xid: 6, stat });
  }
  const pm = new XdrWriter();
  writeProgMismatch(pm, 7, 2, 4);
  assert.deepEqual(decodeReply(pm.toBuffer()), {
    kind: 'accepted-error',
    xid: 7,
    stat: AcceptStat.PROG_MISMATCH,
    low: 2,
    high: 4,
  });
  const rm = new XdrWriter();
  writeRpcMismatch(rm, 8);
  assert.equal(
    rm.toBuffer().toString('hex'),
    '00000008' + '00000001' + '00000001' + '00000000' + '00000002' + '00000002',
  );
  const ae = new XdrWriter();
  writeAuthError(ae, 9, AuthStat.AUTH_TOOWEAK);
  assert.equal(ae.toBuffer().toString('hex'), '00000009' + '00000001' + '00000001' + '00000001' + '00000005');
  assert.deepEqual(decodeReply(ae.toBuffer()), { kind: 'auth-error', xid: 9, stat: AuthStat.AUTH_TOOWEAK });
});
