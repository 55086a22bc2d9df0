#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=192 --always-sparkplug --no-lazy-feedback-allocation
// Launcher for the rpcbind daemon: the one-file bundle of src/cli/rpcbind-main.ts (scripts/bundle.mjs).
// CommonJS (bin/package.json), as is the bundle: node starts a CommonJS entry point faster.
// --always-sparkplug, --no-lazy-feedback-allocation: most of the daemon's paths run a few times
// an hour (a registration, a remote call), never often enough for V8 to leave its interpreter;
// with these a function gets baseline machine code and inline caches from its first calls.
// A forwarded CALLIT's dispatch, 3rd-8th call in a fresh process: 60-400 µs -> 20-60 µs;
// LTP's tirpc_rpc_broadcast_exp, which waits 3 ms: BENCHMARKS.md "Remote calls when cold".
'use strict';
const { main } = require('../dist/src/cli/rpcbind.bundle.cjs');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`rpcbind: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
