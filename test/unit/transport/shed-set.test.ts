import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShedSet, type ShedSetOptions } from '../../../src/transport/shed-set.js';

const base: ShedSetOptions = {
  maxSources: 2,
  afterMs: 500,
  minRefusals: 10,
  spellGapMs: 1000,
  firstMs: 10_000,
  maxMs: 40_000,
  forgetMs: 3_600_000,
  maxTracked: 4,
  exempt: (s) => s === '10.0.0.9',
};

/** Refusals of `source` every 10 ms from `from` for `ms`; the decisions made on the way. */
function spell(set: ShedSet, source: string, from: number, ms: number) {
  const out = [];
  for (let t = from; t <= from + ms; t += 10) {
    const d = set.refused(source, t);
    if (d) out.push(d);
  }
  return out;
}

test('a source refused for afterMs (and minRefusals times) is shed once, until firstMs later', () => {
  const set = new ShedSet(base);
  assert.deepEqual(spell(set, '10.0.0.1', 0, 490), []);
  const d = spell(set, '10.0.0.1', 500, 300);
  assert.equal(d.length, 1);
  assert.deepEqual(d[0], { source: '10.0.0.1', untilMs: 10_500, durationMs: 10_000, offence: 1 });
  assert.ok(set.isShed('10.0.0.1'));
  assert.equal(set.nextExpiryMs(), 10_500);
});

test('a pause longer than spellGapMs starts the spell over; too few refusals do not shed', () => {
  const set = new ShedSet(base);
  set.refused('10.0.0.1', 0);
  assert.equal(set.refused('10.0.0.1', 1500), undefined); // gap: new spell from 1500
  assert.equal(set.refused('10.0.0.1', 1999), undefined);
  // 3 refusals over 600 ms: over long enough, but not often enough
  const sparse = new ShedSet(base);
  for (const t of [0, 300, 600]) assert.equal(sparse.refused('10.0.0.2', t), undefined);
});

test('exempt sources are never shed', () => {
  const set = new ShedSet(base);
  assert.deepEqual(spell(set, '10.0.0.9', 0, 2000), []);
  assert.equal(set.size, 0);
});

test('expiry lets sources back in; a repeat offence doubles the time up to maxMs; forgetMs resets it', () => {
  const set = new ShedSet(base);
  let t = 0;
  const durations: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [d] = spell(set, '10.0.0.1', t, 600);
    durations.push(d!.durationMs);
    assert.deepEqual(set.expire(d!.untilMs - 1), []);
    assert.deepEqual(set.expire(d!.untilMs), ['10.0.0.1']);
    assert.equal(set.isShed('10.0.0.1'), false);
    t = d!.untilMs + 5000;
  }
  assert.deepEqual(durations, [10_000, 20_000, 40_000, 40_000]);
  const [again] = spell(set, '10.0.0.1', t + 3_600_001, 600);
  assert.equal(again!.offence, 1);
});

test('the set is bounded: a source past maxSources is not shed and `full` says so until one leaves', () => {
  const set = new ShedSet(base);
  spell(set, '10.0.0.1', 0, 600);
  spell(set, '10.0.0.2', 0, 600);
  assert.deepEqual(spell(set, '10.0.0.3', 0, 600), []);
  assert.equal(set.size, 2);
  assert.equal(set.full, true);
  assert.deepEqual(
    set.retain((s) => s !== '10.0.0.1'),
    ['10.0.0.1'],
  );
  assert.equal(set.full, false);
  assert.equal(spell(set, '10.0.0.3', 1000, 600).length, 1);
  assert.deepEqual(set.sources(), ['10.0.0.2', '10.0.0.3']);
});

test('maxSources 0 sheds nothing; tracked spells are bounded', () => {
  const off = new ShedSet({ ...base, maxSources: 0 });
  assert.deepEqual(spell(off, '10.0.0.1', 0, 2000), []);
  const set = new ShedSet(base);
  // Spells of 6 sources interleaved, but only 4 are remembered: the oldest keep starting over.
  for (let t = 0; t <= 1000; t += 10) for (let i = 1; i <= 6; i++) set.refused(`10.0.1.${i}`, t);
  assert.equal(set.size, 0);
});
