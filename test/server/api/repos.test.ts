import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type Answer, type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface RepoBody {
  owner: string;
  name: string;
  path: string;
  visibility: 'public' | 'private';
  kind: string;
  description: string;
  createdAt: string;
}

describe('REST API: repositories', () => {
  let server: TestServer;
  let api: ApiClient;
  /** Admin of org `acme` (admin-scope token). */
  let owner: string;
  /** Member of `acme` with the write role. */
  let writer: string;
  /** A user with no role anywhere but their own namespace. */
  let outsider: string;

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    owner = (await server.createUser('olivia', { scopes: ['admin'] })).token;
    writer = (await server.createUser('walter', { scopes: ['admin'] })).token;
    outsider = (await server.createUser('oscar', { scopes: ['admin'] })).token;
    assertStatus(await api.post('/orgs', { name: 'acme' }, owner), 201);
    assertStatus(await api.put('/orgs/acme/members/walter', { role: 'write' }, owner), 200);
  });
  after(() => server.close());

  describe('POST /repos', () => {
    it('lets an owner admin create a repository, private by default', async () => {
      const answer = await api.post<RepoBody>('/repos', { owner: 'acme', name: 'internal', description: 'our stuff' }, owner);
      assertStatus(answer, 201);
      assert.deepEqual(
        { ...answer.body, createdAt: undefined },
        { owner: 'acme', name: 'internal', path: 'acme/internal', visibility: 'private', kind: 'hosted', description: 'our stuff', createdAt: undefined },
      );
      assert.ok(!('id' in answer.body) && !('ownerId' in answer.body));
    });

    it('creates public repositories on request, and lets users create in their own namespace', async () => {
      assertStatus(await api.post('/repos', { owner: 'acme', name: 'public', visibility: 'public' }, owner), 201);
      assertStatus(await api.post('/repos', { owner: 'oscar', name: 'mine' }, outsider), 201);
    });

    it('lets a site admin create anywhere, and answers them 404 for an unknown owner', async () => {
      assertStatus(await api.post('/repos', { owner: 'acme', name: 'by-admin' }, server.adminToken), 201);
      assertError(await api.post('/repos', { owner: 'nobody', name: 'x' }, server.adminToken), 404, 'NOT_FOUND');
    });

    it('answers 403 to non-admin members and to outsiders, the same whether or not the owner exists', async () => {
      assertError(await api.post('/repos', { owner: 'acme', name: 'x' }, writer), 403, 'FORBIDDEN');
      const existing = await api.post('/repos', { owner: 'acme', name: 'x' }, outsider);
      const missing = await api.post('/repos', { owner: 'nobody', name: 'x' }, outsider);
      assertError(existing, 403, 'FORBIDDEN');
      assertError(missing, 403, 'FORBIDDEN');
    });

    it('answers 403 to an owner admin whose token lacks the admin scope', async () => {
      const limited = await server.domain.tokens.create(
        { name: 'olivia', ip: null },
        { userId: (await server.domain.accounts.getUser('olivia'))!.id, name: 'w', scopes: ['write'] },
      );
      assertError(await api.post('/repos', { owner: 'acme', name: 'x' }, limited.secret), 403, 'FORBIDDEN');
    });

    it('answers 409 REPO_EXISTS, 400 for bad input, 401 anonymous', async () => {
      assertError(await api.post('/repos', { owner: 'acme', name: 'internal' }, owner), 409, 'REPO_EXISTS');
      assertError(await api.post('/repos', { owner: 'acme', name: 'Bad Name' }, owner), 400, 'VALIDATION_FAILED');
      assertError(await api.post('/repos', { owner: 'acme', name: 'x', visibility: 'secret' }, owner), 400, 'VALIDATION_FAILED');
      assertError(await api.post('/repos', { owner: 'acme' }, owner), 400, 'VALIDATION_FAILED');
      assertError(await api.post('/repos', { owner: 'acme', name: 'x' }), 401, 'AUTH_REQUIRED');
    });
  });

  describe('GET /repos', () => {
    const names = (answer: Answer<RepoBody[]>) => answer.body.map((r) => r.path).sort();

    it('shows anonymous callers only public repositories', async () => {
      const answer = await api.get<RepoBody[]>('/repos');
      assertStatus(answer, 200);
      assert.deepEqual(names(answer), ['acme/public']);
    });

    it('shows members their organization’s private repositories, and outsiders only their own', async () => {
      assert.deepEqual(names(await api.get<RepoBody[]>('/repos', writer)), ['acme/by-admin', 'acme/internal', 'acme/public']);
      assert.deepEqual(names(await api.get<RepoBody[]>('/repos', outsider)), ['acme/public', 'oscar/mine']);
    });

    it('shows a site admin everything, and filters by owner', async () => {
      assert.deepEqual(names(await api.get<RepoBody[]>('/repos', server.adminToken)), ['acme/by-admin', 'acme/internal', 'acme/public', 'oscar/mine']);
      assert.deepEqual(names(await api.get<RepoBody[]>('/repos?owner=oscar', server.adminToken)), ['oscar/mine']);
    });
  });

  describe('GET /repos/{owner}/{repo}', () => {
    it('shows a public repository to anyone and a private one to members', async () => {
      assertStatus(await api.get('/repos/acme/public'), 200);
      const answer = await api.get<RepoBody>('/repos/acme/internal', writer);
      assertStatus(answer, 200);
      assert.equal(answer.body.description, 'our stuff');
    });

    it('never reveals a private repository: outsiders get exactly the answer for a missing one', async () => {
      const hidden = await api.get('/repos/acme/internal', outsider);
      const missing = await api.get('/repos/acme/internal-nope', outsider);
      assertError(hidden, 404, 'NOT_FOUND');
      assert.equal(hidden.body && (hidden.body as { error: { message: string } }).error.message, 'repository acme/internal not found');
      assert.equal(hidden.text.replace('internal', 'X'), missing.text.replace('internal-nope', 'X'));
    });

    it('answers anonymous callers 401 for private and missing repositories alike', async () => {
      const hidden = await api.get('/repos/acme/internal');
      const missing = await api.get('/repos/acme/nothing');
      assertError(hidden, 401, 'AUTH_REQUIRED');
      assert.equal(hidden.text, missing.text);
    });

    it('hides private repositories from a token restricted to another repository', async () => {
      const user = await server.domain.accounts.getUser('walter');
      const repo = await server.domain.repos.get('acme', 'public');
      const restricted = await server.domain.tokens.create({ name: 'walter', ip: null }, { userId: user!.id, name: 'r', scopes: ['read'], repoId: repo!.id });
      assertError(await api.get('/repos/acme/internal', restricted.secret), 404, 'NOT_FOUND');
      assertStatus(await api.get('/repos/acme/public', restricted.secret), 200);
    });
  });

  describe('PATCH and DELETE /repos/{owner}/{repo}', () => {
    it('lets a repository admin change visibility and description', async () => {
      const answer = await api.patch<RepoBody>('/repos/acme/internal', { visibility: 'public', description: 'now open' }, owner);
      assertStatus(answer, 200);
      assert.equal(answer.body.visibility, 'public');
      assert.equal(answer.body.description, 'now open');
      assertStatus(await api.get('/repos/acme/internal'), 200);
      assertStatus(await api.patch('/repos/acme/internal', { visibility: 'private' }, owner), 200);
      assertError(await api.get('/repos/acme/internal'), 401, 'AUTH_REQUIRED');
    });

    it('answers 403 to writers, 404 to outsiders of a private repository, 401 anonymous', async () => {
      assertError(await api.patch('/repos/acme/internal', { description: 'x' }, writer), 403, 'FORBIDDEN');
      assertError(await api.delete('/repos/acme/internal', writer), 403, 'FORBIDDEN');
      assertError(await api.patch('/repos/acme/internal', { description: 'x' }, outsider), 404, 'NOT_FOUND');
      assertError(await api.delete('/repos/acme/internal', outsider), 404, 'NOT_FOUND');
      assertError(await api.patch('/repos/acme/internal', { description: 'x' }), 401, 'AUTH_REQUIRED');
      assertError(await api.delete('/repos/acme/internal'), 401, 'AUTH_REQUIRED');
      // Outsiders can see a public repository, so for them it is 403, not 404.
      assertError(await api.delete('/repos/acme/public', outsider), 403, 'FORBIDDEN');
    });

    it('answers 400 for an invalid visibility and 404 for a missing repository', async () => {
      assertError(await api.patch('/repos/acme/internal', { visibility: 'secret' }, owner), 400, 'VALIDATION_FAILED');
      assertError(await api.patch('/repos/acme/nothing', { description: 'x' }, owner), 404, 'NOT_FOUND');
      assertError(await api.delete('/repos/acme/nothing', owner), 404, 'NOT_FOUND');
    });

    it('deletes a repository', async () => {
      assertStatus(await api.post('/repos', { owner: 'acme', name: 'doomed' }, owner), 201);
      assertStatus(await api.delete('/repos/acme/doomed', owner), 204);
      assertError(await api.get('/repos/acme/doomed', owner), 404, 'NOT_FOUND');
      assertError(await api.delete('/repos/acme/doomed', owner), 404, 'NOT_FOUND');
    });
  });
});
