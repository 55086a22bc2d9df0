import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from '../../src/transport/rate-limiter.js';

test('per-source burst, refill, global cap and bounded table', () => {
  let t = 0;
  const rl = new RateLimiter({ perSourcePerSecond: 10, perSourceBurst: 5, globalPerSecond: 0, maxSources: 3 }, () => t);
  for (let i = 0; i < 5; i++) assert.ok(rl.take('a'));
  assert.ok(!rl.take('a'));
  t += 100; // one token back
  assert.ok(rl.take('a'));
  assert.ok(!rl.take('a'));
  for (const s of ['b', 'c', 'd', 'e']) assert.ok(rl.take(s));
  assert.equal(rl.trackedSources, 3);
  const g = new RateLimiter({ perSourcePerSecond: 0, perSourceBurst: 0, globalPerSecond: 3, maxSources: 3 }, () => t);
  assert.ok(g.take('x') && g.take('y') && g.take('z'));
  assert.ok(!g.take('w'));
});
