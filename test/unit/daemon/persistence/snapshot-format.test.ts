import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, crc32Table } from '../../../../src/daemon/persistence/crc32.js';
import {
  decodeJournal,
  encodeJournalHeader,
  encodeRecords,
  type Change,
} from '../../../../src/daemon/persistence/journal-format.js';
import { decodeSnapshot, encodeSnapshot } from '../../../../src/daemon/persistence/snapshot-format.js';
import type { Registration } from '../../../../src/rpcbind/index.js';

const entries: Registration[] = [
  { prog: 100003, vers: 3, netid: 'tcp', addr: '0.0.0.0.8.1', owner: 'superuser' },
  { prog: 100005, vers: 1, netid: 'udp6', addr: '::.2.3', owner: '1000' },
  { prog: 0xffffffff, vers: 0, netid: 'local', addr: '/run/x\u00e9.sock', owner: 'unknown' },
  { prog: 100005, vers: 2, netid: 'udp6', addr: '', owner: '' },
];

test('crc32: the check value, and native and table-driven agree', () => {
  assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
  const big = Buffer.alloc(1000, 0xa5);
  assert.equal(crc32(big), crc32Table(big));
  assert.equal(crc32(big, 100, 900), crc32Table(big, 100, 900));
});

test('snapshot round trip keeps every field, the order and the epoch', () => {
  assert.deepEqual(decodeSnapshot(encodeSnapshot(entries, 2 ** 40 + 5)), { ok: true, epoch: 2 ** 40 + 5, entries });
  assert.deepEqual(decodeSnapshot(encodeSnapshot([], 1)), { ok: true, epoch: 1, entries: [] });
});

test('snapshot: rejects empty, truncated, flipped, foreign and other-version files', () => {
  const good = encodeSnapshot(entries, 9);
  assert.equal(decodeSnapshot(Buffer.alloc(0)).ok, false);
  for (let cut = 0; cut < good.length; cut += 3)
    assert.equal(decodeSnapshot(good.subarray(0, cut)).ok, false, `cut at ${cut}`);
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i]! ^= 0x40;
    assert.equal(decodeSnapshot(bad).ok, false, `flip at ${i}`);
  }
  assert.match(
    JSON.stringify(decodeSnapshot(Buffer.from('#!/bin/sh\necho hello, this is not a state file at all\n'))),
    /bad magic/,
  );
  const v1 = Buffer.from(good);
  v1.writeUInt32BE(1, 4);
  assert.match(JSON.stringify(decodeSnapshot(v1)), /version 1/);
});

test('snapshot: a huge declared count or string length is refused before any allocation', () => {
  const forged = encodeSnapshot([], 1);
  forged.writeUInt32BE(0xffffffff, 16);
  assert.equal(decodeSnapshot(forged).ok, false);
});

const changes: Change[] = entries.map((reg, i) => ({ op: i === 3 ? 'remove' : 'add', reg }));

test('journal round trip; an empty journal; a header cut short is an empty journal of no epoch', () => {
  const file = Buffer.concat([encodeJournalHeader(77), encodeRecords(changes)]);
  assert.deepEqual(decodeJournal(file), { ok: true, epoch: 77, changes, validBytes: file.length });
  assert.deepEqual(decodeJournal(encodeJournalHeader(3)), { ok: true, epoch: 3, changes: [], validBytes: 20 });
  for (const cut of [0, 3, 8, 19]) {
    assert.deepEqual(decodeJournal(encodeJournalHeader(3).subarray(0, cut)), {
      ok: true,
      epoch: undefined,
      changes: [],
      validBytes: 0,
    });
  }
  assert.equal(decodeJournal(Buffer.from('not ours')).ok, false);
  assert.equal(decodeJournal(Buffer.from('# definitely not an rpcbind-ts journal')).ok, false);
});

test('journal: every cut inside the last record is "torn" and keeps all records before it', () => {
  const head = Buffer.concat([encodeJournalHeader(1), encodeRecords(changes.slice(0, 3))]);
  const file = Buffer.concat([head, encodeRecords(changes.slice(3))]);
  for (let cut = head.length + 1; cut < file.length; cut++) {
    const d = decodeJournal(file.subarray(0, cut));
    assert.ok(
      d.ok && d.damage?.kind === 'torn' && d.changes.length === 3 && d.validBytes === head.length,
      `cut at ${cut}`,
    );
  }
});

test('journal: a flipped byte before the last record is "corrupt"; the records before it are kept', () => {
  const one = encodeRecords(changes.slice(0, 1)).length;
  const file = Buffer.concat([encodeJournalHeader(1), encodeRecords(changes)]);
  for (let i = 20 + one; i < 20 + one + encodeRecords(changes.slice(1, 2)).length; i++) {
    const bad = Buffer.from(file);
    bad[i]! ^= 0x01;
    const d = decodeJournal(bad);
    assert.ok(
      d.ok && d.damage?.kind === 'corrupt' && d.changes.length === 1 && d.validBytes === 20 + one,
      `flip at ${i}: ${JSON.stringify(d)}`,
    );
  }
  const flippedHeader = Buffer.from(file);
  flippedHeader[10]! ^= 1;
  assert.equal(decodeJournal(flippedHeader).ok, false);
});
