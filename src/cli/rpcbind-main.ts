// The rpcbind command: read flags and the configuration file, start the daemon (in the
// foreground with -f/-d or under systemd, otherwise as a detached copy that reports back once
// it serves), tell the service manager, reload on SIGHUP and shut down cleanly on signals.

import { closeSync, readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProgramNames } from '../daemon/observability/call-log.js';
import { ConfigError, resolveConfig } from './rpcbind-config-file.js';
import { startDaemon, type RunningDaemon } from '../daemon/daemon.js';
import type { DaemonOptions } from '../daemon/daemon-options.js';
import { createLog, stderrIsJournal, type DaemonLog } from '../daemon/observability/logger.js';
import { metrics } from '../daemon/observability/metrics.js';
import { parseCommandLine, USAGE, UsageError, type RawValues } from './rpcbind-options.js';
import { createNotifier, type Notifier } from '../daemon/sd-notify.js';
import { inheritedSockets, type InheritedSocket } from '../daemon/socket-activation.js';
import { type Libc, loadLibc } from '../os/libc.js';
import { fixMallocThreshold, releaseStartupPages, whenIdle } from '../daemon/resident-memory.js';

/** fd on which a detached child reports "ready" or its startup error to the parent. */
const STATUS_FD = 3;
const CHILD_ENV = 'RPCBIND_TS_DETACHED';
const STARTUP_TIMEOUT_MS = 15_000;
/**
 * When the start-up's file pages are dropped (resident-memory.ts): at the first quiet 100 ms
 * after READY (under 2 ms of CPU in them), or after a minute of constant work in any case.
 */
const RELEASE_STARTUP_PAGES_WHEN = { everyMs: 100, tries: 600, idleCpuUs: 2_000 };

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let cli: RawValues;
  let o: DaemonOptions;
  let configPath: string | undefined;
  try {
    cli = parseCommandLine(argv);
    if (cli.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (cli.version) {
      process.stdout.write(`rpcbind-ts ${version()}\n`);
      return 0;
    }
    ({ options: o, path: configPath } = await resolveConfig(cli));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`rpcbind: ${e.message}\n${USAGE}\n`);
      return 1;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`rpcbind: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (cli['check-config']) {
    process.stdout.write(`rpcbind: configuration ${configPath ?? '(command line only)'} is valid\n`);
    return 0;
  }
  let inherited: InheritedSocket[];
  try {
    inherited = inheritedSockets();
  } catch (e) {
    process.stderr.write(`rpcbind: ${(e as Error).message}\n`);
    return 1;
  }
  // Under a service manager (sockets or a notify socket passed) there is nothing to detach from.
  const managed = inherited.length > 0 || process.env.NOTIFY_SOCKET !== undefined;
  if (!o.foreground && !managed && process.env[CHILD_ENV] !== '1') return detach(argv);
  return runForeground(o, cli, inherited);
}

/** After the start, at a quiet moment, so that no answer waits for it (resident-memory.ts). */
function releaseStartupPagesLater(libc: Libc, log: DaemonLog): void {
  whenIdle(() => {
    try {
      const kib = releaseStartupPages(libc);
      log.debug(
        `start-up done: dropped ${(kib / 1024).toFixed(1)} MiB of mapped file pages (they map again where used)`,
      );
    } catch (e) {
      log.debug(`start-up pages not dropped: ${(e as Error).message}`);
    }
  }, RELEASE_STARTUP_PAGES_WHEN);
}

async function runForeground(o: DaemonOptions, cli: RawValues, inherited: InheritedSocket[]): Promise<number> {
  const detached = process.env[CHILD_ENV] === '1';
  delete process.env[CHILD_ENV];
  // A detached copy reports to its parent once, synchronously (it may exit right after).
  const report = (line: string): void => {
    if (!detached) return;
    try {
      writeSync(STATUS_FD, line);
      closeSync(STATUS_FD);
    } catch {
      // the parent is gone; nothing to tell
    }
  };
  const notifier = createNotifier();
  const log = createLog({ format: o.logFormat, debug: o.debug, journal: stderrIsJournal() });
  // Before the start's allocations (resident-memory.ts); koffi is loaded for the lock anyway.
  const libc = loadLibc();
  if (libc && !fixMallocThreshold(libc))
    log.debug('mallopt(M_MMAP_THRESHOLD) failed; malloc keeps its dynamic threshold');
  let daemon: RunningDaemon;
  try {
    const programNames = loadProgramNames();
    daemon = await startDaemon(o, log, { inherited, programNames, onStatus: (st) => notifier.notify(`STATUS=${st}`) });
    if (o.dropPrivileges) {
      const { dropPrivileges, writableDirs } = await import('../daemon/privileges.js');
      dropPrivileges(o.user, writableDirs(o));
      log.info(`running as user ${o.user}`);
    }
  } catch (e) {
    const msg = (e as Error).message;
    log.flush();
    process.stderr.write(`rpcbind: ${msg}\n`);
    report(`error ${msg}\n`);
    notifier.notify(`STATUS=failed: ${msg}`);
    return 1;
  }
  report('ready\n');
  notifier.notify(`READY=1\nSTATUS=${daemon.status}`);
  notifier.startWatchdog();
  if (libc) releaseStartupPagesLater(libc, log);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      notifier.notify('STOPPING=1');
      notifier.stop();
      log.info(`${sig} received; shutting down`);
      daemon.close().then(
        () => finish(0),
        () => finish(1),
      );
    };
    const finish = (code: number): void => {
      try {
        log.flush();
      } catch {
        // the writer was not open yet; nothing buffered
      }
      resolve(code);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    let reloading: Promise<void> = Promise.resolve();
    process.on('SIGHUP', () => {
      reloading = reloading.then(() => reload(daemon, cli, log, notifier));
    });
  });
}

/** SIGHUP: re-read the file under the same command line; keep the old settings if it is bad. */
async function reload(daemon: RunningDaemon, cli: RawValues, log: DaemonLog, notifier: Notifier): Promise<void> {
  const usec = process.hrtime.bigint() / 1000n;
  notifier.notify(`RELOADING=1\nMONOTONIC_USEC=${usec}`);
  try {
    const { options } = await resolveConfig(cli);
    const pending = daemon.reload(options);
    metrics.recordReload(true);
    log.info(`configuration reloaded${options.configFile ? ` from ${options.configFile}` : ''}`);
    if (pending.length > 0) log.warn(`changed settings that take effect on restart: ${pending.join(', ')}`);
  } catch (e) {
    metrics.recordReload(false);
    log.error(`reload failed, keeping the running configuration: ${(e as Error).message.replace(/\n/g, '; ')}`);
  }
  notifier.notify(`READY=1\nSTATUS=${daemon.status}`);
}

/** Starts a detached copy in the foreground mode and waits for it to report. */
async function detach(argv: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  const script = fileURLToPath(new URL('../../../bin/rpcbind.js', import.meta.url));
  const child = spawn(process.execPath, [script, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  return new Promise<number>((resolve) => {
    let text = '';
    const pipe = child.stdio[STATUS_FD];
    const timer = setTimeout(
      () => finish(`no answer from the daemon within ${STARTUP_TIMEOUT_MS / 1000} s`),
      STARTUP_TIMEOUT_MS,
    );
    const finish = (error: string | undefined): void => {
      clearTimeout(timer);
      if (error !== undefined) process.stderr.write(`rpcbind: ${error}\n`);
      child.unref();
      pipe?.destroy();
      resolve(error === undefined ? 0 : 1);
    };
    child.on('error', (e) => finish(e.message));
    pipe?.on('error', () => {});
    pipe?.on('data', (d: Buffer) => (text += d.toString()));
    pipe?.on('end', () => {
      if (text.startsWith('ready')) finish(undefined);
      else finish(text.replace(/^error /, '').trim() || 'the daemon exited during startup');
    });
  });
}
