#!/usr/bin/env node
// Launcher for rpcinfo (src/cli/rpcinfo-main.ts). CommonJS like bin/rpcbind.js (bin/package.json).
'use strict';
import('../dist/src/cli/rpcinfo-main.js').then(({ main }) => main());
