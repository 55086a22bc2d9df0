// Bad input at the codec and dispatch level (no daemon): truncation at every length, seeded
// random and mutated messages, fast-check properties of the XDR reader and record decoder.
// Nothing may throw but XdrError, and the dispatcher must never throw at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XdrError, XdrReader } from '../../src/xdr/index.js';
import { decodeCall, decodeReply, Dispatcher, RecordDecoder, encodeRecord, replyBytes } from '../../src/rpc/index.js';
import {
  Registry,
  RpcbStats,
  createRpcbindProgram,
  selfRegistrations,
  type BindingState,
} from '../../src/rpcbind/index.js';
import type { CallerContext } from '../../src/rpc/index.js';
import {
  decodeMapping,
  decodeRpcb,
  decodeRmtCallArgs,
  decodeNetbuf,
  decodeRpcbStatByVers,
} from '../../src/proto/index.js';
import { everyProcedureCall } from '../helpers/rpc-calls.js';

const UDP_CTX: CallerContext = {
  netid: 'udp',
  peerAddress: '127.0.0.1',
  peerPort: 700,
  localAddress: '127.0.0.1',
  uid: undefined,
};
const TCP_CTX: CallerContext = {
  netid: 'tcp',
  peerAddress: '198.18.0.9',
  peerPort: 40000,
  localAddress: '198.18.0.1',
  uid: undefined,
};

function newDispatcher(): { d: Dispatcher<CallerContext>; state: BindingState; bugs: unknown[] } {
  const registry = new Registry();
  for (const r of selfRegistrations({ port: 111, socketPath: '/run/rpcbind.sock', ipv4: true, ipv6: true }))
    registry.restore(r);
  const state: BindingState = { registry, stats: new RpcbStats(), policy: { insecure: false }, now: () => 1 };
  const bugs: unknown[] = [];
  const d = new Dispatcher<CallerContext>({ systemError: (e) => bugs.push(e) });
  d.addProgram(createRpcbindProgram(state));
  return { d, state, bugs };
}

/** Dispatches synchronously or awaits; asserts no throw and a decodable reply. */
async function dispatchOk(d: Dispatcher<CallerContext>, msg: Buffer, ctx: CallerContext): Promise<Buffer | undefined> {
  const r = replyBytes(await d.dispatch(msg, ctx, 8800));
  if (r !== undefined) decodeReply(r); // throws if the reply is malformed
  return r;
}

// Small deterministic PRNG so a failure can be replayed from its seed.
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

test('every procedure cut at every length: no throw, no internal error, registrations unchanged', async () => {
  const { d, state, bugs } = newDispatcher();
  const before = [...state.registry.entries()].map((r) => JSON.stringify(r)).join('\n');
  for (const c of everyProcedureCall()) {
    for (let len = 0; len < c.bytes.length; len++) {
      for (const ctx of [UDP_CTX, TCP_CTX]) {
        const reply = await dispatchOk(d, c.bytes.subarray(0, len), ctx);
        if (reply && len >= 40) {
          const r = decodeReply(reply);
          // A cut argument is GARBAGE_ARGS (or no reply for remote calls), never success with junk.
          if (r.kind === 'success' && !/NULL|DUMP|GETTIME|GETSTAT/.test(c.name)) {
            assert.fail(`${c.name} cut at ${len} answered success`);
          }
        }
      }
    }
  }
  assert.deepEqual(bugs, []);
  const after = [...state.registry.entries()].map((r) => JSON.stringify(r)).join('\n');
  assert.equal(after, before);
});

test('10,000 seeded random and mutated messages: dispatcher never throws', async () => {
  const { d, bugs } = newDispatcher();
  const rnd = xorshift(0x5eed);
  const seeds = everyProcedureCall();
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    let msg: Buffer;
    if (i % 4 === 0) {
      msg = Buffer.alloc(rnd() % 200);
      for (let j = 0; j < msg.length; j++) msg[j] = rnd() & 0xff;
    } else {
      msg = Buffer.from(seeds[rnd() % seeds.length]!.bytes);
      const flips = 1 + (rnd() % 4);
      for (let f = 0; f < flips && msg.length > 0; f++) {
        const at = rnd() % msg.length;
        switch (rnd() % 3) {
          case 0:
            msg[at] = rnd() & 0xff;
            break;
          case 1: // a huge length word where a length is likely
            if (at + 4 <= msg.length) msg.writeUInt32BE([0xffffff00, 1e9, 0x7fffffff, 0xfffffffc][rnd() % 4]!, at & ~3);
            break;
          default:
            msg = msg.subarray(0, at);
        }
      }
    }
    await dispatchOk(d, msg, i % 2 ? UDP_CTX : TCP_CTX);
  }
  assert.deepEqual(bugs, []);
});

test('fast-check: decoders throw nothing but XdrError on arbitrary bytes', () => {
  const decoders: Array<(r: XdrReader) => unknown> = [
    decodeMapping,
    decodeRpcb,
    decodeRmtCallArgs,
    decodeNetbuf,
    (r) => decodeRpcbStatByVers(r, 256),
    (r) => r.string(255),
    (r) => r.list(1000, (x) => x.uint32()),
    (r) => r.array(1000, (x) => x.opaque(400)),
  ];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(decoders.length - 1), (bytes, k) => {
      try {
        decoders[k]!(new XdrReader(Buffer.from(bytes)));
      } catch (e) {
        if (!(e instanceof XdrError)) throw e;
      }
      decodeCall(Buffer.from(bytes)); // returns values, never throws
    }),
    { numRuns: 3000, seed: 42 },
  );
});

test('fast-check: rpcbomb lengths are refused before allocation', () => {
  fc.assert(
    fc.property(fc.constantFrom(0xffffff00, 1e9, 0x7fffffff, 0x80000000, 65536), (len) => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(len, 0);
      assert.throws(() => new XdrReader(b).opaque(9000), XdrError);
      assert.throws(() => new XdrReader(b).string(255), XdrError);
      assert.throws(() => new XdrReader(b).array(1 << 20, (x) => x.uint32()), XdrError);
    }),
  );
});

test('fast-check: RecordDecoder yields the same records whatever the split points', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 200 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(2000), { maxLength: 12 }),
      fc.nat(3),
      (msgs, cuts, fragSplit) => {
        // Frame each message, optionally as several fragments.
        const framed: Buffer[] = [];
        for (const m of msgs) {
          const b = Buffer.from(m);
          if (fragSplit > 0 && b.length > fragSplit) {
            const a = b.subarray(0, fragSplit);
            const h = Buffer.alloc(4);
            h.writeUInt32BE(a.length, 0);
            framed.push(h, a, encodeRecord(b.subarray(fragSplit)));
          } else framed.push(encodeRecord(b));
        }
        const stream = Buffer.concat(framed);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
        const dec = new RecordDecoder();
        const got: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          const out = dec.push(stream.subarray(prev, p));
          assert.ok(Array.isArray(out), String(out));
          got.push(...out);
          prev = p;
        }
        assert.deepEqual(
          got.map((g) => g.toString('hex')),
          msgs.map((m) => Buffer.from(m).toString('hex')),
        );
        assert.equal(dec.midRecord, false);
      },
    ),
    { numRuns: 500, seed: 7 },
  );
});

test('RecordDecoder refuses 0x7fffffff headers and endless zero-length fragments before buffering', () => {
  const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  assert.equal(new RecordDecoder().push(huge), 'RECORD_TOO_LARGE');
  const zeros = Buffer.alloc(4 * 100); // 100 non-last zero-length fragments
  assert.equal(new RecordDecoder().push(zeros), 'TOO_MANY_FRAGMENTS');
});
