// A hostile RPC service for rpcinfo tests, run inside a TestHost: registers version 1 of PROG
// over UDP and TCP on PORT with the local rpcbind and answers every call with
//   mismatch LOW HIGH: PROG_MISMATCH low..high (LOW > HIGH: a range holding no version), or
//   garbage:           a reply cut after its accept status word's first byte (malformed).
// Run: node lying-service.js PROG PORT mismatch LOW HIGH | node lying-service.js PROG PORT garbage

import { XdrWriter } from '../../src/xdr/index.js';
import { decodeCall, writeProgMismatch } from '../../src/rpc/index.js';
import { registerService } from '../../src/client/index.js';
import { serveUdpAndTcp } from './rpc-responder.js';

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

await serveUdpAndTcp(port, answer);
await registerService({
  prog,
  vers: 1,
  endpoints: [
    { netid: 'udp', port },
    { netid: 'tcp', port },
  ],
  unregisterOnExit: false,
});
process.stdout.write('ready\n');
