// Joins two TestHosts by a veth pair, so one can play remote hosts for the other: packets
// between them cross a real link (a second address of the daemon's own namespace would be a
// local caller instead). Both ends live in the hosts' namespaces and go away with them.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { waitFor, type TestHost } from './netns.js';

/** Links `a` and `b`; `aAddrs`/`bAddrs` are CIDRs (IPv6 ones are usable at once: nodad). */
export async function joinByVeth(
  a: TestHost,
  b: TestHost,
  aAddrs: readonly string[],
  bAddrs: readonly string[],
): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const [ia, ib] = [`va${tag}`, `vb${tag}`];
  const add = spawnSync(
    'ip',
    ['link', 'add', ia, 'netns', a.name, 'type', 'veth', 'peer', 'name', ib, 'netns', b.name],
    { encoding: 'utf8' },
  );
  if (add.status !== 0) throw new Error(`ip link add veth: ${add.stderr || add.error?.message}`);
  for (const [host, dev, addrs] of [
    [a, ia, aAddrs],
    [b, ib, bAddrs],
  ] as const) {
    for (const cidr of addrs) {
      const r = await host.run('ip', ['addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
      if (r.code !== 0) throw new Error(`ip addr add ${cidr}: ${r.stderr}`);
    }
    const up = await host.run('ip', ['link', 'set', dev, 'up']);
    if (up.code !== 0) throw new Error(`ip link set ${dev} up: ${up.stderr}`);
  }
  await waitFor(
    async () => {
      const r = await a.run('ip', ['-br', 'link', 'show', ia]);
      return r.stdout.includes(' UP ');
    },
    { what: `veth ${ia} up` },
  );
}
