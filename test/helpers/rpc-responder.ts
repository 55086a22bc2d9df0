// The transport half of the test services (null-service.ts, lying-service.ts): serves one
// answer function on UDP and TCP (record marking) at 0.0.0.0:PORT, and exits on SIGTERM.
import dgram from 'node:dgram';
import net from 'node:net';
import { RecordDecoder, encodeRecord } from '../../src/rpc/index.js';

/** Turns one call message into its reply (undefined: no reply). */
export type Answer = (call: Buffer) => Buffer | undefined;

export async function serveUdpAndTcp(port: number, answer: Answer): Promise<void> {
  const udp = dgram.createSocket('udp4');
  udp.on('error', () => undefined);
  udp.on('message', (m, r) => {
    const a = answer(m);
    if (a) udp.send(a, r.port, r.address);
  });
  const tcp = net.createServer((s) => {
    s.on('error', () => s.destroy());
    const dec = new RecordDecoder();
    s.on('data', (chunk) => {
      const recs = dec.push(chunk);
      if (typeof recs === 'string') return void s.destroy();
      for (const r of recs) {
        const a = answer(r);
        if (a) s.write(encodeRecord(a));
      }
    });
  });
  tcp.on('error', () => undefined);
  await new Promise<void>((r) => udp.bind(port, '0.0.0.0', () => r()));
  await new Promise<void>((r) => tcp.listen(port, '0.0.0.0', () => r()));
  process.once('SIGTERM', () => {
    udp.close();
    tcp.close();
    process.exit(0);
  });
}
