// The lookup statistics remember the previous row (a hot-path shortcut): the counts and the
// bounded table must come out exactly as without it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RpcbStats } from '../../../src/rpcbind/stats.js';

test('repeated lookups count into one row, newest row first', () => {
  const s = new RpcbStats();
  for (let i = 0; i < 5; i++) s.lookupDone(2, 100003, 3, 'udp', true);
  s.lookupDone(2, 100005, 1, 'udp', false);
  s.lookupDone(2, 100003, 3, 'udp', false);
  s.lookupDone(2, 100003, 3, 'tcp', true);
  const rows = s.snapshot()[0].addrinfo;
  assert.deepEqual(rows, [
    { prog: 100003, vers: 3, success: 1, failure: 0, netid: 'tcp' },
    { prog: 100005, vers: 1, success: 0, failure: 1, netid: 'udp' },
    { prog: 100003, vers: 3, success: 5, failure: 1, netid: 'udp' },
  ]);
});

test('a remembered row evicted by the cap is not counted into afterwards', () => {
  const s = new RpcbStats(2);
  s.lookupDone(3, 1, 1, 'udp', true); // row A, remembered
  s.lookupDone(3, 2, 1, 'udp', true); // row B
  s.lookupDone(3, 3, 1, 'udp', true); // row C evicts A
  s.lookupDone(3, 1, 1, 'udp', true); // A again: a new row, evicting B
  const rows = s.snapshot()[1].addrinfo;
  assert.deepEqual(
    rows.map((r) => [r.prog, r.success]),
    [
      [1, 1],
      [3, 1],
    ],
  );
});

test('versions keep separate tables', () => {
  const s = new RpcbStats();
  s.lookupDone(3, 7, 1, 'udp', true);
  s.lookupDone(4, 7, 1, 'udp', true);
  s.lookupDone(3, 7, 1, 'udp', true);
  const [, v3, v4] = s.snapshot();
  assert.equal(v3.addrinfo[0]!.success, 2);
  assert.equal(v4.addrinfo[0]!.success, 1);
});
