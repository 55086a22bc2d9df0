// A stand-in for the service manager's notify socket, run as its own process inside a
// TestHost: binds a unix datagram socket at argv[2] and prints each message (one JSON string
// per line) until it has read argv[3] messages. Blocking reads are fine: nothing else runs here.
import { createRequire } from 'node:module';
import { unlinkSync } from 'node:fs';

type Fn = (...a: unknown[]) => number;
const require = createRequire(import.meta.url);
const koffi = require('koffi') as { load(n: string): { func(sig: string): Fn } };
const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int, int, int)');
const bind = libc.func('int bind(int, const void *, uint32_t)');
const recv = libc.func('intptr_t recv(int, _Out_ uint8_t *buf, size_t, int)');

const path = process.argv[2]!;
const want = Number(process.argv[3] ?? '1');
try {
  unlinkSync(path);
} catch {
  // not there
}
const fd = socket(1, 2, 0);
const sa = Buffer.alloc(2 + Buffer.byteLength(path) + 1);
sa.writeUInt16LE(1, 0);
sa.write(path, 2);
if (fd < 0 || bind(fd, sa, sa.length) !== 0) {
  process.stderr.write('cannot bind notify socket\n');
  process.exit(1);
}
process.stdout.write('"listening"\n');
for (let i = 0; i < want; i++) {
  const buf = Buffer.alloc(4096);
  const n = Number(recv(fd, buf, buf.length, 0));
  if (n < 0) process.exit(1);
  process.stdout.write(`${JSON.stringify(buf.subarray(0, n).toString())}\n`);
}
