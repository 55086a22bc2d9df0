// -s: after binding the privileged ports, continue as an unprivileged user.

import { execFileSync } from 'node:child_process';

export function dropPrivileges(user: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  // Resolve through NSS as the system would (getent), not by parsing /etc/passwd.
  const entry = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim();
  const [, , uid, gid] = entry.split(':');
  if (uid === undefined || gid === undefined) throw new Error(`unknown user ${user}`);
  process.setgroups?.([Number(gid)]);
  process.setgid?.(Number(gid));
  process.setuid?.(Number(uid));
}
