import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardRules, parseForwardRule } from '../../../src/rpcbind/forward-rules.js';

test('the reference deny list, NULL always allowed', () => {
  const r = new ForwardRules();
  for (const [prog, proc] of [
    [100003, 1],
    [100005, 1],
    [100005, 3],
    [100004, 3],
    [100004, 4],
    [100004, 5],
    [100004, 8],
    [100007, 2],
    [100009, 1],
    [100011, 1],
    [100000, 1],
  ] as const) {
    assert.equal(r.denies(prog, proc, false), true, `${prog}:${proc}`);
    assert.equal(r.denies(prog, 0, false), false, `${prog}:0`);
  }
  for (const [prog, proc] of [
    [100005, 2],
    [100004, 1],
    [100007, 1],
    [0x20000101, 1],
  ] as const) {
    assert.equal(r.denies(prog, proc, false), false, `${prog}:${proc}`);
  }
});

test('the portmapper: allowed in insecure mode except its own remote-call procedures', () => {
  const r = new ForwardRules();
  assert.equal(r.denies(100000, 3, true), false);
  assert.equal(r.denies(100000, 5, true), true);
  assert.equal(r.denies(100000, 10, true), true);
  assert.equal(new ForwardRules([], [{ prog: 100000 }]).denies(100000, 5, true), true);
});

test('configured rules add to and take from the list', () => {
  const r = new ForwardRules(
    [{ prog: 0x20000101, proc: 2 }, { prog: 300000 }],
    [{ prog: 100003 }, { prog: 100005, proc: 1 }],
  );
  assert.equal(r.denies(0x20000101, 2, false), true);
  assert.equal(r.denies(0x20000101, 1, false), false);
  assert.equal(r.denies(300000, 7, false), true);
  assert.equal(r.denies(100003, 1, false), false);
  assert.equal(r.denies(100005, 1, false), false);
  assert.equal(r.denies(100005, 3, false), true);
});

test('rule syntax', () => {
  assert.deepEqual(parseForwardRule('100003'), { prog: 100003 });
  assert.deepEqual(parseForwardRule('100005:1'), { prog: 100005, proc: 1 });
  for (const bad of ['', 'nfs', '1:', ':1', '1:2:3', '99999999999', '-1'])
    assert.equal(parseForwardRule(bad), undefined, bad);
});
