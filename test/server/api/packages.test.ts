import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus, npmTarball, sha256 } from './api-client.js';

interface Summary {
  format: string;
  name: string;
  updatedAt: string;
}
interface Detail {
  name: string;
  format: string;
  distTags: Record<string, string>;
  versions: { version: string; files: { filename: string; sha256: string }[] }[];
}

describe('REST API: packages', () => {
  let server: TestServer;
  let api: ApiClient;
  let member: string;
  let outsider: string;
  let scopedTarball: Buffer;

  const put = async (repo: string, manifest: { name: string; version: string }) => {
    const data = await npmTarball(manifest);
    const filename = `${manifest.name.replace(/^@[^/]+\//, '')}-${manifest.version}.tgz`;
    const answer = await api.request('PUT', `/repos/${repo}/upload?filename=${filename}`, { auth: server.adminToken, body: data });
    assertStatus(answer, 201);
    return data;
  };

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    member = (await server.createUser('mia', { scopes: ['read'] })).token;
    outsider = (await server.createUser('oscar')).token;
    assertStatus(await api.post('/orgs', { name: 'acme' }, server.adminToken), 201);
    assertStatus(await api.put('/orgs/acme/members/mia', { role: 'read' }, server.adminToken), 200);
    await server.createRepo('acme', 'private', 'private');
    await server.createRepo('acme', 'public', 'public');
    await put('acme/private', { name: 'zeta', version: '1.0.0' });
    await put('acme/private', { name: 'alpha', version: '1.0.0' });
    // Published out of order: the API lists versions by the format's own ordering.
    await put('acme/private', { name: 'alpha', version: '1.10.0' });
    await put('acme/private', { name: 'alpha', version: '1.9.0' });
    scopedTarball = await put('acme/private', { name: '@acme/widget', version: '0.1.0' });
    await put('acme/public', { name: 'open-pkg', version: '3.0.0' });
  });
  after(() => server.close());

  describe('GET /repos/{owner}/{repo}/packages', () => {
    it('lists a repository’s packages by format and name', async () => {
      const answer = await api.get<Summary[]>('/repos/acme/private/packages', member);
      assertStatus(answer, 200);
      assert.deepEqual(
        answer.body.map((p) => `${p.format}:${p.name}`),
        ['npm:@acme/widget', 'npm:alpha', 'npm:zeta'],
      );
      for (const p of answer.body) assert.ok(!Number.isNaN(Date.parse(p.updatedAt)));
    });

    it('filters by format', async () => {
      assert.equal((await api.get<Summary[]>('/repos/acme/private/packages?format=npm', member)).body.length, 3);
      assert.deepEqual((await api.get<Summary[]>('/repos/acme/private/packages?format=pypi', member)).body, []);
    });

    it('leaves out packages whose versions were all unpublished', async () => {
      await put('acme/public', { name: 'short-lived', version: '1.0.0' });
      const repo = await server.domain.repos.get('acme', 'public');
      assert.ok(repo);
      await server.domain.packages.unpublish(systemActor, { repo, format: 'npm', name: 'short-lived' }, null, (a, b) => a.localeCompare(b));
      const answer = await api.get<Summary[]>('/repos/acme/public/packages');
      assert.ok(!answer.body.some((p) => p.name === 'short-lived'), answer.text);
      assertError(await api.get('/repos/acme/public/packages/npm/short-lived'), 404, 'NOT_FOUND');
    });

    it('serves public repositories to anonymous callers', async () => {
      const answer = await api.get<Summary[]>('/repos/acme/public/packages');
      assertStatus(answer, 200);
      assert.deepEqual(
        answer.body.map((p) => p.name),
        ['open-pkg'],
      );
    });

    it('hides private repositories: 401 anonymous, 404 outsiders, the same as missing ones', async () => {
      const anonHidden = await api.get('/repos/acme/private/packages');
      const anonMissing = await api.get('/repos/acme/nothing/packages');
      assertError(anonHidden, 401, 'AUTH_REQUIRED');
      assert.equal(anonHidden.text, anonMissing.text);
      const hidden = await api.get('/repos/acme/private/packages', outsider);
      const missing = await api.get('/repos/acme/nothing/packages', outsider);
      assertError(hidden, 404, 'NOT_FOUND');
      assert.equal(hidden.text.replace('private', 'X'), missing.text.replace('nothing', 'X'));
    });
  });

  describe('GET /repos/{owner}/{repo}/packages/{format}/{name}', () => {
    it('shows versions in version order with their files', async () => {
      const answer = await api.get<Detail>('/repos/acme/private/packages/npm/alpha', member);
      assertStatus(answer, 200);
      assert.equal(answer.body.name, 'alpha');
      assert.deepEqual(
        answer.body.versions.map((v) => v.version),
        ['1.0.0', '1.9.0', '1.10.0'],
      );
      assert.equal(answer.body.versions[2]!.files[0]!.filename.endsWith('.tgz'), true);
    });

    it('accepts a scoped name with an encoded slash, in either case', async () => {
      for (const encoded of ['@acme%2fwidget', '@acme%2Fwidget', '%40acme%2Fwidget']) {
        const answer = await api.get<Detail>(`/repos/acme/private/packages/npm/${encoded}`, member);
        assertStatus(answer, 200);
        assert.equal(answer.body.name, '@acme/widget');
        assert.equal(answer.body.versions[0]!.files[0]!.sha256, sha256(scopedTarball));
      }
    });

    it('accepts a scoped name as two path segments', async () => {
      const answer = await api.get<Detail>('/repos/acme/private/packages/npm/@acme/widget', member);
      assertStatus(answer, 200);
      assert.equal(answer.body.name, '@acme/widget');
      assert.deepEqual({ ...answer.body.distTags }, { latest: '0.1.0' });
      assertError(await api.get('/repos/acme/private/packages/npm/acme/widget', member), 400, 'VALIDATION_FAILED');
    });

    it('answers 404 for an unknown package or format', async () => {
      assertError(await api.get('/repos/acme/private/packages/npm/nope', member), 404, 'NOT_FOUND');
      assertError(await api.get('/repos/acme/private/packages/npm/@acme/nope', member), 404, 'NOT_FOUND');
      assertError(await api.get('/repos/acme/private/packages/cobol/alpha', member), 404, 'NOT_FOUND');
    });

    it('says nothing about packages in hidden repositories', async () => {
      const existing = await api.get('/repos/acme/private/packages/npm/alpha', outsider);
      const absent = await api.get('/repos/acme/private/packages/npm/nope', outsider);
      const noRepo = await api.get('/repos/acme/nothing/packages/npm/alpha', outsider);
      assertError(existing, 404, 'NOT_FOUND');
      assert.equal(existing.text, absent.text);
      assert.equal(existing.text.replace('private', 'X'), noRepo.text.replace('nothing', 'X'));
      assertError(await api.get('/repos/acme/private/packages/npm/alpha'), 401, 'AUTH_REQUIRED');
      assertError(await api.get('/repos/acme/private/packages/npm/@acme/widget'), 401, 'AUTH_REQUIRED');
    });

    it('serves public packages to anonymous callers', async () => {
      const answer = await api.get<Detail>('/repos/acme/public/packages/npm/open-pkg');
      assertStatus(answer, 200);
      assert.equal(answer.body.versions[0]!.version, '3.0.0');
    });
  });
});
