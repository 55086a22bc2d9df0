// An in-memory binding service (registry, stats, dispatcher) for unit tests: no sockets.

import { Dispatcher, replyBytes } from '../../src/rpc/index.js';
import {
  Registry,
  RpcbStats,
  createRpcbindProgram,
  selfRegistrations,
  type BindingState,
} from '../../src/rpcbind/index.js';
import type { CallerContext } from '../../src/rpc/index.js';

export interface TestBinding {
  state: BindingState;
  /** Dispatches synchronously; fails if the handler went asynchronous. */
  call(ctx: CallerContext, msg: Buffer, maxReply?: number): Buffer | undefined;
  callAsync(ctx: CallerContext, msg: Buffer, maxReply?: number): Promise<Buffer | undefined>;
}

export function newBinding(over: Partial<BindingState> = {}, withSelf = true): TestBinding {
  const state: BindingState = {
    registry: new Registry(),
    stats: new RpcbStats(),
    policy: { insecure: false },
    now: () => 1_700_000_000,
    ...over,
  };
  if (withSelf) {
    for (const r of selfRegistrations({ port: 111, socketPath: '/run/rpcbind.sock', ipv4: true, ipv6: true })) {
      state.registry.restore(r);
    }
  }
  const d = new Dispatcher<CallerContext>();
  d.addProgram(createRpcbindProgram(state));
  return {
    state,
    call(ctx, msg, maxReply = 1 << 20) {
      const r = d.dispatch(msg, ctx, maxReply);
      if (r instanceof Promise) throw new Error('handler went asynchronous');
      return replyBytes(r);
    },
    async callAsync(ctx, msg, maxReply = 1 << 20) {
      return replyBytes(await d.dispatch(msg, ctx, maxReply));
    },
  };
}
