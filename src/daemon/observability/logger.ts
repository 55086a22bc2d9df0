// The daemon's log: one event per line on stderr. Plain text ("rpcbind: info: ..."), or with
// syslog priority prefixes ("<6>...") when stderr is the journal (JOURNAL_STREAM), or JSON lines
// through pino for log shippers. Writes are asynchronous (sonic-boom), so logging never blocks
// the event loop; flush() drains them at exit.

import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DestinationStream, default as Pino } from 'pino';
import type { SonicBoom as SonicBoomType, SonicBoomOpts } from 'sonic-boom';

// pino and sonic-boom are loaded when first needed: pino only for --log-format json, so the
// text log (the default) does not pay its load time at start-up (bench: first answer).
const requireLazy = createRequire(import.meta.url);
import type { TransportLog } from '../../transport/handler.js';
import type { LogFormat } from '../daemon-options.js';

type EventLevel = 'info' | 'notice' | 'warn' | 'error';
export type EventFields = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * What the daemon and its plug-ins log through. `event` is for structured records an operator
 * or a shipper filters on (security and audit: "access-denied", "rate-limited", "call"...):
 * `name` is a stable kebab-case identifier, `fields` are flat values.
 */
export interface DaemonLog extends TransportLog {
  event(name: string, fields: EventFields, level?: EventLevel): void;
  /** Turns debug lines on or off (SIGHUP reload of -d). */
  setDebug(on: boolean): void;
  /** Writes out anything still buffered (call before exit). */
  flush(): void;
}

export interface LogOptions {
  format: LogFormat;
  debug: boolean;
  /** Prefix lines with <N> syslog priorities (systemd-journald reads them). */
  journal: boolean;
  /** Where lines go; by default an asynchronous writer on fd 2. */
  sink?: LineSink;
}

interface LineSink {
  write(s: string): unknown;
  flushSync?(): void;
}

const PRIORITY = { debug: 7, info: 6, notice: 5, warn: 4, error: 3 } as const;
const LABEL = { debug: 'debug', info: 'info', notice: 'notice', warn: 'warning', error: 'error' } as const;
type Level = keyof typeof PRIORITY;

/** Whether stderr is connected to the journal (systemd sets JOURNAL_STREAM=dev:inode). */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof env.JOURNAL_STREAM === 'string' && env.JOURNAL_STREAM !== '';
}

/**
 * An asynchronous writer on fd 2 (sonic-boom), opened on the event-loop turn after the first
 * line rather than at once: loading it takes ~10 ms, and a start logs before it can answer its
 * first call (bench: first answer). Until then lines wait in memory; flushSync() writes them.
 */
function defaultSink(): LineSink {
  let writer: SonicBoomType | undefined;
  let waiting: string[] = [];
  let opening = false;
  const open = (): void => {
    const SonicBoom = requireLazy('sonic-boom') as new (o: SonicBoomOpts) => SonicBoomType;
    writer = new SonicBoom({ dest: 2, sync: false, minLength: 0 });
    if (waiting.length > 0) writer.write(waiting.join(''));
    waiting = [];
  };
  return {
    write(s: string): boolean {
      if (writer) return writer.write(s);
      waiting.push(s);
      if (!opening) {
        opening = true;
        setImmediate(open);
      }
      return true;
    },
    flushSync(): void {
      if (writer) writer.flushSync();
      else if (waiting.length > 0) {
        writeSync(2, waiting.join(''));
        waiting = [];
      }
    },
  };
}

export function createLog(o: LogOptions): DaemonLog {
  return o.format === 'json' ? jsonLog(o) : textLog(o);
}

/** The text log of earlier versions (kept for callers that only need TransportLog). */
function textLog(o: LogOptions): DaemonLog {
  const sink = o.sink ?? defaultSink();
  let debug = o.debug;
  const line = (level: Level, msg: string): void => {
    // One event per line, whatever the message holds.
    const text = msg.includes('\n') ? msg.replace(/\n/g, '\\n') : msg;
    sink.write(o.journal ? `<${PRIORITY[level]}>${text}\n` : `rpcbind: ${LABEL[level]}: ${text}\n`);
  };
  return {
    debug: (m) => {
      if (debug) line('debug', m);
    },
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
    error: (m) => line('error', m),
    event: (name, fields, level = 'info') => line(level, formatEvent(name, fields)),
    setDebug: (on) => {
      debug = on;
    },
    flush: () => flushQuietly(sink),
  };
}

/** "name key=value key2="with space"": greppable, and the order of fields is the caller's. */
export function formatEvent(name: string, fields: EventFields): string {
  let s = name;
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const t = String(v);
    s += ` ${k}=${t === '' || /[\s"=]/.test(t) ? JSON.stringify(t) : t}`;
  }
  return s;
}

function jsonLog(o: LogOptions): DaemonLog {
  const sink = o.sink ?? defaultSink();
  const pino = (requireLazy('pino') as { default: typeof Pino }).default;
  const logger = pino(
    {
      level: o.debug ? 'debug' : 'info',
      base: { pid: process.pid },
      name: 'rpcbind',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    sink as DestinationStream,
  );
  const at = (level: EventLevel): 'info' | 'warn' | 'error' => (level === 'notice' ? 'info' : level);
  return {
    debug: (m) => logger.debug(m),
    info: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
    event: (name, fields, level = 'info') => logger[at(level)]({ ...fields, event: name }, name),
    setDebug: (on) => {
      logger.level = on ? 'debug' : 'info';
    },
    flush: () => flushQuietly(sink),
  };
}

function flushQuietly(sink: LineSink): void {
  try {
    sink.flushSync?.();
  } catch {
    // sonic-boom throws when its descriptor is not open yet: nothing is buffered then
  }
}
