// Runs inside a TestHost (possibly as another user): applies the SET/UNSET calls given as JSON
// in argv[2] over /run/rpcbind.sock and prints their boolean results as JSON.
import type { Rpcb } from '../../src/proto/index.js';
import { RpcbClient } from './rpcb-client.js';

export type Op = { op: 'set' | 'unset'; vers: 3 | 4; rpcb: Rpcb };

const ops = JSON.parse(process.argv[2] ?? '[]') as Op[];
const c = await RpcbClient.open('/run/rpcbind.sock');
const results: boolean[] = [];
for (const o of ops) results.push(o.op === 'set' ? await c.set(o.rpcb, o.vers) : await c.unset(o.rpcb, o.vers));
c.close();
process.stdout.write(`${JSON.stringify(results)}\n`);
