// The audit events as data: every security record is a JSON line with a stable `event` name
// and flat fields (--log-format json), and a text line that starts with the same name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessPolicy } from '../../../../src/rpcbind/index.js';
import { encodeRmtCallArgs } from '../../../../src/proto/index.js';
import type { CallerContext } from '../../../../src/rpc/index.js';
import { createLog } from '../../../../src/daemon/observability/logger.js';
import { SecurityLog } from '../../../../src/daemon/security/security-log.js';
import { newSecurityCounters } from '../../../../src/transport/security-counters.js';
import { newBinding } from '../../../helpers/binding.js';
import { buildCall, localUser, loopbackUdp, remoteUdp, reply } from '../../../helpers/calls.js';

type Json = Record<string, unknown>;

function jsonAudit(now: () => number = Date.now): {
  sec: SecurityLog;
  lines: () => Json[];
  counters: ReturnType<typeof newSecurityCounters>;
} {
  const out: string[] = [];
  const log = createLog({ format: 'json', debug: false, journal: false, sink: { write: (s: string) => out.push(s) } });
  const counters = newSecurityCounters();
  return {
    sec: new SecurityLog(log, counters, now),
    counters,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Json),
  };
}

const tcpRemote: CallerContext = { ...remoteUdp, netid: 'tcp', peerPort: 40000 };

test('each security record is a JSON line with its event name and fields', () => {
  const { sec, lines } = jsonAudit();
  sec.denied(remoteUdp, 'dump', 4, 4, 'access-rule');
  sec.rateLimited(tcpRemote, 'stream');
  sec.rateLimited(remoteUdp, 'udp');
  sec.remoteDump(tcpRemote, 2, 'DUMP');
  sec.registration(localUser(1000), {
    op: 'SET',
    prog: 536870913,
    vers: 1,
    netid: 'udp',
    addr: '0.0.0.0.8.1',
    result: 'ok',
  });
  sec.registration(localUser(65534), {
    op: 'UNSET',
    prog: 536870913,
    vers: 1,
    netid: 'udp',
    addr: '',
    result: 'refused',
  });
  const got = lines().map(({ time, pid, hostname, name, msg, ...rest }) => {
    assert.equal(msg, rest.event);
    assert.equal(name, 'rpcbind');
    return rest;
  });
  const peer = { caller: remoteUdp.peerAddress };
  assert.deepEqual(got, [
    {
      level: 'warn',
      event: 'access-denied',
      class: 'dump',
      version: 4,
      procedure: 4,
      reason: 'access-rule',
      transport: 'udp',
      ...peer,
      port: remoteUdp.peerPort,
    },
    { level: 'warn', event: 'rate-limited', action: 'throttled', transport: 'tcp', ...peer, port: 40000 },
    { level: 'warn', event: 'rate-limited', action: 'dropped', transport: 'udp', ...peer, port: remoteUdp.peerPort },
    { level: 'info', event: 'remote-dump', procedure: 'DUMP', version: 2, transport: 'tcp', ...peer, port: 40000 },
    {
      level: 'info',
      event: 'registration',
      op: 'SET',
      program: 536870913,
      version: 1,
      netid: 'udp',
      address: '0.0.0.0.8.1',
      result: 'ok',
      transport: 'local',
      uid: 1000,
    },
    {
      level: 'warn',
      event: 'registration',
      op: 'UNSET',
      program: 536870913,
      version: 1,
      netid: 'udp',
      result: 'refused',
      transport: 'local',
      uid: 65534,
    },
  ]);
});

test('a lookup sweep is one lookup-sweep event', () => {
  const { sec, lines, counters } = jsonAudit();
  for (let p = 0; p < 40; p++) sec.lookup(remoteUdp, 100000 + p);
  const sweeps = lines().filter((l) => l.event === 'lookup-sweep');
  assert.equal(sweeps.length, 1);
  assert.equal(sweeps[0]!.caller, remoteUdp.peerAddress);
  assert.equal(sweeps[0]!.programs, 32);
  assert.equal(counters.sweeps, 1);
});

test('events over the log budget are counted and summarised by a security-events-suppressed event', () => {
  let now = 1_000_000;
  const { sec, lines, counters } = jsonAudit(() => now);
  for (let i = 0; i < 80; i++) sec.denied(remoteUdp, 'register', 2, 1, 'not-local');
  assert.equal(lines().length, 50);
  assert.equal(counters.logSuppressed, 30);
  now += 1000;
  sec.denied(remoteUdp, 'register', 2, 1, 'not-local');
  const tail = lines().slice(50);
  assert.deepEqual(
    tail.map((l) => [l.event, l.count]),
    [
      ['security-events-suppressed', 30],
      ['access-denied', undefined],
    ],
  );
  assert.equal(counters.deniedNotLocal, 81);
});

test('text lines start with the same event name, then key=value fields', () => {
  const out: string[] = [];
  const log = createLog({ format: 'text', debug: false, journal: false, sink: { write: (s: string) => out.push(s) } });
  const sec = new SecurityLog(log, newSecurityCounters());
  sec.denied(remoteUdp, 'dump', 4, 4, 'access-rule');
  sec.rateLimited(remoteUdp, 'udp');
  assert.deepEqual(out, [
    `rpcbind: warning: access-denied class=dump version=4 procedure=4 reason=access-rule transport=udp caller=${remoteUdp.peerAddress} port=${remoteUdp.peerPort}\n`,
    `rpcbind: warning: rate-limited action=dropped transport=udp caller=${remoteUdp.peerAddress} port=${remoteUdp.peerPort}\n`,
  ]);
});

test('GETSTAT, SET and a denied DUMP from a remote caller go through the audited gate', () => {
  const { sec, lines, counters } = jsonAudit();
  const policy = new AccessPolicy({
    allow: { query: [], dump: [], register: [], callit: [] },
    deny: { query: [], dump: ['198.18.0.9'], register: [], callit: [] },
    hostsRules: [],
  });
  const b = newBinding({ security: sec, policy: { insecure: false, access: policy } });
  assert.equal(reply(b.call(remoteUdp, buildCall({ vers: 4, proc: 12 }))).kind, 'auth-error'); // GETSTAT
  assert.equal(
    reply(b.call(remoteUdp, buildCall({ vers: 2, proc: 1, args: (w) => w.uint32(7).uint32(1).uint32(17).uint32(9) })))
      .kind,
    'auth-error',
  ); // SET
  assert.equal(
    reply(b.call({ ...remoteUdp, peerAddress: '198.18.0.9' }, buildCall({ vers: 4, proc: 4 }))).kind,
    'auth-error',
  ); // DUMP
  assert.equal(reply(b.call(loopbackUdp, buildCall({ vers: 4, proc: 12 }))).kind, 'success');
  const denied = lines().filter((l) => l.event === 'access-denied');
  assert.deepEqual(
    denied.map((l) => [l.class, l.version, l.procedure, l.reason]),
    [
      ['dump', 4, 12, 'not-local'],
      ['register', 2, 1, 'not-local'],
      ['dump', 4, 4, 'access-rule'],
    ],
  );
  assert.equal(counters.deniedAccessRule, 1);
  assert.equal(counters.deniedNotLocal, 2);
});

test('a remote call to a target on the forwarding deny list is reported as access-denied, reason forward-rule', () => {
  const { sec, lines, counters } = jsonAudit();
  const b = newBinding({ security: sec });
  // PMAP CALLIT (v2 procedure 5) to NFS (100003) procedure 1: on the built-in deny list.
  const callit = buildCall({
    vers: 2,
    proc: 5,
    args: (w) => encodeRmtCallArgs(w, { prog: 100003, vers: 3, proc: 1, args: Buffer.alloc(0) }),
  });
  assert.equal(reply(b.call(remoteUdp, callit)).kind, 'auth-error');
  const denied = lines().filter((l) => l.event === 'access-denied');
  assert.deepEqual(
    denied.map((l) => [l.class, l.version, l.procedure, l.reason, l.caller]),
    [['callit', 2, 5, 'forward-rule', remoteUdp.peerAddress]],
  );
  assert.equal(counters.deniedForwardRule, 1);
});
