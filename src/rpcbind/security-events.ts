// What the binding core reports for the audit log and detection: an interface the daemon
// implements (logging, counting, rate limiting of the log itself). Methods, not event objects,
// so a call on the hot path allocates nothing.

import type { OperationClass } from './access-policy.js';
import type { CallerContext } from '../rpc/index.js';

export type DenialReason = 'access-rule' | 'not-local' | 'forward-rule';

/** A SET or UNSET as decided: `addr` '' for UNSET; `result` the registry's answer. */
export interface RegistrationEvent {
  readonly op: 'SET' | 'UNSET';
  readonly prog: number;
  readonly vers: number;
  readonly netid: string;
  readonly addr: string;
  readonly result: string;
}

export interface SecurityObserver {
  /**
   * A call refused (answered with AUTH_TOOWEAK): by the access lists or hosts files
   * ('access-rule'), because only local callers may make it without -i ('not-local'), or a
   * remote call whose target the forwarding deny list names ('forward-rule').
   */
  denied(ctx: CallerContext, cls: OperationClass, vers: number, proc: number, reason: DenialReason): void;
  /** A call of class dump (DUMP, GETSTAT) from a caller that is not local; `procName` as declared. */
  remoteDump(ctx: CallerContext, vers: number, procName: string): void;
  /** A lookup of `prog` (GETPORT, GETADDR, GETVERSADDR, GETADDRLIST): feeds sweep detection. */
  lookup(ctx: CallerContext, prog: number): void;
  /** SET or UNSET, after it was decided. `result` is the registry's answer. */
  registration(ctx: CallerContext, r: RegistrationEvent): void;
}
