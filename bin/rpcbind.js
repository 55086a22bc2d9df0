#!/usr/bin/env -S node --max-semi-space-size=1
// Launcher for the rpcbind daemon (compiled from src/daemon/main.ts).
import { main } from '../dist/src/daemon/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`rpcbind: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
