// `npm run bench:flood`: does a well-behaved client still get its answers while others abuse
// the daemon? Each daemon (Debian's rpcbind, ours) runs alone in a namespace at 198.18.0.1; a
// second namespace joined by a veth pair plays the remote hosts: the abusers (198.18.0.2, or
// 198.18.0.10-17) and the victim client (198.18.0.3), which sends 200 v2 GETPORTs a second,
// open loop, each answered within 1 s or counted lost. Daemon on one CPU, load on another.
//
//   npm run bench:flood -- [--duration S] [--warmup S] [--reps N] [--cases a,b] [--rate N]
//                          [--pin auto|DAEMON_CPUS/LOAD_CPUS] [--victim-cpus LIST]
//                          [--write BENCHMARKS.md] [--json FILE]
//
// Cases: none (the victim alone), hog (one source keeps 8 x 64 calls in flight, closed loop),
// flood1 (one source floods GETPORTs open loop, never reading), flood8 (eight sources do), tcphog
// (one source keeps 8 connections x 64 calls in flight over TCP); and over TCP: tcp (the victim
// alone: one call per new connection, 200 a second) and synflood (the same victim while SYNs
// from 127 spoofed sources flood port 111: the kernel's SYN cookies, not the daemon, are what
// answers this; the row reports the cookies sent). The daemon is started afresh
// for every case (no shed state carried over) and warmed up over loopback (0.7 s of closed-loop
// calls over UDP, then TCP); the load starts `--warmup` seconds before the victim and stops
// after it.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { XdrWriter } from '../src/xdr/index.js';
import { writeCallHeader } from '../src/rpc/index.js';
import { daemons, startDaemon, type DaemonUnderTest, type RunningDaemon } from '../test/helpers/daemons.js';
import { TestHost, waitFor, waitForExit } from '../test/helpers/netns.js';
import { joinByVeth } from '../test/helpers/veth.js';
import { LatencyHistogram } from './latency-histogram.js';
import { floodgenBinary, loadgenBinary } from './loadgen-build.js';
import { machineConditions, median } from './report.js';

const { values: a } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    reps: { type: 'string', default: '2' },
    cases: { type: 'string', default: 'none,hog,flood1,flood8,tcphog,tcp,synflood' },
    rate: { type: 'string', default: '200' },
    pin: { type: 'string', default: 'auto' },
    'victim-cpus': { type: 'string' },
    write: { type: 'string' },
    json: { type: 'string' },
  },
});

const SERVER = '198.18.0.1';
const HOG = '198.18.0.2';
const VICTIM = '198.18.0.3';
const FLOODERS = Array.from({ length: 8 }, (_, i) => `198.18.0.${10 + i}`);
const durationMs = Number(a.duration) * 1000;
const warmupMs = Number(a.warmup) * 1000;
const reps = Number(a.reps);
const rate = Number(a.rate);
const CLOCK_TICKS_PER_SEC = 100;
const CASES = ['none', 'hog', 'flood1', 'flood8', 'tcphog', 'tcp', 'synflood'] as const;
type Case = (typeof CASES)[number];
type Name = DaemonUnderTest['name'];

const CASE_TEXT: Record<Case, string> = {
  none: 'nothing else',
  hog: 'one source keeps 8 x 64 calls in flight over UDP (closed loop)',
  flood1: 'one source floods GETPORTs open loop, never reading',
  flood8: 'eight sources flood the same way',
  tcphog: 'one source keeps 8 connections x 64 calls in flight over TCP',
  tcp: 'nothing else; the victim over TCP, a new connection per call',
  synflood: 'SYN flood from 127 spoofed sources; the victim over TCP',
};
const TCP_VICTIM: ReadonlySet<Case> = new Set(['tcp', 'synflood']);

const cases = a.cases.split(',').map((c) => {
  if (!(CASES as readonly string[]).includes(c)) throw new Error(`unknown case ${c}; known: ${CASES.join(', ')}`);
  return c as Case;
});

function placement(): { daemon: string; load: string } {
  if (a.pin === 'auto') {
    const n = cpus().length;
    if (n < 2) throw new Error('the flood benchmark needs 2 CPUs (daemon and load apart)');
    return { daemon: '0', load: n === 2 ? '1' : `1-${n - 1}` };
  }
  const m = /^([\d,-]+)\/([\d,-]+)$/.exec(a.pin);
  if (!m) throw new Error(`--pin: auto or DAEMON_CPUS/LOAD_CPUS, not ${a.pin}`);
  return { daemon: m[1]!, load: m[2]! };
}
const pin = placement();
/** Where the victim runs: with the load by default; `--victim-cpus` moves it (e.g. off the flood's CPU). */
const victimCpus = a['victim-cpus'] ?? pin.load;

/** v2 GETPORT(100000, 2, udp): answered with 111 by both daemons. */
function getport(): string {
  const w = new XdrWriter(64);
  writeCallHeader(w, { xid: 0, prog: 100000, vers: 2, proc: 3 });
  w.uint32(100000).uint32(2).uint32(17).uint32(0);
  return w.toBuffer().toString('hex');
}
const CALL = getport();

/** Ours as installed: the launcher's node flags (the test suite starts it without them). */
function daemonUnderTest(name: Name): DaemonUnderTest {
  const d = daemons.find((x) => x.name === name)!;
  if (name !== 'ours') return d;
  const [entry, ...rest] = d.args;
  const first = readFileSync(entry!, 'utf8').split('\n', 1)[0] ?? '';
  const flags = /^#!\/usr\/bin\/env -S node (.*)$/.exec(first)?.[1]?.trim().split(/\s+/) ?? [];
  return { ...d, args: [...flags, entry!, ...rest] };
}

interface Sample {
  sent: number;
  answered: number;
  p50Us: number;
  p99Us: number;
  /** The daemon's user and system CPU over the victim's run, ms per second. */
  userMsPerS: number;
  sysMsPerS: number;
  /** Flood datagrams the flooders got out during the victim's run (estimated: uniform rate). */
  floodDuringVictim: number;
  /** Datagrams the kernel dropped on the daemon's UDP port 111 sockets during the case. */
  kernelDrops: number;
  /** SYN cookies the daemon's namespace sent during the case (TcpExt SyncookiesSent). */
  syncookies: number;
}

/** TcpExt SyncookiesSent of the host's namespace. */
async function syncookiesSent(host: TestHost): Promise<number> {
  const lines = (await host.run('cat', ['/proc/net/netstat'])).stdout
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const i = names.indexOf('SyncookiesSent');
  return i > 0 ? Number(values[i]) : NaN;
}

function cpuTicks(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]), sys: Number(f[12]) };
}

/** Sum of the drops column of port 111's UDP sockets in the host's namespace. */
async function udpDrops(host: TestHost): Promise<number> {
  let sum = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const r = await host.run('cat', [file]);
    for (const line of r.stdout.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 13 && f[1]!.endsWith(':006F')) sum += Number(f[12]);
    }
  }
  return sum;
}

function collect(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), timeoutMs);
  return waitForExit(child).then(({ code }) => {
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${what} exited with ${code}: ${err.trim()}`);
    return out;
  });
}

/** The load of a case, started in the peer namespace on the load CPUs at the lowest priority. */
function startLoad(peer: TestHost, c: Case, ms: number): ChildProcess | undefined {
  const run = (env: NodeJS.ProcessEnv | undefined, cmd: string, args: string[]): ChildProcess =>
    peer.spawn('taskset', ['-c', pin.load, 'nice', '-n', '19', cmd, ...args], env ? { env } : {});
  const loadgen = (transport: 'udp' | 'tcp'): ChildProcess =>
    run({ LOADGEN_FROM: HOG }, loadgenBinary(), [
      transport,
      SERVER,
      '111',
      '8',
      '64',
      '0',
      String(ms),
      '200',
      '0',
      '-1',
      '0',
      CALL,
    ]);
  switch (c) {
    case 'none':
    case 'tcp':
      return undefined;
    case 'synflood':
      return run(undefined, floodgenBinary(), ['syn', SERVER, '111', '198.18.0', String(ms)]);
    case 'hog':
      return loadgen('udp');
    case 'tcphog':
      return loadgen('tcp');
    case 'flood1':
      return run(undefined, floodgenBinary(), ['flood', SERVER, '111', HOG, String(ms), CALL]);
    case 'flood8':
      return run(undefined, floodgenBinary(), ['flood', SERVER, '111', FLOODERS.join(','), String(ms), CALL]);
  }
}

async function runCase(host: TestHost, peer: TestHost, name: Name, c: Case): Promise<Sample> {
  const running: RunningDaemon = await startDaemon(host, daemonUnderTest(name));
  try {
    const pid = running.process.pid!;
    const t = spawnSync('taskset', ['-a', '-p', '-c', pin.daemon, String(pid)], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`taskset: ${t.stderr}`);
    // Answered over the link once, from an address that plays no part in the case.
    await waitFor(
      async () => {
        const r = await peer.run(floodgenBinary(), ['victim', SERVER, '111', '198.18.0.99', '10', '100', CALL]);
        return r.code === 0 && (JSON.parse(r.stdout) as { answered: number }).answered > 0;
      },
      { what: `${name} answering over the link`, timeoutMs: 15_000, intervalMs: 200 },
    );
    // Warm up from loopback (never limited, never shed): a freshly started daemon's first
    // thousands of calls run while V8 compiles them, on the daemon's CPU.
    for (const transport of ['udp', 'tcp']) {
      const w = host.spawn('taskset', [
        '-c',
        pin.load,
        loadgenBinary(),
        transport,
        '127.0.0.1',
        '111',
        '2',
        '16',
        '0',
        '700',
        '200',
        '0',
        '-1',
        '0',
        CALL,
      ]);
      await collect(w, `warm-up over ${transport}`, 20_000);
    }
    const drops0 = await udpDrops(host);
    const cookies0 = await syncookiesSent(host);
    const loadMs = warmupMs + durationMs + 500;
    const load = startLoad(peer, c, loadMs);
    // A hog whose connections our daemon closes when it sheds the source ends early: not an error.
    const loadOut = load
      ? collect(load, `${c} load`, loadMs + 20_000).catch((e: unknown) => {
          process.stderr.write(`flood: ${c} against ${name}: ${(e as Error).message}\n`);
          return '{}';
        })
      : Promise.resolve('{}');
    await delay(warmupMs);
    const cpu0 = cpuTicks(pid);
    const mode = TCP_VICTIM.has(c) ? 'tcpvictim' : 'victim';
    const victim = peer.spawn('taskset', [
      '-c',
      victimCpus,
      floodgenBinary(),
      mode,
      SERVER,
      '111',
      VICTIM,
      String(rate),
      String(durationMs),
      CALL,
    ]);
    const v = JSON.parse(await collect(victim, 'victim', durationMs + 20_000)) as {
      sent: number;
      answered: number;
      histogram: Array<[number, number]>;
    };
    const cpu1 = cpuTicks(pid);
    const l = JSON.parse((await loadOut).trim().split('\n').pop() ?? '{}') as { sent?: number };
    const drops1 = await udpDrops(host);
    const hist = new LatencyHistogram();
    hist.addPairs(v.histogram);
    const seconds = (durationMs + 1000) / 1000; // the victim's sending time plus its last wait
    const perS = (ticks: number): number => (ticks * 1000) / CLOCK_TICKS_PER_SEC / seconds;
    return {
      sent: v.sent,
      answered: v.answered,
      p50Us: hist.quantile(0.5),
      p99Us: hist.quantile(0.99),
      userMsPerS: perS(cpu1.user - cpu0.user),
      sysMsPerS: perS(cpu1.sys - cpu0.sys),
      floodDuringVictim:
        (c.startsWith('flood') || c === 'synflood') && l.sent
          ? (l.sent * Math.min(durationMs + 1000, loadMs - warmupMs)) / loadMs
          : 0,
      kernelDrops: drops1 - drops0,
      syncookies: (await syncookiesSent(host)) - cookies0,
    };
  } finally {
    await running.stop();
  }
}

async function main(): Promise<void> {
  const results = new Map<string, Sample[]>();
  const key = (name: Name, c: Case): string => `${name}/${c}`;
  const names: Name[] = ['reference', 'ours'];
  const pairs = new Map<Name, { host: TestHost; peer: TestHost }>();
  const load0 = loadavg()[0]!;
  try {
    for (const n of names) {
      const host = await TestHost.create();
      const peer = await TestHost.create();
      pairs.set(n, { host, peer });
      await joinByVeth(
        host,
        peer,
        [`${SERVER}/24`],
        [`${HOG}/24`, `${VICTIM}/24`, '198.18.0.99/24', ...FLOODERS.map((f) => `${f}/24`)],
      );
    }
    for (let rep = 0; rep < reps; rep++) {
      for (const c of cases) {
        const order = rep % 2 === 0 ? names : [...names].reverse();
        for (const n of order) {
          const { host, peer } = pairs.get(n)!;
          const s = await runCase(host, peer, n, c);
          (results.get(key(n, c)) ?? results.set(key(n, c), []).get(key(n, c))!).push(s);
          process.stderr.write(
            `flood: rep ${rep + 1}/${reps} ${c} ${n}: ${s.answered}/${s.sent} answered, p99 ${s.p99Us} µs, ` +
              `cpu ${s.userMsPerS.toFixed(0)}+${s.sysMsPerS.toFixed(0)} ms/s, kernel drops ${s.kernelDrops}, ` +
              `flood ${Math.round(s.floodDuringVictim)}, syncookies ${s.syncookies}\n`,
          );
        }
      }
    }
  } finally {
    for (const { host, peer } of pairs.values()) {
      await peer.dispose();
      await host.dispose();
    }
  }
  const md = toMarkdown(results, load0, loadavg()[0]!);
  process.stdout.write(md);
  if (a.json) writeFileSync(a.json, JSON.stringify(Object.fromEntries(results), null, 2));
  if (a.write) {
    const doc = existsSync(a.write) ? readFileSync(a.write, 'utf8') : '# Benchmarks\n';
    writeFileSync(a.write, splice(doc, md));
  }
}

const pct = (s: Sample): number => (100 * s.answered) / s.sent;

function toMarkdown(results: Map<string, Sample[]>, load0: number, load1: number): string {
  const lines: string[] = ['Conditions:', ''];
  const cond: Record<string, string> = {
    ...machineConditions(),
    parameters:
      `victim ${rate} v2 GETPORTs/s open loop from ${VICTIM} for ${a.duration} s, each answered within 1 s or lost; ` +
      `load from ${a.warmup} s before the victim until 0.5 s after it; ${reps} repetitions alternating daemons, medians ` +
      `(answered: the worst repetition); daemon pinned to CPU ${pin.daemon}, load to CPU ${pin.load} (at nice 19), victim to CPU ${victimCpus}; ` +
      `daemon started afresh per case and warmed up over loopback (0.7 s UDP + 0.7 s TCP, closed loop); flooders: bench/floodgen.c (sendmmsg, 64 per call), hogs: bench/loadgen.c`,
    'load average (1 min) before / after': `${load0.toFixed(2)} / ${load1.toFixed(2)}`,
  };
  for (const [k, v] of Object.entries(cond)) lines.push(`- ${k}: ${v}`);
  lines.push(
    '',
    '| while ... | rpcbind: answered, p50 / p99 | ours: answered, p50 / p99 | daemon CPU ms/s, user + sys: rpcbind / ours | kernel drops on port 111: rpcbind / ours | ours: CPU µs per flood datagram, user / sys |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  const ms = (us: number): string => (us / 1000).toFixed(2);
  for (const c of cases) {
    const col = (n: Name): string => {
      const xs = results.get(`${n}/${c}`) ?? [];
      if (xs.length === 0) return '-';
      const worst = Math.min(...xs.map(pct));
      return `${worst.toFixed(1)} %, ${ms(median(xs.map((x) => x.p50Us)))} / ${ms(median(xs.map((x) => x.p99Us)))} ms`;
    };
    const cpu = (n: Name): string => {
      const xs = results.get(`${n}/${c}`) ?? [];
      return xs.length
        ? `${median(xs.map((x) => x.userMsPerS)).toFixed(0)} + ${median(xs.map((x) => x.sysMsPerS)).toFixed(0)}`
        : '-';
    };
    const drops = (n: Name): string => {
      const xs = results.get(`${n}/${c}`) ?? [];
      return xs.length ? Math.round(median(xs.map((x) => x.kernelDrops))).toLocaleString('en-US') : '-';
    };
    const ours = results.get(`ours/${c}`) ?? [];
    const cookies = (): string => {
      const xs = [...(results.get(`reference/${c}`) ?? []), ...ours];
      if (xs.length === 0) return '-';
      const perS = median(xs.map((x) => x.floodDuringVictim / ((durationMs + 1000) / 1000)));
      return `SYN cookies sent: ${Math.round(median(xs.map((x) => x.syncookies))).toLocaleString('en-US')} (${Math.round(perS).toLocaleString('en-US')} SYNs/s)`;
    };
    const perDatagram =
      c === 'synflood'
        ? cookies()
        : c.startsWith('flood') && ours.length
          ? `${median(ours.map((x) => (x.userMsPerS * ((durationMs + 1000) / 1000) * 1000) / x.floodDuringVictim)).toFixed(3)} / ` +
            `${median(ours.map((x) => (x.sysMsPerS * ((durationMs + 1000) / 1000) * 1000) / x.floodDuringVictim)).toFixed(3)} ` +
            `(${Math.round(median(ours.map((x) => x.floodDuringVictim / ((durationMs + 1000) / 1000)))).toLocaleString('en-US')} datagrams/s)`
          : '-';
    lines.push(
      `| ${CASE_TEXT[c]} | ${col('reference')} | ${col('ours')} | ${cpu('reference')} / ${cpu('ours')} | ${drops('reference')} / ${drops('ours')} | ${perDatagram} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

function splice(doc: string, table: string): string {
  const begin = '<!-- flood:begin (written by `npm run bench:flood -- --write BENCHMARKS.md`) -->';
  const end = '<!-- flood:end -->';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) return `${doc.trimEnd()}\n\n${begin}\n${table}${end}\n`;
  return `${doc.slice(0, i + begin.length)}\n${table}${doc.slice(j)}`;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`flood: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
