// Address text (src/net/ip-address.ts): the one inet_ntop and the one IPv6 parser, held against
// Node's own (node:net SocketAddress renders through libuv's inet_ntop, BIND's like glibc's).
import assert from 'node:assert/strict';
import { isIPv6, SocketAddress } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, formatIPv6, ipv6Bytes, parseAddress, parseIPv4, parseIPv6 } from '../../../src/net/index.js';

/** Zero-heavy words exercise the longest-run choice and the embedded IPv4 forms. */
const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const v6bytes = fc.array(word, { minLength: 8, maxLength: 8 }).map((words) => {
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(words[i]!, 2 * i);
  return b;
});

/** Node's rendering of 16 address bytes, from their fully written form. */
function nodeFormat(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(2 * i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

test('formatIPv6 writes addresses exactly as Node (and inet_ntop) does', () => {
  const fixed = [
    '::',
    '::1',
    'fe80::1',
    '2001:db8::1:0:0:1',
    '::ffff:192.0.2.1',
    '::192.0.2.1',
    '1::',
    '1:0:0:1::1',
    '0:0:1::',
  ];
  for (const a of fixed) {
    const sa = new SocketAddress({ address: a, family: 'ipv6' });
    assert.equal(formatIPv6(ipv6Bytes(a)!), sa.address, a);
  }
  fc.assert(
    fc.property(v6bytes, (b) => {
      assert.equal(formatIPv6(b), nodeFormat(b));
    }),
    { numRuns: 2000 },
  );
});

test('parseIPv6 and ipv6Bytes read back every form Node writes or accepts', () => {
  fc.assert(
    fc.property(v6bytes, fc.boolean(), (b, upper) => {
      const canonical = formatIPv6(b);
      const full = Array.from({ length: 8 }, (_, i) =>
        b
          .readUInt16BE(2 * i)
          .toString(16)
          .padStart(4, '0'),
      ).join(':');
      for (const text of [canonical, full, nodeFormat(b), upper ? canonical.toUpperCase() : `${canonical}%eth0`]) {
        assert.deepEqual(ipv6Bytes(text), b, text);
        const w = parseIPv6(text)!;
        assert.deepEqual(
          w,
          [0, 1, 2, 3].map((i) => b.readUInt32BE(4 * i)),
          text,
        );
      }
    }),
    { numRuns: 1000 },
  );
  for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::', '::1.2.3', '::256.0.0.1']) {
    assert.equal(isIPv6(bad), false, bad);
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

test("formatIPv4 and parseIPv4 are each other's inverse, as Node writes IPv4", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      const text = formatIPv4(n);
      assert.equal(new SocketAddress({ address: text, family: 'ipv4' }).address, text);
      assert.equal(parseIPv4(text), n);
    }),
  );
  assert.equal(formatIPv4(0x7f000001), '127.0.0.1');
});

test('parseAddress folds IPv4-mapped IPv6 to IPv4, in either spelling', () => {
  assert.deepEqual(parseAddress('::ffff:192.0.2.1'), { v4: true, w: [0, 0, 0, 0xc0000201] });
  assert.deepEqual(parseAddress('::ffff:c000:201'), { v4: true, w: [0, 0, 0, 0xc0000201] });
  assert.deepEqual(parseAddress('192.0.2.1'), { v4: true, w: [0, 0, 0, 0xc0000201] });
  assert.equal(parseAddress('::1')?.v4, false);
});
