import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProgIndex } from '../../../src/rpcbind/prog-index.js';

test('get, set and delete agree with a Map under random churn (growth, shrinking, wrap-around)', () => {
  fc.assert(
    fc.property(
      // Few distinct keys and many operations: long probe runs, deletions inside them.
      fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'get'), fc.integer({ min: 0, max: 300 }), fc.nat(1000)), {
        maxLength: 2000,
      }),
      fc.constantFrom(0, 0x20000000, 0xffffff00),
      (ops, base) => {
        const idx = new ProgIndex();
        const model = new Map<number, number>();
        for (const [op, k, v] of ops) {
          const key = (base + k) >>> 0;
          if (op === 'set') {
            idx.set(key, v);
            model.set(key, v);
          } else if (op === 'delete') {
            assert.equal(idx.delete(key), model.delete(key));
          } else {
            assert.equal(idx.get(key), model.get(key) ?? -1);
          }
          assert.equal(idx.size, model.size);
        }
        for (const [k, v] of model) assert.equal(idx.get(k), v);
      },
    ),
    { numRuns: 200 },
  );
});

test('100k consecutive programs, then removal of every other one', () => {
  const idx = new ProgIndex();
  for (let i = 0; i < 100_000; i++) idx.set(0x20000000 + i, i);
  for (let i = 0; i < 100_000; i += 2) assert.ok(idx.delete(0x20000000 + i));
  for (let i = 0; i < 100_000; i++) assert.equal(idx.get(0x20000000 + i), i % 2 === 0 ? -1 : i);
  idx.clear();
  assert.equal(idx.size, 0);
  assert.equal(idx.get(0x20000001), -1);
});

test('values must be >= 0 (-1 means absent)', () => {
  assert.throws(() => new ProgIndex().set(1, -1), RangeError);
});
