// -l: one line per call, as rpcbind's libwrap logging writes it ("connect from ADDR to
// PROC(PROG)", with ": request from unauthorized host" for refusals), or a structured "call"
// event in JSON logs. A token bucket caps the lines per second so a flood cannot flood the log;
// suppressed lines are counted and reported once the bucket refills.

import { readFileSync } from 'node:fs';
import { MAX_CALL_LOG_LINES_PER_SECOND, MAX_RPC_NAMES } from '../../limits.js';
import type { CompletedCall } from '../../rpc/index.js';
import type { CallerContext } from '../../rpc/index.js';
import type { DaemonLog } from './logger.js';

export interface CallLogOptions {
  log: DaemonLog;
  /** JSON logs get "call" events with fields; text logs get rpcbind's sentence. */
  structured: boolean;
  linesPerSecond?: number;
  programNames?: ReadonlyMap<number, string>;
  nowMs?: () => number;
}

export class CallLog {
  readonly #o: Required<CallLogOptions>;
  #tokens: number;
  #refilledAt: number;
  #suppressed = 0;

  constructor(o: CallLogOptions) {
    this.#o = { linesPerSecond: MAX_CALL_LOG_LINES_PER_SECOND, programNames: new Map(), nowMs: Date.now, ...o };
    this.#tokens = this.#o.linesPerSecond;
    this.#refilledAt = this.#o.nowMs();
  }

  record(c: CompletedCall<CallerContext>): void {
    if (!this.#take()) return;
    const denied = c.result === 'auth_error';
    const source = c.ctx.netid === 'local' ? 'local' : c.ctx.peerAddress;
    const target = targetProgram(c.args);
    const progName = target === undefined ? '' : (this.#o.programNames.get(target) ?? String(target));
    const procName = (c.procName ?? (c.call ? `proc${c.call.proc}` : 'garbage')).toLowerCase();
    if (this.#o.structured) {
      this.#o.log.event(
        'call',
        {
          source,
          transport: c.ctx.netid,
          version: c.call?.vers,
          procedure: procName,
          program: target,
          verdict: denied ? 'denied' : 'allowed',
          result: c.result,
        },
        denied ? 'warn' : 'info',
      );
    } else {
      const line = `connect from ${source} to ${procName}(${progName})`;
      if (denied) this.#o.log.warn(`${line}: request from unauthorized host`);
      else this.#o.log.info(line);
    }
  }

  #take(): boolean {
    const now = this.#o.nowMs();
    if (now - this.#refilledAt >= 1000) {
      this.#refilledAt = now;
      this.#tokens = this.#o.linesPerSecond;
      if (this.#suppressed > 0) {
        this.#tokens--;
        this.#o.log.warn(`call log: ${this.#suppressed} lines suppressed (limit ${this.#o.linesPerSecond} per second)`);
        this.#suppressed = 0;
      }
    }
    if (this.#tokens > 0) {
      this.#tokens--;
      return true;
    }
    this.#suppressed++;
    return false;
  }
}

/** The program a call is about (SET/UNSET/GETPORT/GETADDR/CALLIT arguments carry one). */
function targetProgram(args: unknown): number | undefined {
  if (typeof args !== 'object' || args === null || !('prog' in args)) return undefined;
  const p = (args as { prog: unknown }).prog;
  return typeof p === 'number' ? p : undefined;
}

/**
 * Program names from /etc/rpc ("nfs 100003 nfsprog"), as getrpcbynumber would give them. Read
 * synchronously: a few kilobytes, at start-up, where thread-pool round trips delay the first answer.
 */
export function loadProgramNames(path = '/etc/rpc'): Map<number, string> {
  const names = new Map<number, string>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n').slice(0, MAX_RPC_NAMES)) {
    const [name, num] = line.replace(/#.*/, '').trim().split(/\s+/);
    const n = Number(num);
    if (name && Number.isInteger(n) && !names.has(n)) names.set(n, name);
  }
  return names;
}
