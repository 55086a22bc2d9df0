import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CallLog } from '../../../../src/daemon/observability/call-log.js';
import { createLog, formatEvent } from '../../../../src/daemon/observability/logger.js';
import type { CompletedCall } from '../../../../src/rpc/index.js';
import type { CallerContext } from '../../../../src/rpc/index.js';

function capture(): { lines: string[]; sink: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, sink: { write: (s: string) => lines.push(...s.split('\n').filter((l) => l !== '')) } };
}

test('text lines, journal priorities, debug switch', () => {
  const t = capture();
  const log = createLog({ format: 'text', debug: false, journal: false, sink: t.sink });
  log.debug('hidden');
  log.info('a\nb');
  log.setDebug(true);
  log.debug('shown');
  log.event('access-denied', { source: '198.18.0.2', reason: 'not local', n: 3 }, 'warn');
  assert.deepEqual(t.lines, [
    'rpcbind: info: a\\nb',
    'rpcbind: debug: shown',
    'rpcbind: warning: access-denied source=198.18.0.2 reason="not local" n=3',
  ]);
  const j = capture();
  const jl = createLog({ format: 'text', debug: false, journal: true, sink: j.sink });
  jl.info('up');
  jl.error('down');
  assert.deepEqual(j.lines, ['<6>up', '<3>down']);
});

test('json lines parse and carry event fields', () => {
  const t = capture();
  const log = createLog({ format: 'json', debug: false, journal: false, sink: t.sink });
  log.info('hello');
  log.debug('hidden');
  log.event('rate-limited', { source: '10.0.0.1', transport: 'udp' }, 'warn');
  const recs = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.msg, 'hello');
  assert.equal(recs[0]!.level, 'info');
  assert.equal(recs[1]!.event, 'rate-limited');
  assert.equal(recs[1]!.level, 'warn');
  assert.equal(recs[1]!.source, '10.0.0.1');
  assert.equal(typeof recs[1]!.time, 'string');
});

test('formatEvent quotes what needs quoting', () => {
  assert.equal(formatEvent('x', { a: '', b: 'p q', c: undefined, d: true }), 'x a="" b="p q" d=true');
});

const ctx: CallerContext = {
  netid: 'udp',
  peerAddress: '127.0.0.1',
  peerPort: 700,
  localAddress: '127.0.0.1',
  uid: undefined,
};
function call(
  procName: string,
  args: unknown,
  result: CompletedCall<CallerContext>['result'] = 'success',
): CompletedCall<CallerContext> {
  return { call: { xid: 1, rpcvers: 2, prog: 100000, vers: 2, proc: 3 } as never, procName, args, ctx, result };
}

test("call log uses rpcbind's sentence and is rate-limited", () => {
  const t = capture();
  let now = 0;
  const log = createLog({ format: 'text', debug: false, journal: false, sink: t.sink });
  const cl = new CallLog({
    log,
    structured: false,
    linesPerSecond: 3,
    programNames: new Map([[100003, 'nfs']]),
    nowMs: () => now,
  });
  cl.record(call('GETPORT', { prog: 100003, vers: 3, prot: 17, port: 0 }));
  cl.record(call('DUMP', undefined));
  cl.record(call('SET', { prog: 7, vers: 1, prot: 17, port: 9 }, 'auth_error'));
  for (let i = 0; i < 100; i++) cl.record(call('NULL', undefined));
  now = 1000;
  cl.record(call('NULL', undefined));
  assert.deepEqual(t.lines, [
    'rpcbind: info: connect from 127.0.0.1 to getport(nfs)',
    'rpcbind: info: connect from 127.0.0.1 to dump()',
    'rpcbind: warning: connect from 127.0.0.1 to set(7): request from unauthorized host',
    'rpcbind: warning: call log: 100 lines suppressed (limit 3 per second)',
    'rpcbind: info: connect from 127.0.0.1 to null()',
  ]);
});

/** Runs `body` in a fresh node with `createLog` in scope (the default sink: fd 2); its stderr. */
function stderrOf(body: string): string {
  const logger = new URL('../../../../src/daemon/observability/logger.js', import.meta.url).href;
  const script = `import { createLog } from ${JSON.stringify(logger)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test('the default sink writes lines in order; flush() writes what waits, before and after the writer opens', () => {
  const log = "const log = createLog({ format: 'text', debug: false, journal: false });";
  // Logged in one turn (the process then ends by itself).
  assert.equal(
    stderrOf(`${log} log.info('one'); log.event('registration', { op: 'SET' }); log.warn('three');`),
    'rpcbind: info: one\nrpcbind: info: registration op=SET\nrpcbind: warning: three\n',
  );
  // flush() before the writer was ever opened, then an immediate exit.
  assert.equal(stderrOf(`${log} log.info('a'); log.flush(); process.exit(0);`), 'rpcbind: info: a\n');
  // flush() with the writer open and a line waiting for the next turn.
  assert.equal(
    stderrOf(
      `${log} log.info('a'); await new Promise((r) => setImmediate(r)); log.info('b'); log.flush(); process.exit(0);`,
    ),
    'rpcbind: info: a\nrpcbind: info: b\n',
  );
});
