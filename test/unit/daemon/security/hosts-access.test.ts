import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostsFile } from '../../../../src/daemon/security/hosts-access.js';
import { AccessPolicy } from '../../../../src/rpcbind/index.js';
import type { CallerContext } from '../../../../src/rpc/index.js';

const ctx = (peerAddress: string): CallerContext => ({
  netid: 'tcp',
  peerAddress,
  peerPort: 1,
  localAddress: '',
  uid: undefined,
});

test('hosts.allow / hosts.deny for rpcbind, libwrap order', () => {
  const allow = parseHostsFile(
    '# comment\nrpcbind: 127.0.0.1 10.0.0.0/255.0.0.0 [::1] \\\n  192.168.1.\nsshd: ALL\n',
    true,
    'hosts.allow',
  );
  const deny = parseHostsFile(
    'rpcbind : ALL EXCEPT 172.16.0.0/12\nportmap: ALL\nALL: host.example\n',
    false,
    'hosts.deny',
  );
  assert.equal(allow.rules.length, 1);
  assert.equal(deny.rules.length, 2);
  assert.match(deny.warnings.join('\n'), /host\.example/);
  const p = new AccessPolicy({ hostsRules: [...allow.rules, ...deny.rules] });
  for (const a of ['127.0.0.1', '10.2.3.4', '::1', '192.168.1.77', '172.20.0.1'])
    assert.equal(p.decide('query', ctx(a)), 'allow', a);
  for (const a of ['198.18.0.9', '192.168.2.1', '::2']) assert.equal(p.decide('query', ctx(a)), 'deny', a);
});

test('one-file style options and EXCEPT in the daemon list', () => {
  const f = parseHostsFile(
    'ALL EXCEPT rpcbind: ALL: deny\nrpcbind: [2001:db8::]/32 : allow\nrpcbind: ALL : deny\n',
    true,
    'hosts.allow',
  );
  assert.equal(f.rules.length, 2);
  const p = new AccessPolicy({ hostsRules: f.rules });
  assert.equal(p.decide('dump', ctx('2001:db8::5')), 'allow');
  assert.equal(p.decide('dump', ctx('2001:db9::5')), 'deny');
});
