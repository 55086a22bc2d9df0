// Smoke runs of the benchmarks (bench/run.ts with two workloads, flood.ts, set-latency.ts): tiny
// durations, one repetition, Debian's rpcbind and ours each in its own namespace. Checks only that
// each produces its figures for both daemons; the figures themselves live in BENCHMARKS.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findRepoRoot } from '../helpers/daemons.js';
import type { Report } from '../../bench/report.js';

const SMOKE_TIMEOUT_MS = 60_000;

test('the benchmark runner produces a table with non-zero rates for both daemons', {
  timeout: SMOKE_TIMEOUT_MS + 5_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  try {
    const json = join(dir, 'report.json');
    const r = spawnSync(
      process.execPath,
      [
        join(findRepoRoot(), 'dist', 'bench', 'run.js'),
        ...['--duration', '0.3', '--warmup', '0.1', '--reps', '1', '--regs', '10'],
        ...['--workloads', 'getport2-udp,getaddr4-tcp', '--no-startup', '--json', json],
      ],
      { encoding: 'utf8', timeout: SMOKE_TIMEOUT_MS },
    );
    assert.equal(r.status, 0, `runner failed: ${r.stderr}`);
    assert.match(r.stdout, /\| registrations \| workload \| rpcbind calls\/s \| ours calls\/s \| ours\/rpcbind/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    assert.deepEqual(
      report.rows.map((row) => row.workload),
      ['getport2-udp', 'getaddr4-tcp'],
    );
    for (const row of report.rows) {
      for (const side of [row.reference, row.ours]) {
        assert.equal(side.length, 1);
        assert.ok(side[0]!.callsPerSec > 0, `${row.workload}: no calls answered`);
      }
    }
    assert.doesNotMatch(r.stderr, /unexpected replies/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the flood benchmark produces its table for both daemons', { timeout: SMOKE_TIMEOUT_MS + 5_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flood-smoke-'));
  try {
    const json = join(dir, 'flood.json');
    const r = spawnSync(
      process.execPath,
      [
        join(findRepoRoot(), 'dist', 'bench', 'flood.js'),
        ...['--duration', '0.5', '--warmup', '0.7', '--reps', '1', '--cases', 'none,flood1', '--json', json],
      ],
      { encoding: 'utf8', timeout: SMOKE_TIMEOUT_MS },
    );
    assert.equal(r.status, 0, `flood benchmark failed: ${r.stderr}`);
    assert.match(r.stdout, /\| while \.\.\. \| rpcbind: answered/);
    const samples = JSON.parse(readFileSync(json, 'utf8')) as Record<string, Array<{ sent: number; answered: number }>>;
    assert.deepEqual(Object.keys(samples).sort(), ['ours/flood1', 'ours/none', 'reference/flood1', 'reference/none']);
    for (const [k, [s]] of Object.entries(samples)) assert.ok(s!.sent > 0, `${k}: the victim sent nothing`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the SET latency benchmark times every phase for both daemons', { timeout: SMOKE_TIMEOUT_MS + 5_000 }, () => {
  const r = spawnSync(
    process.execPath,
    [
      join(findRepoRoot(), 'dist', 'bench', 'set-latency.js'),
      ...['--reps', '1', '--boot', '5', '--calls', '20', '--warm', '50'],
    ],
    { encoding: 'utf8', timeout: SMOKE_TIMEOUT_MS },
  );
  assert.equal(r.status, 0, `set-latency failed: ${r.stderr}`);
  type Quantiles = { p50: number; p99: number; max: number };
  type Row = Record<'boot' | 'burst' | 'steady', Record<'set' | 'unset', Quantiles>>;
  const report = JSON.parse(r.stdout) as { connect: string; rpcbind: Row; ours: Row };
  assert.equal(report.connect, 'per-call');
  for (const [name, row] of [
    ['rpcbind', report.rpcbind],
    ['ours', report.ours],
  ] as const) {
    for (const phase of ['boot', 'burst', 'steady'] as const) {
      for (const op of ['set', 'unset'] as const) {
        const q = row[phase][op];
        assert.ok(q.p50 > 0 && q.p50 <= q.p99 && q.p99 <= q.max, `${name} ${phase} ${op}: ${JSON.stringify(q)}`);
      }
    }
  }
});
