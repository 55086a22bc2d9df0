// Single-registrant SET/UNSET latency against Debian's rpcbind, side by side: one client on one
// local-socket connection, one call in flight, v3 SET of a new program then v3 UNSET of it,
// each timed from the write to the reply (hrtime). Each daemon runs in its own private network
// + mount namespace (TestHost); ours as installed (the launcher's node flags) and durable
// (state on the namespace's /run tmpfs, or --state-dir). Repetitions alternate which daemon
// goes first; the figures are over all calls of all repetitions.
//
// Usage: node dist/bench/set-latency.js [--calls N] [--reps N] [--state-dir DIR] [--pin auto|none]

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { daemons, startDaemon, type DaemonUnderTest } from '../test/helpers/daemons.js';
import { TestHost } from '../test/helpers/netns.js';
import { RpcbClient, hostPath } from '../test/helpers/rpcb-client.js';
import { benchConditions } from './bench-env.js';

const { values: a } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    reps: { type: 'string', default: '3' },
    'state-dir': { type: 'string' },
    pin: { type: 'string', default: 'auto' },
    'ours-bin': { type: 'string' },
  },
});
const CALLS = Number(a.calls);
const REPS = Number(a.reps);
// The daemon alone on CPU 0, the client elsewhere (as in bench/run.ts), on 2+ CPUs.
const daemonCpu = a.pin === 'auto' && cpus().length >= 2 ? '0' : undefined;
const clientCpus = daemonCpu === undefined ? undefined : cpus().length === 2 ? '1' : `1-${cpus().length - 1}`;

function shebangFlags(entry: string): string[] {
  const m = /^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '');
  return m ? m[1]!.trim().split(/\s+/) : [];
}

function underTest(name: 'reference' | 'ours'): { d: DaemonUnderTest; extra: string[] } {
  const d = daemons.find((x) => x.name === name)!;
  if (name === 'reference') return { d, extra: [] };
  const [entry, ...rest] = d.args;
  const bin = a['ours-bin'] ?? entry!;
  return {
    d: { ...d, args: [...shebangFlags(bin), bin, ...rest] },
    extra: a['state-dir'] ? ['--state-dir', a['state-dir']] : [],
  };
}

interface Samples {
  set: number[];
  unset: number[];
  /** The daemon's CPU time (user + system, all threads) over the timed calls, in µs. */
  cpuUs: number;
  calls: number;
}

/** CPU time used so far by `pid`, in µs (utime + stime, USER_HZ = 100). */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

async function runOnce(name: 'reference' | 'ours', out: Samples, rep: number): Promise<void> {
  const host = await TestHost.create();
  try {
    const { d, extra } = underTest(name);
    const running = await startDaemon(host, d, extra);
    if (daemonCpu !== undefined) spawnSync('taskset', ['-a', '-p', '-c', daemonCpu, String(running.process.pid)]);
    const c = await RpcbClient.open(hostPath(host.holderPid, '/run/rpcbind.sock'));
    try {
      // Warm-up: the first calls load code paths (and our first write opens the journal).
      for (let i = 0; i < 50; i++) {
        const b = { prog: 0x33000000 + i, vers: 1, netid: 'udp', addr: '198.51.100.1.3.232', owner: '' };
        await c.set(b);
        await c.unset(b);
      }
      const pid = running.process.pid!;
      const cpu0 = cpuUs(pid);
      for (let i = 0; i < CALLS; i++) {
        const b = { prog: 0x34000000 + rep * CALLS + i, vers: 1, netid: 'udp', addr: '198.51.100.1.3.232', owner: '' };
        let t = process.hrtime.bigint();
        if (!(await c.set(b))) throw new Error(`${name}: SET refused`);
        out.set.push(Number(process.hrtime.bigint() - t) / 1000);
        t = process.hrtime.bigint();
        if (!(await c.unset(b))) throw new Error(`${name}: UNSET refused`);
        out.unset.push(Number(process.hrtime.bigint() - t) / 1000);
      }
      out.cpuUs += cpuUs(pid) - cpu0;
      out.calls += 2 * CALLS;
    } finally {
      c.close();
    }
    await running.stop();
  } finally {
    await host.dispose();
  }
}

function summary(xs: number[]): { p50: number; p99: number; max: number } {
  const s = [...xs].sort((x, y) => x - y);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)), max: Math.round(s[s.length - 1]!) };
}

if (clientCpus !== undefined) spawnSync('taskset', ['-a', '-p', '-c', clientCpus, String(process.pid)]);
const samples: Record<'reference' | 'ours', Samples> = {
  reference: { set: [], unset: [], cpuUs: 0, calls: 0 },
  ours: { set: [], unset: [], cpuUs: 0, calls: 0 },
};
for (let rep = 0; rep < REPS; rep++) {
  const order: Array<'reference' | 'ours'> = rep % 2 === 0 ? ['reference', 'ours'] : ['ours', 'reference'];
  for (const name of order) await runOnce(name, samples[name], rep);
}
const row = (name: 'reference' | 'ours') => ({
  set: summary(samples[name].set),
  unset: summary(samples[name].unset),
  cpuUsPerCall: Number((samples[name].cpuUs / samples[name].calls).toFixed(1)),
});
const report = {
  bench: 'set-latency',
  unit: 'µs',
  calls: CALLS,
  reps: REPS,
  ourStateDir: a['state-dir'] ?? '/run/rpcbind-ts (tmpfs)',
  pinned: daemonCpu === undefined ? 'no' : `daemon CPU ${daemonCpu}, client CPU ${clientCpus}`,
  ...benchConditions(),
  rpcbind: row('reference'),
  ours: row('ours'),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
