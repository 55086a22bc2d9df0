// Small building blocks for procedure declarations: void and scalar codecs, NULL, and the
// durability steps that SET and UNSET share.

import { XdrWriter } from '../xdr/index.js';
import { MAX_REPLY_BYTES } from '../limits.js';
import type { CallerContext } from '../rpc/index.js';
import type { BindingState } from './binding-state.js';
import type { RegistrationEvent } from './security-events.js';
import { procedure, type RpcbProcedure } from './procedure-table.js';

export const decodeVoid = (): undefined => undefined;
const encodeVoid = (): void => {};
export const encodeBool = (w: XdrWriter, v: boolean): void => {
  w.bool(v);
};
export const encodeUint = (w: XdrWriter, v: number): void => {
  w.uint32(v);
};
export const encodeString = (w: XdrWriter, v: string): void => {
  w.string(v);
};

/** Procedure 0 of every version (RFC 5531: it does no work and answers nothing). */
export function nullProcedure(): RpcbProcedure<undefined, undefined> {
  return procedure({
    num: 0,
    name: 'NULL',
    class: 'query',
    localOnly: false,
    decode: decodeVoid,
    encode: encodeVoid,
    handle: () => undefined,
  });
}

/**
 * Whether SET/UNSET may change the table now. False while the daemon cannot save changes: the
 * call is then answered FALSE and counted as refused.
 */
export function mayChange(state: BindingState): boolean {
  const j = state.journal;
  if (!j || j.accepting()) return true;
  j.refused();
  return false;
}

/** What a SET or UNSET did to the table: whether it `changed` it, and its answer (`ok`) if saved. */
export interface ChangeOutcome {
  readonly changed: boolean;
  readonly ok: boolean;
}

/**
 * The answer to a SET or UNSET once its change (if it changed the table) is saved: `ok`, or
 * FALSE when it could not be saved (the change has then been undone). `done` is told the final
 * answer and whether saving failed (statistics and audit count what the caller was told).
 */
export function afterChange(
  state: BindingState,
  { changed, ok }: ChangeOutcome,
  done: (answer: boolean, unsaved: boolean) => void,
): boolean | Promise<boolean> {
  const j = state.journal;
  if (!changed || !j) {
    done(ok, false);
    return ok;
  }
  return j.persist().then((saved) => {
    if (!saved) j.refused();
    done(ok && saved, !saved);
    return ok && saved;
  });
}

/** The audit result of a SET or UNSET that could not be saved. */
export const NOT_SAVED = 'not-saved';

/**
 * The end of every SET and UNSET (v2, v3, v4): the audit event with its result ('ok', or why
 * not) and the version's counter. Returns the answer, for the caller to reply with.
 */
export function registrationDone(
  state: BindingState,
  ctx: CallerContext,
  vers: number,
  event: Omit<RegistrationEvent, 'result'>,
  answer: boolean,
  why: string,
): boolean {
  state.security?.registration(ctx, { ...event, result: answer ? 'ok' : why });
  if (event.op === 'SET') state.stats.setDone(vers, answer);
  else state.stats.unsetDone(vers, answer);
  return answer;
}

/** What `cachedEncoding` needs of the registry. */
export interface EncodedTable {
  readonly generation: number;
  atNextChange(fn: () => void): void;
}

/**
 * The XDR encoding of a list derived from the registry, rebuilt only when the registry changes
 * (its generation moves): a DUMP of a large table is otherwise re-encoded on every call
 * (bench/run.ts dump4-tcp). Dropped as soon as the table changes, so a stale one does not stay
 * resident until the next DUMP. Written into replies with `encodeCached`.
 */
export function cachedEncoding(
  encode: (w: XdrWriter) => void,
  table: EncodedTable,
  /** At least the bytes `encode` writes (its exact size is best: nothing is grown or copied). */
  sizeHint: () => number,
): () => Buffer {
  const EMPTY = Buffer.alloc(0);
  let gen = -1;
  let bytes: Buffer = EMPTY;
  const drop = (): void => {
    bytes = EMPTY;
    gen = -1;
  };
  return () => {
    const g = table.generation;
    if (g !== gen) {
      // One buffer of the right size: growing by doubling would allocate twice the result in
      // steps, garbage that only a GC returns (bench/memory-probe.ts dump4-tcp).
      const w = new XdrWriter(Math.max(64, sizeHint()), MAX_REPLY_BYTES);
      encode(w);
      const view = w.view();
      // Kept as written unless the writer's buffer is much larger than what it holds.
      bytes = view.buffer.byteLength - view.length > view.length >> 3 ? Buffer.from(view) : view;
      gen = g;
      table.atNextChange(drop);
    }
    return bytes;
  };
}

/** Puts an encoding made by `cachedEncoding` (a whole number of XDR units) in a reply, uncopied when large. */
export const encodeCached = (w: XdrWriter, bytes: Buffer): void => {
  w.shared(bytes);
};
