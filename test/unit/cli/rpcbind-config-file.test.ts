import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfigText, resolveConfig } from '../../../src/cli/rpcbind-config-file.js';
import { parseCommandLine, toDaemonOptions } from '../../../src/cli/rpcbind-options.js';

test('keys are long options; repeated keys give several values; comments and quotes', () => {
  const v = parseConfigText(
    [
      '# a comment',
      '',
      'host = 198.18.0.1',
      'host=127.0.0.1  # trailing',
      'insecure = true',
      'log-calls = false',
      'socket = "/run/x#y.sock"',
    ].join('\n'),
    'f',
  );
  assert.deepEqual(v, {
    host: ['198.18.0.1', '127.0.0.1'],
    insecure: true,
    'log-calls': false,
    socket: '/run/x#y.sock',
  });
});

test('every bad line is reported with its number', () => {
  assert.throws(
    () => parseConfigText('bogus = 1\ninsecure = yes\nport\nport = 1\nport = 2\nconfig = /x\nuser =', 'f.conf'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const lines = e.message.split('\n');
      assert.deepEqual(lines, [
        'f.conf:1: unknown key "bogus"',
        'f.conf:2: insecure takes true or false, not "yes"',
        'f.conf:3: expected "key = value"',
        'f.conf:5: port is set twice (it takes one value)',
        'f.conf:6: unknown key "config"',
        'f.conf:7: user needs a value',
      ]);
      return true;
    },
  );
});

test('the command line overrides the file, lists included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rbconf-'));
  const file = join(dir, 'rpcbind-ts.conf');
  writeFileSync(
    file,
    'host = 198.18.0.1\nhost = 198.18.0.2\nport = 1111\nlog-format = json\nmetrics = 127.0.0.1:9100\n',
  );
  const fromFile = await resolveConfig(parseCommandLine(['--config', file]));
  assert.deepEqual(fromFile.options.hosts, ['198.18.0.1', '198.18.0.2']);
  assert.equal(fromFile.options.port, 1111);
  assert.equal(fromFile.options.logFormat, 'json');
  assert.deepEqual(fromFile.options.metrics, { host: '127.0.0.1', port: 9100 });
  assert.equal(fromFile.path, file);
  const over = await resolveConfig(parseCommandLine(['--config', file, '-h', '10.0.0.1', '--port', '2222']));
  assert.deepEqual(over.options.hosts, ['10.0.0.1']);
  assert.equal(over.options.port, 2222);
  await assert.rejects(resolveConfig(parseCommandLine(['--config', join(dir, 'missing')])), ConfigError);
});

test('--metrics needs an address', async () => {
  await assert.rejects(
    resolveConfig(parseCommandLine(['--config', '/dev/null', '--metrics', '9100'])),
    /bad listen address/,
  );
  const v6 = await resolveConfig(parseCommandLine(['--config', '/dev/null', '--metrics', '[::1]:9100']));
  assert.deepEqual(v6.options.metrics, { host: '::1', port: 9100 });
});

test('state-failure: refuse by default, accept from the file or the command line, anything else rejected', () => {
  assert.equal(toDaemonOptions(parseCommandLine([])).stateFailure, 'refuse');
  assert.equal(toDaemonOptions(parseConfigText('state-failure = accept', 'f')).stateFailure, 'accept');
  assert.equal(toDaemonOptions(parseCommandLine(['--state-failure', 'accept'])).stateFailure, 'accept');
  assert.throws(
    () => toDaemonOptions(parseCommandLine(['--state-failure', 'ignore'])),
    /bad state failure policy: ignore \(refuse or accept\)/,
  );
});
