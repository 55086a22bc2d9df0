// Prints the functions with the most self time in a .cpuprofile (node --cpu-prof).
// Usage: node dist/bench/profile-summary.js FILE [top] [stop-at-function]: with the last, only
// the samples before that function first runs count (e.g. reapDeadRegistrations: the start path).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile;
const top = Number(process.argv[3] ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const stopAt = process.argv[4];
let total = 0;
let stopped = false;
profile.samples.forEach((id, i) => {
  const node = byId.get(id)!;
  const f = node.callFrame;
  if (stopAt && f.functionName === stopAt) stopped = true;
  if (stopped) return;
  const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  self.set(name, (self.get(name) ?? 0) + dt);
});
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms\n`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${(us / 1000).toFixed(1).padStart(8)} ms  ${name}\n`);
}
