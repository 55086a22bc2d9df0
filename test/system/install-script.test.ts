// deploy/install.sh (for systemd distributions without our package) on a booted Debian 12
// guest that keeps Debian's rpcbind package installed: the checkout is mapped read-only into the
// guest, install.sh runs with Debian's node, and a reinstall of Debian's rpcbind package (its
// preinst stops rpcbind.service and .socket, its postinst starts them) must leave ours serving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findRepoRoot } from '../helpers/daemons.js';
import { Guest } from '../helpers/guest.js';
import { waitFor } from '../helpers/netns.js';

const ROOT = findRepoRoot();
const SUITE_TIMEOUT_MS = 8 * 60_000;
const STATD = 100024;

async function statdRegistered(guest: Guest): Promise<boolean> {
  const r = await guest.run('rpcinfo -p');
  return r.code === 0 && new RegExp(`^\\s*${STATD}\\s`, 'm').test(r.stdout);
}

describe('deploy/install.sh on a booted Debian 12 with Debian rpcbind installed', { timeout: SUITE_TIMEOUT_MS }, () => {
  let guest: Guest;
  before(async () => {
    guest = await Guest.boot('bookworm', { bindRo: { [ROOT]: '/opt/rpcbind-ts' } });
  });
  after(async () => {
    await guest?.dispose();
  });

  test('install.sh puts ours under rpcbind.service; restart, reload and statd work', async () => {
    const out = await guest.must('sh /opt/rpcbind-ts/deploy/install.sh', { timeoutMs: 60_000 });
    assert.match(out, /Active: active \(running\)/);
    assert.equal(await guest.mainComm(), 'node');
    assert.match(await guest.must('systemctl show -p User --value rpcbind.service'), /^_rpc$/m);
    assert.match(await guest.must('journalctl -u rpcbind --no-pager -o cat'), /serving program 100000 versions 2-4/);
    await guest.must('systemctl start rpc-statd');
    await waitFor(() => statdRegistered(guest), { timeoutMs: 20_000, what: 'statd registered with ours' });
    await guest.must('systemctl reload rpcbind');
    await guest.must('systemctl restart rpcbind');
    assert.equal(await statdRegistered(guest), true, 'statd kept across restart');
  });

  test("an update of Debian's rpcbind package leaves ours serving", async () => {
    await guest.must('apt-get -y -q -o Dpkg::Use-Pty=0 install --reinstall rpcbind', { timeoutMs: 120_000 });
    await guest.waitActive('rpcbind.service', 'rpcbind.service active after the package update');
    assert.equal(await guest.mainComm(), 'node');
    assert.equal((await guest.run('rpcinfo -p')).code, 0, 'port 111 answers');
  });

  test("install.sh --uninstall gives the host back to Debian's rpcbind", async () => {
    await guest.must('sh /opt/rpcbind-ts/deploy/install.sh --uninstall', { timeoutMs: 60_000 });
    await guest.waitActive('rpcbind.service', "Debian's rpcbind active");
    assert.equal(await guest.mainComm(), 'rpcbind');
    assert.equal((await guest.run('rpcinfo -p')).code, 0);
  });
});
