// Every Prometheus series moves when its event is counted: the series read the daemon's own
// counters (SecurityCounters, the forwarder's) at scrape time, and the README names every one.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  DaemonMetrics,
  FORWARD_OUTCOMES,
  SECURITY_COUNTER_SERIES,
} from '../../../../src/daemon/observability/metrics.js';
import type { ForwarderCounters } from '../../../../src/daemon/forwarder.js';
import { newSecurityCounters, type SecurityCounters } from '../../../../src/transport/security-counters.js';
import { findRepoRoot } from '../../../helpers/daemons.js';
import { loopbackUdp } from '../../../helpers/calls.js';

const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');

async function series(m: DaemonMetrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await m.scrape()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The series whose value differs, with the difference. */
function moved(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = (b.get(k) ?? 0) - (a.get(k) ?? 0);
    if (x !== 0 && !k.startsWith('rpcbind_state_write_duration_seconds')) d[k] = x;
  }
  return d;
}

function key(name: string, labels: Record<string, string>): string {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return l.length === 0 ? name : `${name}{${l.join(',')}}`;
}

const forwarderCounters = (): ForwarderCounters => ({
  forwarded: 0,
  answered: 0,
  timedOut: 0,
  evicted: 0,
  duplicates: 0,
  refused: 0,
  stray: 0,
});

test('every SecurityCounters field has its series', () => {
  assert.deepEqual(Object.keys(SECURITY_COUNTER_SERIES).sort(), Object.keys(newSecurityCounters()).sort());
});

test('each security counter moves its own series, and only it', async () => {
  for (const k of Object.keys(SECURITY_COUNTER_SERIES) as (keyof SecurityCounters)[]) {
    const c = newSecurityCounters();
    const m = new DaemonMetrics(prom);
    m.setSources({ security: c });
    const before = await series(m);
    c[k] += 3;
    const { series: name, labels } = SECURITY_COUNTER_SERIES[k];
    assert.deepEqual(moved(before, await series(m)), { [key(name, labels)]: 3 }, k);
  }
});

test('forwarded calls by outcome and the forwarding table are read from the forwarder', async () => {
  for (const k of Object.keys(FORWARD_OUTCOMES) as (keyof typeof FORWARD_OUTCOMES)[]) {
    const c = forwarderCounters();
    const m = new DaemonMetrics(prom);
    m.setSources({ forwarding: () => ({ counters: c, inFlight: 0, capacity: 64 }) });
    const before = await series(m);
    c[k] += 2;
    assert.deepEqual(
      moved(before, await series(m)),
      { [`rpcbind_forwarded_calls_total{outcome="${FORWARD_OUTCOMES[k]}"}`]: 2 },
      k,
    );
  }
  const m = new DaemonMetrics(prom);
  let inFlight = 0;
  m.setSources({ forwarding: () => ({ counters: forwarderCounters(), inFlight, capacity: 64 }) });
  const before = await series(m);
  assert.equal(before.get('rpcbind_forward_table_capacity'), 64);
  inFlight = 5;
  assert.deepEqual(moved(before, await series(m)), { rpcbind_forward_table_entries: 5 });
});

test('calls, connections, table size, state writes and reloads move when recorded', async () => {
  const m = new DaemonMetrics(prom);
  let regs = 12;
  let open = 0;
  m.setSources({ registrations: () => regs, openConnections: () => open });
  const step = async (act: () => void, want: Record<string, number>): Promise<void> => {
    const before = await series(m);
    act();
    assert.deepEqual(moved(before, await series(m)), want);
  };
  await step(() => (regs = 13), { rpcbind_registrations: 1 });
  await step(() => (open = 2), { rpcbind_connections_open: 2 });
  await step(
    () =>
      m.recordCall({
        call: { prog: 100000, vers: 2, proc: 4 } as never,
        procName: 'DUMP',
        ctx: loopbackUdp,
        result: 'success',
      } as never),
    {
      'rpcbind_calls_total{version="2",procedure="DUMP",transport="udp",outcome="success"}': 1,
    },
  );
  await step(() => m.recordConnection('tcp', true), {
    'rpcbind_connections_total{transport="tcp",result="accepted"}': 1,
  });
  await step(() => m.recordConnection('tcp6', false), {
    'rpcbind_connections_total{transport="tcp6",result="refused"}': 1,
  });
  await step(() => m.recordStateWrite(0.001, true), { 'rpcbind_state_writes_total{result="ok"}': 1 });
  await step(() => m.recordStateWrite(0.001, false), { 'rpcbind_state_writes_total{result="error"}': 1 });
  await step(() => m.recordReload(false), { 'rpcbind_config_reloads_total{result="error"}': 1 });
});

test('the README documents every series, and no other', async () => {
  const m = new DaemonMetrics(prom);
  const names = (await m.registry.getMetricsAsJSON()).map((s) => s.name).sort();
  const readme = readFileSync(`${findRepoRoot()}/README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('**Observe.**'), readme.indexOf('## Extending the daemon'));
  const documented = [...new Set([...section.matchAll(/`(rpcbind_[a-z_]+[a-z])`/g)].map((x) => x[1]!))].sort();
  assert.deepEqual(documented, names);
});
