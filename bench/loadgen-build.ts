// Builds the C load generator (bench/loadgen.c) with the system's compiler, once per source
// change: the binary lands beside the compiled benchmark (dist/bench/loadgen).

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadSpec } from './load.js';

const SOURCE = fileURLToPath(new URL('../../bench/loadgen.c', import.meta.url));
const BINARY = fileURLToPath(new URL('./loadgen', import.meta.url));

/** Path of an up-to-date generator binary; throws with the compiler's message when it fails. */
export function loadgenBinary(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', BINARY, SOURCE], { encoding: 'utf8' });
  if (r.error) throw new Error(`building the load generator: ${r.error.message} (install gcc, or run with --generator node)`);
  if (r.status !== 0) throw new Error(`building the load generator failed:\n${r.stderr}`);
  return BINARY;
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
