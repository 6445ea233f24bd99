/**
 * npm 11 installing through a remote repository whose upstream is another Stockade server (a
 * private repository, reached with a read token): the dependency tree is fetched on first use,
 * passes the gate, and is served from the proxy afterwards, even when the upstream is gone.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertOk, createSandbox, indexSource, type Sandbox, writeProject } from './clients.js';
import { packageTgz, publishBody } from './registry.js';

interface Lockfile {
  packages: Record<string, { version?: string; resolved?: string; integrity?: string }>;
}

describe('npm 11 through a remote repository', () => {
  let upstream: TestServer;
  let proxy: TestServer;
  let registry: string;
  let readToken: string;
  let upstreamClosed = false;
  const sandboxes: Sandbox[] = [];

  async function publish(pkgJson: Record<string, unknown> & { name: string; version: string }) {
    const upstreamRegistry = `${upstream.url}/corp/private/npm/`;
    const answer = await fetch(`${upstreamRegistry}${pkgJson.name.replace('/', '%2f')}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${upstream.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(publishBody({ registry: upstreamRegistry, pkgJson, tarball: packageTgz(pkgJson) })),
    });
    assert.equal(answer.status, 201, await answer.text());
  }

  before(async () => {
    upstream = await startTestServer();
    const upstreamAdmin = await upstream.domain.accounts.getUser('admin');
    assert.ok(upstreamAdmin);
    await upstream.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: upstreamAdmin.id });
    await upstream.createRepo('corp', 'private', 'private');
    await publish({ name: 'e2e-leaf', version: '1.0.0', main: 'index.js' });
    await publish({ name: 'e2e-leaf', version: '1.2.0', main: 'index.js' });
    await publish({ name: '@corp/mid', version: '1.0.0', main: 'index.js', dependencies: { 'e2e-leaf': '^1.0.0' } });
    await publish({ name: 'e2e-top', version: '2.0.0', main: 'index.js', dependencies: { '@corp/mid': '^1.0.0' } });
    const reader = await upstream.createUser('mirror', { scopes: ['read'] });
    await upstream.domain.accounts.setMember(systemActor, { owner: 'corp', user: 'mirror', role: 'read' });
    readToken = reader.token;

    proxy = await startTestServer();
    const proxyAdmin = await proxy.domain.accounts.getUser('admin');
    assert.ok(proxyAdmin);
    await proxy.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: proxyAdmin.id });
    const created = await fetch(`${proxy.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxy.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: 'acme',
        name: 'npm-remote',
        visibility: 'public',
        kind: 'remote',
        upstream: { format: 'npm', url: `${upstream.url}/corp/private/npm`, token: readToken, metadataTtlSeconds: 0 },
      }),
    });
    assert.equal(created.status, 201, await created.text());
    registry = `${proxy.url}/acme/npm-remote/npm/`;
  });

  after(async () => {
    for (const sandbox of sandboxes) await sandbox.remove();
    await proxy?.close();
    if (!upstreamClosed) await upstream?.close();
  });

  it('installs a dependency tree from the upstream through the proxy', async () => {
    const consumer = await createSandbox({ label: 'npm-remote', registry });
    sandboxes.push(consumer);
    const project = await writeProject(await consumer.dir('project'));
    const result = assertOk(await consumer.npm(['install', 'e2e-top'], { cwd: project }));
    assert.match(result.stdout, /added 3 packages/);
    const modules = path.join(project, 'node_modules');
    assert.equal(await readFile(path.join(modules, 'e2e-leaf/index.js'), 'utf8'), indexSource({ name: 'e2e-leaf', version: '1.2.0' }));
    assert.equal(await readFile(path.join(modules, '@corp/mid/index.js'), 'utf8'), indexSource({ name: '@corp/mid', version: '1.0.0' }));
    const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8')) as Lockfile;
    assert.equal(lock.packages['node_modules/e2e-top']?.resolved, `${registry}e2e-top/-/e2e-top-2.0.0.tgz`);
    assert.equal(lock.packages['node_modules/@corp/mid']?.resolved, `${registry}@corp/mid/-/mid-1.0.0.tgz`);

    // Cached as ordinary packages of the remote repository, published by the upstream's actor.
    const repo = await proxy.domain.repos.get('acme', 'npm-remote');
    assert.ok(repo);
    const names = (await proxy.domain.packages.listNames(repo, 'npm')).map((entry) => entry.name).sort();
    assert.deepEqual(names, ['@corp/mid', 'e2e-leaf', 'e2e-top']);
    const leaf = await proxy.domain.packages.load({ repo, format: 'npm', name: 'e2e-leaf' });
    assert.deepEqual(
      leaf?.versions.map((v) => [v.version, v.publisher.replace(/:\d+$/, '')]),
      [['1.2.0', 'upstream:127.0.0.1']],
    );
  });

  it('keeps installing from the cache when the upstream is gone', async () => {
    await upstream.close();
    upstreamClosed = true;
    const consumer = await createSandbox({ label: 'npm-remote-stale', registry });
    sandboxes.push(consumer);
    const project = await writeProject(await consumer.dir('project'));
    const result = assertOk(await consumer.npm(['install', 'e2e-top'], { cwd: project }));
    assert.match(result.stdout, /added 3 packages/);
    const stale = await fetch(`${registry}e2e-top`);
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-stockade-upstream'), 'stale');
  });
});
