import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../../../src/cli/rpcinfo-dump.js';
import { formatStats } from '../../../src/cli/rpcinfo-stat.js';
import { Ctx } from '../../../src/cli/rpcinfo-context.js';
import { RpcDatabase } from '../../../src/cli/etc-rpc.js';
import type { RpcbStat } from '../../../src/client/index.js';

test('-s groups by program, newest version and netid first', () => {
  const rows = summarize([
    { prog: 1, vers: 4, netid: 'tcp6', addr: '', owner: 'superuser' },
    { prog: 1, vers: 3, netid: 'tcp6', addr: '', owner: 'superuser' },
    { prog: 1, vers: 4, netid: 'udp', addr: '', owner: 'superuser' },
    { prog: 2, vers: 1, netid: 'udp', addr: '', owner: 'unknown' },
  ]);
  assert.deepEqual(rows, [
    { program: 1, versions: [3, 4], netids: ['udp', 'tcp6'], owner: 'superuser' },
    { program: 2, versions: [1], netids: ['udp'], owner: 'unknown' },
  ]);
});

test('-m layout matches the reference for a fresh daemon', () => {
  const z = (info: number[]): RpcbStat => ({ info, setinfo: 0, unsetinfo: 0, addrinfo: [], rmtinfo: [] });
  const ctx = new Ctx({
    prog: 'rpcinfo',
    db: new RpcDatabase('portmapper 100000 rpcbind\n'),
    json: false,
    timeoutMs: undefined,
    socketPath: '',
  });
  const out = formatStats(ctx, [
    z([0, 0, 0, 0, 1, 0]),
    z([0, 0, 0, 0, 2, 0, 0, 0, 0]),
    z([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  ]);
  assert.equal(
    out,
    'PORTMAP (version 2) statistics\nNULL    SET     UNSET   GETPORT DUMP    CALLIT  \n0       0/0     0/0     0/0     1       0/0     \n\n' +
      'RPCBIND (version 3) statistics\nNULL    SET     UNSET   GETADDR DUMP    CALLIT  TIME    U2T     T2U     \n0       0/0     0/0     0/0     2       0/0     0       0       0       \n\n' +
      'RPCBIND (version 4) statistics\nNULL    SET     UNSET   GETADDR DUMP    CALLIT  TIME    U2T     T2U     \n0       0/0     0/0     0/0     0       0/0     0       0       0       \n' +
      'VERADDR INDRECT GETLIST GETSTAT \n0       0       0       1       \n',
  );
});

test('program numbers and names parse like getprognum', () => {
  const ctx = new Ctx({
    prog: 'rpcinfo',
    db: new RpcDatabase('nfs 100003 nfsprog\n'),
    json: false,
    timeoutMs: undefined,
    socketPath: '',
  });
  assert.equal(ctx.progNum('100003'), 100003);
  assert.equal(ctx.progNum('nfsprog'), 100003);
  assert.throws(() => ctx.progNum('1-'));
  assert.match(ctx.err, /1- is illegal program number/);
});
