// A UDP service that never answers (run inside a TestHost): binds 127.0.0.1 on an ephemeral
// port, prints "port N", and reports how many datagrams it swallowed every second and on SIGTERM.
import dgram from 'node:dgram';

const sock = dgram.createSocket('udp4');
let received = 0;
sock.on('error', () => {});
sock.on('message', () => received++);
sock.bind(0, '127.0.0.1', () => {
  process.stdout.write(`port ${sock.address().port}\n`);
});
const timer = setInterval(() => process.stdout.write(`received ${received}\n`), 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.stdout.write(`received ${received}\n`);
  sock.close();
  process.exit(0);
});
