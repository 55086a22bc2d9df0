// Measures when a starting daemon first answers: sends a v2 GETPORT for PROG over UDP to
// 127.0.0.1:111 every millisecond until a reply with a non-zero port (or, for PROG 100000's
// own entry, any port) arrives, then prints that moment as epoch milliseconds (sub-ms).
//
// Usage (inside the namespace, started before the daemon): node dist/bench/first-answer.js PROG

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { findWorkload } from './workloads.js';

const TIMEOUT_MS = 30_000;
const prog = Number(process.argv[2] ?? '100000');
const msg = findWorkload('getport2-udp').messages(prog)[0]!;
const sock = dgram.createSocket('udp4');
sock.on('error', () => {}); // ECONNREFUSED while nothing listens yet
sock.on('message', (reply) => {
  // accepted SUCCESS with AUTH_NONE verifier: the port is at offset 24.
  if (reply.length >= 28 && reply.readUInt32BE(20) === 0 && reply.readUInt32BE(24) !== 0) {
    process.stdout.write(`${JSON.stringify({ at: performance.timeOrigin + performance.now() })}\n`);
    process.exit(0);
  }
});
sock.bind(0, '127.0.0.1', () => {
  process.stdout.write('polling\n');
  const timer = setInterval(() => sock.send(msg, 111, '127.0.0.1'), 1);
  setTimeout(() => {
    clearInterval(timer);
    process.stderr.write(`first-answer: no answer within ${TIMEOUT_MS} ms\n`);
    process.exit(1);
  }, TIMEOUT_MS);
});
