// Which remote calls may be forwarded: the reference's deny list (services whose procedures
// trust the caller's address, which a forwarded call would turn into ours), adjusted by the
// administrator's allow and deny rules, and a loop guard nothing can lift.

import { PMAP_PROG, PmapProc, RpcbProc } from '../proto/index.js';

/** A rule: a whole program (proc undefined) or one procedure of it. */
export interface ForwardRule {
  readonly prog: number;
  readonly proc?: number;
}

/** The reference's list (rpcbind's check_callit). PMAP_PROG is handled apart (insecure mode). */
const DEFAULT_FORWARD_DENY: readonly ForwardRule[] = [
  { prog: 100003 }, // NFS
  { prog: 100005, proc: 1 }, // MOUNT MNT
  { prog: 100005, proc: 3 }, // MOUNT UMNT
  { prog: 100004, proc: 3 }, // NIS MATCH
  { prog: 100004, proc: 4 }, // NIS FIRST
  { prog: 100004, proc: 5 }, // NIS NEXT
  { prog: 100004, proc: 8 }, // NIS ALL
  { prog: 100007, proc: 2 }, // ypbind SETDOM
  { prog: 100009 }, // yppasswd
  { prog: 100011 }, // rquota
];

/** Parses "PROG" or "PROG:PROC" (decimal); undefined when malformed. */
export function parseForwardRule(text: string): ForwardRule | undefined {
  const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(text.trim());
  if (!m) return undefined;
  const prog = Number(m[1]);
  const proc = m[2] === undefined ? undefined : Number(m[2]);
  if (prog > 0xffffffff || (proc !== undefined && proc > 0xffffffff)) return undefined;
  return proc === undefined ? { prog } : { prog, proc };
}

const key = (prog: number, proc?: number): string => (proc === undefined ? `${prog}` : `${prog}:${proc}`);

export class ForwardRules {
  readonly #deny = new Set<string>();

  /** `deny` rules are added to the reference's list, then `allow` rules are taken out of it. */
  constructor(deny: readonly ForwardRule[] = [], allow: readonly ForwardRule[] = []) {
    for (const r of [...DEFAULT_FORWARD_DENY, ...deny]) this.#deny.add(key(r.prog, r.proc));
    for (const r of allow) this.#deny.delete(key(r.prog, r.proc));
  }

  /** Whether a call to prog/proc must not be forwarded. */
  denies(prog: number, proc: number, insecure: boolean): boolean {
    // The portmapper's own remote-call procedures would forward to ourselves without end.
    if (prog === PMAP_PROG && (proc === PmapProc.CALLIT || proc === RpcbProc.INDIRECT)) return true;
    if (proc === 0) return false; // NULL is always allowed (pings, rpcinfo -b)
    if (prog === PMAP_PROG) return !insecure; // as the reference: only in insecure mode
    return this.#deny.has(key(prog)) || this.#deny.has(key(prog, proc));
  }
}

export const DEFAULT_FORWARD_RULES = new ForwardRules();
