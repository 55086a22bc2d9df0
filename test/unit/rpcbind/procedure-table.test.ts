// Every procedure declaration of program 100000 against RFC 1833 (numbers and names) and
// against the access rules the daemon has always enforced (classes and local-only); the
// load-time checks of a version's table; and the admission gate the declarations drive.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcceptStat, AuthStat, type CallerContext } from '../../../src/rpc/index.js';
import { PmapProc, RPCBSTAT_HIGHPROC, RpcbProc } from '../../../src/proto/index.js';
import { createRpcbindProgram, type OperationClass, type SecurityObserver } from '../../../src/rpcbind/index.js';
import { procedureTable, type AnyRpcbProcedure } from '../../../src/rpcbind/procedure-table.js';
import { newBinding } from '../../helpers/binding.js';
import { buildCall, localRoot, loopbackUdp, remoteUdp, reply } from '../../helpers/calls.js';

type Row = [num: number, name: string, cls: OperationClass, localOnly: boolean];

// RFC 1833 section 3 (PMAPPROC_*, version 2) and section 2.2 (RPCBPROC_*, versions 3 and 4):
// RPCBPROC_BCAST is version 4's name for RPCBPROC_CALLIT. NULL is procedure 0 of every version.
// Classes and local-only are the rules of docs/hardening.md and rpcbind's: SET and UNSET only
// from local callers (GETSTAT too, as in rpcbind), DUMP and GETSTAT are dumps, the remote calls
// are callit, everything else a query.
const V2: Row[] = [
  [0, 'NULL', 'query', false],
  [1, 'SET', 'register', true],
  [2, 'UNSET', 'register', true],
  [3, 'GETPORT', 'query', false],
  [4, 'DUMP', 'dump', false],
  [5, 'CALLIT', 'callit', false],
];
const V3: Row[] = [
  [0, 'NULL', 'query', false],
  [1, 'SET', 'register', true],
  [2, 'UNSET', 'register', true],
  [3, 'GETADDR', 'query', false],
  [4, 'DUMP', 'dump', false],
  [5, 'CALLIT', 'callit', false],
  [6, 'GETTIME', 'query', false],
  [7, 'UADDR2TADDR', 'query', false],
  [8, 'TADDR2UADDR', 'query', false],
];
const V4: Row[] = [
  ...V3.slice(0, 5),
  [5, 'BCAST', 'callit', false],
  ...V3.slice(6),
  [9, 'GETVERSADDR', 'query', false],
  [10, 'INDIRECT', 'callit', false],
  [11, 'GETADDRLIST', 'query', false],
  [12, 'GETSTAT', 'dump', true],
];
const RFC: ReadonlyMap<number, Row[]> = new Map([
  [2, V2],
  [3, V3],
  [4, V4],
]);

function rowsOf(procs: ReadonlyArray<AnyRpcbProcedure | undefined>): Array<Row | undefined> {
  return procs.map((p) => (p ? [p.num, p.name, p.class, p.localOnly] : undefined));
}

test('every declared procedure has its RFC 1833 number and name, and the class and local-only rule it always had', () => {
  const program = createRpcbindProgram(newBinding().state);
  assert.deepEqual([...program.versions.keys()], [2, 3, 4]);
  assert.equal(program.low, 2);
  assert.equal(program.high, 4);
  for (const [vers, rows] of RFC) {
    const table = program.versions.get(vers)?.procedures ?? [];
    // Indexed by number, without holes: the dispatcher finds procedure n at table[n].
    assert.deepEqual(rowsOf(table), rows, `version ${vers}`);
    assert.ok(table.length <= RPCBSTAT_HIGHPROC, `version ${vers} fits rpcb_stat.info`);
  }
});

test('the wire constants the client calls by agree with the declarations', () => {
  for (const [name, num] of Object.entries(PmapProc)) assert.deepEqual(V2[num]?.slice(0, 2), [num, name]);
  for (const [name, num] of Object.entries(RpcbProc)) {
    const row = (name === 'CALLIT' ? V3 : V4)[num];
    assert.deepEqual(row?.slice(0, 2), [num, name]);
  }
  assert.equal(RPCBSTAT_HIGHPROC, V4.length);
});

const decl = (num: number, name: string): AnyRpcbProcedure => ({
  num,
  name,
  class: 'query',
  localOnly: false,
  decode: () => undefined,
  encode: () => {},
  handle: () => undefined,
});

test('a version table refuses a number or a name declared twice, and a gap that is not declared', () => {
  assert.throws(() => procedureTable(9, [decl(0, 'NULL'), decl(1, 'A'), decl(1, 'B')]), /A and B are both procedure 1/);
  assert.throws(() => procedureTable(9, [decl(0, 'NULL'), decl(1, 'NULL')]), /two procedures are named NULL/);
  assert.throws(() => procedureTable(9, [decl(0, 'NULL'), decl(2, 'B')]), /no procedure 1/);
  assert.throws(() => procedureTable(9, [decl(0, 'NULL'), decl(-1, 'B')]), /B has number -1/);
  assert.throws(() => procedureTable(9, [decl(0, 'NULL'), decl(1, 'A')], [1]), /declared and listed as a gap/);
  const gapped = procedureTable(9, [decl(2, 'B'), decl(0, 'NULL')], [1]);
  assert.deepEqual(
    gapped.map((p) => p?.name),
    ['NULL', undefined, 'B'],
  );
});

interface Heard {
  denied: Array<[OperationClass, number, number, string]>;
  remoteDumps: Array<[number, string]>;
}

function listening(): { security: SecurityObserver; heard: Heard } {
  const heard: Heard = { denied: [], remoteDumps: [] };
  const security: SecurityObserver = {
    denied: (_ctx, cls, vers, proc, reason) => void heard.denied.push([cls, vers, proc, reason]),
    remoteDump: (_ctx, vers, procName) => void heard.remoteDumps.push([vers, procName]),
    lookup: () => {},
    registration: () => {},
  };
  return { security, heard };
}

const remoteTcp: CallerContext = { ...remoteUdp, netid: 'tcp' };
const authTooWeak = { kind: 'auth-error', xid: 0x1234, stat: AuthStat.AUTH_TOOWEAK };

test('local-only procedures are refused at admission to remote callers, audited once, unless -i', () => {
  const { security, heard } = listening();
  const b = newBinding({ security });
  for (const [vers, proc] of [
    [2, 1],
    [2, 2],
    [3, 1],
    [3, 2],
    [4, 1],
    [4, 2],
    [4, 12],
  ] as const) {
    assert.deepEqual(reply(b.call(remoteTcp, buildCall({ vers, proc }))), authTooWeak, `v${vers} proc ${proc}`);
  }
  assert.deepEqual(heard.denied, [
    ['register', 2, 1, 'not-local'],
    ['register', 2, 2, 'not-local'],
    ['register', 3, 1, 'not-local'],
    ['register', 3, 2, 'not-local'],
    ['register', 4, 1, 'not-local'],
    ['register', 4, 2, 'not-local'],
    ['dump', 4, 12, 'not-local'],
  ]);
  assert.equal(reply(b.call(localRoot, buildCall({ vers: 4, proc: 12 }))).kind, 'success');
  assert.equal(reply(b.call(loopbackUdp, buildCall({ vers: 4, proc: 12 }))).kind, 'success');
  assert.deepEqual(heard.remoteDumps, []);

  const insecure = listening();
  const i = newBinding({ security: insecure.security, policy: { insecure: true } });
  assert.equal(reply(i.call(remoteTcp, buildCall({ vers: 4, proc: 12 }))).kind, 'success');
  assert.deepEqual(insecure.heard.denied, []);
  assert.deepEqual(insecure.heard.remoteDumps, [[4, 'GETSTAT']]);
});

test('a remote DUMP is audited under its declared name; a procedure the version lacks is PROC_UNAVAIL', () => {
  const { security, heard } = listening();
  const b = newBinding({ security });
  for (const vers of [2, 3, 4]) assert.equal(reply(b.call(remoteTcp, buildCall({ vers, proc: 4 }))).kind, 'success');
  assert.equal(reply(b.call(localRoot, buildCall({ vers: 4, proc: 4 }))).kind, 'success');
  assert.deepEqual(heard.remoteDumps, [
    [2, 'DUMP'],
    [3, 'DUMP'],
    [4, 'DUMP'],
  ]);
  for (const [vers, proc] of [
    [2, 6],
    [3, 9],
    [3, 12],
    [4, 13],
  ] as const) {
    const r = reply(b.call(remoteTcp, buildCall({ vers, proc })));
    assert.deepEqual(
      r,
      { kind: 'accepted-error', xid: 0x1234, stat: AcceptStat.PROC_UNAVAIL },
      `v${vers} proc ${proc}`,
    );
  }
  assert.deepEqual(heard.denied, []);
  assert.equal(heard.remoteDumps.length, 3);
});
