// Bundles the daemon into one CommonJS file, dist/src/cli/rpcbind.bundle.cjs, which
// bin/rpcbind.js loads, and rpcinfo into dist/src/cli/rpcinfo.bundle.cjs for bin/rpcinfo.js: one
// file to read and compile instead of ~100 ES modules to resolve, stat, link and compile one by one (bench: first answer after start). Run after tsc: the
// input is tsc's output, so the bundle holds exactly the code the unit tests ran.
//
// Packages from node_modules stay outside (koffi is native; pino, sonic-boom and prom-client
// are loaded lazily through createRequire). The bundle sits beside rpcbind-main.js so that the
// import.meta.url-relative paths in the sources (package.json, bin/rpcbind.js) still resolve.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  // Debian 12's nodejs is 18.20 (the Debian package depends on it): nothing newer is assumed.
  target: 'node18',
  packages: 'external',
  // CommonJS has no import.meta: give the bundle its own URL. The banner goes before esbuild's
  // own "use strict", which would then no longer be a directive: the sources are strict ESM.
  define: { 'import.meta.url': 'import_meta_url' },
  banner: { js: "'use strict';\nconst import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: 'linked',
  logLevel: 'warning',
};

// The daemon, and rpcinfo (one file each, as the Debian package ships them).
await build({ ...common, entryPoints: ['dist/src/cli/rpcbind-main.js'], outfile: 'dist/src/cli/rpcbind.bundle.cjs' });
await build({ ...common, entryPoints: ['dist/src/cli/rpcinfo-main.js'], outfile: 'dist/src/cli/rpcinfo.bundle.cjs' });
