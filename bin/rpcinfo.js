#!/usr/bin/env node
// Launcher for rpcinfo: the one-file bundle of src/cli/rpcinfo-main.ts (scripts/bundle.mjs).
// CommonJS like bin/rpcbind.js (bin/package.json).
'use strict';
require('../dist/src/cli/rpcinfo.bundle.cjs').main();
