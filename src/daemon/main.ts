// The rpcbind command: parse flags, start the daemon (in the foreground with -f/-d, otherwise
// as a detached copy that reports back once it serves), and shut down cleanly on signals.

import { spawn } from 'node:child_process';
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDaemon } from './daemon.js';
import { createTextLog } from './logger.js';
import { parseDaemonArgs, USAGE, UsageError, type DaemonOptions } from './options.js';
import { dropPrivileges } from './privileges.js';

/** fd on which a detached child reports "ready" or its startup error to the parent. */
const STATUS_FD = 3;
const CHILD_ENV = 'RPCBIND_TS_DETACHED';
const STARTUP_TIMEOUT_MS = 15_000;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseDaemonArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`rpcbind: ${e.message}\n${USAGE}\n`);
      return 1;
    }
    throw e;
  }
  if (cmd.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cmd.kind === 'version') {
    process.stdout.write(`rpcbind-ts ${version()}\n`);
    return 0;
  }
  const o = cmd.options;
  if (!o.foreground && process.env[CHILD_ENV] !== '1') return detach(argv);
  return runForeground(o);
}

async function runForeground(o: DaemonOptions): Promise<number> {
  // A detached copy reports to its parent once, synchronously (it may exit right after).
  const report = (line: string): void => {
    if (process.env[CHILD_ENV] !== '1') return;
    try {
      writeSync(STATUS_FD, line);
      closeSync(STATUS_FD);
    } catch {
      // the parent is gone; nothing to tell
    }
  };
  const log = createTextLog(o.debug);
  let daemon;
  try {
    daemon = await startDaemon(o, log);
    if (o.dropPrivileges) dropPrivileges(o.user);
  } catch (e) {
    const msg = (e as Error).message;
    process.stderr.write(`rpcbind: ${msg}\n`);
    report(`error ${msg}\n`);
    return 1;
  }
  report('ready\n');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig} received; shutting down`);
      daemon.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      // Re-reads hosts.allow/deny and swaps the policy; registrations and connections stay.
      for (const w of daemon.applyPolicy(o)) log.warn(w);
      log.info('SIGHUP received; access policy reloaded');
    });
  });
}

/** Starts a detached copy in the foreground mode and waits for it to report. */
function detach(argv: string[]): Promise<number> {
  const script = fileURLToPath(new URL('../../../bin/rpcbind.js', import.meta.url));
  const child = spawn(process.execPath, [script, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  return new Promise<number>((resolve) => {
    let text = '';
    const pipe = child.stdio[STATUS_FD];
    const timer = setTimeout(() => finish(`no answer from the daemon within ${STARTUP_TIMEOUT_MS / 1000} s`), STARTUP_TIMEOUT_MS);
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
