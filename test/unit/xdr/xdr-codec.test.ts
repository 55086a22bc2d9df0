import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdrError, XdrReader, XdrWriter } from '../../../src/xdr/index.js';
import { SHARE_MIN_BYTES } from '../../../src/xdr/xdr-writer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('uint, int, bool round trip big-endian', () => {
  const w = new XdrWriter(4);
  w.uint32(0xdeadbeef).int32(-2).bool(true).bool(false);
  assert.deepEqual(w.toBuffer(), hex('deadbeef fffffffe 00000001 00000000'));
  const r = new XdrReader(w.toBuffer());
  assert.equal(r.uint32(), 0xdeadbeef);
  assert.equal(r.int32(), -2);
  assert.equal(r.bool(), true);
  assert.equal(r.bool(), false);
  assert.equal(r.remaining, 0);
});

test('strings and opaques are padded to four bytes', () => {
  const w = new XdrWriter();
  w.string('udp')
    .opaque(Buffer.from([1, 2, 3, 4, 5]))
    .string('');
  assert.deepEqual(w.toBuffer(), hex('00000003 75647000 00000005 0102030405000000 00000000'));
  const r = new XdrReader(w.toBuffer());
  assert.equal(r.string(10), 'udp');
  assert.deepEqual([...r.opaque(10)], [1, 2, 3, 4, 5]);
  assert.equal(r.string(10), '');
});

test('a length above its cap is rejected before anything is sliced', () => {
  const r = new XdrReader(hex('ffffff00 00000000'));
  assert.throws(
    () => r.string(64),
    (e: unknown) => e instanceof XdrError && e.code === 'XDR_TOO_LONG',
  );
});

test('a length that the remaining bytes cannot hold is XDR_SHORT', () => {
  const r = new XdrReader(hex('00000008 41424344'));
  assert.throws(
    () => r.opaque(100),
    (e: unknown) => e instanceof XdrError && e.code === 'XDR_SHORT',
  );
});

test('a bool word other than 0 or 1 is rejected', () => {
  assert.throws(
    () => new XdrReader(hex('00000002')).bool(),
    (e: unknown) => e instanceof XdrError && e.code === 'XDR_BAD_BOOL',
  );
});

test('counted arrays check their count against the cap and against the bytes left', () => {
  assert.throws(() => new XdrReader(hex('00000011')).array(16, (r) => r.uint32()), /exceeds cap/);
  assert.throws(() => new XdrReader(hex('00000003 00000001')).array(16, (r) => r.uint32()), /need 12 bytes/);
  assert.deepEqual(
    new XdrReader(hex('00000002 00000001 00000002')).array(16, (r) => r.uint32()),
    [1, 2],
  );
});

test('linked lists stop at FALSE and are capped', () => {
  const w = new XdrWriter();
  for (const v of [7, 8, 9]) w.bool(true).uint32(v);
  w.bool(false);
  assert.deepEqual(
    new XdrReader(w.toBuffer()).list(3, (r) => r.uint32()),
    [7, 8, 9],
  );
  assert.throws(() => new XdrReader(w.toBuffer()).list(2, (r) => r.uint32()), /longer than cap/);
});

test('the writer grows but never past its cap', () => {
  const w = new XdrWriter(4, 16);
  w.uint32(1).uint32(2).uint32(3).uint32(4);
  assert.equal(w.length, 16);
  assert.throws(
    () => w.uint32(5),
    (e: unknown) => e instanceof XdrError && e.code === 'XDR_OVERFLOW',
  );
});

test('strings are latin1 so any byte sequence round-trips', () => {
  const bytes = Buffer.from([0xff, 0x00, 0x80, 0x41]);
  const w = new XdrWriter();
  w.opaque(bytes);
  const s = new XdrReader(w.toBuffer()).string(8);
  const w2 = new XdrWriter();
  w2.string(s);
  assert.deepEqual(w2.toBuffer(), w.toBuffer());
});

test('shared() keeps a large part by reference: parts() hands it out uncopied, the cap still counts it', () => {
  const big = Buffer.alloc(SHARE_MIN_BYTES, 7);
  const w = new XdrWriter(16, SHARE_MIN_BYTES + 12);
  w.uint32(1).shared(big).uint32(2);
  assert.equal(w.length, SHARE_MIN_BYTES + 8);
  const parts = w.parts();
  assert.ok(Array.isArray(parts));
  assert.equal(parts.length, 3);
  assert.equal(parts[1], big);
  assert.deepEqual(Buffer.concat(parts), Buffer.concat([Buffer.from([0, 0, 0, 1]), big, Buffer.from([0, 0, 0, 2])]));
  assert.deepEqual(w.toBuffer(), Buffer.concat(parts));
  assert.deepEqual(w.view(), Buffer.concat(parts));
  w.uint32(3);
  assert.throws(
    () => w.uint32(4),
    (e: unknown) => e instanceof XdrError && e.code === 'XDR_OVERFLOW',
  );
  assert.throws(
    () => new XdrWriter(16, SHARE_MIN_BYTES).uint32(0).shared(big),
    (e: unknown) => e instanceof XdrError,
  );
  w.reset();
  assert.equal(w.length, 0);
  assert.ok(!Array.isArray(w.uint32(9).parts()));
});

test('shared() copies a small part (or one that is not whole XDR units)', () => {
  const w = new XdrWriter(16);
  w.shared(Buffer.from([1, 2, 3, 4]));
  assert.deepEqual(w.parts(), Buffer.from([1, 2, 3, 4]));
});
