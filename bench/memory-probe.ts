// Inner loop for the RSS work (issue 8): starts only our daemon (launcher flags plus any given
// in MEMPROBE_NODE_FLAGS) with --state-dir in a private namespace, fills N registrations, runs
// a short load and prints the daemon's RSS at each step.
//
// Usage: node dist/bench/memory-probe.js N [workload,...] [seconds]

import { readFileSync } from 'node:fs';
import { BenchHost, daemonByName } from './bench-host.js';
import { findWorkload, targetProg } from './workloads.js';

const count = Number(process.argv[2] ?? '100000');
const names = (process.argv[3] ?? 'getport2-udp,getaddr4-tcp,dump4-tcp').split(',').filter(Boolean);
const seconds = Number(process.argv[4] ?? '2');

const base = daemonByName('ours');
// MEMPROBE_BIN: another build's bin/rpcbind.js, for before/after runs.
const [defaultEntry, ...rest] = base.args;
const entry = process.env.MEMPROBE_BIN ?? defaultEntry;
const first = readFileSync(entry!, 'utf8').split('\n', 1)[0] ?? '';
const shebang = /^#!\/usr\/bin\/env -S node (.*)$/.exec(first)?.[1]?.trim().split(/\s+/) ?? [];
const extra = (process.env.MEMPROBE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const host = await BenchHost.create({ ...base, args: [...shebang, ...extra, entry!, ...rest] }, [
  '--state-dir',
  '/run/rpcbind-ts-state',
]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const report = async (what: string): Promise<void> => {
  process.stdout.write(`${what}: RSS ${host.rssMiB().toFixed(1)} MiB\n`);
  if (!process.env.MEMPROBE_STAT) return;
  // A preloaded hook (MEMPROBE_NODE_FLAGS="--import hook.mjs") answers SIGUSR2 with a breakdown.
  process.kill(host.pid, 'SIGUSR2');
  await sleep(1000);
  process.stdout.write(`   ${readFileSync(`/tmp/memprobe/stat-${host.pid}.txt`, 'utf8')}\n`);
};
try {
  await host.start();
  await sleep(300);
  await report('started');
  const t0 = Date.now();
  await host.fill(count);
  await report(`filled ${count} in ${Date.now() - t0} ms`);
  for (const n of names) {
    const w = findWorkload(n);
    const specs = [0, 1].map((i) => ({
      transport: w.transport,
      host: '127.0.0.1',
      port: 111,
      messagesHex: w.messages(targetProg(count)).map((b) => b.toString('hex')),
      progOffset: -1,
      progBase: 0,
      sockets: w.sockets ?? 4,
      window: w.window ?? 16,
      warmupMs: 300,
      durationMs: seconds * 1000,
      udpRetryMs: 200,
      generatorId: i,
    }));
    const { results: res } = await host.load(specs);
    const rate = res.reduce((s, r) => s + (r.calls / r.elapsedMs) * 1000, 0);
    await report(`after ${n} (${Math.round(rate)} calls/s)`);
  }
} finally {
  await host.stop();
  await host.dispose();
}
