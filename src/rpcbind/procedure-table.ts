// A procedure of program 100000 is one declaration: its number, its RFC 1833 name, its access
// class, whether only local callers may make it, its codecs and its handler. The per-version
// tables the dispatcher indexes are built from the declarations once, and checked then.

import type { CallerContext, Procedure } from '../rpc/index.js';
import type { OperationClass } from './access-policy.js';

export interface RpcbProcedure<A, R> extends Procedure<CallerContext, A, R> {
  /** The procedure's number in its version (RFC 1833). */
  readonly num: number;
  /**
   * The RFC 1833 name without its prefix (GETADDR for RPCBPROC_GETADDR): the name in the call
   * log, the audit log and the metrics labels.
   */
  readonly name: string;
  /** What the access lists and hosts files call this kind of call. */
  readonly class: OperationClass;
  /** Refused (AUTH_TOOWEAK) to callers that are not local unless the daemon runs insecure (-i). */
  readonly localOnly: boolean;
}

// Declarations of one version have different argument and result types; the table erases them
// (method parameters are bivariant, so any RpcbProcedure<A, R> fits).
export type AnyRpcbProcedure = RpcbProcedure<unknown, unknown>;

/** A declaration, typed so that the handler's argument and result types follow from its codecs. */
export function procedure<A, R>(d: RpcbProcedure<A, R>): RpcbProcedure<A, R> {
  return d;
}

/**
 * The table of one version, indexed by procedure number (what the dispatcher looks a call up
 * in). Throws when two declarations share a number or a name, or when a number is missing
 * below the highest one and is not one of the deliberate `gaps` (RFC 1833 has none).
 */
export function procedureTable(
  vers: number,
  decls: readonly AnyRpcbProcedure[],
  gaps: readonly number[] = [],
): ReadonlyArray<AnyRpcbProcedure | undefined> {
  const where = `program 100000 version ${vers}`;
  const byNum = new Map<number, AnyRpcbProcedure>();
  const names = new Set<string>();
  for (const d of decls) {
    if (!Number.isInteger(d.num) || d.num < 0) throw new Error(`${where}: ${d.name} has number ${d.num}`);
    const other = byNum.get(d.num);
    if (other) throw new Error(`${where}: ${other.name} and ${d.name} are both procedure ${d.num}`);
    if (names.has(d.name)) throw new Error(`${where}: two procedures are named ${d.name}`);
    byNum.set(d.num, d);
    names.add(d.name);
  }
  const size = Math.max(-1, ...byNum.keys()) + 1;
  const table: Array<AnyRpcbProcedure | undefined> = [];
  for (let num = 0; num < size; num++) {
    const d = byNum.get(num);
    if (d && gaps.includes(num)) throw new Error(`${where}: procedure ${num} is declared and listed as a gap`);
    if (!d && !gaps.includes(num))
      throw new Error(`${where}: no procedure ${num} (list it as a gap if the RFC leaves one)`);
    table.push(d);
  }
  return table;
}
