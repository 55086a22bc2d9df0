// A hostile RPC service for rpcinfo tests, run inside a TestHost: registers version 1 of PROG
// over UDP and TCP on PORT with the local rpcbind and answers every call with
//   mismatch LOW HIGH: PROG_MISMATCH low..high (LOW > HIGH: a range holding no version), or
//   garbage:           a reply cut after its accept status word's first byte (malformed).
// Run: node lying-service.js PROG PORT mismatch LOW HIGH | node lying-service.js PROG PORT garbage

import dgram from 'node:dgram';
import net from 'node:net';
import { XdrWriter } from '../../src/xdr/index.js';
import { RecordDecoder, decodeCall, encodeRecord, writeProgMismatch } from '../../src/rpc/index.js';
import { registerService } from '../../src/client/index.js';

const [progText, portText, mode, lowText, highText] = process.argv.slice(2);
const prog = Number(progText);
const port = Number(portText);
// `node --test dist/test/` also loads helpers: without arguments this is not a service run.
if (!Number.isInteger(prog) || !Number.isInteger(port) || (mode !== 'mismatch' && mode !== 'garbage')) process.exit(0);

function answer(msg: Buffer): Buffer | undefined {
  const d = decodeCall(msg);
  if (d.kind !== 'call') return undefined;
  const w = new XdrWriter();
  if (mode === 'mismatch') {
    writeProgMismatch(w, d.call.xid, Number(lowText), Number(highText));
    return w.toBuffer();
  }
  // xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE (0, 0), then one byte of the accept status.
  w.uint32(d.call.xid).uint32(1).uint32(0).uint32(0).uint32(0);
  return Buffer.concat([w.toBuffer(), Buffer.from([0])]);
}

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
await new Promise<void>((r) => udp.bind(port, '0.0.0.0', () => r()));
await new Promise<void>((r) => tcp.listen(port, '0.0.0.0', () => r()));
await registerService({ prog, vers: 1, endpoints: [{ netid: 'udp', port }, { netid: 'tcp', port }], unregisterOnExit: false });
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  udp.close();
  tcp.close();
  process.exit(0);
});
