// One daemon per socket path: an exclusive flock(2) on a lock file, as Linux rpcbind holds
// /run/rpcbind.lock, so ours and the reference also exclude each other.
//
// The file is opened read-only (created 0444 when missing, as Debian's rpcbind does): flock
// needs no write access, and under systemd's CapabilityBoundingSet root has no
// CAP_DAC_OVERRIDE, so a read-only file left by an earlier start could not be opened for writing.

import { closeSync, constants, openSync } from 'node:fs';
import { loadLibc } from '../os/libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;

type Flock = (fd: number, op: number) => number;

function loadFlock(): Flock | null {
  const libc = loadLibc();
  return libc ? (fd, op) => libc.flock(fd, op) : null;
}

export interface InstanceLock {
  /**
   * False when flock(2) could not be reached (koffi did not load): the file is open but
   * nothing excludes a second daemon. The caller says so in the log.
   */
  readonly enforced: boolean;
  release(): void;
}

/** O_RDONLY | O_CREAT | O_NOFOLLOW: never follows a link planted at the path. */
const LOCK_OPEN_FLAGS = constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Takes the lock or throws an Error whose message is fit for the one-line startup failure.
 * `lockFn` replaces flock(2) (tests; null = unavailable).
 */
export function acquireInstanceLock(path: string, lockFn: Flock | null = loadFlock()): InstanceLock {
  let fd: number;
  try {
    fd = openSync(path, LOCK_OPEN_FLAGS, 0o444);
  } catch (e) {
    throw new Error(`cannot open lock file ${path}: ${(e as Error).message}`);
  }
  if (lockFn && lockFn(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    throw new Error(`another rpcbind is already running (lock ${path} is held)`);
  }
  let held = true;
  return {
    enforced: lockFn !== null,
    release(): void {
      if (!held) return;
      held = false;
      closeSync(fd); // closing the descriptor drops the flock
    },
  };
}
