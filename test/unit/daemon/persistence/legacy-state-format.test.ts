import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeState, encodeState } from '../../../../src/daemon/persistence/legacy-state-format.js';
import type { Registration } from '../../../../src/rpcbind/index.js';

const entries: Registration[] = [
  { prog: 100003, vers: 3, netid: 'tcp', addr: '0.0.0.0.8.1', owner: 'superuser' },
  { prog: 100005, vers: 1, netid: 'udp6', addr: '::.2.3', owner: '1000' },
  { prog: 0xffffffff, vers: 0, netid: 'local', addr: '/run/x.sock', owner: 'unknown' },
];

test('round trip keeps every field and the order', () => {
  assert.deepEqual(decodeState(encodeState(entries)), { ok: true, entries });
  assert.deepEqual(decodeState(encodeState([])), { ok: true, entries: [] });
});

test('rejects empty, truncated, flipped, foreign and future-version files', () => {
  const good = encodeState(entries);
  assert.equal(decodeState(Buffer.alloc(0)).ok, false);
  for (let cut = 0; cut < good.length; cut += 7)
    assert.equal(decodeState(good.subarray(0, cut)).ok, false, `cut at ${cut}`);
  for (let i = 0; i < good.length; i += 5) {
    const bad = Buffer.from(good);
    bad[i]! ^= 0x40;
    assert.equal(decodeState(bad).ok, false, `flip at ${i}`);
  }
  assert.match(
    JSON.stringify(decodeState(Buffer.from('#!/bin/sh\necho hello, this is not a state file at all\n'))),
    /bad magic/,
  );
  const future = Buffer.from(good);
  future.writeUInt32BE(2, 4);
  assert.match(JSON.stringify(decodeState(future)), /version 2/);
});

test('a huge declared count is refused before any allocation', () => {
  const good = encodeState([]);
  const forged = Buffer.from(good);
  forged.writeUInt32BE(0xffffffff, 8);
  assert.equal(decodeState(forged).ok, false);
});
