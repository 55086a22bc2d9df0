import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAEMON_OPTION_SPEC, toDaemonOptions } from '../../../src/cli/rpcbind-options.js';
import type { DaemonOptions } from '../../../src/daemon/daemon-options.js';
import { RELOAD_RULES, flatOptions, planReload, type OptionKey } from '../../../src/daemon/reload.js';

const defaults = (): DaemonOptions => toDaemonOptions({});

/** A different value of the same shape. */
function changed(v: unknown): unknown {
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'string') return `${v}x`;
  if (v === undefined) return ['198.18.0.1'];
  if (Array.isArray(v)) return [...v, { prog: 100003 }];
  const o = v as Record<string, unknown>;
  const k = Object.keys(o)[0]!;
  return { ...o, [k]: changed(o[k]) };
}

function withChange(key: OptionKey): DaemonOptions {
  const o = defaults();
  if (key in o.security)
    return {
      ...o,
      security: { ...o.security, [key]: changed((o.security as unknown as Record<string, unknown>)[key]) },
    };
  return { ...o, [key]: changed((o as unknown as Record<string, unknown>)[key]) };
}

test('the reload table has a rule for every option the daemon has, and no other', () => {
  assert.deepEqual(Object.keys(RELOAD_RULES).sort(), Object.keys(flatOptions(defaults())).sort());
});

test('every rule names a real option', () => {
  for (const { option } of Object.values(RELOAD_RULES)) {
    const name = option.replace('-CLASS', '-dump');
    assert.ok(name in DAEMON_OPTION_SPEC, option);
  }
});

test('a change of any one option is either applied or reported as waiting for a restart, exactly once', () => {
  for (const key of Object.keys(RELOAD_RULES) as OptionKey[]) {
    const rule = RELOAD_RULES[key];
    const plan = planReload(defaults(), withChange(key));
    const where = rule.effect === 'restart' ? plan.restart : plan.applied;
    assert.deepEqual([...plan.applied, ...plan.restart], [rule.option], key);
    assert.deepEqual(where, [rule.option], key);
    if (rule.effect === 'restart' || rule.effect === 'none') assert.equal(plan.effects.size, 0, key);
    else assert.deepEqual([...plan.effects], [rule.effect], key);
  }
});

test('connection limits, timeouts and the owner quota are applied at reload', () => {
  const applied = (key: OptionKey): string => RELOAD_RULES[key].effect;
  assert.equal(applied('maxConnections'), 'streams');
  assert.equal(applied('maxConnectionsPerSource'), 'streams');
  assert.equal(applied('idleTimeoutMs'), 'streams');
  assert.equal(applied('recordTimeoutMs'), 'streams');
  assert.equal(applied('maxRegistrationsPerOwner'), 'quota');
});

test('nothing changed: nothing applied, nothing waiting', () => {
  const plan = planReload(defaults(), defaults());
  assert.deepEqual([plan.applied, plan.restart, plan.effects.size], [[], [], 0]);
});
