import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeJournal,
  encodeJournalHeader,
  encodeRecords,
  type Change,
} from '../../../../src/daemon/persistence/journal-format.js';

const change = (prog: number, op: Change['op'] = 'add'): Change => ({
  op,
  reg: { prog, vers: 1, netid: 'udp', addr: '0.0.0.0.4.1', owner: 'superuser' },
});
const journal = (changes: Change[], zeros = 0): { file: Buffer; end: number } => {
  const body = Buffer.concat([encodeJournalHeader(7), encodeRecords(changes)]);
  return { file: Buffer.concat([body, Buffer.alloc(zeros)]), end: body.length };
};

test('zeros written ahead after the last record are the end, not damage', () => {
  for (const zeros of [0, 1, 7, 8, 4096]) {
    const { file, end } = journal([change(1), change(2, 'remove')], zeros);
    const d = decodeJournal(file);
    assert.ok(d.ok);
    assert.deepEqual(
      d.changes.map((c) => [c.op, c.reg.prog]),
      [
        ['add', 1],
        ['remove', 2],
      ],
      `${zeros} zeros`,
    );
    assert.equal(d.validBytes, end);
    assert.equal(d.damage, undefined);
  }
  const empty = decodeJournal(journal([], 4096).file);
  assert.ok(empty.ok && empty.changes.length === 0 && empty.validBytes === 20 && empty.damage === undefined);
});

test('a record cut short into the zeros is torn (the last one written), not corrupt', () => {
  const { file, end } = journal([change(1), change(2)], 4096);
  const second = 20 + (end - 20) / 2;
  for (const keep of [3, 6, 8, 12, end - second - 1]) {
    const torn = Buffer.from(file);
    torn.fill(0, second + keep, end);
    const d = decodeJournal(torn);
    assert.ok(d.ok);
    assert.deepEqual(
      d.changes.map((c) => c.reg.prog),
      [1],
      `${keep} bytes of the second record`,
    );
    assert.equal(d.validBytes, second);
    assert.equal(d.damage?.kind, 'torn', `${keep} bytes: ${d.damage?.reason}`);
  }
});

test('a damaged record with a good one after it is corrupt, zeros or not', () => {
  const { file, end } = journal([change(1), change(2), change(3)], 4096);
  const rec = (end - 20) / 3;
  const bad = Buffer.from(file);
  bad[20 + rec + 12]! ^= 0x10;
  const d = decodeJournal(bad);
  assert.ok(d.ok);
  assert.deepEqual(
    d.changes.map((c) => c.reg.prog),
    [1],
  );
  assert.equal(d.damage?.kind, 'corrupt');
});
