// What every binding procedure works on: the table, the statistics, the policy switches, and
// the hooks through which the daemon makes changes durable and forwards remote calls.

import type { XdrWriter } from '../xdr/index.js';
import type { CallHeader } from '../rpc/index.js';
import type { HandlerResult } from '../rpc/index.js';
import type { CallerContext } from '../rpc/index.js';
import type { ForwardRules } from './forward-rules.js';
import type { Registration, Registry } from './registry.js';
import type { RmtCallArgs } from '../proto/index.js';
import type { RpcbStats } from './stats.js';
import type { AccessPolicy } from './access-policy.js';
import type { SecurityObserver } from './security-events.js';

interface BindingPolicy {
  /** -i: accept SET/UNSET/GETSTAT from any host. */
  insecure: boolean;
  /** Which remote calls may be forwarded; the reference's deny list when absent. */
  forwardRules?: ForwardRules;
  /** Address rules per operation class; undefined allows everything (swapped on reload). */
  access?: AccessPolicy | undefined;
}

/** A remote call to forward (CALLIT, BCAST, INDIRECT); the result is already encoded. */
export interface RemoteCallRequest {
  readonly version: number;
  readonly procedure: 'CALLIT' | 'BCAST' | 'INDIRECT';
  readonly args: RmtCallArgs;
  readonly call: CallHeader;
  readonly ctx: CallerContext;
  /**
   * The target's UDP registration, with the exact version (looked up on udp6 for calls over
   * IPv6 transports, on udp otherwise).
   */
  readonly target: Registration;
}

/**
 * Where changes to the table are made durable. The rule SET and UNSET follow: a change is
 * answered TRUE only once persist() says it is saved; while accepting() is false they are
 * answered FALSE and change nothing; a change persist() could not save has been undone by the
 * time it resolves false, and is answered FALSE.
 */
export interface ChangeJournal {
  accepting(): boolean;
  /** True once every change made so far is saved; false when they were undone instead. */
  persist(): Promise<boolean>;
  /** Counts a SET or UNSET answered FALSE because the state could not be saved. */
  refused(): void;
}

export type RemoteCallResult = HandlerResult<(w: XdrWriter) => void>;

export interface BindingState {
  readonly registry: Registry;
  readonly stats: RpcbStats;
  readonly policy: BindingPolicy;
  /** Audit and detection hooks; undefined when nobody listens. */
  readonly security?: SecurityObserver | undefined;
  /** Seconds since the epoch (GETTIME). */
  now(): number;
  /** Makes changes durable; SET/UNSET replies wait for it. Undefined when nothing is persisted. */
  journal?: ChangeJournal;
  /** Forwards remote calls; undefined when forwarding is off (the default, as in Debian). */
  remoteCall?: (req: RemoteCallRequest) => Promise<RemoteCallResult>;
}
