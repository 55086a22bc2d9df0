import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { importWarmStart } from '../../../../src/daemon/persistence/warmstart-import.js';
import { encodePmapList, encodeRpcbList } from '../../../../src/proto/index.js';
import { XdrWriter } from '../../../../src/xdr/index.js';

const root = mkdtempSync(join(tmpdir(), 'rbt-warm-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('imports rpcblist and pmaplist, skipping the portmapper and duplicates', () => {
  const dir = join(root, 'a');
  const rpcb = new XdrWriter();
  encodeRpcbList(rpcb, [
    { prog: 100000, vers: 4, netid: 'tcp', addr: '0.0.0.0.0.111', owner: 'superuser' },
    { prog: 100024, vers: 1, netid: 'udp', addr: '0.0.0.0.3.4', owner: 'superuser' },
    { prog: 100024, vers: 1, netid: 'tcp6', addr: '::.3.5', owner: '29' },
  ]);
  const pmap = new XdrWriter();
  encodePmapList(pmap, [
    { prog: 100000, vers: 2, prot: 6, port: 111 },
    { prog: 100024, vers: 1, prot: 17, port: 772 },
    { prog: 100021, vers: 4, prot: 6, port: 4045 },
  ]);
  mkdirSync(dir);
  writeFileSync(join(dir, 'rpcbind.xdr'), rpcb.toBuffer());
  writeFileSync(join(dir, 'portmap.xdr'), pmap.toBuffer());
  assert.deepEqual(importWarmStart(dir), {
    kind: 'imported',
    problems: [],
    entries: [
      { prog: 100024, vers: 1, netid: 'udp', addr: '0.0.0.0.3.4', owner: 'superuser' },
      { prog: 100024, vers: 1, netid: 'tcp6', addr: '::.3.5', owner: '29' },
      { prog: 100021, vers: 4, netid: 'tcp', addr: '0.0.0.0.15.205', owner: 'unknown' },
    ],
  });
});

test('no files: nothing to import; a garbled file is reported, not thrown', () => {
  assert.deepEqual(importWarmStart(join(root, 'none')), { kind: 'none' });
  const dir = join(root, 'b');
  mkdirSync(dir);
  writeFileSync(join(dir, 'rpcbind.xdr'), Buffer.from([0, 0, 0, 1, 0, 0]));
  const r = importWarmStart(dir);
  assert.equal(r.kind, 'imported');
  assert.equal(r.kind === 'imported' && r.problems.length, 1);
});
