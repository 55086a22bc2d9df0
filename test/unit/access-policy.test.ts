import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessPolicy } from '../../src/rpcbind/index.js';
import { AddressSet, parseAddress } from '../../src/net/index.js';
import type { CallerContext } from '../../src/rpc/index.js';

const ctx = (peerAddress: string, netid: CallerContext['netid'] = 'udp'): CallerContext => ({
  netid,
  peerAddress,
  peerPort: 1000,
  localAddress: '',
  uid: undefined,
});

test('address parsing folds IPv4-mapped IPv6 into IPv4', () => {
  assert.deepEqual(parseAddress('::ffff:10.0.0.1'), parseAddress('10.0.0.1'));
  assert.deepEqual(parseAddress('::ffff:a00:1'), parseAddress('10.0.0.1'));
  assert.equal(parseAddress('fe80::1%eth0')?.v4, false);
  assert.equal(parseAddress('1::2::3'), undefined);
  assert.equal(parseAddress('300.1.1.1'), undefined);
});

test('CIDR, netmask, libwrap prefix and IPv6 patterns', () => {
  const s = AddressSet.parse(['10.1.', '192.168.0.0/16', '172.16.0.0/255.240.0.0', '[2001:db8::]/32', '::1']);
  for (const a of ['10.1.2.3', '::ffff:192.168.9.9', '172.31.255.1', '2001:db8:ffff::7', '::1']) assert.ok(s.has(a), a);
  for (const a of ['10.2.0.1', '172.32.0.1', '2001:db9::1', '::2', 'junk']) assert.ok(!s.has(a), a);
  assert.deepEqual(AddressSet.parse(['host.example', '1.2.3.4/33']).invalid, ['host.example', '1.2.3.4/33']);
});

// Each procedure's operation class is checked in rpcbind/procedure-table.test.ts.

test('allow wins over deny; hosts rules next; local socket never filtered', () => {
  const p = new AccessPolicy({
    allow: { dump: ['10.0.0.0/8'] },
    deny: { dump: ['all'] },
    hostsRules: [
      { clients: AddressSet.parse(['192.0.2.0/24']), except: AddressSet.parse(['192.0.2.7']), allow: false },
    ],
  });
  assert.equal(p.decide('dump', ctx('10.9.9.9')), 'allow');
  assert.equal(p.decide('dump', ctx('::ffff:10.9.9.9')), 'allow');
  assert.equal(p.decide('dump', ctx('127.0.0.1')), 'deny');
  assert.equal(p.decide('dump', ctx('', 'local')), 'allow');
  assert.equal(p.decide('query', ctx('192.0.2.1')), 'deny');
  assert.equal(p.decide('query', ctx('192.0.2.7')), 'allow');
  assert.equal(p.decide('query', ctx('198.51.100.1')), 'allow');
});

test('UDP reply cap: request size unless loopback or explicitly allowed', () => {
  const p = new AccessPolicy({ allow: { dump: ['10.0.0.0/8'] } });
  assert.equal(p.replyCap('dump', ctx('198.18.0.9'), 40, 8800), 40);
  assert.equal(p.replyCap('dump', ctx('10.1.1.1'), 40, 8800), 8800);
  assert.equal(p.replyCap('query', ctx('10.1.1.1'), 60, 8800), 60);
  assert.equal(p.replyCap('dump', ctx('127.0.0.1'), 40, 8800), 8800);
  assert.equal(p.replyCap('dump', ctx('198.18.0.9', 'tcp'), 40, 1 << 20), 1 << 20);
});
