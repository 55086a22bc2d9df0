// Runs the compiled test suites: `unit` (no root, no namespaces, well under a minute) or `all`
// (unit first, then adversarial, interop and system, which need root and make their own
// namespaces). Run as root, the unit tests still run as an unprivileged user (nobody, through
// setpriv), so `npm test` keeps proving that they need no privilege.
//
//   node scripts/run-tests.mjs unit|all [extra node --test arguments]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [which = 'all', ...extra] = process.argv.slice(2);
if (which !== 'unit' && which !== 'all') {
  process.stderr.write('usage: node scripts/run-tests.mjs unit|all [node --test arguments]\n');
  process.exit(2);
}

/**
 * Every *.test.js under dist/test/<dir> whose source still exists (a moved or deleted test leaves
 * its old output in dist/ until the next clean build), in a stable order.
 */
function testFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.js') && existsSync(source(p))) out.push(p);
    }
  };
  walk(join(root, 'dist', 'test', dir));
  return out;
}

function source(compiled) {
  return join(root, relative(join(root, 'dist'), compiled)).replace(/\.js$/, '.ts');
}

function run(argv, files) {
  const r = spawnSync(argv[0], [...argv.slice(1), '--test', ...extra, ...files], { stdio: 'inherit', cwd: root });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const unprivileged =
  process.getuid?.() === 0
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', 'env', 'HOME=/tmp', process.execPath]
    : [process.execPath];

let status = run([...unprivileged, '--test-concurrency=2'], testFiles('unit'));
if (which === 'all') {
  const privileged = ['adversarial', 'interop', 'system'].flatMap(testFiles);
  status = run([process.execPath, '--test-concurrency=1'], privileged) || status;
}
process.exit(status);
