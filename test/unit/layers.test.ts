// The layering, kept by a test: every import in src/ (static, re-export, dynamic import() and
// require()) is read with the TypeScript compiler's pre-processor and checked against the
// arrows the design allows (DEVELOPERS.md, docs/architecture.md):
//   xdr, net, limits -> rpc -> proto -> core (rpcbind/) -> transport/daemon -> cli;
//   the client beside the daemon, sharing xdr/rpc/proto/net only; os/ (FFI) under transport.
// A new file is checked without any change here; a new folder fails until it is given a place.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { sourceFiles } from '../helpers/source-files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = join(ROOT, 'src');

type Part = 'xdr' | 'net' | 'limits' | 'rpc' | 'proto' | 'rpcbind' | 'os' | 'transport' | 'daemon' | 'client' | 'cli';

/** Which parts each part may import (besides itself). */
const ALLOWED: Readonly<Record<Part, readonly Part[]>> = {
  xdr: [],
  net: [],
  limits: [],
  rpc: ['xdr', 'net', 'limits'],
  proto: ['xdr', 'rpc', 'net', 'limits'],
  rpcbind: ['xdr', 'rpc', 'proto', 'net', 'limits'],
  os: ['net', 'limits'],
  transport: ['xdr', 'rpc', 'net', 'os', 'limits'],
  daemon: ['xdr', 'rpc', 'proto', 'rpcbind', 'net', 'os', 'transport', 'limits'],
  client: ['xdr', 'rpc', 'proto', 'net', 'limits'],
  cli: ['xdr', 'rpc', 'proto', 'rpcbind', 'net', 'limits', 'client', 'daemon', 'os'],
};

/** Node built-ins and packages each part may import; anything else is refused. */
const PURE = ['node:net']; // isIP and friends: text checks, no sockets
const EXTERNAL: Readonly<Record<Part, readonly string[]>> = {
  xdr: [],
  net: PURE,
  limits: [],
  rpc: PURE,
  proto: PURE,
  rpcbind: PURE,
  os: ['koffi', 'node:module', 'node:fs', 'node:net', 'node:os', 'node:path'],
  transport: ['node:dgram', 'node:dns', 'node:fs', 'node:net', 'node:path', 'node:events'],
  daemon: [
    'node:child_process',
    'node:crypto',
    'node:dgram',
    'node:fs',
    'node:fs/promises',
    'node:http',
    'node:module',
    'node:net',
    'node:os',
    'node:path',
    'node:timers/promises',
    'node:url',
    'node:util',
    'node:events',
    'pino',
    'prom-client',
    'sonic-boom',
  ],
  client: ['node:crypto', 'node:dgram', 'node:dns/promises', 'node:net', 'node:os', 'node:events'],
  cli: [
    'node:child_process',
    'node:dns/promises',
    'node:fs',
    'node:net',
    'node:path',
    'node:process',
    'node:url',
    'node:util',
  ],
};

const PARTS = Object.keys(ALLOWED) as Part[];

function partOf(file: string): Part | undefined {
  const rel = relative(SRC, file).split(sep);
  const head = rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
  return (PARTS as string[]).includes(head) ? (head as Part) : undefined;
}

interface Import {
  readonly from: string;
  readonly spec: string;
  readonly line: number;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const found = info.importedFiles.map((f) => ({
    from: file,
    spec: f.fileName,
    line: text.slice(0, f.pos).split('\n').length,
  }));
  // createRequire(...)('x') and require('x') calls: the pre-processor sees only import().
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    for (const m of l.matchAll(/\brequire\(\s*'([^']+)'\s*\)/g)) found.push({ from: file, spec: m[1]!, line: i + 1 });
  });
  return found;
}

const FILES = sourceFiles(SRC);
const IMPORTS = FILES.flatMap(importsOf);

function where(i: Import): string {
  return `${relative(ROOT, i.from)}:${i.line} imports '${i.spec}'`;
}

/** The imports whose arrow the layering forbids, as readable lines. */
function wrongArrows(imports: readonly Import[]): string[] {
  const bad: string[] = [];
  for (const i of imports) {
    if (!i.spec.startsWith('.')) continue;
    const from = partOf(i.from)!;
    const target = resolve(dirname(i.from), i.spec).replace(/\.js$/, '.ts');
    const to = partOf(target);
    if (to === undefined) bad.push(`${where(i)}: outside src/ or unknown part`);
    else if (to !== from && !ALLOWED[from].includes(to)) bad.push(`${where(i)}: ${from} -> ${to} is not allowed`);
  }
  return bad;
}

/** Import cycles between files of src/ (type-only imports count: they tie the files together too). */
function cycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const i of imports) {
    if (!i.spec.startsWith('.')) continue;
    const to = resolve(dirname(i.from), i.spec).replace(/\.js$/, '.ts');
    edges.set(i.from, [...(edges.get(i.from) ?? []), to]);
  }
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of edges.get(f) ?? []) {
      if (state.get(to) === 'open') found.push(stack.slice(stack.indexOf(to)).map((x) => relative(SRC, x)));
      else if (state.get(to) === undefined) visit(to);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of edges.keys()) if (state.get(f) === undefined) visit(f);
  return found;
}

describe('layers', () => {
  it('reads a plausible number of files and imports (the scan is not empty)', () => {
    assert.ok(FILES.length > 100, `only ${FILES.length} files under src/`);
    assert.ok(IMPORTS.length > 300, `only ${IMPORTS.length} imports`);
  });

  it('every file of src/ belongs to a known part', () => {
    const lost = FILES.filter((f) => partOf(f) === undefined).map((f) => relative(ROOT, f));
    assert.deepEqual(lost, [], 'give the new folder a place in ALLOWED');
  });

  it('no import crosses the layers the wrong way', () => {
    assert.deepEqual(wrongArrows(IMPORTS), []);
  });

  it('each part imports only the built-ins and packages it is meant to', () => {
    const bad: string[] = [];
    for (const i of IMPORTS) {
      if (i.spec.startsWith('.')) continue;
      const from = partOf(i.from)!;
      if (!EXTERNAL[from].includes(i.spec)) bad.push(`${where(i)}: not allowed in ${from}`);
    }
    assert.deepEqual(bad, []);
  });

  it('the native FFI library is loaded in one place only (os/load-koffi.ts)', () => {
    const mentions = FILES.filter((f) => /['"]koffi(\/[^'"]*)?['"]/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(
      mentions.map((f) => relative(SRC, f)),
      [join('os', 'load-koffi.ts')],
    );
  });

  it('only os/ reaches the FFI loader; the other parts call libc through the one table (os/libc.ts)', () => {
    const loader = join(SRC, 'os', 'load-koffi.ts');
    const outside = IMPORTS.filter(
      (i) =>
        i.spec.startsWith('.') &&
        resolve(dirname(i.from), i.spec).replace(/\.js$/, '.ts') === loader &&
        partOf(i.from) !== 'os',
    );
    assert.deepEqual(outside.map(where), []);
    // A C prototype handed to koffi's func() anywhere but the table is a second declaration.
    const declaring = FILES.filter((f) => /\bfunc\(\s*'[^']*\(/.test(readFileSync(f, 'utf8'))).map((f) =>
      relative(SRC, f),
    );
    assert.deepEqual(declaring, [join('os', 'libc.ts')]);
  });

  it('the check itself refuses forbidden arrows (client -> core, core -> transport, xdr -> rpc)', () => {
    const fake = (from: string, spec: string): Import => ({ from: join(SRC, from), spec, line: 1 });
    const bad = wrongArrows([
      fake('client/x.ts', '../rpcbind/registry.js'),
      fake('rpcbind/x.ts', '../transport/udp-service.js'),
      fake('xdr/x.ts', '../rpc/index.js'),
      fake('client/y.ts', '../proto/index.js'),
    ]);
    assert.equal(bad.length, 3, bad.join('\n'));
    assert.match(bad[0]!, /client -> rpcbind is not allowed/);
  });
  it('no two files of src/ import each other, directly or around a circle', () => {
    assert.deepEqual(cycles(IMPORTS), []);
    const fake = (from: string, spec: string): Import => ({ from: join(SRC, from), spec, line: 1 });
    assert.equal(
      cycles([fake('a/x.ts', './y.js'), fake('a/y.ts', '../b/z.js'), fake('b/z.ts', '../a/x.js')]).length,
      1,
    );
  });
});
