/**
 * npm 11 through a virtual repository (acme/npm-all = acme/npm-hosted + acme/npm-remote, whose
 * upstream is a fixture registry): a public dependency tree installs through it; a private
 * package whose name the upstream also offers, with a higher version, installs as the private
 * one without the upstream being asked, and the audit log shows the collision.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertOk, createSandbox, type Sandbox, writePackage, writeProject } from './clients.js';

interface Lockfile {
  packages: Record<string, { version?: string; resolved?: string }>;
}

describe('npm 11 through a virtual repository', () => {
  let upstream: NpmUpstream;
  let server: TestServer;
  let virtualRegistry: string;
  let hostedRegistry: string;
  const sandboxes: Sandbox[] = [];

  async function sandbox(label: string, registry: string): Promise<Sandbox> {
    const created = await createSandbox({ label, registry, token: server.adminToken });
    sandboxes.push(created);
    return created;
  }

  async function createRepo(body: Record<string, unknown>): Promise<void> {
    const answer = await fetch(`${server.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', visibility: 'private', ...body }),
    });
    assert.equal(answer.status, 201, await answer.text());
  }

  before(async () => {
    upstream = await startNpmUpstream();
    upstream.add({ name: 'e2e-leaf', version: '1.0.0', main: 'index.js' });
    upstream.add({ name: 'e2e-leaf', version: '1.2.0', main: 'index.js' });
    upstream.add({ name: 'e2e-mid', version: '1.0.0', main: 'index.js', dependencies: { 'e2e-leaf': '^1.0.0' } });
    upstream.add({ name: 'e2e-top', version: '2.0.0', main: 'index.js', dependencies: { 'e2e-mid': '^1.0.0' } });
    // The attack: the name the company is about to use privately, with a higher version.
    upstream.add({ name: 'acme-widget', version: '9.0.0', main: 'index.js', description: 'not ours' });

    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    await createRepo({ name: 'npm-remote', kind: 'remote', upstream: { format: 'npm', url: upstream.url, retries: 0 } });
    await createRepo({ name: 'npm-hosted' });
    await createRepo({ name: 'npm-all', kind: 'virtual', virtual: { format: 'npm', members: ['acme/npm-hosted', 'acme/npm-remote'] } });
    virtualRegistry = `${server.url}/acme/npm-all/npm/`;
    hostedRegistry = `${server.url}/acme/npm-hosted/npm/`;
  });

  after(async () => {
    for (const s of sandboxes) await s.remove();
    await server?.close();
    await upstream?.close();
  });

  it('installs a public dependency tree through the virtual repository', async () => {
    const consumer = await sandbox('npm-virtual', virtualRegistry);
    const project = await writeProject(await consumer.dir('project'));
    const result = assertOk(await consumer.npm(['install', 'e2e-top'], { cwd: project }));
    assert.match(result.stdout, /added 3 packages/);
    const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8')) as Lockfile;
    assert.equal(lock.packages['node_modules/e2e-leaf']?.version, '1.2.0');
    assert.equal(lock.packages['node_modules/e2e-top']?.resolved, `${virtualRegistry}e2e-top/-/e2e-top-2.0.0.tgz`);
  });

  it('installs the private package although the upstream has a higher version, and audits the collision', async () => {
    const dev = await sandbox('npm-virtual-dev', virtualRegistry);
    // Checking whether the name is taken shows the upstream's package (and caches its metadata).
    assert.equal(assertOk(await dev.npm(['view', 'acme-widget', 'version'], { cwd: dev.root })).stdout.trim(), '9.0.0');
    const asked = upstream.hits('/acme-widget');

    const publisher = await sandbox('npm-virtual-publish', hostedRegistry);
    const dir = await writePackage(path.join(publisher.root, 'src', 'acme-widget'), { name: 'acme-widget', version: '1.0.0', description: 'ours' });
    assertOk(await publisher.npm(['publish'], { cwd: dir }));

    const project = await writeProject(await dev.dir('project'));
    assertOk(await dev.npm(['install', 'acme-widget'], { cwd: project }));
    const installed = JSON.parse(await readFile(path.join(project, 'node_modules/acme-widget/package.json'), 'utf8')) as { version: string; description: string };
    assert.deepEqual([installed.version, installed.description], ['1.0.0', 'ours']);
    assert.equal(upstream.hits('/acme-widget'), asked);
    assert.equal(upstream.hits('/acme-widget/-/acme-widget-9.0.0.tgz'), 0);

    const audit = await server.domain.db.selectFrom('audit_log').select(['target', 'details']).where('action', '=', 'repo.collision').execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.target, 'repo:acme/npm-all');
    assert.match(audit[0]?.details ?? '', /"name":"acme-widget","remote":"acme\/npm-remote","reason":"hosted"/);
    const listed = await fetch(`${server.url}/api/v1/repos/acme/npm-all/collisions`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    const rows = (await listed.json()) as { name: string; upstream: { newest: string } }[];
    assert.deepEqual(rows.map((r) => [r.name, r.upstream.newest]), [['acme-widget', '9.0.0']]);
  });
});
