// Who may do what: the four operation classes of program 100000, libwrap-style rules over
// address sets (net/address-set.ts), and the per-call decisions (allow or deny, and how large
// a UDP reply may be). Pure: rules come in as text already read by the daemon.

import type { CallerContext } from '../rpc/index.js';
import { mayAmplify } from './caller.js';
import { AddressSet, parseAddress } from '../net/index.js';

/** Each procedure's class is in its declaration (procedures-v2.ts, procedures-rpcb.ts, remote-call.ts). */
export type OperationClass = 'query' | 'dump' | 'register' | 'callit';
export const OPERATION_CLASSES: readonly OperationClass[] = ['query', 'dump', 'register', 'callit'];

/** A libwrap rule: clients (minus exceptions) get `allow`. First match wins. */
export interface HostsRule {
  readonly clients: AddressSet;
  readonly except: AddressSet;
  readonly allow: boolean;
}

export interface AccessPolicyConfig {
  /** Per class: explicitly allowed and denied patterns. */
  allow?: Partial<Record<OperationClass, readonly string[]>>;
  deny?: Partial<Record<OperationClass, readonly string[]>>;
  /** hosts.allow rules then hosts.deny rules for daemon rpcbind, in file order. */
  hostsRules?: readonly HostsRule[];
}

export type AccessDecision = 'allow' | 'deny';

/**
 * The decision for one call. A class allow-list match wins; else a class deny-list match
 * denies; else the hosts.allow / hosts.deny rules (libwrap order) decide; else allow. The
 * local socket is never filtered (as in rpcbind's libwrap check).
 */
export class AccessPolicy {
  readonly #allow: Record<OperationClass, AddressSet>;
  readonly #deny: Record<OperationClass, AddressSet>;
  readonly #hosts: readonly HostsRule[];
  readonly #trivial: boolean;

  constructor(c: AccessPolicyConfig = {}) {
    const sets = (src: AccessPolicyConfig['allow']): Record<OperationClass, AddressSet> => ({
      query: AddressSet.parse(src?.query ?? []),
      dump: AddressSet.parse(src?.dump ?? []),
      register: AddressSet.parse(src?.register ?? []),
      callit: AddressSet.parse(src?.callit ?? []),
    });
    this.#allow = sets(c.allow);
    this.#deny = sets(c.deny);
    this.#hosts = c.hostsRules ?? [];
    this.#trivial = this.#hosts.length === 0 && OPERATION_CLASSES.every((k) => this.#deny[k].empty);
  }

  /** Patterns that did not parse (reported by the daemon at start and reload). */
  get invalidPatterns(): string[] {
    return OPERATION_CLASSES.flatMap((k) => [...this.#allow[k].invalid, ...this.#deny[k].invalid]);
  }

  decide(cls: OperationClass, ctx: CallerContext): AccessDecision {
    if (ctx.netid === 'local' || this.#trivial) return 'allow';
    const a = parseAddress(ctx.peerAddress);
    if (!a) return 'deny';
    if (this.#allow[cls].hasParsed(a)) return 'allow';
    if (this.#deny[cls].hasParsed(a)) return 'deny';
    for (const r of this.#hosts) {
      if (r.clients.hasParsed(a) && !r.except.hasParsed(a)) return r.allow ? 'allow' : 'deny';
    }
    return 'allow';
  }

  /** Whether `addr` is on the allow list of any class (such callers are never shed). */
  allowListed(addr: string): boolean {
    const a = parseAddress(addr);
    return a !== undefined && OPERATION_CLASSES.some((k) => this.#allow[k].hasParsed(a));
  }

  /**
   * Largest reply for this call. Over UDP, callers other than loopback, this host's own
   * addresses and those explicitly allow-listed for the class get no reply larger than their
   * request (no amplification).
   */
  replyCap(cls: OperationClass, ctx: CallerContext, requestBytes: number, maxBytes: number): number {
    if (ctx.netid !== 'udp' && ctx.netid !== 'udp6') return maxBytes;
    if (mayAmplify(ctx)) return maxBytes;
    if (!this.#allow[cls].empty && this.#allow[cls].has(ctx.peerAddress)) return maxBytes;
    return Math.min(maxBytes, requestBytes);
  }
}
