/**
 * The real pip installing through a PyPI remote repository whose upstream is another Stockade
 * server (a private repository, reached with a read token): a dependency tree is fetched on first
 * use, passes the gate, is stored as the remote repository's own packages, and keeps installing
 * from there once the upstream is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { type BuiltDist, buildWheel, cleanupBuilder } from '../formats/pypi/build-dist.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertOk, describeRun } from './clients.js';
import { createPipSandbox, indexWithToken, type PipSandbox } from './pypi-pip.js';

describe('pip through a PyPI remote repository', () => {
  let upstream: TestServer;
  let proxy: TestServer;
  let pip: PipSandbox;
  let index: string;
  let upstreamClosed = false;

  async function publish(dist: BuiltDist): Promise<void> {
    const answer = await fetch(`${upstream.url}/api/v1/repos/corp/py/upload?filename=${dist.filename}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${upstream.adminToken}`, 'content-type': 'application/octet-stream' },
      body: dist.data,
    });
    assert.equal(answer.status, 201, await answer.text());
  }

  before(async () => {
    pip = await createPipSandbox('pypi-remote');
    upstream = await startTestServer();
    const upstreamAdmin = await upstream.domain.accounts.getUser('admin');
    assert.ok(upstreamAdmin);
    await upstream.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: upstreamAdmin.id });
    await upstream.createRepo('corp', 'py', 'private');
    await publish(buildWheel({ name: 'e2e-leaf', version: '1.0' }));
    await publish(buildWheel({ name: 'e2e-leaf', version: '1.2' }));
    await publish(buildWheel({ name: 'E2E_Mid', version: '1.0', metadata: [['Requires-Dist', 'e2e-leaf>=1.0']] }));
    await publish(buildWheel({ name: 'e2e-top', version: '2.0', metadata: [['Requires-Dist', 'e2e.mid (>=1.0)']] }));
    const reader = await upstream.createUser('mirror', { scopes: ['read'] });
    await upstream.domain.accounts.setMember(systemActor, { owner: 'corp', user: 'mirror', role: 'read' });

    proxy = await startTestServer();
    const proxyAdmin = await proxy.domain.accounts.getUser('admin');
    assert.ok(proxyAdmin);
    await proxy.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: proxyAdmin.id });
    const created = await fetch(`${proxy.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxy.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: 'acme',
        name: 'py-remote',
        visibility: 'private',
        kind: 'remote',
        upstream: { format: 'pypi', url: `${upstream.url}/corp/py/pypi`, token: reader.token, metadataTtlSeconds: 0 },
      }),
    });
    assert.equal(created.status, 201, await created.text());
    index = indexWithToken(proxy.url, 'acme/py-remote', proxy.adminToken);
  });

  after(async () => {
    await proxy?.close();
    if (!upstreamClosed) await upstream?.close();
    await pip?.remove();
    cleanupBuilder();
  });

  it('installs a dependency tree from the upstream through the proxy', async () => {
    const env = await pip.venv('tree');
    const result = await pip.install(env, index, ['e2e-top']);
    assertOk(result);
    assert.match(result.stdout, /Successfully installed .*e2e-top-2\.0/i, describeRun(result));
    assert.equal((await pip.installed(env, 'e2e_leaf', 'e2e-leaf')).version, '1.2');
    assert.equal((await pip.installed(env, 'e2e_top', 'e2e-top')).version, '2.0');

    // Cached as ordinary packages of the remote repository, published by the upstream's actor.
    const repo = await proxy.domain.repos.get('acme', 'py-remote');
    assert.ok(repo);
    const names = (await proxy.domain.packages.listNames(repo, 'pypi')).map((entry) => entry.name).sort();
    assert.deepEqual(names, ['e2e-leaf', 'e2e-mid', 'e2e-top']);
    const leaf = await proxy.domain.packages.load({ repo, format: 'pypi', name: 'e2e-leaf' });
    assert.deepEqual(
      leaf?.versions.map((v) => [v.version, v.publisher.replace(/:\d+$/, '')]),
      [['1.2', 'upstream:127.0.0.1']],
    );
  });

  it('keeps installing from the cache when the upstream is gone', async () => {
    await upstream.close();
    upstreamClosed = true;
    const env = await pip.venv('stale');
    assertOk(await pip.install(env, index, ['e2e-top']));
    assert.equal((await pip.installed(env, 'e2e_mid', 'e2e-mid')).version, '1.0');
    const stale = await fetch(`${proxy.url}/acme/py-remote/pypi/simple/e2e-top/`, { headers: { authorization: `Bearer ${proxy.adminToken}` } });
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-stockade-upstream'), 'stale');
  });
});
