// The Debian package on a booted Debian, as an administrator meets it: Debian 12 (Node 18 from
// Debian) and Debian 13 (Node 20 from Debian) guests with systemd as PID 1 (test/helpers/guest.ts),
// Debian's rpcbind and rpc-statd running, then `apt-get install ./rpcbind-ts_….deb` and what
// follows: systemctl start/stop/restart/reload, socket activation, statd kept across restart and
// kill -9, journalctl -u rpcbind, an upgrade, a reboot, the way back to Debian's rpcbind and a purge
// after it. Needs debootstrap, systemd-container, dpkg-dev and lintian (.ci/run installs them);
// the first run on a machine builds the root filesystems (about 2 minutes each).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findRepoRoot } from '../helpers/daemons.js';
import { Guest, ensureRootfs } from '../helpers/guest.js';
import { waitFor } from '../helpers/netns.js';

const ROOT = findRepoRoot();
const SUITES = ['bookworm', 'trixie'] as const;
const NODE_MAJOR = { bookworm: 18, trixie: 20 } as const;
const SUITE_TIMEOUT_MS = 20 * 60_000;
const STATD = 100024;
// As the guest was built (debootstrap installs no Recommends): it has nothing more to install from.
const APT = 'apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends';

function buildDeb(dir: string, version?: string): string {
  const args = ['scripts/build-deb.mjs', '--out', dir, ...(version ? ['--version', version] : [])];
  execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  assert.ok(deb, `no .deb in ${dir}`);
  return join(dir, deb);
}

/** Program numbers that `rpcinfo -p` lists in the guest (empty when nothing answers). */
async function registered(guest: Guest): Promise<Set<number>> {
  const r = await guest.run('rpcinfo -p', { timeoutMs: 10_000 });
  if (r.code !== 0) return new Set();
  return new Set(
    r.stdout
      .split('\n')
      .slice(1)
      .map((l) => Number(l.trim().split(/\s+/)[0]))
      .filter((n) => n > 0),
  );
}

async function show(guest: Guest, unit: string, ...props: string[]): Promise<Record<string, string>> {
  const out = await guest.must(`systemctl show ${unit} ${props.map((p) => `-p ${p}`).join(' ')}`);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function waitRegistered(guest: Guest, prog: number, what: string): Promise<void> {
  await waitFor(async () => (await registered(guest)).has(prog), { timeoutMs: 20_000, intervalMs: 100, what });
}

/** Milliseconds that `fn` takes. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

describe('the Debian package', { timeout: SUITE_TIMEOUT_MS }, () => {
  let tmp: string;
  let deb: string;
  let debNext: string;
  before(async () => {
    // Both root filesystems at once: on a new machine only the first run builds them.
    const rootfs = Promise.all(SUITES.map((s) => ensureRootfs(s)));
    tmp = mkdtempSync(join(tmpdir(), 'rbdeb-'));
    deb = buildDeb(join(tmp, 'v1'));
    debNext = buildDeb(join(tmp, 'v2'), '0.1.0+upgrade1');
    await rootfs;
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('npm run deb gives one file, which lintian passes without errors', async (t) => {
    assert.match(deb, /\/rpcbind-ts_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/);
    const r = execFileSync('sh', ['-c', 'lintian --tag-display-limit 0 "$1" 2>&1 || true', 'sh', deb], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const errors = r.split('\n').filter((l) => l.startsWith('E: '));
    assert.deepEqual(errors, []);
    const fields = execFileSync('dpkg-deb', ['-f', deb, 'Provides', 'Conflicts', 'Replaces', 'Depends'], {
      encoding: 'utf8',
    });
    assert.match(fields, /^Provides: rpcbind$/m);
    assert.match(fields, /^Conflicts: rpcbind$/m);
    assert.match(fields, /^Replaces: rpcbind$/m);
    assert.match(fields, /^Depends: nodejs \(>= 18\.20\)/m);
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const path of [
      './usr/sbin/rpcbind',
      './usr/bin/rpcinfo',
      './usr/sbin/rpcinfo',
      './lib/systemd/system/rpcbind.service',
      './lib/systemd/system/rpcbind.socket',
      './usr/share/man/man8/rpcbind.8.gz',
      './usr/share/man/man8/rpcinfo.8.gz',
    ]) {
      assert.ok(files.includes(` ${path}`), `${path} is in the package`);
    }
    t.diagnostic(
      `package size ${(Number(execFileSync('stat', ['-c', '%s', deb], { encoding: 'utf8' })) / 1024).toFixed(0)} KiB; lintian: ${r.split('\n').filter((l) => /^[EW]: /.test(l)).length} errors/warnings`,
    );
  });

  for (const suite of SUITES) {
    describe(`on a booted Debian ${suite}`, () => {
      let guest: Guest;
      before(async () => {
        guest = await Guest.boot(suite);
        guest.copyIn(deb, '/root/rpcbind-ts.deb');
        guest.copyIn(debNext, '/root/rpcbind-ts-next.deb');
      });
      after(async () => {
        await guest?.dispose();
      });

      test("Debian's own rpcbind and rpc-statd run before the switch", async () => {
        assert.match(await guest.must('node --version'), new RegExp(`^v${NODE_MAJOR[suite]}\\.`));
        await guest.must('systemctl start rpc-statd');
        await waitRegistered(guest, STATD, "statd registered with Debian's rpcbind");
        assert.equal(await guest.mainComm(), 'rpcbind');
      });

      test('apt-get install ./rpcbind-ts.deb replaces it; nfs-common stays; statd is registered again', async (t) => {
        const ms = await timed(() => guest.must(`cd /root && ${APT} install ./rpcbind-ts.deb`, { timeoutMs: 120_000 }));
        t.diagnostic(`apt-get install took ${ms.toFixed(0)} ms`);
        assert.match(await guest.must("dpkg-query -W -f='${Status}' rpcbind-ts"), /install ok installed/);
        assert.doesNotMatch((await guest.run("dpkg-query -W -f='${Status}' rpcbind")).stdout, /install ok installed/);
        assert.match(await guest.must("dpkg-query -W -f='${Status}' nfs-common"), /install ok installed/);
        await guest.must('apt-get check');
        // The aliased names stayed ours (merged /usr) and no diversion is left behind.
        assert.match(await guest.must('readlink -f /sbin/rpcbind; head -c 200 /usr/sbin/rpcbind'), /rpcbind-ts/);
        assert.equal((await guest.must('dpkg-divert --list | grep -c rpcbind-ts || true')).trim(), '0');
        await guest.waitActive('rpcbind.service');
        // statd was stopped with Debian's rpcbind.socket (it Requires= it): started again, registered.
        await waitRegistered(guest, STATD, 'statd registered with rpcbind-ts');
        // Debian's warm-start files were taken over and consumed (no stale import on the way back).
        assert.notEqual((await guest.run('ls /run/rpcbind/*.xdr')).code, 0);
      });

      test('systemctl status: active (running), Type=notify, unprivileged, journalctl -u rpcbind', async () => {
        const s = await show(
          guest,
          'rpcbind.service',
          'Type',
          'ActiveState',
          'SubState',
          'StatusText',
          'MainPID',
          'FragmentPath',
          'User',
        );
        assert.equal(s.Type, 'notify');
        assert.equal(s.ActiveState, 'active');
        assert.equal(s.SubState, 'running');
        assert.equal(s.StatusText, 'serving');
        // One file on merged /usr; Debian 13's systemd names it by its /usr path.
        assert.match(s.FragmentPath!, /^(\/usr)?\/lib\/systemd\/system\/rpcbind\.service$/);
        const status = await guest.must(`grep -E '^(Uid|CapEff|CapPrm):' /proc/${s.MainPID}/status; id -u _rpc`);
        const uid = status.trim().split('\n').pop()!;
        assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
        assert.notEqual(uid, '0');
        // CAP_NET_BIND_SERVICE (bit 10) at most.
        assert.match(status, /^CapEff:\s+0000000000000400$/m);
        assert.match((await guest.run('systemctl status rpcbind --no-pager')).stdout, /Active: active \(running\)/);
        const journal = await guest.must('journalctl -u rpcbind --no-pager -o cat');
        assert.match(journal, /serving program 100000 versions 2-4/);
      });

      test('restart and kill -9 keep statd registered; reload works inside the unit', async (t) => {
        const before1 = (await show(guest, 'rpcbind.service', 'MainPID')).MainPID;
        const restartMs = await timed(() => guest.must('systemctl restart rpcbind'));
        // From the start of the process to READY=1, as systemd saw it.
        const s = await show(
          guest,
          'rpcbind.service',
          'MainPID',
          'ExecMainStartTimestampMonotonic',
          'ActiveEnterTimestampMonotonic',
        );
        const readyMs = (Number(s.ActiveEnterTimestampMonotonic) - Number(s.ExecMainStartTimestampMonotonic)) / 1000;
        t.diagnostic(
          `systemctl restart rpcbind took ${restartMs.toFixed(0)} ms; the daemon was ready ${readyMs.toFixed(0)} ms after its start`,
        );
        assert.notEqual(s.MainPID, before1);
        assert.ok((await registered(guest)).has(STATD), 'statd registered after restart');

        const killed = (await show(guest, 'rpcbind.service', 'MainPID')).MainPID;
        await guest.must('systemctl kill -s KILL --kill-who=main rpcbind.service');
        await waitFor(
          async () => {
            const s = await show(guest, 'rpcbind.service', 'MainPID', 'ActiveState');
            return s.ActiveState === 'active' && s.MainPID !== killed && s.MainPID !== '0';
          },
          { timeoutMs: 20_000, intervalMs: 50, what: 'rpcbind restarted by systemd after kill -9' },
        );
        await waitRegistered(guest, STATD, 'statd registered after kill -9');
        assert.ok((await registered(guest)).has(STATD));

        await guest.must('systemctl reload rpcbind');
        await waitFor(
          async () => /configuration reloaded/.test(await guest.must('journalctl -u rpcbind --no-pager -o cat')),
          {
            timeoutMs: 10_000,
            what: 'the reload in the journal',
          },
        );
        await guest.waitActive('rpcbind.service');
      });

      test('socket activation over tcp, udp and the local socket; starting rpc-statd pulls rpcbind in', async (t) => {
        const calls = {
          tcp: 'rpcinfo -t 127.0.0.1 100000 2',
          udp: 'rpcinfo -u 127.0.0.1 100000 2',
          // rpcinfo without a host lists over /run/rpcbind.sock.
          local: 'rpcinfo',
        };
        for (const [transport, call] of Object.entries(calls)) {
          // Many starts in a row: clear systemd's start rate limit (5 in 10 s), as an admin would.
          await guest.must('systemctl reset-failed rpcbind.service rpcbind.socket');
          await guest.must('systemctl stop rpcbind.service');
          assert.equal((await guest.run('systemctl is-active rpcbind.service')).stdout.trim(), 'inactive');
          const ms = await timed(() => guest.must(call, { timeoutMs: 15_000 }));
          t.diagnostic(`activation over ${transport}: first answer in ${ms.toFixed(0)} ms`);
          assert.equal(
            (await guest.run('systemctl is-active rpcbind.service')).stdout.trim(),
            'active',
            `activated over ${transport}`,
          );
        }
        await guest.must('systemctl reset-failed rpcbind.service rpcbind.socket');
        await guest.must('systemctl stop rpc-statd rpcbind.socket rpcbind.service');
        await guest.must('systemctl start rpc-statd');
        await guest.waitActive('rpcbind.socket');
        await waitRegistered(guest, STATD, 'statd registered after starting rpc-statd alone');
        assert.equal((await guest.run('systemctl is-active rpcbind.service')).stdout.trim(), 'active');
      });

      test('an upgrade of the package restarts the daemon and keeps it serving', async () => {
        const pid = (await show(guest, 'rpcbind.service', 'MainPID')).MainPID;
        await guest.must(`cd /root && ${APT} install ./rpcbind-ts-next.deb`, { timeoutMs: 120_000 });
        assert.match(await guest.must("dpkg-query -W -f='${Version}' rpcbind-ts"), /^0\.1\.0\+upgrade1$/);
        await guest.waitActive('rpcbind.service');
        assert.notEqual((await show(guest, 'rpcbind.service', 'MainPID')).MainPID, pid, 'restarted on upgrade');
        assert.equal((await guest.run('systemctl is-active rpcbind.socket')).stdout.trim(), 'active');
        assert.ok((await registered(guest)).has(STATD), 'statd still registered after the upgrade');
      });

      test('a reboot brings it up', async () => {
        await guest.reboot();
        await waitFor(async () => (await guest.run('rpcinfo -p')).code === 0, {
          timeoutMs: 20_000,
          what: 'rpcinfo -p after reboot',
        });
        assert.equal(
          (await guest.run('systemctl is-enabled rpcbind.service rpcbind.socket')).stdout.trim(),
          'enabled\nenabled',
        );
        await guest.waitActive('rpcbind.service');
        assert.equal(await guest.mainComm(), 'node');
      });

      test("the way back: apt-get install rpcbind brings Debian's back, nfs-common stays; a purge of ours then leaves it enabled and running", async () => {
        await guest.must(`${APT} install rpcbind`, { timeoutMs: 120_000 });
        assert.match(await guest.must("dpkg-query -W -f='${Status}' rpcbind"), /install ok installed/);
        assert.match(await guest.must("dpkg-query -W -f='${Status}' nfs-common"), /install ok installed/);
        await guest.must('apt-get check');
        await guest.waitActive('rpcbind.service', "Debian's rpcbind running");
        assert.equal(await guest.mainComm(), 'rpcbind');
        await guest.must(`${APT} purge rpcbind-ts`, { timeoutMs: 120_000 });
        assert.equal((await guest.run("dpkg-query -W -f='${Status}' rpcbind-ts")).stdout.includes('installed'), false);
        assert.equal(
          (await guest.run('systemctl is-enabled rpcbind.service rpcbind.socket')).stdout.trim(),
          'enabled\nenabled',
        );
        await guest.waitActive('rpcbind.service', "Debian's rpcbind still running after the purge");
        assert.ok((await registered(guest)).has(100000));
        await guest.reboot();
        await guest.waitActive('rpcbind.socket', "Debian's rpcbind.socket after a reboot");
        await waitFor(async () => (await guest.run('rpcinfo -p')).code === 0, {
          timeoutMs: 20_000,
          what: "Debian's rpcbind answers after a reboot",
        });
      });

      test("reinstall, then apt-get remove stops it; purge cleans its state; Debian's rpcbind comes back", async () => {
        await guest.must(`cd /root && ${APT} install ./rpcbind-ts.deb`, { timeoutMs: 120_000 });
        await guest.waitActive('rpcbind.service');
        assert.equal(await guest.mainComm(), 'node');
        // Removing the portmapper takes what depends on it (nfs-common), as with Debian's.
        await guest.must(`${APT} remove rpcbind-ts`, { timeoutMs: 120_000 });
        assert.notEqual((await guest.run('pgrep -u _rpc -f rpcbind.js')).code, 0, 'no daemon left');
        assert.notEqual((await guest.run('rpcinfo -p')).code, 0, 'nothing answers');
        assert.equal((await guest.run('test -d /run/rpcbind-ts')).code, 0, 'state kept on remove');
        await guest.must(`${APT} purge rpcbind-ts`, { timeoutMs: 120_000 });
        assert.notEqual((await guest.run('test -e /run/rpcbind-ts')).code, 0, 'state gone on purge');
        await guest.must(`${APT} install rpcbind nfs-common`, { timeoutMs: 120_000 });
        await guest.waitActive('rpcbind.service', "Debian's rpcbind back");
        assert.equal(await guest.mainComm(), 'rpcbind');
        await guest.must('apt-get check');
        await waitFor(async () => (await guest.run('rpcinfo -p')).code === 0, {
          timeoutMs: 20_000,
          what: "Debian's rpcbind answers",
        });
      });
    });
  }
});
