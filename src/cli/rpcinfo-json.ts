// --json output: one object per invocation, pretty-printed, with a "mode" discriminator.
// Schema (documented in README): see the JsonOutput type.

import type { Ctx } from './rpcinfo-context.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export function printJson(ctx: Ctx, v: { mode: string; [k: string]: JsonValue }): void {
  ctx.print(`${JSON.stringify(v, null, 2)}\n`);
}
