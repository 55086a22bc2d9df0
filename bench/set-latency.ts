// Single-registrant SET/UNSET latency against Debian's rpcbind, side by side: one registrant
// (bench/setgen.c, a C client, so its own JIT and GC are not timed) on one local-socket
// connection, one call in flight, v3 SET of a new program then v3 UNSET of it, each timed from
// the write to the reply. Each daemon runs in its own private network + mount namespace
// (TestHost); ours as installed (the launcher's node flags) and durable (state on the
// namespace's /run tmpfs, or --state-dir). Repetitions alternate which daemon goes first. Per
// start, three timed phases on one connection:
//   boot   the first --boot pairs after the daemon is ready (what services meet at boot),
//   burst  the next --calls pairs, back to back (ours: V8 compiles the path meanwhile),
//   steady --calls pairs after --warm more untimed ones.
// --connect per-call (the default) opens a connection for each call and closes it after, inside
// the timed span, as libtirpc's rpcb_set()/rpcb_unset() do; --connect once keeps one.
// The figures are over all calls of all repetitions, per phase.
//
// Usage: node dist/bench/set-latency.js [--calls N] [--boot N] [--warm N] [--reps N]
//                                       [--connect per-call|once] [--state-dir DIR]
//                                       [--pin auto|none] [--ours-bin PATH]

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { type DaemonUnderTest, daemons, startDaemon } from '../test/helpers/daemons.js';
import { TestHost } from '../test/helpers/netns.js';
import { hostPath } from '../test/helpers/rpcb-client.js';
import { benchConditions } from './bench-env.js';
import { output } from './bench-host.js';
import { setgenBinary } from './loadgen-build.js';

const { values: a } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    boot: { type: 'string', default: '20' },
    warm: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '5' },
    connect: { type: 'string', default: 'per-call' },
    'state-dir': { type: 'string' },
    pin: { type: 'string', default: 'auto' },
    'ours-bin': { type: 'string' },
  },
});
const CALLS = Number(a.calls);
const BOOT = Number(a.boot);
const WARM = Number(a.warm);
const REPS = Number(a.reps);
/** SET and UNSET calls per start, all phases. */
const CALLS_PER_START = 2 * (BOOT + 2 * CALLS + WARM);
if (a.connect !== 'per-call' && a.connect !== 'once') throw new Error('--connect is per-call or once');
const PER_CALL = a.connect === 'per-call';
const PHASES = ['boot', 'burst', 'steady'] as const;
type Phase = (typeof PHASES)[number];
type Name = 'reference' | 'ours';
// The daemon alone on CPU 0, the client elsewhere (as in bench/run.ts), on 2+ CPUs.
const daemonCpu = a.pin === 'auto' && cpus().length >= 2 ? '0' : undefined;
const clientCpus = daemonCpu === undefined ? undefined : cpus().length === 2 ? '1' : `1-${cpus().length - 1}`;

function shebangFlags(entry: string): string[] {
  const m = /^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '');
  return m ? m[1]!.trim().split(/\s+/) : [];
}

function underTest(name: Name): { d: DaemonUnderTest; extra: string[] } {
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
  set: Record<Phase, number[]>;
  unset: Record<Phase, number[]>;
  /** The daemon's CPU time (user + system, all threads) over all calls, in µs. */
  cpuUs: number;
  calls: number;
}

const emptySamples = (): Samples => ({
  set: { boot: [], burst: [], steady: [] },
  unset: { boot: [], burst: [], steady: [] },
  cpuUs: 0,
  calls: 0,
});

/** CPU time used so far by `pid`, in µs (utime + stime, USER_HZ = 100). */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

interface SetgenOutput {
  phases: Array<{ label: Phase; set: number[]; unset: number[] }>;
}

/** Runs the C registrant to its end, bounded: a fixed number of calls, each 10 s at most. */
async function runSetgen(socket: string, progBase: number): Promise<SetgenOutput> {
  const args = [
    ...(PER_CALL ? ['--per-call'] : []),
    socket,
    String(progBase),
    `boot:${BOOT}`,
    `burst:${CALLS}`,
    `-:${WARM}`,
    `steady:${CALLS}`,
  ];
  const child =
    clientCpus === undefined
      ? spawn(setgenBinary(), args)
      : spawn('taskset', ['-c', clientCpus, setgenBinary(), ...args]);
  // 5 ms a call on average is ~40x a cold one here; a run slower than that is broken anyway.
  return JSON.parse(await output(child, 30_000 + 5 * CALLS_PER_START, 'setgen')) as SetgenOutput;
}

async function runOnce(name: Name, out: Samples, rep: number): Promise<void> {
  const host = await TestHost.create();
  try {
    const { d, extra } = underTest(name);
    const running = await startDaemon(host, d, extra);
    try {
      const pid = running.process.pid!;
      if (daemonCpu !== undefined) spawnSync('taskset', ['-a', '-p', '-c', daemonCpu, String(pid)]);
      const cpu0 = cpuUs(pid);
      const r = await runSetgen(hostPath(host.holderPid, '/run/rpcbind.sock'), 0x34000000 + rep * 0x100000);
      out.cpuUs += cpuUs(pid) - cpu0;
      out.calls += CALLS_PER_START;
      for (const p of r.phases) {
        out.set[p.label].push(...p.set);
        out.unset[p.label].push(...p.unset);
      }
    } finally {
      await running.stop();
    }
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
const samples: Record<Name, Samples> = { reference: emptySamples(), ours: emptySamples() };
for (let rep = 0; rep < REPS; rep++) {
  const order: Name[] = rep % 2 === 0 ? ['reference', 'ours'] : ['ours', 'reference'];
  for (const name of order) await runOnce(name, samples[name], rep);
}
const row = (name: Name) => ({
  ...Object.fromEntries(
    PHASES.map((p) => [p, { set: summary(samples[name].set[p]), unset: summary(samples[name].unset[p]) }]),
  ),
  cpuUsPerCall: Number((samples[name].cpuUs / samples[name].calls).toFixed(1)),
});
const report = {
  bench: 'set-latency',
  unit: 'µs',
  pairsPerStart: { boot: BOOT, burst: CALLS, untimed: WARM, steady: CALLS },
  reps: REPS,
  connect: a.connect,
  ourStateDir: a['state-dir'] ?? '/run/rpcbind-ts (tmpfs)',
  pinned: daemonCpu === undefined ? 'no' : `daemon CPU ${daemonCpu}, client CPU ${clientCpus}`,
  ...benchConditions(),
  rpcbind: row('reference'),
  ours: row('ours'),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
