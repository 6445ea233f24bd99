/**
 * Token address ranges, last use, delete scope, and the lockout of password guessing, over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { apiClient } from './api-client.js';

describe('REST API: token address ranges, last use and lockout', () => {
  let server: TestServer;
  let api: ReturnType<typeof apiClient>;
  let alice: { name: string; password: string; token: string; id: number };

  before(async () => {
    server = await startTestServer({ auth: { lockout: { threshold: 3, baseDelaySeconds: 60, maxDelaySeconds: 600 } } });
    api = apiClient(server);
    alice = await server.createUser('alice', { scopes: ['admin'] });
  });
  after(async () => server?.close());

  it('a token works only from its address ranges', async () => {
    const outside = await api.post<{ token: string; cidrs: string[] }>('/tokens', { name: 'lan', scopes: ['read'], cidrs: ['10.0.0.0/8'] }, alice.token);
    assert.equal(outside.status, 201, outside.text);
    assert.deepEqual(outside.body.cidrs, ['10.0.0.0/8']);
    const refused = await api.get<{ error: { code: string } }>('/whoami', outside.body.token);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'ADDRESS_NOT_ALLOWED');

    const inside = await api.post<{ token: string }>('/tokens', { name: 'local', scopes: ['read'], cidrs: ['127.0.0.0/8', '::1/128'] }, alice.token);
    assert.equal((await api.get('/whoami', inside.body.token)).status, 200);

    const malformed = await api.post('/tokens', { name: 'bad', scopes: ['read'], cidrs: ['10.0.0.0/33'] }, alice.token);
    assert.equal(malformed.status, 400, malformed.text);
  });

  it('records when and from where a token was last used, and audits a new address', async () => {
    const created = await api.post<{ token: string; id: number }>('/tokens', { name: 'tracked', scopes: ['read'] }, alice.token);
    assert.equal((await api.get('/whoami', created.body.token)).status, 200);
    // The use is written off the request path: wait until it shows up.
    let listed: { id: number; lastUsedAt: string | null; lastUsedIp: string | null } | undefined;
    for (let i = 0; i < 50 && !listed?.lastUsedAt; i++) {
      const tokens = await api.get<{ id: number; lastUsedAt: string | null; lastUsedIp: string | null }[]>('/tokens', alice.token);
      listed = tokens.body.find((t) => t.id === created.body.id);
      if (!listed?.lastUsedAt) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(listed?.lastUsedAt, 'last use recorded');
    assert.match(listed.lastUsedIp ?? '', /127\.0\.0\.1/);
    const audit = await server.domain.audit.query(server.domain.db, { action: 'token.use.new-address', target: `token:${created.body.id}` });
    assert.equal(audit.length, 1);
  });

  it('write does not imply delete: unpublishing needs the delete scope', async () => {
    const writer = await api.post<{ token: string; scopes: string[] }>('/tokens', { name: 'publisher', scopes: ['write'] }, alice.token);
    assert.deepEqual(writer.body.scopes, ['write']);
    const grant = await server.domain.tokens.verify(writer.body.token);
    assert.ok(grant?.scopes.has('read') && grant.scopes.has('write'));
    assert.equal(grant?.scopes.has('delete'), false);
  });

  it('locks an account after repeated wrong passwords with 429 and Retry-After, and an admin can unlock it', async () => {
    const wrong = { user: 'alice', password: 'not the password' };
    for (let i = 0; i < 3; i++) assert.equal((await api.get('/whoami', wrong)).status, 401);
    const locked = await api.get<{ error: { code: string } }>('/whoami', { user: 'alice', password: alice.password });
    assert.equal(locked.status, 429, 'even the right password waits out the lockout');
    assert.equal(locked.body.error.code, 'TOO_MANY_ATTEMPTS');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal((await server.domain.audit.query(server.domain.db, { action: 'auth.lockout' })).length >= 1, true);

    const unlocked = await api.post<{ cleared: boolean }>('/users/alice/unlock', {}, server.adminToken);
    assert.equal(unlocked.status, 200, unlocked.text);
    assert.equal(unlocked.body.cleared, true);
    assert.equal((await api.post('/users/alice/unlock', {}, alice.token)).status, 403);
    assert.equal((await api.get('/whoami', { user: 'alice', password: alice.password })).status, 200);
  });
});
