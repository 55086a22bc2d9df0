// A hostile rpcbind on a unix socket (no network traffic): huge strings, endless lists, lying
// lengths, wrong xids, silence. The client library must fail with a clear error code and rpcinfo
// with exit status 1, each well within the timeout, never hang or crash.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpcbindClient, RpcClientError, StreamTransport } from '../../src/client/index.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(join(tmpdir(), 'rpcinfo-hostile-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;

type Behaviour = (call: Buffer, sock: net.Socket) => void;

/** Replies are built from the call's xid; `body` is everything after the accepted SUCCESS header. */
function success(xid: number, body: Buffer): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32BE(xid, 0);
  h.writeUInt32BE(1, 4); // REPLY
  // MSG_ACCEPTED, verf AUTH_NONE len 0, SUCCESS: all zero words
  return Buffer.concat([h, body]);
}

function record(payload: Buffer): Buffer {
  const m = Buffer.alloc(4);
  m.writeUInt32BE((0x80000000 | payload.length) >>> 0, 0);
  return Buffer.concat([m, payload]);
}

async function hostile(behaviour: Behaviour): Promise<{ path: string; close: () => void }> {
  const path = join(dir, `s${n++}.sock`);
  const server = net.createServer((s) => {
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 8) {
        const len = buf.readUInt32BE(0) & 0x7fffffff;
        if (buf.length >= 4 + len) {
          behaviour(buf.subarray(4, 4 + len), s);
          buf = buf.subarray(4 + len);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  return { path, close: () => server.close() };
}

async function clientFor(path: string, maxReplyBytes?: number): Promise<RpcbindClient> {
  const t = await StreamTransport.connect({ kind: 'local', path }, maxReplyBytes ? { maxReplyBytes } : {});
  return new RpcbindClient(t, { timeoutMs: 500 });
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const t0 = Date.now();
  await assert.rejects(p, (e: unknown) => e instanceof RpcClientError && e.code === code);
  assert.ok(Date.now() - t0 < 2000, 'took too long');
}

const xidOf = (call: Buffer): number => call.readUInt32BE(0);
const u32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => {
    b.writeUInt32BE(x >>> 0, i * 4);
  });
  return b;
};

test('rejects a string whose declared length is huge', async () => {
  const s = await hostile((c, sock) => sock.write(record(success(xidOf(c), u32(0xfffffff0)))));
  const rb = await clientFor(s.path);
  await expectCode(rb.getAddr({ prog: 1, vers: 1, netid: 'tcp', addr: '', owner: '' }), 'RPC_CANTDECODERES');
  rb.close();
  s.close();
});

test('rejects a string longer than what follows (lying length)', async () => {
  const s = await hostile((c, sock) => sock.write(record(success(xidOf(c), u32(100, 0x41414141)))));
  const rb = await clientFor(s.path);
  await expectCode(rb.getAddr({ prog: 1, vers: 1, netid: 'tcp', addr: '', owner: '' }), 'RPC_CANTDECODERES');
  rb.close();
  s.close();
});

test('closes when a reply record announces more than the cap (endless list)', async () => {
  const s = await hostile((c, sock) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(0x7fffffff, 0); // non-last fragment of 2 GiB
    sock.write(Buffer.concat([head, success(xidOf(c), u32(1, 1, 2, 3, 4))]));
  });
  const rb = await clientFor(s.path, 64 * 1024);
  await expectCode(rb.pmapDump(), 'RPC_CANTDECODERES');
  rb.close();
  s.close();
});

test('rejects a list that never ends within its record', async () => {
  const entries: Buffer[] = [];
  for (let i = 0; i < 2000; i++) entries.push(u32(1, 100000 + i, 1, 6, 111));
  const s = await hostile((c, sock) => sock.write(record(success(xidOf(c), Buffer.concat(entries)))));
  const rb = await clientFor(s.path);
  await expectCode(rb.pmapDump(), 'RPC_CANTDECODERES');
  rb.close();
  s.close();
});

test('gives up after replies with wrong xids', async () => {
  const s = await hostile((c, sock) => {
    for (let i = 1; i <= 20; i++) sock.write(record(success(xidOf(c) + i, u32(0))));
  });
  const rb = await clientFor(s.path);
  await expectCode(rb.getTime(), 'RPC_CANTDECODERES');
  rb.close();
  s.close();
});

test('times out when the server never answers', async () => {
  const s = await hostile(() => undefined);
  const rb = await clientFor(s.path);
  await expectCode(rb.dump(), 'RPC_TIMEDOUT');
  rb.close();
  s.close();
});

function rpcinfo(
  args: string[],
  socket: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  const c = spawn(process.execPath, [resolve(REPO, 'bin/rpcinfo.js'), ...args], {
    env: { ...process.env, RPCINFO_SOCKET: socket },
    timeout: 10_000,
  });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => c.once('close', (code) => r({ code, stdout, stderr, ms: Date.now() - t0 })));
}

test('rpcinfo exits 1 with a clear message on a broken dump reply', async () => {
  const s = await hostile((c, sock) => sock.write(record(success(xidOf(c), u32(1, 100000, 4, 0xffffff00)))));
  const r = await rpcinfo([], s.path);
  s.close();
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "rpcinfo: can't contact rpcbind: : RPC: Can't decode result\n");
});

test('rpcinfo --timeout bounds a silent server', async () => {
  const s = await hostile(() => undefined);
  const r = await rpcinfo(['--timeout', '0.5', '-s'], s.path);
  s.close();
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "rpcinfo: can't contact rpcbind: : RPC: Timed out\n");
  assert.ok(r.ms < 5000);
});

test('rpcinfo -a over a local socket: a server that lies about versions is capped', async () => {
  // Claims versions 0..0xffffffff exist and answers every NULL: rpcinfo must stop (1024 versions).
  const s = await hostile((c, sock) => sock.write(record(success(xidOf(c), Buffer.alloc(0)))));
  const r = await rpcinfo(['--timeout', '2', '-a', s.path, '-T', 'local', '100000'], s.path);
  s.close();
  assert.equal(r.code, 0);
  assert.equal(r.stdout.split('\n').length - 1, 1024);
});

test('rpcinfo -t/-u fail on PROG_MISMATCH low > high as Debian rpcinfo fails on a malformed reply', async () => {
  // In a private namespace: Debian's rpcbind on port 111, and a service whose every answer lies.
  const { TestHost } = await import('../helpers/netns.js');
  const host = await TestHost.create();
  try {
    host.spawn('/usr/sbin/rpcbind', ['-f', '-w']);
    await host.waitForUnixSocket('/run/rpcbind.sock', { timeoutMs: 5_000 });
    const start = async (args: string[]): Promise<void> => {
      const svc = host.spawn(process.execPath, [resolve(REPO, 'dist/test/helpers/lying-service.js'), ...args]);
      let out = '';
      const ready = await new Promise<boolean>((res) => {
        const t = setTimeout(() => res(false), 10_000);
        svc.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) {
            clearTimeout(t);
            res(true);
          }
        });
        svc.once('exit', () => res(false));
      });
      assert.ok(ready, `lying service ${args.join(' ')} did not register`);
    };
    await start(['536870930', '20030', 'mismatch', '7', '3']);
    await start(['536870931', '20031', 'garbage']);
    const debian = (argv: string[]) =>
      host.run('bash', ['-c', 'exec -a "$0" "$@"', 'rpcinfo', '/usr/sbin/rpcinfo', ...argv], { timeoutMs: 20_000 });
    const ours = (argv: string[]) =>
      host.run(process.execPath, [resolve(REPO, 'bin/rpcinfo.js'), ...argv], { timeoutMs: 20_000 });
    // The reference: a datagram reply that cannot be decoded (libtirpc's clnt_dg gives
    // RPC_CANTDECODERES; its clnt_vc skips an undecodable record and waits, so TCP cannot show it).
    const malformed = await debian(['-u', '127.0.0.1', '536870931']);
    assert.equal(malformed.code, 1, JSON.stringify(malformed));
    assert.match(malformed.stderr, /Can't decode result/);
    for (const proto of ['-t', '-u']) {
      const r = await ours([proto, '127.0.0.1', '536870930']);
      assert.deepEqual(
        { code: r.code, stderr: r.stderr, stdout: r.stdout },
        { code: malformed.code, stderr: malformed.stderr, stdout: malformed.stdout.replace('536870931', '536870930') },
        `rpcinfo ${proto}`,
      );
    }
  } finally {
    await host.dispose();
  }
});
