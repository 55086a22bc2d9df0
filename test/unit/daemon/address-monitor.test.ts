import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { AddressMonitor } from '../../../src/daemon/address-monitor.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

function v4(address: string, prefix: number, internal = false): NetworkInterfaceInfo {
  return { address, netmask: '', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/${prefix}` };
}

function v6(address: string, prefix: number, internal = false): NetworkInterfaceInfo {
  return {
    address,
    netmask: '',
    family: 'IPv6',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: `${address}/${prefix}`,
    scopeid: 0,
  };
}

function monitor(ifaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>): AddressMonitor {
  return new AddressMonitor({ log: quiet, pollMs: 0, netlink: false, interfaces: ifaces });
}

const TWO_LANS = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({
  lo: [v4('127.0.0.1', 8, true), v6('::1', 128, true)],
  eth0: [v4('198.18.1.1', 24), v4('198.18.1.5', 24), v6('fd00:1::1', 64), v6('fe80::1', 64)],
  eth1: [v4('198.18.2.1', 24)],
});

test('addresses: every address, link-local ones with their interface', () => {
  const m = monitor(TWO_LANS);
  assert.deepEqual(m.addresses, [
    '127.0.0.1',
    '::1',
    '198.18.1.1',
    '198.18.1.5',
    'fd00:1::1',
    'fe80::1%eth0',
    '198.18.2.1',
  ]);
});

test('isOwn: any spelling of an own address; others are not', () => {
  const m = monitor(TWO_LANS);
  for (const a of ['198.18.1.5', '::ffff:198.18.2.1', 'fe80::1%eth0', 'fd00:1::1', '127.0.0.1'])
    assert.equal(m.isOwn(a), true, a);
  for (const a of ['198.18.1.2', '198.18.3.1', 'fd00:1::2', '']) assert.equal(m.isOwn(a), false, a);
});

test('facing: the address on the caller network, the caller itself if ours, else the first non-loopback', () => {
  const m = monitor(TWO_LANS);
  assert.equal(m.facing('198.18.1.77'), '198.18.1.1');
  assert.equal(m.facing('::ffff:198.18.2.9'), '198.18.2.1');
  assert.equal(m.facing('198.18.1.5'), '198.18.1.5');
  assert.equal(m.facing('203.0.113.9'), '198.18.1.1');
  assert.equal(m.facing('fd00:1::99'), 'fd00:1::1');
  assert.equal(m.facing('fe80::2%eth0'), 'fe80::1');
  assert.equal(m.facing('2001:db8::1'), 'fd00:1::1');
  const loOnly = monitor(() => ({ lo: [v4('127.0.0.1', 8, true)] }));
  assert.equal(loOnly.facing('198.18.1.9'), '127.0.0.1');
  assert.equal(loOnly.facing('fd00::1'), '');
});

test('refreshSoon: one re-read per event-loop turn, listeners only when something changed', async () => {
  let reads = 0;
  let current = TWO_LANS();
  const m = monitor(() => {
    reads++;
    return current;
  });
  let changes = 0;
  m.onChange(() => changes++);
  m.onChange(() => {
    throw new Error('a broken listener is logged, not thrown');
  });
  const before = reads;
  for (let i = 0; i < 100; i++) m.refreshSoon();
  await nextTurn();
  await nextTurn();
  assert.equal(reads - before, 1);
  assert.equal(changes, 0);
  current = { ...current, eth1: [] };
  m.refreshSoon();
  await nextTurn();
  await nextTurn();
  assert.equal(changes, 1);
  assert.equal(m.isOwn('198.18.2.1'), false);
  m.close();
});

test('without netlink the addresses are polled', async () => {
  let current = TWO_LANS();
  const m = new AddressMonitor({ log: quiet, pollMs: 5, netlink: false, interfaces: () => current });
  let changed = false;
  m.onChange(() => (changed = true));
  m.start();
  assert.equal(m.mode, 'polling');
  current = { ...current, eth2: [v4('198.18.3.1', 24)] };
  for (let i = 0; i < 200 && !changed; i++) await new Promise((r) => setTimeout(r, 5));
  m.close();
  assert.equal(changed, true);
  assert.equal(m.isOwn('198.18.3.1'), true);
});
