// The flood guard's decisions and what it tells, over a fake kernel (the real filter is tested
// in test/adversarial/flood-shed.test.ts): when it sheds, what it attaches, expiry, reload, and
// the one warning when the filter cannot be attached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { FloodGuard, type KernelShed } from '../../../../src/daemon/security/flood-guard.js';
import type { DaemonLog, EventFields } from '../../../../src/daemon/observability/logger.js';
import { securityOptionsFrom } from '../../../../src/cli/rpcbind-security-options.js';
import type { BpfInsn } from '../../../../src/transport/kernel-shed.js';

function fakeLog(): DaemonLog & { events: Array<[string, EventFields]> } {
  const events: Array<[string, EventFields]> = [];
  const nop = (): void => {};
  return {
    events,
    event: (n, f) => events.push([n, f]),
    debug: nop,
    info: nop,
    warn: nop,
    error: nop,
    setDebug: nop,
    flush: nop,
  };
}

function fakeKernel(failWith = 0): KernelShed & { programs: Array<readonly BpfInsn[]>; buffers: number[] } {
  const programs: Array<readonly BpfInsn[]> = [];
  const buffers: number[] = [];
  return {
    programs,
    buffers,
    unavailable: () => '',
    attach: (_fd, p) => {
      programs.push(p);
      return failWith;
    },
    receiveBuffer: (_fd, bytes) => {
      buffers.push(bytes);
      return { bytes: 2 * bytes, forced: true };
    },
    drops: () => 7,
  };
}

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Refusals of `source` every 10 ms for 600 ms (past the 0.5 s and 50 refusals that shed). */
function overLimit(g: FloodGuard, clock: { t: number }, source: string): void {
  for (let i = 0; i <= 60; i++, clock.t += 10) g.overLimit(source);
}

test('a source over its limit is shed: the filter is rebuilt once, sockets keep it, the stream side hears of it', async () => {
  const clock = { t: 0 };
  const log = fakeLog();
  const kernel = fakeKernel();
  const counters = { sourcesShed: 0 };
  const g = new FloodGuard({
    security: securityOptionsFrom({}),
    exempt: () => false,
    log,
    counters,
    now: () => clock.t,
    kernel,
  });
  const shedHeard: string[] = [];
  g.onShed((s) => shedHeard.push(s));
  const sock = await udpSocket();
  try {
    g.addDatagramSocket(sock);
    assert.deepEqual(kernel.buffers, [4 * 1024 * 1024]);
    assert.equal(kernel.programs.length, 0, 'nothing attached while nobody is shed');
    overLimit(g, clock, '::ffff:198.18.0.2');
    assert.ok(g.isShed('198.18.0.2') && g.isShed('::ffff:198.18.0.2'));
    await immediate();
    assert.equal(kernel.programs.length, 1);
    assert.ok(
      kernel.programs[0]!.some((i) => i.k === 0xc6120002),
      'the program holds 198.18.0.2',
    );
    assert.deepEqual(shedHeard, ['198.18.0.2']);
    assert.equal(counters.sourcesShed, 1);
    assert.deepEqual(
      log.events.find(([n]) => n === 'source-shed'),
      ['source-shed', { source: '198.18.0.2', over: 'rate', seconds: 10, offence: 1 }],
    );
    assert.equal(g.kernelDrops(), 7);
    // A socket bound later gets the current program at once.
    const late = await udpSocket();
    g.addDatagramSocket(late);
    assert.equal(kernel.programs.length, 2);
    late.close();
  } finally {
    g.close();
    sock.close();
  }
});

test('loopback, exempt and unparseable sources are never shed', () => {
  const clock = { t: 0 };
  const g = new FloodGuard({
    security: securityOptionsFrom({}),
    exempt: (s) => s === '10.0.0.9',
    log: fakeLog(),
    counters: { sourcesShed: 0 },
    now: () => clock.t,
    kernel: fakeKernel(),
  });
  for (const s of ['127.0.0.1', '127.0.0.2', '::1', '10.0.0.9', 'uid:0']) overLimit(g, clock, s);
  assert.equal(g.shedCount, 0);
  g.close();
});

test('expiry lets the source back in and detaches the filter; a reload lets in sources now exempt', async () => {
  const clock = { t: 0 };
  const log = fakeLog();
  const kernel = fakeKernel();
  let exempt = '';
  const g = new FloodGuard({
    security: securityOptionsFrom({ 'shed-seconds': '1' }),
    exempt: (s) => s === exempt,
    log,
    counters: { sourcesShed: 0 },
    now: () => clock.t,
    kernel,
  });
  const sock = await udpSocket();
  try {
    g.addDatagramSocket(sock);
    overLimit(g, clock, '198.18.0.2');
    overLimit(g, clock, '198.18.0.3');
    assert.equal(g.shedCount, 2);
    exempt = '198.18.0.3';
    g.reconfigure(securityOptionsFrom({ 'shed-seconds': '1' }));
    assert.deepEqual(g.shedSources(), ['198.18.0.2']);
    assert.ok(log.events.some(([n, f]) => n === 'source-unshed' && f.source === '198.18.0.3' && f.reason === 'reload'));
    // The expiry timer runs on the real clock; the guard's clock says when it is due.
    clock.t += 1000;
    for (let i = 0; i < 100 && g.shedCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(g.shedCount, 0);
    assert.ok(
      log.events.some(([n, f]) => n === 'source-unshed' && f.source === '198.18.0.2' && f.reason === 'expired'),
    );
    await immediate();
    assert.deepEqual(kernel.programs.at(-1), [], 'an empty set detaches the filter');
  } finally {
    g.close();
    sock.close();
  }
});

test('a filter that cannot be attached is reported once; shedding still refuses streams', async () => {
  const clock = { t: 0 };
  const log = fakeLog();
  const kernel = fakeKernel(1); // EPERM
  const g = new FloodGuard({
    security: securityOptionsFrom({}),
    exempt: () => false,
    log,
    counters: { sourcesShed: 0 },
    now: () => clock.t,
    kernel,
  });
  const a = await udpSocket();
  const b = await udpSocket();
  try {
    g.addDatagramSocket(a);
    g.addDatagramSocket(b);
    overLimit(g, clock, '198.18.0.2');
    overLimit(g, clock, '198.18.0.4');
    await immediate();
    assert.equal(kernel.programs.length, 1, 'not tried again after the first failure');
    assert.equal(log.events.filter(([n]) => n === 'kernel-shed-unavailable').length, 1);
    assert.ok(g.isShed('198.18.0.4'));
  } finally {
    g.close();
    a.close();
    b.close();
  }
});

test('no koffi: said once at start', () => {
  const log = fakeLog();
  const g = new FloodGuard({
    security: securityOptionsFrom({}),
    exempt: () => false,
    log,
    counters: { sourcesShed: 0 },
    kernel: { ...fakeKernel(), unavailable: () => 'koffi did not load' },
  });
  assert.deepEqual(
    log.events.map(([n]) => n),
    ['kernel-shed-unavailable'],
  );
  assert.equal(log.events[0]![1].reason, 'koffi did not load');
  g.close();
});

test('a short receive buffer is told once, even after a large inherited one (systemd ReceiveBuffer=)', async () => {
  const log = fakeLog();
  const granted = [16 * 1024 * 1024, 425_984, 425_984]; // as getsockopt reports: twice the grant
  const kernel = { ...fakeKernel(), receiveBuffer: () => ({ bytes: granted.shift() ?? -1, forced: false }) };
  const g = new FloodGuard({
    security: securityOptionsFrom({}),
    exempt: () => false,
    log,
    counters: { sourcesShed: 0 },
    kernel,
  });
  const socks = [await udpSocket(), await udpSocket(), await udpSocket()];
  try {
    for (const s of socks) g.addDatagramSocket(s);
    const told = log.events.filter(([n]) => n === 'udp-receive-buffer');
    assert.equal(told.length, 1);
    assert.equal(told[0]![1].bytes, 425_984);
  } finally {
    g.close();
    for (const s of socks) s.close();
  }
});
