// -s: after binding the privileged ports, continue as an unprivileged user. Directories the
// daemon keeps writing to (the state directory) are handed to that user first. A daemon that
// was started unprivileged (the shipped systemd unit's User=) has nothing to drop: -s is a no-op.

import { execFileSync } from 'node:child_process';
import { chownSync, statSync } from 'node:fs';
import type { DaemonOptions } from './daemon-options.js';

interface UserIds {
  uid: number;
  gid: number;
}

/** Resolves a user name (or numeric uid) through NSS, as the system would (getent). */
function lookupUser(user: string): UserIds {
  let entry: string;
  try {
    entry = execFileSync('getent', ['passwd', user], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    throw new Error(`cannot drop privileges: unknown user ${user}`);
  }
  const [, , uid, gid] = entry.split('\n')[0]!.split(':');
  if (uid === undefined || gid === undefined) throw new Error(`cannot drop privileges: unknown user ${user}`);
  return { uid: Number(uid), gid: Number(gid) };
}

/** The directories the daemon writes after dropping privileges: the state directory. */
export function writableDirs(o: DaemonOptions): string[] {
  return o.stateDir !== '' ? [o.stateDir] : [];
}

export function dropPrivileges(user: string, keepWritable: readonly string[] = []): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const ids = lookupUser(user);
  for (const dir of keepWritable) {
    try {
      const st = statSync(dir);
      if (st.uid !== ids.uid) chownSync(dir, ids.uid, ids.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`cannot hand ${dir} to ${user}: ${(e as Error).message}`);
    }
  }
  try {
    process.setgroups?.([ids.gid]);
    process.setgid?.(ids.gid);
    process.setuid?.(ids.uid);
  } catch (e) {
    // Some Node.js builds refuse these calls (Debian 13's nodejs 20.19: "setgroups() disabled:
    // io_uring may be enabled", CVE-2024-22017). The unit's User= does it before the start.
    throw new Error(
      `cannot drop privileges to ${user} inside the process (${(e as Error).message}); start it as that user instead (systemd: User=${user} with the sockets from rpcbind.socket, as the shipped unit does)`,
    );
  }
  if (ids.uid !== 0 && process.getuid() === 0) throw new Error(`cannot drop privileges to ${user}`);
}
