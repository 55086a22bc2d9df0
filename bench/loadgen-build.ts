// Builds the C load generators (bench/loadgen.c, bench/floodgen.c) with the system's compiler,
// once per source change: the binaries land beside the compiled benchmark (dist/bench/).

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadSpec } from './load.js';

/** Path of an up-to-date generator binary; throws with the compiler's message when it fails. */
export function loadgenBinary(): string {
  return built('loadgen');
}

/** The SET/UNSET latency benchmark's registrant (bench/setgen.c). */
export function setgenBinary(): string {
  return built('setgen');
}

/** The flood benchmark's victim client and flooder (bench/floodgen.c). */
export function floodgenBinary(): string {
  return built('floodgen');
}

function built(name: string): string {
  const source = fileURLToPath(new URL(`../../bench/${name}.c`, import.meta.url));
  const header = fileURLToPath(new URL('../../bench/wire.h', import.meta.url));
  const binary = fileURLToPath(new URL(`./${name}`, import.meta.url));
  const newest = Math.max(statSync(source).mtimeMs, statSync(header).mtimeMs);
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, source], { encoding: 'utf8' });
  if (r.error) throw new Error(`building ${name}: ${r.error.message} (install gcc, or run with --generator node)`);
  if (r.status !== 0) throw new Error(`building ${name} failed:\n${r.stderr}`);
  return binary;
}

/** The generator's command line for one LoadSpec (see loadgen.c for the order). */
export function loadgenArgs(s: LoadSpec): string[] {
  return [
    s.transport,
    s.host,
    String(s.port),
    String(s.sockets),
    String(s.window),
    String(s.warmupMs),
    String(s.durationMs),
    String(s.udpRetryMs),
    String(s.generatorId),
    String(s.progOffset),
    String(s.progBase),
    ...s.messagesHex,
  ];
}
