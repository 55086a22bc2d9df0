// Shared by the start-up benchmarks: the conditions printed next to every figure (Node
// version, CPU, load, date) and the wait for a freshly started daemon's first answer.
import { cpus, loadavg } from 'node:os';
import { RpcbProc } from '../src/proto/index.js';
import type { TestHost } from '../test/helpers/netns.js';
import { RpcbClient, hostPath } from '../test/helpers/rpcb-client.js';

export function benchConditions(): Record<string, string | number> {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg1: Number(loadavg()[0]!.toFixed(2)),
    date: new Date().toISOString(),
  };
}

/**
 * Polls the host's local socket with NULL calls every 5 ms until one is answered (bounded:
 * 2,000 tries, about 10 s); returns the connected client, or undefined when none answered.
 */
export async function firstAnswer(host: TestHost): Promise<RpcbClient | undefined> {
  for (let i = 0; i < 2000; i++) {
    let c: RpcbClient | undefined;
    try {
      c = await RpcbClient.open(hostPath(host.holderPid, '/run/rpcbind.sock'));
      await c.call(3, RpcbProc.NULL);
      return c;
    } catch {
      c?.close();
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return undefined;
}
