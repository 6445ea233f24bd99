/**
 * The real pip and twine through a PyPI virtual repository (acme/py-all = acme/py-hosted +
 * acme/py-remote, whose upstream is a fixture index): a public dependency tree installs through
 * it; a private project whose name the upstream also offers, with a higher version, installs as
 * the private one without the upstream being asked again, and the collision is listed and
 * audited; a poisoned upstream release is quarantined on first download and the previous release
 * installs from then on.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { buildWheel, cleanupBuilder } from '../formats/pypi/build-dist.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dropperSdist, startPypiUpstream, type PypiUpstream } from '../remote/pypi-upstream.js';
import { assertFailed, assertOk, describeRun } from './clients.js';
import { createPipSandbox, indexWithToken, type PipSandbox, TWINE } from './pypi-pip.js';

describe('pip and twine through a PyPI virtual repository', () => {
  let upstream: PypiUpstream;
  let server: TestServer;
  let pip: PipSandbox;
  let virtualIndex: string;

  async function createRepo(body: Record<string, unknown>): Promise<void> {
    const answer = await fetch(`${server.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', visibility: 'private', ...body }),
    });
    assert.equal(answer.status, 201, await answer.text());
  }

  before(async () => {
    pip = await createPipSandbox('pypi-virtual');
    upstream = await startPypiUpstream();
    upstream.add('e2e-leaf', buildWheel({ name: 'e2e-leaf', version: '1.0' }));
    upstream.add('e2e-leaf', buildWheel({ name: 'e2e-leaf', version: '1.2' }));
    upstream.add('e2e-mid', buildWheel({ name: 'e2e-mid', version: '1.0', metadata: [['Requires-Dist', 'e2e-leaf>=1.0']] }));
    upstream.add('e2e-top', buildWheel({ name: 'e2e-top', version: '2.0', metadata: [['Requires-Dist', 'e2e-mid']] }));
    // The attack: the name the company is about to use privately, with a higher version.
    upstream.add('acme-widget', buildWheel({ name: 'acme-widget', version: '9.0', description: 'not ours\n' }));
    upstream.add('victim', buildWheel({ name: 'victim', version: '1.0.0' }));
    upstream.add('victim', dropperSdist('victim', '1.0.1'));

    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    await createRepo({ name: 'py-remote', kind: 'remote', upstream: { format: 'pypi', url: upstream.url, retries: 0 } });
    await createRepo({ name: 'py-hosted' });
    await createRepo({ name: 'py-all', kind: 'virtual', virtual: { format: 'pypi', members: ['acme/py-hosted', 'acme/py-remote'] } });
    virtualIndex = indexWithToken(server.url, 'acme/py-all', server.adminToken);
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
    await pip?.remove();
    cleanupBuilder();
  });

  it('installs a public dependency tree through the virtual repository', async () => {
    const env = await pip.venv('tree');
    assertOk(await pip.install(env, virtualIndex, ['e2e-top']));
    assert.equal((await pip.installed(env, 'e2e_leaf', 'e2e-leaf')).version, '1.2');
    assert.equal((await pip.installed(env, 'e2e_top', 'e2e-top')).version, '2.0');
    assert.equal(upstream.hits('/packages/e2e_top-2.0-py3-none-any.whl'), 1);
  });

  it('installs the private project although the upstream has a higher version, and audits the collision', async () => {
    // Checking whether the name is taken shows the upstream's project (and caches its page).
    const probe = await pip.venv('probe');
    assertOk(await pip.install(probe, virtualIndex, ['acme-widget']));
    assert.equal((await pip.installed(probe, 'acme_widget', 'acme-widget')).version, '9.0');
    const asked = upstream.hits('/simple/acme-widget/');

    const ours = buildWheel({ name: 'acme-widget', version: '1.0', description: 'ours\n' });
    const file = path.join(pip.work, ours.filename);
    await writeFile(file, ours.data);
    const hostedUpload = `${server.url}/acme/py-hosted/pypi/legacy/`;
    assertOk(await pip.run(TWINE, ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', hostedUpload, '-u', '__token__', '-p', server.adminToken, file]));

    const env = await pip.venv('private');
    const result = await pip.install(env, virtualIndex, ['acme-widget']);
    assertOk(result);
    assert.equal((await pip.installed(env, 'acme_widget', 'acme-widget')).version, '1.0', describeRun(result));
    assert.equal(upstream.hits('/simple/acme-widget/'), asked);

    const audit = await server.domain.db.selectFrom('audit_log').select(['target', 'details']).where('action', '=', 'repo.collision').execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.target, 'repo:acme/py-all');
    assert.match(audit[0]?.details ?? '', /"name":"acme-widget","remote":"acme\/py-remote","reason":"hosted"/);
    const listed = await fetch(`${server.url}/api/v1/repos/acme/py-all/collisions`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    const rows = (await listed.json()) as { name: string; upstream: { newest: string } }[];
    assert.deepEqual(
      rows.map((r) => [r.name, r.upstream.newest]),
      [['acme-widget', '9.0']],
    );
  });

  it('quarantines a poisoned upstream release on first download; the previous release installs from then on', async () => {
    const env = await pip.venv('victim');
    const first = assertFailed(await pip.install(env, virtualIndex, ['victim']));
    assert.match(first.stdout + first.stderr, /403.*victim 1\.0\.1 is quarantined pending review/, describeRun(first));
    const again = await pip.install(env, virtualIndex, ['victim']);
    assertOk(again);
    assert.equal((await pip.installed(env, 'victim', 'victim')).version, '1.0.0', describeRun(again));
  });
});
