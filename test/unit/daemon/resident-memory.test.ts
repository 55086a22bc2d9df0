import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadLibc } from '../../../src/os/libc.js';
import {
  droppableMappings,
  fixMallocThreshold,
  releaseStartupPages,
  whenIdle,
} from '../../../src/daemon/resident-memory.js';

const SMAPS = `00400000-00b6f000 r--p 00000000 fd:01 1234   /usr/bin/node
Size:               7612 kB
Rss:                5948 kB
Anonymous:             0 kB
00b72000-025fe000 r-xp 00772000 fd:01 1234   /usr/bin/node
Rss:               16616 kB
Anonymous:             0 kB
05659000-0566c000 r--p 05258000 fd:01 1234   /usr/bin/node
Rss:                  76 kB
Anonymous:            76 kB
0566c000-05670000 rw-p 0526b000 fd:01 1234   /usr/bin/node
Rss:                  16 kB
Anonymous:            16 kB
377bb000-37a7e000 rw-p 00000000 00:00 0      [heap]
Rss:                2708 kB
Anonymous:          2708 kB
7f1b2f164000-7f1b2f2ba000 r-xp 00026000 fd:01 99   /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1048 kB
Anonymous:             0 kB
7f1b2f400000-7f1b2f499000 r--p 00000000 fd:01 98   /tmp/gone.so (deleted)
Rss:                 612 kB
Anonymous:             0 kB
7f1b2f500000-7f1b2f501000 r--s 00000000 fd:01 97   /dev/shm/shared
Rss:                   4 kB
Anonymous:             0 kB
7f1b2f600000-7f1b2f700000 r-xp 00000000 fd:01 96   /usr/lib/not-resident.so
Rss:                   0 kB
Anonymous:             0 kB
7f1b2f700000-7f1b2f800000 r--p 00000000 fd:01 95   /usr/lib/no-anonymous-line.so
Rss:                  40 kB
7ffd8a5f2000-7ffd8a5f6000 r--p 00000000 00:00 0  [vvar]
Rss:                   0 kB
Anonymous:             0 kB
`;

test('only resident, private, read-only file mappings without copied pages are droppable', () => {
  const got = droppableMappings(SMAPS).map((m) => [m.start.toString(16), m.length, m.rssKiB, m.path]);
  assert.deepEqual(got, [
    ['400000', 0xb6f000 - 0x400000, 5948, '/usr/bin/node'],
    ['b72000', 0x25fe000 - 0xb72000, 16616, '/usr/bin/node'],
    ['7f1b2f164000', 0x7f1b2f2ba000 - 0x7f1b2f164000, 1048, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  ]);
});

test("dropping this process's start-up pages unmaps them and loses nothing", () => {
  const libc = loadLibc();
  assert.ok(libc, 'libc loads through koffi');
  assert.equal(fixMallocThreshold(libc), true);
  const data = Buffer.alloc(1 << 20, 0x5a);
  const resident = (): number =>
    droppableMappings(readFileSync('/proc/self/smaps', 'utf8')).reduce((s, m) => s + m.rssKiB, 0);
  const before = resident();
  const dropped = releaseStartupPages(libc);
  const after = resident();
  assert.ok(dropped > 0, 'some file pages were resident');
  assert.ok(after < before, `resident file pages ${before} kB before, ${after} kB after`);
  // Everything still works: code and read-only data map again, memory of our own is intact.
  assert.equal(
    data.every((b) => b === 0x5a),
    true,
  );
  assert.equal(JSON.stringify({ a: [1, 2] }), '{"a":[1,2]}');
  assert.equal(new Intl.NumberFormat('en-US').format(1234567), '1,234,567');
});

test('whenIdle runs at the first quiet period, or after the last try under constant work', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const wait = { everyMs: 1000, tries: 5, idleCpuUs: 20_000 };
  // Busy for two periods (50 ms of CPU each), then quiet (5 ms).
  let cpu = 0;
  const steps = [50_000, 50_000, 5_000];
  let ran = 0;
  whenIdle(
    () => ran++,
    wait,
    () => cpu,
  );
  for (const [i, used] of steps.entries()) {
    cpu += used;
    t.mock.timers.tick(1000);
    assert.equal(ran, i < 2 ? 0 : 1, `after period ${i + 1}`);
  }
  t.mock.timers.tick(10_000);
  assert.equal(ran, 1, 'once only');

  // Never quiet: it runs after the last try anyway.
  let busy = 0;
  let forced = 0;
  whenIdle(
    () => forced++,
    wait,
    () => (busy += 100_000),
  );
  t.mock.timers.tick(4000);
  assert.equal(forced, 0);
  t.mock.timers.tick(1000);
  assert.equal(forced, 1);
  t.mock.timers.tick(10_000);
  assert.equal(forced, 1);
});
