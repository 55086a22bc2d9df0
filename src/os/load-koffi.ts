// koffi, the FFI behind every libc call of the program (libc.ts, the one table), loaded once.
// Its package entry point also loads node:crypto, node:https and node:zlib for its installer,
// about 9 ms at start-up (bench/profile-start.ts): where the prebuilt native module sits as
// koffi 2 ships it, take it directly; otherwise (musl, renamed architectures) the entry point,
// which finds the right one.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type KoffiFunction = (...args: never[]) => unknown;

export interface Koffi {
  load(path: string): { func(signature: string): KoffiFunction };
  /** Native memory that never moves (released with the process). */
  alloc(type: string, n: number): unknown;
  address(p: unknown): bigint;
  view(p: unknown, len: number): ArrayBuffer;
  /** The errno of the last call made through koffi on this thread. */
  errno(): number;
}

let koffi: Koffi | null | undefined;

/** koffi, or null when it cannot be loaded (callers then do without what it gives). */
export function loadKoffi(): Koffi | null {
  if (koffi !== undefined) return koffi;
  const require = createRequire(import.meta.url);
  const native = nativeModulePath(require);
  for (const id of native ? [native, 'koffi'] : ['koffi']) {
    try {
      koffi = require(id) as Koffi;
      return koffi;
    } catch {
      // not loadable here: try the next way
    }
  }
  koffi = null;
  return koffi;
}

function nativeModulePath(require: NodeJS.Require): string | undefined {
  try {
    const dir = dirname(require.resolve('koffi/package.json'));
    const file = join(dir, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node');
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}
