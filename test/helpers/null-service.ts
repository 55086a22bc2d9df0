// A tiny RPC service for tests: answers NULL for versions [low, high] of one program over UDP
// and TCP on fixed ports, PROG_MISMATCH otherwise; registers itself with the local rpcbind
// through the client library and unregisters on SIGTERM. Run: node null-service.js PROG LOW HIGH PORT

import { XdrWriter } from '../../src/xdr/index.js';
import { AcceptStat, decodeCall, writeAcceptedHeader, writeProgMismatch } from '../../src/rpc/index.js';
import { registerService } from '../../src/client/index.js';
import { serveUdpAndTcp } from './rpc-responder.js';

const [prog, low, high, port] = process.argv.slice(2).map(Number) as [number, number, number, number];
// `node --test dist/test/` also loads helpers: without arguments this is not a service run.
if (process.argv.length < 6 || ![prog, low, high, port].every(Number.isInteger)) process.exit(0);

function answer(msg: Buffer): Buffer | undefined {
  const d = decodeCall(msg);
  if (d.kind !== 'call') return undefined;
  const w = new XdrWriter();
  const c = d.call;
  if (c.prog !== prog) writeAcceptedHeader(w, c.xid, AcceptStat.PROG_UNAVAIL);
  else if (c.vers < low || c.vers > high) writeProgMismatch(w, c.xid, low, high);
  else if (c.proc !== 0) writeAcceptedHeader(w, c.xid, AcceptStat.PROC_UNAVAIL);
  else writeAcceptedHeader(w, c.xid, AcceptStat.SUCCESS);
  return w.toBuffer();
}

await serveUdpAndTcp(port, answer);
const endpoints = [
  { netid: 'udp' as const, port },
  { netid: 'tcp' as const, port },
];
for (let v = low; v <= high; v++) await registerService({ prog, vers: v, endpoints, unregisterOnExit: false });
process.stdout.write('ready\n');
