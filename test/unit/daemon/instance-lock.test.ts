import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireInstanceLock } from '../../../src/daemon/instance-lock.js';

const moduleUrl = new URL('../../../src/daemon/instance-lock.js', import.meta.url).href;

test('lock: created 0444 when missing; a second taker is refused; released on release()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  try {
    const path = join(dir, 'rpcbind.lock');
    const first = acquireInstanceLock(path);
    assert.equal(first.enforced, true);
    assert.equal(statSync(path).mode & 0o777, 0o444);
    assert.throws(() => acquireInstanceLock(path), /another rpcbind is already running/);
    first.release();
    acquireInstanceLock(path).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Under systemd's CapabilityBoundingSet root has no CAP_DAC_OVERRIDE: it meets a 0444 file left
// by Debian's rpcbind (or our previous start) as any user meets a file without write permission.
// An unprivileged owner of a 0444 file is the same situation without systemd.
test('lock: an existing read-only lock file is taken without write access', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-ro-'));
  try {
    const path = join(dir, 'rpcbind.lock');
    writeFileSync(path, '');
    chmodSync(path, 0o444);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chmodSync(dir, 0o755);
      chownSync(path, 1, 1);
    }
    const script = `import(${JSON.stringify(moduleUrl)}).then((m) => { const l = m.acquireInstanceLock(${JSON.stringify(path)}); console.log(l.enforced ? 'locked' : 'unenforced'); l.release(); }, (e) => { console.log(String(e)); process.exit(1); })`;
    const cmd = asRoot ? ['setpriv', '--reuid=1', '--regid=1', '--clear-groups', process.execPath] : [process.execPath];
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
    assert.equal(r.stdout.trim(), 'locked', `stdout: ${r.stdout} stderr: ${r.stderr}`);
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lock: a link planted at the path is not followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-link-'));
  try {
    const path = join(dir, 'rpcbind.lock');
    spawnSync('ln', ['-s', join(dir, 'elsewhere'), path]);
    assert.throws(() => acquireInstanceLock(path), /cannot open lock file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lock: without flock(2) the lock says it is not enforced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-nf-'));
  try {
    const lock = acquireInstanceLock(join(dir, 'rpcbind.lock'), null);
    assert.equal(lock.enforced, false);
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
