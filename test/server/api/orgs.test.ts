import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

type Members = { user: string; role: string }[];

describe('REST API: organizations', () => {
  let server: TestServer;
  let api: ApiClient;
  let alice: { token: string };
  let bob: { token: string };
  let carol: { token: string };
  let aliceAdmin: string;

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    carol = await server.createUser('carol', { scopes: ['read'] });
    aliceAdmin = (await server.createUser('alice2', { scopes: ['admin'] })).token;
  });
  after(() => server.close());

  describe('POST /orgs', () => {
    it('creates an organization with the caller as its admin', async () => {
      const answer = await api.post<{ name: string; members: Members }>('/orgs', { name: 'acme' }, alice.token);
      assertStatus(answer, 201);
      assert.deepEqual(answer.body, { name: 'acme', members: [{ user: 'alice', role: 'admin' }] });
      const members = await api.get<Members>('/orgs/acme/members', alice.token);
      assert.deepEqual(members.body, [{ user: 'alice', role: 'admin' }]);
    });

    it('answers 409 OWNER_EXISTS for a name taken by an organization or a user', async () => {
      assertError(await api.post('/orgs', { name: 'acme' }, bob.token), 409, 'OWNER_EXISTS');
      assertError(await api.post('/orgs', { name: 'bob' }, bob.token), 409, 'OWNER_EXISTS');
    });

    it('answers 400 for an invalid or missing name', async () => {
      assertError(await api.post('/orgs', { name: 'Bad Name' }, bob.token), 400, 'VALIDATION_FAILED');
      assertError(await api.post('/orgs', {}, bob.token), 400, 'VALIDATION_FAILED');
    });

    it('answers 401 anonymous and 403 to a read-only token', async () => {
      assertError(await api.post('/orgs', { name: 'anon-org' }), 401, 'AUTH_REQUIRED');
      assertError(await api.post('/orgs', { name: 'readers' }, carol.token), 403, 'FORBIDDEN');
    });
  });

  describe('members', () => {
    before(async () => {
      assertStatus(await api.post('/orgs', { name: 'globex' }, aliceAdmin), 201);
    });

    it('lets an org admin (with an admin-scope token) add, change and remove members', async () => {
      const added = await api.put<{ user: string; role: string }>('/orgs/globex/members/bob', { role: 'write' }, aliceAdmin);
      assertStatus(added, 200);
      assert.deepEqual(added.body, { user: 'bob', role: 'write' });
      assertStatus(await api.put('/orgs/globex/members/carol', { role: 'read' }, aliceAdmin), 200);
      assertStatus(await api.put('/orgs/globex/members/carol', { role: 'admin' }, aliceAdmin), 200);
      const members = await api.get<Members>('/orgs/globex/members', bob.token);
      assertStatus(members, 200);
      assert.deepEqual(members.body, [
        { user: 'alice2', role: 'admin' },
        { user: 'bob', role: 'write' },
        { user: 'carol', role: 'admin' },
      ]);
      assertStatus(await api.delete('/orgs/globex/members/carol', aliceAdmin), 204);
      const after = await api.get<Members>('/orgs/globex/members', aliceAdmin);
      assert.deepEqual(
        after.body.map((m) => m.user),
        ['alice2', 'bob'],
      );
    });

    it('answers 403 to members who are not admins', async () => {
      assertError(await api.put('/orgs/globex/members/alice', { role: 'read' }, bob.token), 403, 'FORBIDDEN');
      assertError(await api.delete('/orgs/globex/members/alice2', bob.token), 403, 'FORBIDDEN');
    });

    it('answers 403 to an org admin whose token lacks the admin scope', async () => {
      // alice is admin of acme, but her token only has write.
      assertError(await api.put('/orgs/acme/members/bob', { role: 'read' }, alice.token), 403, 'FORBIDDEN');
    });

    it('hides an organization from outsiders: the same 404 as a missing one', async () => {
      const outsider = await api.get('/orgs/acme/members', bob.token);
      const missing = await api.get('/orgs/no-such-org/members', bob.token);
      assertError(outsider, 404, 'NOT_FOUND');
      assert.equal(outsider.text.replace('acme', 'X'), missing.text.replace('no-such-org', 'X'));
      assertError(await api.put('/orgs/acme/members/bob', { role: 'admin' }, bob.token), 404, 'NOT_FOUND');
    });

    it('does not treat a user’s own namespace as an organization', async () => {
      assertError(await api.get('/orgs/bob/members', bob.token), 404, 'NOT_FOUND');
    });

    it('lets a site admin manage any organization', async () => {
      assertStatus(await api.put('/orgs/acme/members/bob', { role: 'read' }, server.adminToken), 200);
      assertStatus(await api.get('/orgs/acme/members', server.adminToken), 200);
      assertStatus(await api.delete('/orgs/acme/members/bob', server.adminToken), 204);
    });

    it('answers 404 for an unknown user or a non-member, 400 for an unknown role', async () => {
      assertError(await api.put('/orgs/globex/members/nobody', { role: 'read' }, aliceAdmin), 404, 'NOT_FOUND');
      assertError(await api.delete('/orgs/globex/members/carol', aliceAdmin), 404, 'NOT_FOUND');
      assertError(await api.put('/orgs/globex/members/bob', { role: 'owner' }, aliceAdmin), 400, 'VALIDATION_FAILED');
    });

    it('answers 409 when the last admin would be demoted or removed', async () => {
      assertError(await api.put('/orgs/globex/members/alice2', { role: 'write' }, aliceAdmin), 409, 'CONFLICT');
      assertError(await api.delete('/orgs/globex/members/alice2', aliceAdmin), 409, 'CONFLICT');
    });

    it('answers 401 to anonymous callers', async () => {
      assertError(await api.get('/orgs/globex/members'), 401, 'AUTH_REQUIRED');
      assertError(await api.put('/orgs/globex/members/bob', { role: 'read' }), 401, 'AUTH_REQUIRED');
      assertError(await api.delete('/orgs/globex/members/bob'), 401, 'AUTH_REQUIRED');
    });
  });
});
