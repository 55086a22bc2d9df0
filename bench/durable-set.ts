// Durable SET throughput: 1, 8 and 64 registrants, each on its own local-socket connection,
// issuing v3 SETs one after another (each reply waits for the fsynced write) for a fixed time.
// Runs our daemon in a private namespace. Usage: node dist/bench/durable-set.js [--state-dir D]
// (default: the daemon's default, /run/rpcbind-ts on the namespace's tmpfs).

import { parseArgs } from 'node:util';
import { MAX_REGISTRATIONS } from '../src/limits.js';
import { daemons } from '../test/helpers/daemons.js';
import { TestHost, waitFor } from '../test/helpers/netns.js';
import { RpcbClient, hostPath } from '../test/helpers/rpcb-client.js';
import { benchConditions } from './bench-env.js';

const { values } = parseArgs({ options: { 'state-dir': { type: 'string' }, seconds: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 3);
const REGISTRANTS = [1, 8, 64];
const SETS_PER_PHASE = Math.floor(MAX_REGISTRATIONS / 4);
const ours = daemons.find((d) => d.name === 'ours')!;

const host = await TestHost.create();
try {
  const extra = values['state-dir'] ? ['--state-dir', values['state-dir']] : [];
  const child = host.spawn(ours.command, [...ours.args, ...extra]);
  let output = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const open = () => RpcbClient.open(hostPath(host.holderPid, '/run/rpcbind.sock'));
  await waitFor(
    async () => {
      (await open()).close();
      return true;
    },
    { timeoutMs: 10_000, what: 'daemon' },
  );
  const results: Array<{ registrants: number; sets: number; setsPerSecond: number }> = [];
  let prog = 0x32000000;
  for (const n of REGISTRANTS) {
    const conns = await Promise.all(Array.from({ length: n }, open));
    const deadline = Date.now() + SECONDS * 1000;
    let sets = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      conns.map(async (c, w) => {
        // Bounded: by time, and by a count per phase so that the table (three phases) stays
        // below its cap of MAX_REGISTRATIONS.
        for (let _i = 0; sets < SETS_PER_PHASE && Date.now() < deadline; _i++) {
          const ok = await c.set({ prog: prog++, vers: 1, netid: 'udp', addr: `198.51.100.${w % 250}.4.1`, owner: '' });
          if (!ok) throw new Error('SET refused');
          sets++;
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const c of conns) c.close();
    results.push({ registrants: n, sets, setsPerSecond: Math.round(sets / secs) });
  }
  if (/state-not-durable/.test(output)) throw new Error(`the daemon could not write its state: ${output}`);
  const report = {
    bench: 'durable-set',
    stateDir: values['state-dir'] ?? '/run/rpcbind-ts (tmpfs)',
    seconds: SECONDS,
    ...benchConditions(),
    results,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await host.stop(child);
} finally {
  await host.dispose();
}
