// Turns repeated measurements into the benchmark table: medians over repetitions, the ratio
// ours/rpcbind, and the conditions the figures were taken under (written next to them).

import { cpus, release } from 'node:os';
import { spawnSync } from 'node:child_process';

export interface Sample {
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** The daemon's CPU time (user + system) per answered call, µs. */
  cpuUsPerCall: number;
}

export interface Row {
  registrations: number;
  workload: string;
  reference: Sample[];
  ours: Sample[];
}

export interface ExtraRow {
  what: string;
  reference: number[];
  ours: number[];
  unit: string;
}

export interface Report {
  conditions: Record<string, string>;
  rows: Row[];
  rss: ExtraRow[];
  startup: ExtraRow[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function medianSample(xs: readonly Sample[]): Sample {
  return {
    callsPerSec: median(xs.map((x) => x.callsPerSec)),
    p50Us: median(xs.map((x) => x.p50Us)),
    p99Us: median(xs.map((x) => x.p99Us)),
    cpuUsPerCall: median(xs.map((x) => x.cpuUsPerCall ?? NaN)),
  };
}

export function machineConditions(): Record<string, string> {
  const rpcbindVersion = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'rpcbind'], { encoding: 'utf8' }).stdout;
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpu[0]?.model ?? 'unknown'} x ${cpu.length}`,
    kernel: release(),
    rpcbind: `Debian rpcbind ${rpcbindVersion || 'unknown'} (-f -w)`,
  };
}

const fmtRate = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '-');
const fmtUs = (s: Sample): string => (Number.isFinite(s.p50Us) ? `${s.p50Us} / ${s.p99Us}` : '-');
const fmtCpu = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');

export function toMarkdown(r: Report): string {
  const lines: string[] = [];
  lines.push('Conditions:', '');
  for (const [k, v] of Object.entries(r.conditions)) lines.push(`- ${k}: ${v}`);
  lines.push('');
  lines.push(
    '| registrations | workload | rpcbind calls/s | ours calls/s | ours/rpcbind | rpcbind p50/p99 µs | ours p50/p99 µs | CPU µs/call rpcbind / ours |',
  );
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of r.rows) {
    const ref = medianSample(row.reference);
    const ours = medianSample(row.ours);
    lines.push(
      `| ${row.registrations.toLocaleString('en-US')} | ${row.workload} | ${fmtRate(ref.callsPerSec)} | ${fmtRate(ours.callsPerSec)} | ` +
        `${fmtRatio(ours.callsPerSec / ref.callsPerSec)} | ${fmtUs(ref)} | ${fmtUs(ours)} | ` +
        `${fmtCpu(ref.cpuUsPerCall)} / ${fmtCpu(ours.cpuUsPerCall)} |`,
    );
  }
  for (const [title, rows] of [
    ['Memory', r.rss],
    ['Start-up', r.startup],
  ] as const) {
    if (rows.length === 0) continue;
    lines.push('', `| ${title} | rpcbind | ours |`, '| --- | ---: | ---: |');
    for (const x of rows) {
      const f = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} ${x.unit}` : '-');
      lines.push(`| ${x.what} | ${f(median(x.reference))} | ${f(median(x.ours))} |`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** Replaces the text between the bench markers of `doc` (appends them when missing). */
export function spliceMarkdown(doc: string, table: string): string {
  const begin = '<!-- bench:begin (written by `npm run bench -- --write BENCHMARKS.md`) -->';
  const end = '<!-- bench:end -->';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) return `${doc.trimEnd()}\n\n${begin}\n${table}${end}\n`;
  return `${doc.slice(0, i + begin.length)}\n${table}${doc.slice(j)}`;
}
