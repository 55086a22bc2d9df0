// What transports need from the daemon: a function from (message, caller) to a reply, and a
// logger. Transports never look inside messages.

import type { Reply } from '../rpc/index.js';
import type { CallerContext } from '../rpc/index.js';

export type MessageHandler = (msg: Buffer, ctx: CallerContext, maxReplyBytes: number) => Reply | Promise<Reply>;

export interface TransportLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Turns a bind/listen error into the one line an administrator needs. */
export function describeListenError(what: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${what}: address already in use (is another rpcbind running?)`;
    case 'EACCES':
    case 'EPERM':
      return `${what}: permission denied (binding a port below 1024 needs root or CAP_NET_BIND_SERVICE)`;
    case 'EADDRNOTAVAIL':
      return `${what}: address not available on this host`;
    default:
      return `${what}: ${err.message ?? String(e)}`;
  }
}
