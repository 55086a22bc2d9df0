// sd_notify(3) without libsystemd: READY=1, STATUS=, RELOADING=1, STOPPING=1 and WATCHDOG=1
// datagrams to $NOTIFY_SOCKET (a path or an '@' abstract name). Sends are non-blocking; a
// missing socket or a full queue is ignored, as sd_notify does.

import { loadLibc } from '../os/libc.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_BYTES = 108;

export interface Notifier {
  /** Whether a service manager listens (NOTIFY_SOCKET was set). */
  readonly enabled: boolean;
  notify(state: string): boolean;
  /** Starts WATCHDOG=1 pings at half the manager's interval, if it asked for them. */
  startWatchdog(): void;
  stop(): void;
}

/** Reads NOTIFY_SOCKET/WATCHDOG_* and removes them from the environment (children must not inherit them). */
export function createNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const target = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC ?? '');
  const watchdogPid = env.WATCHDOG_PID === undefined ? process.pid : Number(env.WATCHDOG_PID);
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  const addr = target ? sockaddrUn(target) : undefined;
  let timer: NodeJS.Timeout | undefined;
  const notify = (state: string): boolean => {
    if (!addr) return false;
    const lc = loadLibc();
    if (!lc) return false;
    const fd = lc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      const buf = Buffer.from(state);
      return lc.sendto(fd, buf, buf.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr.length) === buf.length;
    } finally {
      lc.close(fd);
    }
  };
  return {
    enabled: addr !== undefined,
    notify,
    startWatchdog(): void {
      if (!addr || !(watchdogUsec > 0) || watchdogPid !== process.pid || timer) return;
      const everyMs = Math.max(1, Math.floor(watchdogUsec / 2000));
      timer = setInterval(() => notify('WATCHDOG=1'), everyMs);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** struct sockaddr_un for a path, or for an abstract name written '@name'. */
function sockaddrUn(path: string): Buffer | undefined {
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  if (name.length === 0 || name.length >= SUN_PATH_BYTES) return undefined;
  const sa = Buffer.alloc(2 + name.length + (path.startsWith('@') ? 0 : 1));
  sa.writeUInt16LE(AF_UNIX, 0);
  name.copy(sa, 2);
  return sa;
}
