import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClientError } from '../../../src/client/index.js';
import { N2AXLATEFAILURE, sperror, spcreateerror } from '../../../src/cli/clnt-messages.js';

test('clnt_sperror texts', () => {
  assert.equal(
    sperror('rpcinfo', new RpcClientError('RPC_PROGVERSMISMATCH', { low: 2, high: 4 })),
    'rpcinfo: RPC: Program/version mismatch; low version = 2, high version = 4',
  );
  assert.equal(
    sperror("rpcinfo: can't contact rpcbind: ", new RpcClientError('RPC_CANTRECV', { errno: 'ECONNREFUSED' })),
    "rpcinfo: can't contact rpcbind: : RPC: Unable to receive; errno = Connection refused",
  );
  assert.equal(
    sperror('x', new RpcClientError('RPC_AUTHERROR', { authWhy: 5 })),
    'x: RPC: Authentication error; why = Client credential too weak',
  );
});

test('clnt_spcreateerror texts', () => {
  const e = new RpcClientError('RPC_SYSTEMERROR', { phase: 'create', errno: 'ECONNREFUSED' });
  assert.equal(spcreateerror('localhost', e.stat, e), 'localhost: RPC: Remote system error - Connection refused');
  assert.equal(
    spcreateerror("rpcinfo: can't contact rpcbind", N2AXLATEFAILURE),
    "rpcinfo: can't contact rpcbind: RPC: (unknown error code)",
  );
});
