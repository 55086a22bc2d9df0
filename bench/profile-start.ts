// Writes a CPU profile of one daemon start with a saved table (default 100k registrations),
// from spawn to the first answer. Usage: node dist/bench/profile-start.js [entries] [out-dir]
// then open the .cpuprofile in Chrome DevTools or summarise it with dist/bench/profile-summary.js.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { encodeSnapshot } from '../src/daemon/persistence/snapshot-format.js';
import { JOURNAL_FILE_NAME, STATE_FILE_NAME } from '../src/daemon/persistence/state-store.js';
import type { Registration } from '../src/rpcbind/index.js';
import { daemons } from '../test/helpers/daemons.js';
import { TestHost } from '../test/helpers/netns.js';
import { hostPath } from '../test/helpers/rpcb-client.js';
import { firstAnswer } from './bench-env.js';

const n = Number(process.argv[2] ?? 100_000);
const outDir = process.argv[3] ?? '/tmp/rpcbind-ts-profile';
const ours = daemons.find((d) => d.name === 'ours')!;
const table: Registration[] = [];
for (let i = 0; i < n; i++)
  table.push({
    prog: 0x33000000 + i,
    vers: 1,
    netid: i % 2 ? 'tcp' : 'udp',
    addr: `198.51.100.${i % 250}.8.1`,
    owner: 'superuser',
  });

const host = await TestHost.create();
try {
  const dir = hostPath(host.holderPid, '/run/rpcbind-ts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${STATE_FILE_NAME}`, encodeSnapshot(table, 1));
  rmSync(`${dir}/${JOURNAL_FILE_NAME}`, { force: true });
  mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  const child = host.spawn(ours.command, ['--cpu-prof', `--cpu-prof-dir=${outDir}`, ...ours.args]);
  const c = await firstAnswer(host);
  process.stdout.write(`first answer after ${Math.round(performance.now() - t0)} ms; profile in ${outDir}\n`);
  c?.close();
  await host.stop(child);
} finally {
  await host.dispose();
}
