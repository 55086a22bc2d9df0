// Restart time: a saved table of 10k and 100k registrations, then the time from spawning our
// daemon to its first answer (a NULL call on the local socket), and to a GETPORT that finds the
// last restored entry. Runs in a private namespace. Usage: node dist/bench/restart-time.js
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { encodeSnapshot } from '../src/daemon/persistence/snapshot-format.js';
import { JOURNAL_FILE_NAME, STATE_FILE_NAME } from '../src/daemon/persistence/state-store.js';
import { PmapProc, encodeMapping } from '../src/proto/index.js';
import type { Registration } from '../src/rpcbind/index.js';
import { daemons } from '../test/helpers/daemons.js';
import { TestHost } from '../test/helpers/netns.js';
import { hostPath } from '../test/helpers/rpcb-client.js';
import { benchConditions, firstAnswer } from './bench-env.js';

const SIZES = [0, 10_000, 100_000];
const RUNS = 3;
const ours = daemons.find((d) => d.name === 'ours')!;

function table(n: number): Registration[] {
  const out: Registration[] = [];
  // Remote addresses: the background liveness check does not probe them.
  for (let i = 0; i < n; i++)
    out.push({
      prog: 0x33000000 + i,
      vers: 1,
      netid: i % 2 ? 'tcp' : 'udp',
      addr: `198.51.100.${i % 250}.8.1`,
      owner: 'superuser',
    });
  return out;
}

const host = await TestHost.create();
try {
  const results: Array<{ registrations: number; firstAnswerMs: number[]; restoredLookupMs: number[] }> = [];
  for (const n of SIZES) {
    const dir = hostPath(host.holderPid, '/run/rpcbind-ts');
    mkdirSync(dir, { recursive: true });
    const bytes = encodeSnapshot(table(n), 1);
    const row = { registrations: n, firstAnswerMs: [] as number[], restoredLookupMs: [] as number[] };
    for (let run = 0; run < RUNS; run++) {
      writeFileSync(`${dir}/${STATE_FILE_NAME}`, bytes);
      rmSync(`${dir}/${JOURNAL_FILE_NAME}`, { force: true });
      const t0 = performance.now();
      const child = host.spawn(ours.command, [...ours.args]);
      let output = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
      const c = await firstAnswer(host);
      if (!c) throw new Error(`no answer: ${output}`);
      row.firstAnswerMs.push(Math.round(performance.now() - t0));
      if (n > 0) {
        const last = table(n)[n - 1]!;
        // v2 GETPORT of the last restored entry (tcp, port 2049).
        const res = await c.call(2, PmapProc.GETPORT, (w) =>
          encodeMapping(w, { prog: last.prog, vers: 1, prot: 6, port: 0 }),
        );
        const port = res.uint32();
        if (port !== 2049) throw new Error(`restored entry not found: port ${port}`);
        row.restoredLookupMs.push(Math.round(performance.now() - t0));
      }
      c.close();
      await host.stop(child, { signal: 'SIGKILL' });
    }
    results.push(row);
  }
  process.stdout.write(
    `${JSON.stringify({ bench: 'restart-time', runs: RUNS, ...benchConditions(), results }, null, 2)}\n`,
  );
} finally {
  await host.dispose();
}
