import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { systemActor } from '../../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface Status {
  enabled: boolean;
  pending: boolean;
  confirmedAt: string | null;
  recoveryCodesLeft: number;
}
interface Enrollment {
  secret: string;
  uri: string;
  qrSvg: string;
}
interface RecoveryCodes {
  recoveryCodes: string[];
}
interface OwnerMfa {
  required: boolean;
  nonCompliant: { user: string; role: string }[];
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe('REST API: two-factor authentication', () => {
  let server: TestServer;
  let api: ApiClient;
  let alice: { name: string; password: string; token: string; id: number };
  let automation: string;
  let master: string;

  before(async () => {
    server = await startTestServer({ auth: { totpIssuer: 'Stockade API' } });
    api = apiClient(server);
    alice = await server.createUser('alice');
    await server.createRepo('alice', 'app');
    const repo = await server.domain.repos.get('alice', 'app');
    const repoId = repo!.id;
    automation = (await server.domain.tokens.create(systemActor, { userId: alice.id, name: 'ci', kind: 'automation', scopes: ['write'], repoId, expiresAt: inDays(30) })).secret;
    master = (await server.domain.tokens.create(systemActor, { userId: alice.id, name: 'fleet', kind: 'master', scopes: ['read'], repoId })).secret;
  });
  after(() => server.close());

  describe('/user/mfa', () => {
    it('enrolls, confirms, regenerates recovery codes and disables over HTTP', async () => {
      const initial = await api.get<Status>('/user/mfa', alice.token);
      assertStatus(initial, 200);
      assert.deepEqual(initial.body, { enabled: false, pending: false, confirmedAt: null, recoveryCodesLeft: 0 });

      const started = await api.post<Enrollment>('/user/mfa/enroll', undefined, alice.token);
      assertStatus(started, 200);
      assert.match(started.body.uri, /^otpauth:\/\/totp\/Stockade%20API:alice\?secret=[A-Z2-7]+&issuer=Stockade%20API&algorithm=SHA1&digits=6&period=30$/);
      assert.match(started.body.qrSvg, /<svg/);
      assert.equal((await api.get<Status>('/user/mfa', alice.token)).body.pending, true);

      const wrong = (await generate({ secret: started.body.secret })) === '000000' ? '111111' : '000000';
      assertError(await api.post('/user/mfa/confirm', { code: wrong }, alice.token), 401, 'INVALID_OTP');
      const confirmed = await api.post<RecoveryCodes>('/user/mfa/confirm', { code: await generate({ secret: started.body.secret }) }, alice.token);
      assertStatus(confirmed, 200);
      assert.equal(confirmed.body.recoveryCodes.length, 10);

      const enabled = await api.get<Status>('/user/mfa', { user: 'alice', password: alice.password });
      assertStatus(enabled, 200);
      assert.equal(enabled.body.enabled, true);
      assert.equal(enabled.body.recoveryCodesLeft, 10);
      assertError(await api.post('/user/mfa/enroll', undefined, alice.token), 409, 'MFA_ALREADY_ENABLED');

      // The authenticator's code was spent on the confirmation: recovery codes prove the factor from here.
      const [first, second] = confirmed.body.recoveryCodes as [string, string];
      const regenerated = await api.post<RecoveryCodes>('/user/mfa/recovery-codes', { code: first }, alice.token);
      assertStatus(regenerated, 200);
      assert.equal(regenerated.body.recoveryCodes.length, 10);
      assertError(await api.post('/user/mfa/disable', { code: second }, alice.token), 401, 'INVALID_OTP');
      assertStatus(await api.post('/user/mfa/disable', { code: regenerated.body.recoveryCodes[0] }, alice.token), 204);
      assert.equal((await api.get<Status>('/user/mfa', alice.token)).body.enabled, false);
    });

    it('answers 401 anonymous and 400 without a code', async () => {
      assertError(await api.get('/user/mfa'), 401, 'AUTH_REQUIRED');
      assertError(await api.post('/user/mfa/enroll', undefined), 401, 'AUTH_REQUIRED');
      assertError(await api.post('/user/mfa/confirm', {}, alice.token), 400, 'VALIDATION_FAILED');
    });

    it('refuses automation and master tokens: they cannot manage the second factor', async () => {
      for (const token of [automation, master]) {
        assertError(await api.get('/user/mfa', token), 403, 'FORBIDDEN');
        assertError(await api.post('/user/mfa/enroll', undefined, token), 403, 'FORBIDDEN');
        assertError(await api.post('/user/mfa/confirm', { code: '123456' }, token), 403, 'FORBIDDEN');
        assertError(await api.post('/user/mfa/disable', { code: '123456' }, token), 403, 'FORBIDDEN');
        assertError(await api.post('/user/mfa/recovery-codes', { code: '123456' }, token), 403, 'FORBIDDEN');
      }
      assert.equal((await api.get<Status>('/user/mfa', alice.token)).body.pending, false, 'nothing was started');
    });
  });

  describe('DELETE /users/:name/mfa', () => {
    it('lets site admins reset a lost authenticator, nobody else', async () => {
      const bob = await server.createUser('bob');
      const started = await api.post<Enrollment>('/user/mfa/enroll', undefined, bob.token);
      assertStatus(await api.post('/user/mfa/confirm', { code: await generate({ secret: started.body.secret }) }, bob.token), 200);

      assertError(await api.delete('/users/bob/mfa', bob.token), 403, 'FORBIDDEN');
      assertError(await api.delete('/users/bob/mfa', alice.token), 403, 'FORBIDDEN');
      assertStatus(await api.delete('/users/bob/mfa', server.adminToken), 204);
      assert.equal((await api.get<Status>('/user/mfa', bob.token)).body.enabled, false);
      assertError(await api.delete('/users/bob/mfa', server.adminToken), 409, 'MFA_NOT_ENABLED');
      assertError(await api.delete('/users/nobody/mfa', server.adminToken), 404, 'NOT_FOUND');
    });
  });

  describe('/orgs/:name/mfa', () => {
    let aliceAdmin: string;
    let member: { token: string };
    let stranger: { token: string };

    before(async () => {
      aliceAdmin = (await server.domain.tokens.create(systemActor, { userId: alice.id, name: 'admin', scopes: ['admin'] })).secret;
      member = await server.createUser('member', { scopes: ['admin'] });
      stranger = await server.createUser('stranger', { scopes: ['admin'] });
      assertStatus(await api.post('/orgs', { name: 'acme' }, alice.token), 201);
      await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'member', role: 'write' });
    });

    it('shows the requirement and the members without an authenticator to organization admins', async () => {
      const answer = await api.get<OwnerMfa>('/orgs/acme/mfa', alice.token);
      assertStatus(answer, 200);
      assert.deepEqual(answer.body, {
        required: false,
        nonCompliant: [
          { user: 'alice', role: 'admin' },
          { user: 'member', role: 'write' },
        ],
      });
      assertStatus(await api.get('/orgs/acme/mfa', server.adminToken), 200);
    });

    it('answers 403 to members who are not admins, 404 to outsiders and for missing organizations, 401 anonymous', async () => {
      assertError(await api.get('/orgs/acme/mfa', member.token), 403, 'FORBIDDEN');
      assertError(await api.put('/orgs/acme/mfa', { required: true }, member.token), 403, 'FORBIDDEN');
      assertError(await api.get('/orgs/acme/mfa', stranger.token), 404, 'NOT_FOUND');
      assertError(await api.put('/orgs/acme/mfa', { required: true }, stranger.token), 404, 'NOT_FOUND');
      assertError(await api.get('/orgs/nope/mfa', alice.token), 404, 'NOT_FOUND');
      assertError(await api.get('/orgs/acme/mfa'), 401, 'AUTH_REQUIRED');
      // A personal namespace is not an organization.
      assertError(await api.get('/orgs/alice/mfa', alice.token), 404, 'NOT_FOUND');
    });

    it('changes the requirement only with an admin-scope credential', async () => {
      assertError(await api.put('/orgs/acme/mfa', { required: true }, alice.token), 403, 'FORBIDDEN');
      assertError(await api.put('/orgs/acme/mfa', { required: 'yes' }, aliceAdmin), 400, 'VALIDATION_FAILED');
      const answer = await api.put<OwnerMfa>('/orgs/acme/mfa', { required: true }, aliceAdmin);
      assertStatus(answer, 200);
      assert.equal(answer.body.required, true);
      assert.deepEqual(
        answer.body.nonCompliant.map((m) => m.user),
        ['alice', 'member'],
      );
      assert.equal((await api.get<OwnerMfa>('/orgs/acme/mfa', alice.token)).body.required, true);
      const org = await server.domain.accounts.getOwner('acme');
      assert.equal(await server.domain.mfa.ownerRequires(org!.id), true);
    });

    it('refuses to change a requirement the admin does not meet: enroll first', async () => {
      assertError(await api.put('/orgs/acme/mfa', { required: false }, aliceAdmin), 403, 'MFA_REQUIRED');
    });
  });
});
