// Universal addresses (src/proto/uaddr.ts): the strict parser round-trips what formatUaddr
// writes, and the two lenient readings keep the reference's arithmetic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, formatIPv6 } from '../../../src/net/index.js';
import { formatUaddr, parseUaddr, splitUaddr, splitUaddrAtoi, uaddrPortAtoi } from '../../../src/proto/index.js';

const host = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map(formatIPv4),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIPv6),
);
const port = fc.integer({ min: 0, max: 0xffff });

test('parseUaddr reads back every address formatUaddr writes', () => {
  fc.assert(
    fc.property(host, port, (h, p) => {
      const u = formatUaddr(h, p);
      assert.deepEqual(parseUaddr(u), { host: h, port: p });
      assert.deepEqual(splitUaddrAtoi(u), { host: h, port: p });
      assert.equal(uaddrPortAtoi(u), p);
    }),
  );
});

test('parseUaddr refuses what is not a host literal and two bytes', () => {
  for (const bad of [
    '',
    '.',
    '..',
    '.0.111',
    '1.2.3.4.256.1',
    '1.2.3.4.0',
    '1.2.3.4.a.1',
    'host.0.111',
    '1.2.3.4.-1.1',
    '1.2.3.4.0.1111',
  ]) {
    assert.equal(parseUaddr(bad), undefined, bad);
  }
});

test("the lenient readings: rpcbind's pmap view does not cut to 16 bits, libtirpc's does", () => {
  assert.deepEqual(splitUaddr('a.b.c'), { host: 'a', p1: 'b', p2: 'c' });
  assert.equal(splitUaddr('a.b'), undefined);
  assert.equal(uaddrPortAtoi('0.0.0.0.300.1'), 300 * 256 + 1);
  assert.deepEqual(splitUaddrAtoi('0.0.0.0.300.1'), { host: '0.0.0.0', port: ((300 << 8) | 1) & 0xffff });
  assert.equal(uaddrPortAtoi('::1.x.7'), 7);
  assert.deepEqual(splitUaddrAtoi('/run/x.sock.0.0'), { host: '/run/x.sock', port: 0 });
  assert.equal(uaddrPortAtoi('nodots'), undefined);
});
