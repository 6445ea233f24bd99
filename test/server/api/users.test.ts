import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface UserBody {
  id: number;
  name: string;
  email: string | null;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: string;
}

describe('REST API: users', () => {
  let server: TestServer;
  let api: ApiClient;
  let admin: string;
  let alice: { name: string; password: string; token: string };
  let bob: { name: string; password: string; token: string };

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    admin = server.adminToken;
    alice = await server.createUser('alice');
    bob = await server.createUser('bob', { scopes: ['read'] });
  });
  after(() => server.close());

  describe('POST /users', () => {
    it('lets a site admin create a user and returns it without secrets', async () => {
      const answer = await api.post<UserBody>('/users', { name: 'carol', password: 'Long-Enough-Secret-9', email: 'carol@example.com' }, admin);
      assertStatus(answer, 201);
      assert.equal(answer.body.name, 'carol');
      assert.equal(answer.body.email, 'carol@example.com');
      assert.equal(answer.body.isAdmin, false);
      assert.ok(!answer.text.includes('Long-Enough-Secret-9'));
      assert.ok(!/hash/i.test(answer.text));
      // The new account works.
      assertStatus(await api.get('/whoami', { user: 'carol', password: 'Long-Enough-Secret-9' }), 200);
    });

    it('can create another site admin', async () => {
      const answer = await api.post<UserBody>('/users', { name: 'dave', password: 'Long-Enough-Secret-9', admin: true }, admin);
      assertStatus(answer, 201);
      assert.equal(answer.body.isAdmin, true);
    });

    it('answers 401 to anonymous callers before looking at the body', async () => {
      assertError(await api.post('/users', { nonsense: true }), 401, 'AUTH_REQUIRED');
    });

    it('answers 403 to users who are not site admins', async () => {
      assertError(await api.post('/users', { name: 'mallory', password: 'Long-Enough-Secret-9', admin: true }, alice.token), 403, 'FORBIDDEN');
    });

    it('answers 403 to a site admin whose token lacks the admin scope', async () => {
      const adminUser = await server.domain.accounts.getUser('admin');
      assert.ok(adminUser);
      const weak = await server.domain.tokens.create(systemActor, { userId: adminUser.id, name: 'write only', scopes: ['write'] });
      assertError(await api.post('/users', { name: 'erin', password: 'Long-Enough-Secret-9' }, weak.secret), 403, 'FORBIDDEN');
    });

    it('lets a site admin logged in with a password act without a token', async () => {
      const answer = await api.post('/users', { name: 'frank', password: 'Long-Enough-Secret-9' }, { user: 'admin', password: server.adminPassword });
      assertStatus(answer, 201);
    });

    it('answers 409 USER_EXISTS for a taken name', async () => {
      assertError(await api.post('/users', { name: 'alice', password: 'Long-Enough-Secret-9' }, admin), 409, 'USER_EXISTS');
    });

    const invalid: [string, Record<string, unknown>, string][] = [
      ['a missing password', { name: 'gina' }, 'VALIDATION_FAILED'],
      ['an invalid name', { name: 'Not Valid!', password: 'Long-Enough-Secret-9' }, 'VALIDATION_FAILED'],
      ['a malformed email', { name: 'gina', password: 'Long-Enough-Secret-9', email: 'not-an-email' }, 'VALIDATION_FAILED'],
      ['a weak password', { name: 'gina', password: 'short' }, 'WEAK_PASSWORD'],
      ['a password containing the name', { name: 'gina', password: 'gina-is-great-123' }, 'WEAK_PASSWORD'],
    ];
    for (const [what, body, code] of invalid) {
      it(`answers 400 ${code} for ${what}`, async () => {
        assertError(await api.post('/users', body, admin), 400, code);
      });
    }

    it('answers 400 INVALID_JSON for a body that is not JSON', async () => {
      const answer = await api.request('POST', '/users', { auth: admin, body: Buffer.from('{"name":'), contentType: 'application/json' });
      assertError(answer, 400, 'INVALID_JSON');
    });
  });

  describe('GET /users', () => {
    it('lists every user for a site admin', async () => {
      const answer = await api.get<UserBody[]>('/users', admin);
      assertStatus(answer, 200);
      const names = answer.body.map((u) => u.name);
      for (const name of ['admin', 'alice', 'bob']) assert.ok(names.includes(name), name);
      assert.ok(!/hash/i.test(answer.text));
    });

    it('answers 401 anonymous and 403 to other users', async () => {
      assertError(await api.get('/users'), 401, 'AUTH_REQUIRED');
      assertError(await api.get('/users', alice.token), 403, 'FORBIDDEN');
    });
  });

  describe('GET /users/{name}', () => {
    it('shows users themselves', async () => {
      const answer = await api.get<UserBody>('/users/alice', alice.token);
      assertStatus(answer, 200);
      assert.equal(answer.body.name, 'alice');
    });

    it('shows anyone to a site admin, and 404 for nobody', async () => {
      assertStatus(await api.get('/users/bob', admin), 200);
      assertError(await api.get('/users/nobody', admin), 404, 'NOT_FOUND');
    });

    it('answers the same 403 for another user whether or not they exist', async () => {
      const existing = await api.get('/users/bob', alice.token);
      const missing = await api.get('/users/nobody', alice.token);
      assertError(existing, 403, 'FORBIDDEN');
      assert.equal(existing.text, missing.text);
    });

    it('answers 401 to anonymous callers', async () => {
      assertError(await api.get('/users/alice'), 401, 'AUTH_REQUIRED');
    });
  });

  describe('PUT /users/{name}/password', () => {
    it('lets users change their own password when they give the current one', async () => {
      const user = await server.createUser('henry');
      const answer = await api.put('/users/henry/password', { password: 'Brand-New-Secret-7', currentPassword: user.password }, user.token);
      assertStatus(answer, 204);
      assertStatus(await api.get('/whoami', { user: 'henry', password: 'Brand-New-Secret-7' }), 200);
      assertError(await api.get('/whoami', { user: 'henry', password: user.password }), 401, 'INVALID_CREDENTIALS');
    });

    it('requires the current password from users changing their own', async () => {
      assertError(await api.put('/users/alice/password', { password: 'Brand-New-Secret-7' }, alice.token), 400, 'VALIDATION_FAILED');
    });

    it('answers 403 (not 401) for a wrong current password', async () => {
      assertError(await api.put('/users/alice/password', { password: 'Brand-New-Secret-7', currentPassword: 'wrong-one-1234' }, alice.token), 403, 'FORBIDDEN');
    });

    it('answers 403 to a read-only token', async () => {
      assertError(await api.put('/users/bob/password', { password: 'Brand-New-Secret-7', currentPassword: bob.password }, bob.token), 403, 'FORBIDDEN');
    });

    it('answers 403 to users changing someone else’s password', async () => {
      assertError(await api.put('/users/bob/password', { password: 'Brand-New-Secret-7', currentPassword: alice.password }, alice.token), 403, 'FORBIDDEN');
    });

    it('lets a site admin reset anyone’s password without the current one', async () => {
      await server.createUser('ivy');
      assertStatus(await api.put('/users/ivy/password', { password: 'Reset-By-Admin-55' }, admin), 204);
      assertStatus(await api.get('/whoami', { user: 'ivy', password: 'Reset-By-Admin-55' }), 200);
    });

    it('answers 404 for an unknown user, 400 for a weak password, 401 anonymous', async () => {
      assertError(await api.put('/users/nobody/password', { password: 'Reset-By-Admin-55' }, admin), 404, 'NOT_FOUND');
      assertError(await api.put('/users/alice/password', { password: 'short' }, admin), 400, 'WEAK_PASSWORD');
      assertError(await api.put('/users/alice/password', { password: 'Reset-By-Admin-55' }), 401, 'AUTH_REQUIRED');
    });
  });
});
