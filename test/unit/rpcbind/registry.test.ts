import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from '../../../src/rpcbind/index.js';

const reg = (prog: number, vers: number, netid: string, addr = '0.0.0.0.4.1', owner = 'superuser') => ({
  prog,
  vers,
  netid,
  addr,
  owner,
});

test('SET appends; the same address again is a success without a change; another address fails', () => {
  const r = new Registry();
  assert.equal(r.set(reg(1, 1, 'udp')), 'added');
  assert.equal(r.set(reg(1, 1, 'UDP')), 'exists'); // netids compare case-insensitively
  assert.equal(r.set(reg(1, 1, 'udp', '0.0.0.0.4.2')), 'conflict');
  assert.equal(r.set(reg(1, 2, 'udp')), 'added');
  assert.deepEqual(
    [...r.entries()].map((e) => e.vers),
    [1, 2],
  );
});

test('find returns the exact version, else the last-listed version of the program on that netid', () => {
  const r = new Registry();
  r.set(reg(7, 3, 'udp', 'a.b.0.3'));
  r.set(reg(7, 5, 'udp', 'a.b.0.5'));
  r.set(reg(7, 1, 'tcp', 'a.b.0.1'));
  assert.equal(r.find(7, 3, 'udp')?.vers, 3);
  assert.equal(r.find(7, 4, 'udp')?.vers, 5);
  assert.equal(r.find(7, 9, 'tcp')?.vers, 1);
  assert.equal(r.find(7, 1, 'udp6'), undefined);
  assert.equal(r.find(8, 1, 'udp'), undefined);
  assert.deepEqual(r.versionRange(7, 'udp'), [3, 5]);
});

test('UNSET with an empty netid removes every netid until an entry owned by someone else', () => {
  const r = new Registry();
  r.set(reg(9, 7, 'udp', 'x.0.1', 'unknown'));
  r.set(reg(9, 7, 'tcp', 'x.0.2', 'superuser'));
  r.set(reg(9, 7, 'udp6', 'x.0.3', 'unknown'));
  assert.equal(r.unset(9, 7, '', 'unknown'), false);
  assert.deepEqual(
    [...r.entries()].map((e) => e.netid),
    ['tcp', 'udp6'],
  );
  assert.equal(r.unset(9, 7, '', 'superuser'), true);
  assert.equal(r.size, 0);
});

test('UNSET of nothing succeeds; the owner may remove its own', () => {
  const r = new Registry();
  assert.equal(r.unset(1, 1, 'udp', 'unknown'), true);
  r.set(reg(1, 1, 'udp', 'x.0.1', '1000'));
  assert.equal(r.unset(1, 1, 'udp', '1001'), false);
  assert.equal(r.unset(1, 1, 'UDP', '1000'), true);
  assert.equal(r.size, 0);
});

test('a removed and re-added entry moves to the end; generation counts changes', () => {
  const r = new Registry();
  const g0 = r.generation;
  r.set(reg(1, 1, 'udp'));
  r.set(reg(2, 1, 'udp'));
  r.unset(1, 1, 'udp', 'superuser');
  r.set(reg(1, 1, 'udp'));
  assert.deepEqual(
    [...r.entries()].map((e) => e.prog),
    [2, 1],
  );
  assert.equal(r.generation, g0 + 4);
});

test('the table is capped', () => {
  const r = new Registry(2);
  r.set(reg(1, 1, 'udp'));
  r.set(reg(2, 1, 'udp'));
  assert.equal(r.set(reg(3, 1, 'udp')), 'full');
});

test('each owner but the superuser has a quota; removing frees it', () => {
  const r = new Registry(100, 2);
  const user = (prog: number, netid: string) => reg(prog, 1, netid, '0.0.0.0.4.1', '1000');
  r.set(user(1, 'udp'));
  r.set(user(2, 'udp'));
  assert.equal(r.set(user(3, 'udp')), 'full');
  assert.equal(r.set({ ...user(3, 'udp'), owner: 'unknown' }), 'added');
  assert.equal(r.set(reg(4, 1, 'udp')), 'added'); // superuser: only the table cap applies
  assert.equal(r.set(reg(5, 1, 'udp')), 'added');
  r.unset(1, 1, 'udp', '1000');
  assert.equal(r.set(user(3, 'tcp')), 'added');
});

test('lookups stay O(1) with many registrations', () => {
  const r = new Registry();
  for (let p = 0; p < 50_000; p++) r.set(reg(0x20000000 + p, 1, 'udp'));
  assert.equal(r.find(0x20000000 + 49_999, 1, 'udp')?.prog, 0x20000000 + 49_999);
  assert.equal([...r.findAllNetids(0x20000000 + 7, 1)].length, 1);
});

/** The table's rules written the plain way: one array in list order. */
class ModelRegistry {
  list: Array<{ prog: number; vers: number; netid: string; addr: string; owner: string }> = [];
  set(r: ModelRegistry['list'][number], max: number): string {
    const e = this.list.find(
      (x) => x.prog === r.prog && x.vers === r.vers && x.netid.toLowerCase() === r.netid.toLowerCase(),
    );
    if (e) return e.addr === r.addr ? 'exists' : 'conflict';
    if (this.list.length >= max) return 'full';
    this.list.push({ prog: r.prog, vers: r.vers, netid: r.netid, addr: r.addr, owner: r.owner });
    return 'added';
  }
  unset(prog: number, vers: number, netid: string, owner: string): boolean {
    for (const r of this.list.filter(
      (x) => x.prog === prog && x.vers === vers && (netid === '' || x.netid.toLowerCase() === netid.toLowerCase()),
    )) {
      if (owner !== 'superuser' && r.owner !== owner) return false;
      this.list.splice(this.list.indexOf(r), 1);
    }
    return true;
  }
  find(prog: number, vers: number, netid: string) {
    const l = netid.toLowerCase();
    return (
      this.list.find((x) => x.prog === prog && x.vers === vers && x.netid.toLowerCase() === l) ??
      [...this.list].reverse().find((x) => x.prog === prog && x.netid.toLowerCase() === l)
    );
  }
}

test('random SET/UNSET/remove sequences agree with a plain list (slot reuse, big programs, list order)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom('set', 'set', 'set', 'unset', 'remove', 'find'),
          // Program 1 gets many rows (past the scan limit), the others a few.
          prog: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 6 })),
          vers: fc.integer({ min: 1, max: 12 }),
          netid: fc.constantFrom('udp', 'tcp', 'UDP', 'udp6', 'tcp6', 'local', ''),
          addr: fc.constantFrom('0.0.0.0.4.1', '0.0.0.0.4.2', '/run/x.sock'),
          owner: fc.constantFrom('superuser', '1000', 'unknown'),
        }),
        { maxLength: 400 },
      ),
      (ops) => {
        const r = new Registry(60, 1000);
        const m = new ModelRegistry();
        for (const o of ops) {
          if (o.op === 'set' && o.netid !== '') assert.equal(r.set(o), m.set(o, 60));
          else if (o.op === 'unset')
            assert.equal(r.unset(o.prog, o.vers, o.netid, o.owner), m.unset(o.prog, o.vers, o.netid, o.owner));
          else if (o.op === 'remove' && o.netid !== '') {
            const had = m.find(o.prog, o.vers, o.netid);
            const exact = had && had.vers === o.vers ? had : undefined;
            if (exact) m.list.splice(m.list.indexOf(exact), 1);
            assert.equal(r.remove(o.prog, o.vers, o.netid), exact !== undefined);
          } else if (o.op === 'find') {
            assert.deepEqual(r.find(o.prog, o.vers, o.netid), m.find(o.prog, o.vers, o.netid));
            assert.deepEqual(
              r.findAllNetids(o.prog, o.vers),
              m.list.filter((x) => x.prog === o.prog && x.vers === o.vers),
            );
          }
          assert.equal(r.size, m.list.length);
        }
        assert.deepEqual([...r.entries()], m.list);
      },
    ),
    { numRuns: 300 },
  );
});

test('a looked-up entry keeps its identity until it changes; the listener sees every change', () => {
  const r = new Registry();
  const seen: string[] = [];
  r.observe((op, e) => seen.push(`${op} ${e.prog}/${e.vers}/${e.netid}`));
  r.set(reg(5, 1, 'udp'));
  const a = r.find(5, 1, 'udp');
  assert.equal(r.find(5, 1, 'UDP'), a);
  r.unset(5, 1, 'udp', 'superuser');
  r.set(reg(5, 1, 'udp', '0.0.0.0.4.9'));
  assert.notEqual(r.find(5, 1, 'udp'), a);
  assert.equal(r.find(5, 1, 'udp')?.addr, '0.0.0.0.4.9');
  r.clear();
  assert.deepEqual(seen, ['add 5/1/udp', 'remove 5/1/udp', 'add 5/1/udp', 'remove 5/1/udp']);
  assert.equal(r.size, 0);
  r.set(reg(6, 1, 'tcp'));
  assert.deepEqual(
    [...r.entries()].map((e) => e.prog),
    [6],
  );
});

test('atNextChange calls back once, at the next change (add, remove or clear), not at a SET that changes nothing', () => {
  const r = new Registry();
  let calls = 0;
  r.atNextChange(() => calls++);
  assert.equal(r.set(reg(7, 1, 'udp')), 'added');
  assert.equal(calls, 1);
  assert.equal(r.set(reg(8, 1, 'udp')), 'added');
  assert.equal(calls, 1, 'forgotten after the first call');
  r.atNextChange(() => calls++);
  assert.equal(r.set(reg(8, 1, 'udp')), 'exists');
  assert.equal(calls, 1);
  assert.equal(r.unset(8, 1, 'udp', 'superuser'), true);
  assert.equal(calls, 2);
  r.atNextChange(() => calls++);
  r.clear();
  assert.equal(calls, 3);
});
