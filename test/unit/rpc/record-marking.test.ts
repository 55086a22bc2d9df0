import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordDecoder, encodeRecord } from '../../../src/rpc/index.js';

function frag(payload: Buffer, last: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((last ? 0x80000000 : 0) | payload.length) >>> 0);
  return Buffer.concat([h, payload]);
}

test('encodeRecord sets the last-fragment bit without going negative', () => {
  const rec = encodeRecord(Buffer.from('abcd'));
  assert.equal(rec.toString('hex'), '8000000461626364');
});

test('a record split into several fragments is reassembled', () => {
  const d = new RecordDecoder();
  const out = d.push(
    Buffer.concat([frag(Buffer.from('ab'), false), frag(Buffer.from(''), false), frag(Buffer.from('cd'), true)]),
  );
  assert.ok(Array.isArray(out));
  assert.deepEqual(
    out.map((b) => b.toString()),
    ['abcd'],
  );
});

test('records fed one byte at a time come out whole and in order', () => {
  const d = new RecordDecoder();
  const stream = Buffer.concat([
    encodeRecord(Buffer.from('first')),
    frag(Buffer.from('sec'), false),
    frag(Buffer.from('ond'), true),
  ]);
  const got: string[] = [];
  for (const byte of stream) {
    const out = d.push(Buffer.from([byte]));
    assert.ok(Array.isArray(out));
    got.push(...out.map((b) => b.toString()));
  }
  assert.deepEqual(got, ['first', 'second']);
  assert.equal(d.midRecord, false);
});

test('a declared fragment past the record cap fails before buffering', () => {
  const d = new RecordDecoder({ maxRecordBytes: 9000 });
  const h = Buffer.alloc(4);
  h.writeUInt32BE(0xffffffff);
  assert.equal(d.push(h), 'RECORD_TOO_LARGE');
  assert.equal(d.bufferedBytes, 0);
  assert.equal(d.push(Buffer.from('x')), 'RECORD_TOO_LARGE');
});

test('fragments adding up past the cap fail', () => {
  const d = new RecordDecoder({ maxRecordBytes: 10 });
  assert.deepEqual(d.push(frag(Buffer.alloc(6), false)), []);
  assert.equal(d.push(frag(Buffer.alloc(6), true)), 'RECORD_TOO_LARGE');
});

test('a record of exactly the cap is accepted', () => {
  const d = new RecordDecoder({ maxRecordBytes: 9000 });
  const out = d.push(encodeRecord(Buffer.alloc(9000, 1)));
  assert.ok(Array.isArray(out));
  assert.equal(out[0]!.length, 9000);
});

test('endless zero-length fragments are cut off', () => {
  const d = new RecordDecoder({ maxFragments: 8 });
  let res: Buffer[] | string = [];
  for (let i = 0; i < 20 && Array.isArray(res); i++) res = d.push(frag(Buffer.alloc(0), false));
  assert.equal(res, 'TOO_MANY_FRAGMENTS');
});
