// Builds the Debian package: dist/deb/rpcbind-ts_<version>_<arch>.deb, with dpkg-deb, from the
// built tree (run `npm run build` first; `npm run deb` does both). No download: the runtime
// modules come from node_modules as npm installed them, koffi cut down to this architecture.
//
//   node scripts/build-deb.mjs [--version V] [--out DIR]
//
// The package replaces Debian's rpcbind (Provides/Conflicts/Replaces: rpcbind) under its unit
// names and command paths; see README "Installing on Debian" and deploy/debian/* for the
// maintainer scripts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: { version: { type: 'string' }, out: { type: 'string' } },
});
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = values.version ?? pkg.version;
const outDir = values.out ?? join(root, 'dist', 'deb');
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
// koffi's prebuilt native module for this architecture (build/koffi/<platform>_<arch>).
const KOFFI_ARCH = {
  amd64: 'linux_x64',
  arm64: 'linux_arm64',
  armhf: 'linux_armhf',
  i386: 'linux_ia32',
  riscv64: 'linux_riscv64d',
  loong64: 'linux_loong64',
};
const koffiDir = KOFFI_ARCH[arch];
if (!koffiDir) throw new Error(`build-deb: no koffi build for architecture ${arch}`);
// Debian 12 ships nodejs 18.20, Debian 13 20.19: the package runs on both (test/guest).
const NODE_MIN = '18.20';
// Reproducible: file times and the changelog date come from the last commit (or SOURCE_DATE_EPOCH).
const epoch = Number(
  process.env.SOURCE_DATE_EPOCH ??
    execFileSync('git', ['-C', root, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim(),
);

for (const f of ['dist/src/cli/rpcbind.bundle.cjs', 'dist/src/cli/rpcinfo.bundle.cjs']) {
  if (!existsSync(join(root, f))) throw new Error(`build-deb: ${f} is missing (run npm run build)`);
}

const stage = join(outDir, 'stage');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const at = (p) => join(stage, p);
const put = (p, data, mode = 0o644) => {
  mkdirSync(dirname(at(p)), { recursive: true });
  writeFileSync(at(p), data);
  chmodSync(at(p), mode);
};
const link = (p, target) => {
  mkdirSync(dirname(at(p)), { recursive: true });
  symlinkSync(target, at(p));
};

// /usr/lib/rpcbind-ts: the repository's layout, which the bundles' relative paths expect.
const LIB = 'usr/lib/rpcbind-ts';
put(
  `${LIB}/package.json`,
  `${JSON.stringify({ name: pkg.name, version, type: 'module', license: pkg.license, private: true }, null, 2)}\n`,
);
put(`${LIB}/bin/package.json`, readFileSync(join(root, 'bin/package.json')));
// The launchers run Debian's node, whatever else is on PATH.
const withNode = (file) => readFileSync(join(root, file), 'utf8').replace(/^#!.*\n/, '#!/usr/bin/node\n');
put(`${LIB}/bin/rpcbind.js`, withNode('bin/rpcbind.js'), 0o755);
put(`${LIB}/bin/rpcinfo.js`, withNode('bin/rpcinfo.js'), 0o755);
put(`${LIB}/dist/src/cli/rpcbind.bundle.cjs`, stripSourceMap('dist/src/cli/rpcbind.bundle.cjs'));
put(`${LIB}/dist/src/cli/rpcinfo.bundle.cjs`, stripSourceMap('dist/src/cli/rpcinfo.bundle.cjs'));
copyRuntimeModules();
const koffiNode = at(`${LIB}/node_modules/koffi/build/koffi/${koffiDir}/koffi.node`);
execFileSync('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', koffiNode]);
const nativeDepends = shlibDepends(koffiNode);

// Commands at the paths Debian's rpcbind uses. The daemon's node flags are bin/rpcbind.js's.
const launcherFlags = readFileSync(join(root, 'bin/rpcbind.js'), 'utf8')
  .split('\n')[0]
  .replace(/^#!.*?node\s*/, '');
put('usr/sbin/rpcbind', `#!/bin/sh\nexec /usr/bin/node ${launcherFlags} /${LIB}/bin/rpcbind.js "$@"\n`, 0o755);
link('usr/bin/rpcinfo', `../lib/rpcbind-ts/bin/rpcinfo.js`);
link('usr/sbin/rpcinfo', '../bin/rpcinfo');

// systemd units under Debian's names (and its portmap alias), the lock file's tmpfiles entry.
put('lib/systemd/system/rpcbind.service', readFileSync(join(root, 'deploy/rpcbind.service')));
put('lib/systemd/system/rpcbind.socket', readFileSync(join(root, 'deploy/rpcbind.socket')));
link('lib/systemd/system/portmap.service', 'rpcbind.service');
put('usr/lib/tmpfiles.d/rpcbind-ts.conf', readFileSync(join(root, 'deploy/rpcbind-ts.tmpfiles')));

// Manual pages as rpcbind(8) and rpcinfo(8): the commands' names in the package.
put('usr/share/man/man8/rpcbind.8.gz', gzipSync(manPage('man/rpcbind-ts.8'), { level: 9 }));
put('usr/share/man/man8/rpcinfo.8.gz', gzipSync(manPage('man/rpcinfo-ts.8'), { level: 9 }));

// Documentation: copyright (ours and the bundled modules'), changelog, an example configuration.
const DOC = 'usr/share/doc/rpcbind-ts';
put(`${DOC}/copyright`, copyright());
put(`${DOC}/changelog.gz`, gzipSync(changelog(), { level: 9 }));
put(`${DOC}/examples/rpcbind-ts.conf`, readFileSync(join(root, 'deploy/rpcbind-ts.conf.example')));
put('usr/share/lintian/overrides/rpcbind-ts', readFileSync(join(root, 'deploy/debian/lintian-overrides')));

// Control area.
const control = join(stage, 'DEBIAN');
mkdirSync(control);
for (const script of ['preinst', 'postinst', 'prerm', 'postrm']) {
  copyFileSync(join(root, 'deploy/debian', script), join(control, script));
  chmodSync(join(control, script), 0o755);
}
writeFileSync(join(control, 'md5sums'), md5sums());
const installedKiB = Math.ceil(duBytes(stage, ['DEBIAN']) / 1024);
writeFileSync(
  join(control, 'control'),
  [
    'Package: rpcbind-ts',
    `Version: ${version}`,
    `Architecture: ${arch}`,
    'Maintainer: rpcbind-ts maintainers <maintainers@users.noreply.github.com>',
    `Installed-Size: ${installedKiB}`,
    `Depends: nodejs (>= ${NODE_MIN}), adduser, init-system-helpers (>= 1.54~), ${nativeDepends}`,
    'Provides: rpcbind',
    'Conflicts: rpcbind',
    'Replaces: rpcbind',
    'Section: net',
    'Priority: optional',
    'Homepage: https://github.com/rpcbind-ts/rpcbind-ts',
    'Description: RPC port mapper (rpcbind, portmapper) in TypeScript for Node.js',
    ' rpcbind-ts is the ONC RPC binding service (RFC 1833: program 100000, versions',
    " 2, 3 and 4) and its rpcinfo client. It replaces Debian's rpcbind under the",
    ' same commands and systemd units, so NFS, NIS and other RPC services keep',
    ' working, and adds durable registrations, access control, rate limits, audit',
    ' logs and metrics.',
    '',
  ].join('\n'),
);

// Times and owners fixed, so the same tree gives the same package.
execFileSync('find', [stage, '-exec', 'touch', '-h', '-d', `@${epoch}`, '{}', '+']);
const debName = `rpcbind-ts_${version}_${arch}.deb`;
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, join(outDir, debName)], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
});
rmSync(stage, { recursive: true, force: true });
process.stdout.write(`${relative(process.cwd(), join(outDir, debName)) || debName}\n`);

function stripSourceMap(file) {
  return readFileSync(join(root, file), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
}

// The runtime dependencies as npm resolved them (npm ls --omit=dev), without what is not run:
// documentation, type declarations, sources, tests, and koffi's builds for other systems.
function copyRuntimeModules() {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const dirs = out.split('\n').filter((d) => d.startsWith(`${join(root, 'node_modules')}/`));
  for (const dir of dirs) {
    const rel = relative(root, dir);
    cpSync(dir, at(`${LIB}/${rel}`), {
      recursive: true,
      filter: (src) => keepModuleFile(relative(dir, src), rel),
    });
  }
}

function keepModuleFile(rel, moduleDir) {
  if (rel === '') return true;
  const parts = rel.split('/');
  const name = parts[parts.length - 1];
  if (parts[0] === 'node_modules') return false; // nested copies come from npm ls on their own
  if (/^(test|tests|benchmarks?|docs?|examples?|\.github|src|vendor)$/.test(parts[0])) return false;
  if (/\.(md|markdown|d\.ts|d\.cts|d\.mts|ts|map|yml|yaml)$/i.test(name)) return false;
  if (name.startsWith('.') || /\.(html|py)$/i.test(name)) return false;
  if (moduleDir.endsWith('node_modules/koffi')) {
    if (parts[0] === 'lib') return false; // C++ sources and generators
    if (parts[0] === 'build') return parts.length < 3 || parts[2] === koffiDir;
  }
  return true;
}

// The libraries koffi's native module needs, as dpkg-shlibdeps finds them (it wants a
// debian/control to run beside).
function shlibDepends(file) {
  const dir = join(outDir, 'shlibdeps');
  mkdirSync(join(dir, 'debian'), { recursive: true });
  writeFileSync(join(dir, 'debian', 'control'), 'Source: rpcbind-ts\n\nPackage: rpcbind-ts\nArchitecture: any\n');
  const out = execFileSync('dpkg-shlibdeps', ['-O', '-e', file], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  rmSync(dir, { recursive: true, force: true });
  const m = /^shlibs:Depends=(.*)$/m.exec(out);
  if (!m) throw new Error(`build-deb: dpkg-shlibdeps found no dependencies for ${file}`);
  return m[1];
}

function manPage(file) {
  return Buffer.from(
    readFileSync(join(root, file), 'utf8')
      .replace(/^\.TH RPCBIND-TS/m, '.TH RPCBIND')
      .replace(/^\.TH RPCINFO-TS/m, '.TH RPCINFO')
      .replace(/^rpcbind-ts \\-/m, 'rpcbind \\-')
      .replace(/^rpcinfo-ts \\-/m, 'rpcinfo \\-')
      .replace(/rpcbind-ts\.(service|socket)/g, 'rpcbind.$1')
      .replace(/rpcbind-ts\(8\)/g, 'rpcbind(8)')
      .replace(/rpcinfo-ts\(8\)/g, 'rpcinfo(8)')
      .replace(/^(\.B[RI]? )rpcbind-ts\b(?![.-])/gm, '$1rpcbind')
      .replace(/^(\.B[RI]? )rpcinfo-ts\b(?![.-])/gm, '$1rpcinfo'),
  );
}

function changelog() {
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
  return Buffer.from(
    `rpcbind-ts (${version}) unstable; urgency=medium\n\n` +
      '  * Built from the rpcbind-ts repository (see the git history for changes).\n\n' +
      ` -- rpcbind-ts maintainers <maintainers@users.noreply.github.com>  ${date}\n`,
  );
}

function copyright() {
  const modules = readdirSync(at(`${LIB}/node_modules`))
    .flatMap((d) => (d.startsWith('@') ? readdirSync(at(`${LIB}/node_modules/${d}`)).map((s) => `${d}/${s}`) : [d]))
    .sort()
    .map((m) => {
      const p = JSON.parse(readFileSync(at(`${LIB}/node_modules/${m}/package.json`), 'utf8'));
      const who = typeof p.author === 'string' ? p.author : (p.author?.name ?? `the ${m} authors`);
      return `Files: usr/lib/rpcbind-ts/node_modules/${m}/*\nCopyright: ${who}\nLicense: ${p.license}\n`;
    });
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: rpcbind-ts',
    '',
    'Files: *',
    'Copyright: 2025-2026 rpcbind-ts maintainers',
    'License: BSD-3-Clause',
    '',
    ...modules,
    'License: BSD-3-Clause',
    ' Redistribution and use in source and binary forms, with or without modification, are',
    ' permitted provided that the following conditions are met:',
    ' 1. Redistributions of source code must retain the above copyright notice, this list of',
    '    conditions and the following disclaimer.',
    ' 2. Redistributions in binary form must reproduce the above copyright notice, this list of',
    '    conditions and the following disclaimer in the documentation and/or other materials',
    '    provided with the distribution.',
    ' 3. Neither the name of the copyright holder nor the names of its contributors may be used',
    '    to endorse or promote products derived from this software without specific prior',
    '    written permission.',
    ' .',
    ' THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS',
    ' OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF',
    ' MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE',
    ' COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,',
    ' EXEMPLARY, OR CONSEQUENTIAL DAMAGES ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE,',
    ' EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.',
    '',
    'License: MIT',
    ' Permission is hereby granted, free of charge, to any person obtaining a copy of this',
    ' software and associated documentation files (the "Software"), to deal in the Software',
    ' without restriction, including without limitation the rights to use, copy, modify, merge,',
    ' publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons',
    ' to whom the Software is furnished to do so, subject to the following conditions:',
    ' .',
    ' The above copyright notice and this permission notice shall be included in all copies or',
    ' substantial portions of the Software.',
    ' .',
    ' THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,',
    ' INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR',
    ' PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE',
    ' FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR',
    ' OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER',
    ' DEALINGS IN THE SOFTWARE.',
    '',
    'License: Apache-2.0',
    ' On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.',
    '',
    'License: ISC',
    ' Permission to use, copy, modify, and/or distribute this software for any purpose with or',
    ' without fee is hereby granted, provided that the above copyright notice and this',
    ' permission notice appear in all copies.',
    ' .',
    ' THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO',
    ' THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT',
    ' SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR',
    ' ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF',
    ' CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE',
    ' OR PERFORMANCE OF THIS SOFTWARE.',
    '',
  ].join('\n');
}

function md5sums() {
  const lines = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile())
        lines.push(`${createHash('md5').update(readFileSync(p)).digest('hex')}  ${relative(stage, p)}`);
    }
  };
  for (const top of readdirSync(stage).sort()) if (top !== 'DEBIAN') walk(join(stage, top));
  return `${lines.join('\n')}\n`;
}

function duBytes(dir, skip) {
  let total = 0;
  for (const e of readdirSync(dir)) {
    if (skip.includes(e)) continue;
    const p = join(dir, e);
    const st = lstatSync(p);
    total += st.isDirectory() ? duBytes(p, []) : st.size;
  }
  return total;
}
