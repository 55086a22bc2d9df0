// StreamService limits changed at run time (SIGHUP), over a unix socket in a temporary directory.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { StreamService } from '../../../src/transport/stream-service.js';
import { newSecurityCounters } from '../../../src/transport/security-counters.js';
import { waitFor } from '../../helpers/netns.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

test('setLimits: a lower connection cap closes the least active at once; a new idle timeout reaches open connections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stream-limits-'));
  const path = join(dir, 's.sock');
  const counters = newSecurityCounters();
  const svc = new StreamService({
    handler: () => undefined,
    log: quiet,
    maxConnections: 100,
    idleMs: 60_000,
    counters,
  });
  const clients: net.Socket[] = [];
  const closed = new Set<number>();
  try {
    await svc.listenUnix(path);
    for (let i = 0; i < 5; i++) {
      const c = net.connect(path);
      c.on('error', () => {});
      c.on('close', () => closed.add(i));
      clients.push(c);
      await new Promise<void>((r) => c.once('connect', () => r()));
    }
    await waitFor(() => svc.connectionCount === 5, { timeoutMs: 5000, what: '5 connections accepted' });
    svc.setLimits({ maxConnections: 2, maxConnectionsPerSource: 64, idleMs: 60_000, recordDeadlineMs: 60_000 });
    assert.equal(svc.connectionCount, 2);
    assert.equal(counters.connectionsReaped, 3);
    await waitFor(() => closed.size === 3, { timeoutMs: 5000, what: '3 clients closed' });
    assert.deepEqual([...closed].sort(), [0, 1, 2], 'the least recently active (first accepted) are closed');
    svc.setLimits({ maxConnections: 2, maxConnectionsPerSource: 64, idleMs: 100, recordDeadlineMs: 60_000 });
    await waitFor(() => closed.size === 5, { timeoutMs: 5000, what: 'the idle ones closed' });
    assert.equal(counters.idleClosed, 2);
  } finally {
    for (const c of clients) c.destroy();
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setAdmit: a throttled stream waits for the interval of the rate limiter given last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stream-admit-'));
  const path = join(dir, 's.sock');
  let served = 0;
  const svc = new StreamService({ handler: () => void served++, log: quiet, admit: () => true, throttleMs: () => 10 });
  let c: net.Socket | undefined;
  try {
    await svc.listenUnix(path);
    c = net.connect(path);
    let refusals = 1;
    let asked = 0;
    svc.setAdmit(
      () => refusals-- <= 0,
      () => {
        asked++;
        return 5;
      },
    );
    c.on('error', () => {});
    await new Promise<void>((r) => c!.once('connect', () => r()));
    c.write(Buffer.from([0x80, 0, 0, 4, 1, 2, 3, 4]));
    await waitFor(() => served === 1, { timeoutMs: 5000, what: 'the record served after its wait' });
    assert.equal(asked, 1);
  } finally {
    c?.destroy();
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client that pipelines calls and never reads: no MaxListenersExceededWarning; closed at the output cap', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  const counters = newSecurityCounters();
  const reply = Buffer.alloc(4096, 1);
  let port = 0;
  const onListening = (srv: net.Server): void => {
    port = (srv.address() as net.AddressInfo).port;
  };
  const svc = new StreamService({ handler: () => reply, log: quiet, counters, onListening });
  let c: net.Socket | undefined;
  try {
    await svc.listenTcp('127.0.0.1', 0);
    c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.pause();
    await once(c, 'connect');
    const call = Buffer.from([0x80, 0, 0, 12, ...Buffer.alloc(12)]);
    // 3,000 calls in one write: 12 MB of replies, more than the kernel's buffers and the cap.
    c.write(Buffer.concat(Array.from({ length: 3000 }, () => call)));
    await waitFor(() => counters.outputCapClosed === 1, { what: 'closed at the output cap' });
    assert.equal(svc.connectionCount, 0);
    await setImmediate();
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String), []);
  } finally {
    process.off('warning', onWarning);
    c?.destroy();
    await svc.close();
  }
});
