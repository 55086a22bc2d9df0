// Operations: systemd units, socket activation and sd_notify, -h, -s, SIGHUP reload, metrics
// and JSON logs, each against our daemon inside a namespaced TestHost (never the host's
// systemd, port 111 or /run). Needs systemd (systemd-analyze, systemd-socket-activate),
// rpcbind (for rpcinfo), iproute2 and util-linux: all on the .ci/run apt line.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findRepoRoot, startDaemon, daemons } from '../helpers/daemons.js';
import { TestHost, waitFor } from '../helpers/netns.js';

const ROOT = findRepoRoot();
const ENTRY = join(ROOT, 'bin', 'rpcbind.js');
const NOTIFY_LISTENER = join(ROOT, 'dist', 'test', 'helpers', 'notify-listener.js');
const ours = daemons.find((d) => d.name === 'ours')!;
const SUITE_TIMEOUT_MS = 45_000;
const METRICS_PORT = 9111;

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  return () => out;
}

describe('operations', { timeout: SUITE_TIMEOUT_MS }, () => {
  let host: TestHost;
  let tmp: string;
  before(async () => {
    host = await TestHost.create();
    await host.addBridgeAddress('198.18.0.1/24');
    tmp = mkdtempSync(join(tmpdir(), 'rbops-'));
  });
  after(async () => {
    await host?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the units pass systemd-analyze verify, as laid out by install.sh', async () => {
    const root = join(tmp, 'root');
    const r = await host.run('sh', [join(ROOT, 'deploy', 'install.sh'), '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    const units = join(root, 'etc', 'systemd', 'system');
    // verify resolves ExecStart: point it at the launcher install.sh wrote.
    const service = join(units, 'rpcbind.service');
    writeFileSync(
      service,
      readFileSync(service, 'utf8').replace('/usr/local/sbin/rpcbind-ts', join(root, 'usr/local/sbin/rpcbind-ts')),
    );
    const v = await host.run('systemd-analyze', ['verify', '--man=no', service, join(units, 'rpcbind.socket')], {
      timeoutMs: 20_000,
    });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.doesNotMatch(v.stderr, /Unknown key|Invalid|Failed/);
    assert.equal(readFileSync(join(root, 'usr/local/sbin/rpcbind-ts'), 'utf8').includes(ENTRY), true);
    cpSync(join(root, 'usr/local/share/man/man8'), join(tmp, 'man'), { recursive: true });
    const man = await host.run('man', ['-l', '--warnings', join(tmp, 'man', 'rpcbind-ts.8')], {
      env: { MANPAGER: 'cat', MANWIDTH: '80' },
    });
    if (man.code !== 127) assert.match(man.stdout + man.stderr, /SOCKET ACTIVATION/i);
  });

  test('socket activation: inherited TCP (dual-stack), UDP v4/v6 and unix sockets, READY=1 on NOTIFY_SOCKET', async () => {
    const listener = host.spawn(process.execPath, [NOTIFY_LISTENER, '/run/notify.sock', '1']);
    const notes = collect(listener);
    await waitFor(() => notes().includes('"listening"'), { what: 'notify listener' });
    // Outer: stream sockets ('111' is one dual-stack IPv6 socket); inner: datagram sockets on
    // specific addresses (so the daemon binds no UDP of its own). The inner one passes the
    // outer's descriptors through.
    const child = host.spawn('systemd-socket-activate', [
      '-l',
      '111',
      '-l',
      '/run/rpcbind.sock',
      '--',
      'systemd-socket-activate',
      '--datagram',
      '-l',
      '127.0.0.1:111',
      '-l',
      '[::1]:111',
      '-E',
      'NOTIFY_SOCKET=/run/notify.sock',
      '--',
      process.execPath,
      ENTRY,
      '-f',
    ]);
    const out = collect(child);
    try {
      await host.waitForPort('tcp', 111);
      // systemd-socket-activate starts the daemon on the first connection: this call is it.
      const p = await host.run('rpcinfo', ['-p', '127.0.0.1'], { timeoutMs: 15_000 });
      assert.equal(p.code, 0, p.stderr + out());
      assert.match(p.stdout, /100000 {4}2 {3}tcp {4}111 {2}portmapper/);
      await waitFor(() => notes().includes('READY=1'), { what: 'READY=1', timeoutMs: 5_000 });
      for (const [netid, addr, vers] of [
        ['tcp6', '::1', '4'],
        ['udp', '127.0.0.1', '2'],
        ['udp6', '::1', '4'],
      ] as const) {
        const r = await host.run('rpcinfo', ['-T', netid, addr, '100000', vers]);
        assert.equal(r.stdout.trim(), `program 100000 version ${vers} ready and waiting`, `${netid}: ${r.stderr}`);
      }
      const local = await host.run('rpcinfo', []);
      assert.match(local.stdout, /100000 {4}4 {4}local {5}\/run\/rpcbind\.sock/);
      assert.match(out(), /using inherited socket tcp6 \[::\]:111 \(dual-stack\)/);
      assert.match(out(), /using inherited socket udp 127\.0\.0\.1:111/);
      assert.match(out(), /using inherited socket udp6 \[::1\]:111/);
      assert.match(out(), /using inherited socket local \/run\/rpcbind\.sock/);
      // No socket of its own on port 111 besides the inherited ones and the abstract name.
      const ss = await host.run('ss', ['-H', '-l', '-n', '-t', '-u']);
      assert.equal(ss.stdout.trim().split('\n').length, 3, ss.stdout);
    } finally {
      await host.stop(child);
    }
  });

  test('an inherited wildcard UDP socket gets per-address sockets beside it: replies from the right address', async () => {
    const child = host.spawn('systemd-socket-activate', [
      '--datagram',
      '-l',
      '0.0.0.0:111',
      '--',
      process.execPath,
      ENTRY,
      '-f',
    ]);
    const out = collect(child);
    try {
      await host.waitForPort('udp', 111, { family: 4 });
      // The first datagram starts the daemon; rpcinfo retries until it answers.
      const r = await host.run('rpcinfo', ['-T', 'udp', '198.18.0.1', '100000', '2'], { timeoutMs: 15_000 });
      assert.equal(r.stdout.trim(), 'program 100000 version 2 ready and waiting', r.stderr + out());
      await host.waitForPort('tcp', 111);
      const ss = await host.run('ss', ['-H', '-l', '-n', '-u']);
      assert.match(ss.stdout, /198\.18\.0\.1:111/);
      assert.match(ss.stdout, /0\.0\.0\.0:111/);
      // libtirpc's connected UDP client drops replies from any other source address.
      const again = await host.run('rpcinfo', ['-T', 'udp', '198.18.0.1', '100000', '4']);
      assert.equal(again.stdout.trim(), 'program 100000 version 4 ready and waiting', again.stderr);
    } finally {
      await host.stop(child);
    }
  });

  test('-h binds only the named address and loopback, UDP and TCP (seen with ss)', async () => {
    const child = host.spawn(process.execPath, [ENTRY, '-f', '-h', '198.18.0.1']);
    const out = collect(child);
    try {
      await host.waitForPort('tcp', 111, { family: 6 });
      await host.waitForPort('udp', 111, { family: 6 });
      const ss = await host.run('ss', ['-H', '-l', '-n', '-t', '-u']);
      const locals = ss.stdout
        .trim()
        .split('\n')
        .map((l) => `${l.trim().split(/\s+/)[0]} ${l.trim().split(/\s+/)[4]}`)
        .sort();
      assert.deepEqual(
        locals,
        [
          'tcp 127.0.0.1:111',
          'tcp 198.18.0.1:111',
          'tcp [::1]:111',
          'udp 127.0.0.1:111',
          'udp 198.18.0.1:111',
          'udp [::1]:111',
        ],
        out(),
      );
      const r = await host.run('rpcinfo', ['-T', 'udp', '198.18.0.1', '100000', '2']);
      assert.equal(r.stdout.trim(), 'program 100000 version 2 ready and waiting', r.stderr);
    } finally {
      await host.stop(child);
    }
  });

  test('-s leaves the daemon running as user daemon, still serving', async () => {
    const d = await startDaemon(host, ours, ['-s']);
    try {
      await waitFor(() => d.output().includes('running as user daemon'), { what: 'privilege drop' });
      const status = await host.run('cat', [`/proc/${d.process.pid}/status`]);
      assert.match(status.stdout, /^Uid:\s+1\s+1\s+1\s+1$/m);
      assert.match(status.stdout, /^Gid:\s+1\s+1\s+1\s+1$/m);
      assert.match(status.stdout, /^CapEff:\s+0+$/m);
      const r = await host.run('rpcinfo', ['-p', '127.0.0.1']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await d.stop();
    }
  });

  test('SIGHUP reloads the configuration file; a bad file keeps the running one', async () => {
    const conf = join(tmp, 'reload.conf');
    writeFileSync(conf, 'log-calls = false\n');
    const d = await startDaemon(host, ours, ['--config', conf]);
    try {
      await host.run('rpcinfo', ['-p', '127.0.0.1']);
      assert.doesNotMatch(d.output(), /connect from/);
      writeFileSync(conf, '# now with call logging\nlog-calls = true\n');
      d.process.kill('SIGHUP');
      await waitFor(() => d.output().includes('configuration reloaded'), { what: 'reload' });
      await host.run('rpcinfo', ['-p', '127.0.0.1']);
      await waitFor(() => /connect from 127\.0\.0\.1 to dump\(\)/.test(d.output()), { what: 'call log line' });
      writeFileSync(conf, 'log-calls = maybe\n');
      d.process.kill('SIGHUP');
      await waitFor(() => d.output().includes('reload failed'), { what: 'failed reload' });
      assert.match(d.output(), /reload\.conf:1: log-calls takes true or false/);
      const check = await host.run(process.execPath, [ENTRY, '--check-config', '--config', conf]);
      assert.equal(check.code, 1);
    } finally {
      await d.stop();
    }
  });

  test('metrics are scraped and parsed before and after calls; JSON log lines parse', async () => {
    const d = await startDaemon(host, ours, ['--metrics', `127.0.0.1:${METRICS_PORT}`, '--log-format', 'json', '-l']);
    const scrape = async (): Promise<Map<string, number>> => {
      const r = await host.run(process.execPath, [
        '-e',
        `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then(async (r) => { if (r.status !== 200) process.exit(2); process.stdout.write(await r.text()); })`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const series = new Map<string, number>();
      for (const line of r.stdout.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
        assert.ok(m, `not Prometheus text: ${line}`);
        assert.ok(m[1]!.startsWith('rpcbind_'), `series not named rpcbind_*: ${m[1]}`);
        series.set(m[1]!, Number(m[2]));
      }
      return series;
    };
    try {
      const before = await scrape();
      assert.equal(before.get('rpcbind_registrations'), 12);
      const dumpKey = 'rpcbind_calls_total{version="2",procedure="DUMP",transport="tcp",outcome="success"}';
      assert.equal(before.get(dumpKey) ?? 0, 0);
      await host.run('rpcinfo', ['-p', '127.0.0.1']);
      await host.run('rpcinfo', ['-p', '127.0.0.1']);
      const afterCalls = await scrape();
      assert.equal(afterCalls.get(dumpKey), 2);
      assert.ok((afterCalls.get('rpcbind_connections_total{transport="tcp",result="accepted"}') ?? 0) >= 2);
      // From 198.18.0.1, which is not loopback: a DUMP is answered (and audited), a GETSTAT refused.
      assert.equal(before.get('rpcbind_denials_total{reason="not-local"}') ?? 0, 0);
      await host.run('rpcinfo', ['-p', '198.18.0.1']);
      const m = await host.run('rpcinfo', ['-m', '198.18.0.1']);
      assert.notEqual(m.code, 0, m.stdout);
      const afterRemote = await scrape();
      assert.equal(afterRemote.get('rpcbind_denials_total{reason="not-local"}'), 1);
      assert.equal(afterRemote.get('rpcbind_remote_dumps_total'), 1);
      const ss = await host.run('ss', ['-H', '-l', '-n', '-t']);
      assert.match(ss.stdout, new RegExp(`127\\.0\\.0\\.1:${METRICS_PORT}\\b`));
      assert.doesNotMatch(ss.stdout, new RegExp(`(\\*|0\\.0\\.0\\.0|\\[::\\]):${METRICS_PORT}\\b`));
    } finally {
      await d.stop();
    }
    const lines = d.output().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      records.some((r) => r.event === 'call' && r.procedure === 'dump' && r.source === '127.0.0.1'),
      d.output(),
    );
    const audit = records.filter((r) => r.event === 'remote-dump' || r.event === 'access-denied');
    assert.deepEqual(
      audit.map((r) => [r.event, r.procedure, r.version, r.reason, r.transport, r.caller]),
      [
        ['remote-dump', 'DUMP', 2, undefined, 'tcp', '198.18.0.1'],
        ['access-denied', 12, 4, 'not-local', 'tcp', '198.18.0.1'],
      ],
      d.output(),
    );
    assert.ok(records.every((r) => typeof r.level === 'string' && typeof r.time === 'string'));
  });
});
