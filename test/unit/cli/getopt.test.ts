import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getopt } from '../../../src/cli/getopt.js';

const SPEC = 'a:bdlmn:pstT:u';

test('permutes operands like GNU getopt', () => {
  const r = getopt('rpcinfo', ['localhost', '-p'], SPEC);
  assert.deepEqual(r, { ok: true, options: [{ opt: 'p', arg: undefined }], operands: ['localhost'] });
});

test('takes attached and separate option arguments', () => {
  const r = getopt('rpcinfo', ['-Ttcp', '-a', '1.2.3.4.0.111', 'x'], SPEC);
  assert.ok(r.ok);
  assert.deepEqual(r.options, [
    { opt: 'T', arg: 'tcp' },
    { opt: 'a', arg: '1.2.3.4.0.111' },
  ]);
});

test('reports glibc messages', () => {
  assert.deepEqual(getopt('rpcinfo', ['-x'], SPEC), { ok: false, message: "rpcinfo: invalid option -- 'x'" });
  assert.deepEqual(getopt('rpcinfo', ['-T'], SPEC), {
    ok: false,
    message: "rpcinfo: option requires an argument -- 'T'",
  });
});

test('"--" ends options; POSIXLY_CORRECT stops at the first operand', () => {
  const a = getopt('rpcinfo', ['--', '-p'], SPEC);
  assert.ok(a.ok && a.operands[0] === '-p');
  const b = getopt('rpcinfo', ['host', '-p'], SPEC, [], true);
  assert.ok(b.ok && b.options.length === 0 && b.operands.length === 2);
});

test('long options', () => {
  const r = getopt('rpcinfo', ['--timeout=2', '--json'], SPEC, [
    { name: 'timeout', hasArg: true },
    { name: 'json', hasArg: false },
  ]);
  assert.ok(r.ok);
  assert.deepEqual(r.options, [
    { opt: 'timeout', arg: '2' },
    { opt: 'json', arg: undefined },
  ]);
});
