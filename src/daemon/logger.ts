// The daemon's log: one event per line on stderr, with a level, debug lines only with -d.

import type { TransportLog } from '../transport/handler.js';

export function createTextLog(debug: boolean, write: (line: string) => void = (l) => process.stderr.write(l)): TransportLog {
  const line = (level: string) => (msg: string) => write(`rpcbind: ${level}: ${msg}\n`);
  return {
    debug: debug ? line('debug') : () => {},
    info: line('info'),
    warn: line('warning'),
    error: line('error'),
  };
}
