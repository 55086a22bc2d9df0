#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=192
// Launcher for the rpcbind daemon: the one-file bundle of src/cli/rpcbind-main.ts (scripts/bundle.mjs).
// CommonJS (bin/package.json), as is the bundle: node starts a CommonJS entry point faster.
'use strict';
const { main } = require('../dist/src/cli/rpcbind.bundle.cjs');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`rpcbind: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
