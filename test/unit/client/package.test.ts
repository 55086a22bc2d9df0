// The client library as a service author meets it: the package as `npm pack` makes it,
// installed alone (`npm install rpcbind-ts --omit=optional` leaves the daemon's native and
// logging dependencies out), imported by name, making a real call; and its public types name
// nothing it does not export.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLIENT_TYPES = join(ROOT, 'dist', 'src', 'client');
const work = mkdtempSync(join(tmpdir(), 'rpcbind-ts-pkg-'));
after(() => rmSync(work, { recursive: true, force: true }));

const DAEMON_ONLY = ['koffi', 'pino', 'prom-client', 'sonic-boom'];

describe('the client package', () => {
  it('keeps the daemon-only packages optional, so --omit=optional installs none of them', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
    assert.deepEqual(Object.keys(pkg.optionalDependencies ?? {}).sort(), DAEMON_ONLY);
  });

  it('installed alone, imports by name and makes a call (no daemon dependency present)', () => {
    const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' },
    })
      .trim()
      .split('\n')
      .pop()!;
    const app = join(work, 'app');
    mkdirSync(join(app, 'node_modules', 'rpcbind-ts'), { recursive: true });
    execFileSync('tar', [
      '-xzf',
      join(work, tarball),
      '-C',
      join(app, 'node_modules', 'rpcbind-ts'),
      '--strip-components=1',
    ]);
    assert.deepEqual(readdirSync(join(app, 'node_modules')), ['rpcbind-ts']);
    // A NULL call to a one-shot UDP responder on loopback, through the package's public API.
    writeFileSync(
      join(app, 'main.mjs'),
      `
      import { createSocket } from 'node:dgram';
      import { createRequire } from 'node:module';
      import { RpcClient, UdpTransport, XdrWriter, voidArgs, voidResult } from 'rpcbind-ts';
      const missing = ${JSON.stringify(DAEMON_ONLY)}.filter((m) => {
        try { createRequire(import.meta.url).resolve(m); return false; } catch { return true; }
      });
      const server = createSocket('udp4');
      server.on('message', (msg, peer) => {
        const w = new XdrWriter();
        w.uint32(msg.readUInt32BE(0)).uint32(1).uint32(0).uint32(0).uint32(0).uint32(0);
        server.send(w.toBuffer(), peer.port, peer.address);
      });
      server.bind(0, '127.0.0.1', async () => {
        const t = await UdpTransport.connect({ host: '127.0.0.1', port: server.address().port, family: 4 });
        await new RpcClient(t, 400000, 1).call(0, voidArgs, voidResult);
        t.close(); server.close();
        console.log(JSON.stringify({ called: true, missing }));
      });
    `,
    );
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8', timeout: 10_000 });
    assert.deepEqual(JSON.parse(out), { called: true, missing: DAEMON_ONLY });
  });

  it('names in its public types only what it exports', () => {
    const exported = new Set<string>();
    const index = readFileSync(join(CLIENT_TYPES, 'index.d.ts'), 'utf8');
    for (const m of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
      for (const n of m[1]!.split(','))
        exported.add(
          n
            .trim()
            .replace(/^type /, '')
            .split(' as ')
            .pop()!
            .trim(),
        );
    }
    const hidden: string[] = [];
    for (const f of readdirSync(CLIENT_TYPES).filter((n) => n.endsWith('.d.ts') && n !== 'index.d.ts')) {
      const text = readFileSync(join(CLIENT_TYPES, f), 'utf8');
      for (const m of text.matchAll(/import (?:type )?\{([^}]*)\} from '([^']+)'/g)) {
        for (const n of m[1]!.split(',')) {
          const name = n.trim().replace(/^type /, '');
          if (name !== '' && !exported.has(name)) hidden.push(`${f}: ${name} from ${m[2]}`);
        }
      }
    }
    assert.ok(exported.size > 30, `only ${exported.size} exports read`);
    assert.deepEqual(hidden, []);
  });
});
