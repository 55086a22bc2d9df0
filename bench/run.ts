// `npm run bench`: starts Debian's rpcbind and our daemon, each in a private network + mount
// namespace, fills both tables alike, and runs every workload against both in alternation
// (same generators, same duration, repeated; medians reported), then measures start-up.
//
//   npm run bench -- [--duration S] [--warmup S] [--reps N] [--regs 10,10000,100000]
//                    [--workloads a,b] [--generators N] [--sockets N] [--window N]
//                    [--no-startup] [--restart-regs N] [--write BENCHMARKS.md] [--json FILE]
//                    [--cpu-prof DIR]   (our daemon runs with node --cpu-prof into DIR)
//                    [--ours-bin PATH]  (another build's bin/rpcbind.js, for before/after runs)
//                    [--generator c|node] (C generator, default; or bench/load.ts)
//                    [--pin auto|none|DAEMON_CPUS/LOAD_CPUS] (auto: daemon on CPU 0, load on
//                                       the others, when the machine has 2 or more)

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { BenchHost, daemonByName, type DaemonName, type GeneratorKind, type Placement } from './bench-host.js';
import type { DaemonUnderTest } from '../test/helpers/daemons.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { LoadResult, LoadSpec } from './load.js';
import { machineConditions, spliceMarkdown, toMarkdown, type ExtraRow, type Report, type Sample } from './report.js';
import { PMAP_PROG, SET_PROG_BASE, WORKLOADS, findWorkload, targetProg, type Workload } from './workloads.js';

const { values: a } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '0.5' },
    reps: { type: 'string', default: '3' },
    regs: { type: 'string', default: '10,10000,100000' },
    workloads: { type: 'string', default: WORKLOADS.map((w) => w.name).join(',') },
    generators: { type: 'string', default: '2' },
    sockets: { type: 'string', default: '4' },
    window: { type: 'string', default: '16' },
    'no-startup': { type: 'boolean', default: false },
    'restart-regs': { type: 'string' },
    write: { type: 'string' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'ours-bin': { type: 'string' },
    generator: { type: 'string', default: 'c' },
    pin: { type: 'string', default: 'auto' },
  },
});

const durationMs = Number(a.duration) * 1000;
const warmupMs = Number(a.warmup) * 1000;
const reps = Number(a.reps);
const levels = a.regs.split(',').map(Number);
const generators = Number(a.generators);
const sockets = Number(a.sockets);
const window = Number(a.window);
const DAEMONS: readonly DaemonName[] = ['reference', 'ours'];
if (a.generator !== 'c' && a.generator !== 'node') throw new Error(`--generator: c or node, not ${a.generator}`);
const generatorKind: GeneratorKind = a.generator;

/** Daemon and generators on separate CPUs, so each daemon gets a whole CPU of its own. */
function placementFromArgs(): Placement | undefined {
  if (a.pin === 'none') return undefined;
  if (a.pin === 'auto') {
    const n = cpus().length;
    return n >= 2 ? { daemonCpus: '0', loadCpus: n === 2 ? '1' : `1-${n - 1}` } : undefined;
  }
  const m = /^([\d,-]+)\/([\d,-]+)$/.exec(a.pin);
  if (!m) throw new Error(`--pin: auto, none or DAEMON_CPUS/LOAD_CPUS (e.g. 0/1), not ${a.pin}`);
  return { daemonCpus: m[1]!, loadCpus: m[2]! };
}
const placement = placementFromArgs();
/** Where our daemon keeps its table when it supports persistence. */
const STATE_DIR = '/run/rpcbind-ts-state';

/** Our daemon supports durable registrations once the persistence work has landed. */
function oursHasStateDir(): boolean {
  const d = daemonByName('ours');
  const help = spawnSync(d.command, [d.args[0]!, '--help'], { encoding: 'utf8' });
  return `${help.stdout}${help.stderr}`.includes('--state-dir');
}

const stateDir = oursHasStateDir();

/**
 * The node flags on the launcher's `#!/usr/bin/env -S node ...` line: the test suite starts
 * `node bin/rpcbind.js`, which skips them, but an installed daemon runs with them.
 */
function shebangFlags(entry: string): string[] {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node (.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

/** Ours as installed (launcher flags), with node's profiler on when asked. */
function daemonUnderTest(d: DaemonName): DaemonUnderTest {
  const base = daemonByName(d);
  if (d !== 'ours') return base;
  const dir = a['cpu-prof'];
  const [defaultEntry, ...rest] = base.args;
  const entry = a['ours-bin'] ?? defaultEntry!;
  return {
    ...base,
    args: [
      ...shebangFlags(entry),
      ...(dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`]),
      entry,
      ...rest,
    ],
  };
}
const extraArgs = (d: DaemonName): string[] => (d === 'ours' && stateDir ? ['--state-dir', STATE_DIR] : []);
const workloads: Workload[] = a.workloads
  .split(',')
  .map(findWorkload)
  .filter((w) => !w.needsStateDir || stateDir);

function specs(w: Workload, registrations: number): LoadSpec[] {
  const n = w.generators ?? generators;
  return Array.from({ length: n }, (_, i) => ({
    transport: w.transport,
    host: '127.0.0.1',
    port: 111,
    messagesHex: w.messages(targetProg(registrations)).map((b) => b.toString('hex')),
    progOffset: w.progOffset ?? -1,
    progBase: SET_PROG_BASE,
    sockets: w.sockets ?? sockets,
    window: w.window ?? window,
    warmupMs,
    durationMs,
    udpRetryMs: 200,
    generatorId: i,
  }));
}

function summarize(name: string, { results, cpuUsPerCall }: { results: LoadResult[]; cpuUsPerCall: number }): Sample {
  const hist = new LatencyHistogram();
  let rate = 0;
  for (const r of results) {
    rate += (r.calls / r.elapsedMs) * 1000;
    hist.addPairs(r.histogram);
    const first = Buffer.from(r.firstReplyHex, 'hex');
    // accepted SUCCESS with a non-zero first result word (port, string length, list, TRUE).
    const good = first.length >= 28 && first.readUInt32BE(20) === 0 && first.readUInt32BE(24) !== 0;
    if (!good || r.mismatches > 0) {
      process.stderr.write(
        `bench: ${name}: unexpected replies (first ${r.firstReplyHex.slice(0, 64)}, ${r.mismatches} differing)\n`,
      );
    }
  }
  return { callsPerSec: rate, p50Us: hist.quantile(0.5), p99Us: hist.quantile(0.99), cpuUsPerCall };
}

async function withHosts<T>(fn: (hosts: Map<DaemonName, BenchHost>) => Promise<T>): Promise<T> {
  const hosts = new Map<DaemonName, BenchHost>();
  try {
    for (const d of DAEMONS) {
      const h = await BenchHost.create(daemonUnderTest(d), extraArgs(d));
      h.generator = generatorKind;
      h.placement = placement;
      hosts.set(d, h);
    }
    return await fn(hosts);
  } finally {
    for (const h of hosts.values()) await h.dispose();
  }
}

async function throughput(report: Report): Promise<void> {
  for (const level of levels) {
    await withHosts(async (hosts) => {
      for (const h of hosts.values()) await h.fill(level);
      const rss: ExtraRow = {
        what: `RSS after load, ${level.toLocaleString('en-US')} registrations`,
        reference: [],
        ours: [],
        unit: 'MiB',
      };
      for (let rep = 0; rep < reps; rep++) {
        for (const w of workloads) {
          let row = report.rows.find((r) => r.registrations === level && r.workload === w.name);
          if (!row) {
            row = { registrations: level, workload: w.name, reference: [], ours: [] };
            report.rows.push(row);
          }
          // Alternate which daemon goes first, so drift in the machine's load hits both alike.
          const order = rep % 2 === 0 ? DAEMONS : [...DAEMONS].reverse();
          for (const d of order) {
            const sample = summarize(`${d} ${w.name}`, await hosts.get(d)!.load(specs(w, level)));
            row[d].push(sample);
            process.stderr.write(
              `bench: ${level} regs, ${w.name}, rep ${rep + 1}/${reps}, ${d}: ${Math.round(sample.callsPerSec)} calls/s p50 ${sample.p50Us} µs\n`,
            );
          }
        }
        for (const d of DAEMONS) rss[d].push(hosts.get(d)!.rssMiB());
      }
      report.rss.push(rss);
    });
  }
}

async function startup(report: Report): Promise<void> {
  const restartRegs = Number(a['restart-regs'] ?? Math.max(...levels));
  const empty: ExtraRow = { what: 'first answer after start, empty table', reference: [], ours: [], unit: 'ms' };
  const restart: ExtraRow = {
    what: `restart to first answer for the last of ${restartRegs.toLocaleString('en-US')} registrations`,
    reference: [],
    ours: [],
    unit: 'ms',
  };
  for (let rep = 0; rep < reps; rep++) {
    await withHosts(async (hosts) => {
      for (const d of DAEMONS) {
        const h = hosts.get(d)!;
        // One failed measurement is reported as missing rather than losing the whole run.
        const measure = async (row: ExtraRow, fn: () => Promise<number>): Promise<void> => {
          try {
            row[d].push(await fn());
          } catch (e) {
            process.stderr.write(`bench: ${row.what}, ${d}: ${(e as Error).message}\n`);
          }
        };
        await measure(empty, () => h.timeToFirstAnswer(PMAP_PROG));
        // A saved table read back at start: Debian's rpcbind -w reads its warm-start files
        // (written here, as for the throughput rows); ours reads its --state-dir.
        if (d === 'reference' || stateDir) {
          await measure(restart, async () => {
            await h.fill(restartRegs, false);
            await h.stop();
            return h.timeToFirstAnswer(targetProg(restartRegs));
          });
        }
        await h.stop();
      }
    });
  }
  report.startup.push(empty, restart);
}

async function main(): Promise<void> {
  const report: Report = {
    conditions: {
      ...machineConditions(),
      parameters:
        `${generators} generator processes x ${sockets} sockets x ${window} calls in flight (latency row: 1 x 1 x 1), ` +
        `${a.warmup} s warm-up + ${a.duration} s per workload, ${reps} repetitions alternating daemons, medians; ` +
        `${generatorKind === 'c' ? 'C generator (bench/loadgen.c, recvmmsg/sendmmsg)' : 'Node.js generator (bench/load.ts)'}; ` +
        (placement
          ? `daemon pinned to CPU ${placement.daemonCpus}, generators to CPU ${placement.loadCpus} (taskset); `
          : 'daemon and generators share the machine unpinned; ') +
        "loopback inside each daemon's own namespace; CPU µs/call: the daemon's user+system time over the run divided by the calls it answered",
      'our persistence': stateDir
        ? `on (--state-dir ${STATE_DIR})`
        : 'not available (no --state-dir): durable SET and our restart rows skipped',
    },
    rows: [],
    rss: [],
    startup: [],
  };
  await throughput(report);
  if (!a['no-startup']) {
    try {
      await startup(report);
    } catch (e) {
      process.stderr.write(`bench: start-up rows incomplete: ${(e as Error).message}\n`);
    }
  }
  const md = toMarkdown(report);
  process.stdout.write(md);
  if (a.json) writeFileSync(a.json, JSON.stringify(report, null, 2));
  if (a.write) {
    const doc = existsSync(a.write) ? readFileSync(a.write, 'utf8') : '# Benchmarks\n';
    writeFileSync(a.write, spliceMarkdown(doc, md));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
