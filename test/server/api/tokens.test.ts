import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface TokenBody {
  id: number;
  name: string;
  display: string;
  scopes: string[];
  repo: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}
type CreatedBody = TokenBody & { token: string };

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe('REST API: tokens', () => {
  let server: TestServer;
  let api: ApiClient;
  let alice: { name: string; password: string; token: string };
  const alicePassword = () => ({ user: 'alice', password: alice.password });

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    alice = await server.createUser('alice', { scopes: ['admin'] });
    await server.createRepo('alice', 'main', 'public');
    await server.createRepo('alice', 'other', 'public');
    await server.createRepo('admin', 'secret', 'private');
  });
  after(() => server.close());

  describe('POST /tokens', () => {
    it('creates a token, shows its secret once, and the secret works', async () => {
      const answer = await api.post<CreatedBody>('/tokens', { name: 'ci', scopes: ['read', 'write'] }, alicePassword());
      assertStatus(answer, 201);
      assert.match(answer.body.token, /^stk_/);
      assert.equal(answer.body.name, 'ci');
      assert.deepEqual(answer.body.scopes, ['read', 'write']);
      assert.equal(answer.body.repo, null);
      assert.ok(answer.body.token.startsWith(answer.body.display.replace('…', '')));
      const who = await api.get<{ name: string; token: { id: number } }>('/whoami', answer.body.token);
      assert.equal(who.body.name, 'alice');
      assert.equal(who.body.token.id, answer.body.id);
    });

    it('restricts a token to a repository and an expiry', async () => {
      const expiresAt = inDays(7);
      const answer = await api.post<CreatedBody>('/tokens', { name: 'deploy', scopes: ['write'], repo: 'alice/main', expiresAt }, alicePassword());
      assertStatus(answer, 201);
      assert.equal(answer.body.repo, 'alice/main');
      assert.equal(answer.body.expiresAt, expiresAt);
    });

    it('answers the same 404 for a missing repository and a private one the caller cannot see', async () => {
      const hidden = await api.post('/tokens', { name: 'x', scopes: ['read'], repo: 'admin/secret' }, alice.token);
      const missing = await api.post('/tokens', { name: 'x', scopes: ['read'], repo: 'admin/nothing' }, alice.token);
      assertError(hidden, 404, 'NOT_FOUND');
      assertError(missing, 404, 'NOT_FOUND');
      assert.equal(hidden.text.replace('secret', 'X'), missing.text.replace('nothing', 'X'));
    });

    const invalid: [string, Record<string, unknown>][] = [
      ['no scopes', { name: 'x', scopes: [] }],
      ['an unknown scope', { name: 'x', scopes: ['root'] }],
      ['no name', { scopes: ['read'] }],
      ['a malformed repo', { name: 'x', scopes: ['read'], repo: 'just-a-name' }],
      ['a malformed expiry', { name: 'x', scopes: ['read'], expiresAt: 'next tuesday' }],
      ['an expiry in the past', { name: 'x', scopes: ['read'], expiresAt: '2001-01-01T00:00:00.000Z' }],
    ];
    for (const [what, body] of invalid) {
      it(`answers 400 VALIDATION_FAILED for ${what}`, async () => {
        assertError(await api.post('/tokens', body, alice.token), 400, 'VALIDATION_FAILED');
      });
    }

    it('answers 401 to anonymous callers', async () => {
      assertError(await api.post('/tokens', { name: 'x', scopes: ['read'] }), 401, 'AUTH_REQUIRED');
    });
  });

  describe('a token never gets more than its creator', () => {
    let writeToken: string;
    let repoToken: string;
    let expiringToken: CreatedBody;

    before(async () => {
      writeToken = (await api.post<CreatedBody>('/tokens', { name: 'w', scopes: ['write'] }, alicePassword())).body.token;
      repoToken = (await api.post<CreatedBody>('/tokens', { name: 'r', scopes: ['write'], repo: 'alice/main' }, alicePassword())).body.token;
      expiringToken = (await api.post<CreatedBody>('/tokens', { name: 'e', scopes: ['write'], expiresAt: inDays(3) }, alicePassword())).body;
    });

    it('allows the same or fewer scopes', async () => {
      assertStatus(await api.post('/tokens', { name: 'same', scopes: ['write'] }, writeToken), 201);
      assertStatus(await api.post('/tokens', { name: 'fewer', scopes: ['read'] }, writeToken), 201);
      assertStatus(await api.post('/tokens', { name: 'both', scopes: ['read', 'write'] }, writeToken), 201);
    });

    it('refuses a scope the creating token lacks', async () => {
      assertError(await api.post('/tokens', { name: 'more', scopes: ['admin'] }, writeToken), 403, 'FORBIDDEN');
      assertError(await api.post('/tokens', { name: 'more', scopes: ['read', 'admin'] }, writeToken), 403, 'FORBIDDEN');
    });

    it('keeps a repository restriction: same repository only', async () => {
      const narrowed = await api.post<CreatedBody>('/tokens', { name: 'n', scopes: ['read'], repo: 'alice/main' }, repoToken);
      assertStatus(narrowed, 201);
      assert.equal(narrowed.body.repo, 'alice/main');
      assertError(await api.post('/tokens', { name: 'wide', scopes: ['read'] }, repoToken), 403, 'FORBIDDEN');
      assertError(await api.post('/tokens', { name: 'elsewhere', scopes: ['read'], repo: 'alice/other' }, repoToken), 403, 'FORBIDDEN');
    });

    it('lets an unrestricted token create a restricted one', async () => {
      assertStatus(await api.post('/tokens', { name: 'narrow', scopes: ['read'], repo: 'alice/other' }, writeToken), 201);
    });

    it('keeps an expiry: children expire no later, and inherit it when they name none', async () => {
      const inherited = await api.post<CreatedBody>('/tokens', { name: 'child', scopes: ['read'] }, expiringToken.token);
      assertStatus(inherited, 201);
      assert.equal(inherited.body.expiresAt, expiringToken.expiresAt);
      assertStatus(await api.post('/tokens', { name: 'sooner', scopes: ['read'], expiresAt: inDays(1) }, expiringToken.token), 201);
      assertError(await api.post('/tokens', { name: 'later', scopes: ['read'], expiresAt: inDays(30) }, expiringToken.token), 403, 'FORBIDDEN');
    });
  });

  describe('GET /tokens and DELETE /tokens/{id}', () => {
    it('lists the caller’s own active tokens without secrets', async () => {
      const created = await api.post<CreatedBody>('/tokens', { name: 'listed', scopes: ['read'] }, alice.token);
      const answer = await api.get<TokenBody[]>('/tokens', alice.token);
      assertStatus(answer, 200);
      const mine = answer.body.find((t) => t.id === created.body.id);
      assert.ok(mine);
      assert.equal(mine.name, 'listed');
      assert.ok(!answer.text.includes(created.body.token), 'a listing never contains a secret');
      assert.ok(answer.body.every((t) => !('token' in t) && !('hash' in t)));
      const bob = await server.createUser('bob');
      const theirs = await api.get<TokenBody[]>('/tokens', bob.token);
      assert.ok(!theirs.body.some((t) => t.id === created.body.id));
    });

    it('revokes a token, after which it no longer authenticates', async () => {
      const created = await api.post<CreatedBody>('/tokens', { name: 'doomed', scopes: ['read'] }, alice.token);
      assertStatus(await api.get('/whoami', created.body.token), 200);
      assertStatus(await api.delete(`/tokens/${created.body.id}`, alice.token), 204);
      assertError(await api.get('/whoami', created.body.token), 401, 'INVALID_TOKEN');
      const list = await api.get<TokenBody[]>('/tokens', alice.token);
      assert.ok(!list.body.some((t) => t.id === created.body.id));
    });

    it('answers 404 for someone else’s token and for an unknown id, and leaves the token working', async () => {
      const created = await api.post<CreatedBody>('/tokens', { name: 'kept', scopes: ['read'] }, alice.token);
      const mallory = await server.createUser('mallory');
      assertError(await api.delete(`/tokens/${created.body.id}`, mallory.token), 404, 'NOT_FOUND');
      assertError(await api.delete('/tokens/999999', mallory.token), 404, 'NOT_FOUND');
      assertStatus(await api.get('/whoami', created.body.token), 200);
    });

    it('lets a site admin revoke anyone’s token', async () => {
      const created = await api.post<CreatedBody>('/tokens', { name: 'admin-revoked', scopes: ['read'] }, alice.token);
      assertStatus(await api.delete(`/tokens/${created.body.id}`, server.adminToken), 204);
      assertError(await api.get('/whoami', created.body.token), 401, 'INVALID_TOKEN');
    });

    it('answers 400 for a non-numeric id and 401 anonymous', async () => {
      assertError(await api.delete('/tokens/abc', alice.token), 400, 'VALIDATION_FAILED');
      assertError(await api.delete('/tokens/1'), 401, 'AUTH_REQUIRED');
      assertError(await api.get('/tokens'), 401, 'AUTH_REQUIRED');
    });
  });
});
