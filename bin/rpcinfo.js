#!/usr/bin/env node
import { main } from '../dist/src/cli/rpcinfo-main.js';
await main();
