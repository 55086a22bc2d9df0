import assert from 'node:assert/strict';
import { closeSync, fstatSync, linkSync, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { linkCount } from '../../../../src/daemon/persistence/state-io.js';

const dir = mkdtempSync(join(tmpdir(), 'state-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("linkCount follows the open file's links as fstat's st_nlink does: 1, 2 when linked, 0 once removed", () => {
  const path = join(dir, 'journal');
  const fd = openSync(path, 'w');
  try {
    assert.equal(linkCount(fd), 1);
    linkSync(path, join(dir, 'second'));
    assert.equal(linkCount(fd), 2);
    unlinkSync(path);
    unlinkSync(join(dir, 'second'));
    assert.equal(linkCount(fd), 0);
    assert.equal(linkCount(fd), fstatSync(fd).nlink);
  } finally {
    closeSync(fd);
  }
});
