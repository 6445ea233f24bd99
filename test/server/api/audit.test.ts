import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { http, packageUrl, publishBody } from '../../e2e/registry.js';
import { packageTgz } from '../../e2e/tarballs.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface Entry {
  id: number;
  at: string;
  actor: string;
  actorIp: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

describe('REST API: audit', () => {
  let server: TestServer;
  let api: ApiClient;
  let user: string;

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    user = (await server.createUser('ursula', { scopes: ['admin'] })).token;
    assertStatus(await api.post('/repos', { owner: 'admin', name: 'one' }, server.adminToken), 201);
    assertStatus(await api.post('/repos', { owner: 'admin', name: 'two', visibility: 'public' }, server.adminToken), 201);
    assertStatus(await api.patch('/repos/admin/two', { description: 'changed' }, server.adminToken), 200);
    // Package events name the repository inside their target; the repo filter must find them.
    for (const [repo, name] of [['two', 'left-pad'], ['one', 'right-pad']] as const) {
      const registry = `${server.url}/admin/${repo}/npm/`;
      const pkgJson = { name, version: '1.0.0' };
      const put = await http('PUT', packageUrl(registry, name), { token: server.adminToken, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
      assert.ok(put.status < 300, put.text);
    }
    // Two failed logins, recorded under auth.*.
    for (const password of ['wrong-one', 'wrong-two']) assertError(await api.get('/whoami', { user: 'ursula', password }), 401, 'INVALID_CREDENTIALS');
  });
  after(() => server.close());

  describe('GET /audit', () => {
    it('returns the chain oldest first, each entry linked to the one before', async () => {
      const answer = await api.get<Entry[]>('/audit', server.adminToken);
      assertStatus(answer, 200);
      assert.ok(answer.body.length >= 5);
      for (let i = 1; i < answer.body.length; i++) {
        assert.ok(answer.body[i]!.id > answer.body[i - 1]!.id);
        assert.equal(answer.body[i]!.prevHash, answer.body[i - 1]!.hash);
      }
    });

    it('records who did what through the API, with the token and address', async () => {
      const answer = await api.get<Entry[]>('/audit?action=repo.update', server.adminToken);
      assertStatus(answer, 200);
      assert.equal(answer.body.length, 1);
      const entry = answer.body[0]!;
      assert.equal(entry.actor, 'admin');
      assert.equal(entry.target, 'repo:admin/two');
      assert.equal(entry.actorIp, '127.0.0.1');
      assert.equal(entry.details.description, 'changed');
      assert.equal(typeof entry.details.tokenId, 'number');
    });

    it('filters by target and actor, and pages with after and limit', async () => {
      const byTarget = await api.get<Entry[]>('/audit?target=repo:admin/two', server.adminToken);
      assert.deepEqual(
        byTarget.body.map((e) => e.action),
        ['repo.create', 'repo.update'],
      );
      const byActor = await api.get<Entry[]>('/audit?actor=admin', server.adminToken);
      assert.ok(byActor.body.length >= 3 && byActor.body.every((e) => e.actor === 'admin'));
      const all = (await api.get<Entry[]>('/audit', server.adminToken)).body;
      const first = await api.get<Entry[]>('/audit?limit=2', server.adminToken);
      assert.deepEqual(
        first.body.map((e) => e.id),
        all.slice(0, 2).map((e) => e.id),
      );
      const next = await api.get<Entry[]>(`/audit?limit=2&after=${first.body[1]!.id}`, server.adminToken);
      assert.deepEqual(
        next.body.map((e) => e.id),
        all.slice(2, 4).map((e) => e.id),
      );
    });

    it('selects a repository with the packages and versions in it', async () => {
      const answer = await api.get<Entry[]>('/audit?repo=admin/two', server.adminToken);
      assertStatus(answer, 200);
      const targets = answer.body.map((e) => e.target);
      assert.deepEqual(targets.slice(0, 2), ['repo:admin/two', 'repo:admin/two']);
      assert.ok(targets.some((t) => t.startsWith('package:admin/two/npm/left-pad')), targets.join(', '));
      assert.ok(targets.every((t) => t === 'repo:admin/two' || t.startsWith('package:admin/two/')), targets.join(', '));
      const one = (await api.get<Entry[]>('/audit?repo=admin/one', server.adminToken)).body.map((e) => e.target);
      assert.ok(one.length >= 2 && !one.some((t) => t.includes('left-pad')), one.join(', '));
      assertError(await api.get('/audit?repo=admin', server.adminToken), 400, 'VALIDATION_FAILED');
    });

    it('filters actions by a prefix ending in *', async () => {
      const answer = await api.get<Entry[]>(`/audit?action=${encodeURIComponent('auth.*')}`, server.adminToken);
      assertStatus(answer, 200);
      assert.ok(answer.body.length >= 2, answer.text);
      assert.ok(answer.body.every((e) => e.action.startsWith('auth.')));
      const exact = await api.get<Entry[]>('/audit?action=auth.', server.adminToken);
      assert.deepEqual(exact.body, []);
    });

    it('bounds entries by since (inclusive) and until (exclusive)', async () => {
      const all = (await api.get<Entry[]>('/audit?limit=1000', server.adminToken)).body;
      const pivot = all[3]!.at;
      const since = await api.get<Entry[]>(`/audit?limit=1000&since=${encodeURIComponent(pivot)}`, server.adminToken);
      assert.deepEqual(
        since.body.map((e) => e.id),
        all.filter((e) => e.at >= pivot).map((e) => e.id),
      );
      const until = await api.get<Entry[]>(`/audit?limit=1000&until=${encodeURIComponent(pivot)}`, server.adminToken);
      assert.deepEqual(
        until.body.map((e) => e.id),
        all.filter((e) => e.at < pivot).map((e) => e.id),
      );
      assert.deepEqual((await api.get<Entry[]>('/audit?since=2999-01-01', server.adminToken)).body, []);
      assert.deepEqual((await api.get<Entry[]>('/audit?until=2000-01-01', server.adminToken)).body, []);
    });

    it('answers 400 VALIDATION_FAILED naming a date parameter that is not a date', async () => {
      const since = await api.get<{ error: { message: string } }>('/audit?since=yesterday', server.adminToken);
      assertError(since, 400, 'VALIDATION_FAILED');
      assert.match(since.body.error.message, /\bsince\b/);
      const until = await api.get<{ error: { message: string } }>('/audit?until=2025-02-30', server.adminToken);
      assertError(until, 400, 'VALIDATION_FAILED');
      assert.match(until.body.error.message, /\buntil\b/);
    });

    it('pages with afterId, announcing the next cursor on every full page', async () => {
      const all = (await api.get<Entry[]>('/audit?limit=1000', server.adminToken)).body;
      const seen: number[] = [];
      let path = '/audit?limit=3';
      for (;;) {
        const page = await api.get<Entry[]>(path, server.adminToken);
        assertStatus(page, 200);
        seen.push(...page.body.map((e) => e.id));
        const next = page.headers.get('x-next-after-id');
        if (page.body.length < 3) {
          assert.equal(next, null, 'a short page is the last one');
          break;
        }
        assert.equal(next, String(page.body.at(-1)!.id));
        path = `/audit?limit=3&afterId=${next}`;
      }
      assert.deepEqual(
        seen,
        all.map((e) => e.id),
      );
      assert.equal((await api.get('/audit?limit=1000', server.adminToken)).headers.get('x-next-after-id'), null);
      assertError(await api.get('/audit?after=1&afterId=2', server.adminToken), 400, 'VALIDATION_FAILED');
    });

    it('answers 400 for a bad limit or cursor', async () => {
      assertError(await api.get('/audit?limit=0', server.adminToken), 400, 'VALIDATION_FAILED');
      assertError(await api.get('/audit?limit=5000', server.adminToken), 400, 'VALIDATION_FAILED');
      assertError(await api.get('/audit?after=soon', server.adminToken), 400, 'VALIDATION_FAILED');
    });

    it('is for site admins only: 401 anonymous, 403 others', async () => {
      assertError(await api.get('/audit'), 401, 'AUTH_REQUIRED');
      assertError(await api.get('/audit', user), 403, 'FORBIDDEN');
    });
  });

  describe('POST /audit/verify', () => {
    it('reports an intact chain', async () => {
      const answer = await api.post<{ ok: boolean; checked: number }>('/audit/verify', undefined, server.adminToken);
      assertStatus(answer, 200);
      assert.equal(answer.body.ok, true);
      assert.ok(answer.body.checked >= 5);
    });

    it('finds the first tampered entry', async () => {
      const target = (await api.get<Entry[]>('/audit?action=repo.update', server.adminToken)).body[0]!;
      await server.domain.db.updateTable('audit_log').set({ target: 'repo:admin/forged' }).where('id', '=', target.id).execute();
      const answer = await api.post<{ ok: boolean; firstBroken?: { id: number; reason: string } }>('/audit/verify', undefined, server.adminToken);
      assertStatus(answer, 200);
      assert.equal(answer.body.ok, false);
      assert.equal(answer.body.firstBroken?.id, target.id);
      assert.equal(typeof answer.body.firstBroken?.reason, 'string');
    });

    it('is for site admins only: 401 anonymous, 403 others', async () => {
      assertError(await api.post('/audit/verify', undefined), 401, 'AUTH_REQUIRED');
      assertError(await api.post('/audit/verify', undefined, user), 403, 'FORBIDDEN');
    });
  });
});
