// The UDP service's admission and amplification rule (src/transport/udp-admission.ts), alone:
// no socket.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN_RPC_CALL_BYTES } from '../../../src/limits.js';
import type { CallerContext } from '../../../src/rpc/index.js';
import { newSecurityCounters } from '../../../src/transport/security-counters.js';
import { UdpAdmission, amplifies } from '../../../src/transport/udp-admission.js';

const ctx = (peerAddress: string): CallerContext => ({
  netid: 'udp',
  peerAddress,
  peerPort: 1000,
  localAddress: '127.0.0.1',
  uid: undefined,
});

test('amplifies: only a datagram shorter than a call, answered with more than it sent', () => {
  assert.equal(MIN_RPC_CALL_BYTES, 40);
  assert.equal(amplifies(0, 1), true);
  assert.equal(amplifies(39, 40), true);
  assert.equal(amplifies(39, 39), false, 'a reply no larger than the datagram');
  assert.equal(amplifies(20, 0), false);
  assert.equal(amplifies(40, 4000), false, 'a datagram as long as a call may earn any reply');
  assert.equal(amplifies(1400, 8000), false);
});

test('admits: every datagram without a limiter; with one, its verdict per caller, refusals counted', () => {
  const counters = newSecurityCounters();
  const gate = new UdpAdmission(undefined, counters);
  assert.equal(gate.admits(ctx('192.0.2.1')), true);
  const asked: string[] = [];
  gate.setAdmit((c) => {
    asked.push(c.peerAddress);
    return c.peerAddress !== '192.0.2.66';
  });
  assert.equal(gate.admits(ctx('192.0.2.1')), true);
  assert.equal(gate.admits(ctx('192.0.2.66')), false);
  assert.equal(gate.admits(ctx('192.0.2.66')), false);
  assert.deepEqual(asked, ['192.0.2.1', '192.0.2.66', '192.0.2.66']);
  assert.equal(counters.udpRateLimited, 2);
  assert.equal(counters.udpAmplificationDropped, 0);
  gate.setAdmit(undefined);
  assert.equal(gate.admits(ctx('192.0.2.66')), true);
});

test('mayAnswer: drops and counts a reply that would amplify a short datagram', () => {
  const counters = newSecurityCounters();
  const gate = new UdpAdmission(undefined, counters);
  assert.equal(gate.mayAnswer(12, Buffer.alloc(24)), false);
  assert.equal(gate.mayAnswer(12, Buffer.alloc(12)), true);
  assert.equal(gate.mayAnswer(40, Buffer.alloc(24)), true);
  assert.equal(gate.mayAnswer(56, Buffer.alloc(1000)), true);
  assert.equal(counters.udpAmplificationDropped, 1);
  assert.equal(counters.udpRateLimited, 0);
  // Without counters the rule holds just the same.
  assert.equal(new UdpAdmission(() => false).admits(ctx('192.0.2.1')), false);
  assert.equal(new UdpAdmission(undefined).mayAnswer(1, Buffer.alloc(2)), false);
});
