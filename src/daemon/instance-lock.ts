// One daemon per socket path: an exclusive flock(2) on a lock file, as Linux rpcbind holds
// /run/rpcbind.lock, so ours and the reference also exclude each other.

import { closeSync, openSync } from 'node:fs';
import { loadKoffi } from '../transport/load-koffi.js';

const LOCK_EX = 2;
const LOCK_NB = 4;

type Flock = (fd: number, op: number) => number;
let flock: Flock | null | undefined;

function loadFlock(): Flock | null {
  if (flock !== undefined) return flock;
  try {
    const koffi = loadKoffi();
    flock = koffi ? (koffi.load('libc.so.6').func('int flock(int, int)') as Flock) : null;
  } catch {
    flock = null;
  }
  return flock;
}

export interface InstanceLock {
  release(): void;
}

/** Takes the lock or throws an Error whose message is fit for the one-line startup failure. */
export function acquireInstanceLock(path: string): InstanceLock {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o444);
  } catch (e) {
    throw new Error(`cannot open lock file ${path}: ${(e as Error).message}`);
  }
  const fn = loadFlock();
  if (fn && fn(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    throw new Error(`another rpcbind is already running (lock ${path} is held)`);
  }
  let held = true;
  return {
    release(): void {
      if (!held) return;
      held = false;
      closeSync(fd); // closing the descriptor drops the flock
    },
  };
}
