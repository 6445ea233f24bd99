/**
 * Trusted publishing with the real npm 11: an owner requires MFA, a member without it cannot
 * publish, with it `npm publish` needs `--otp`, an automation token publishes from CI without a
 * code but only to its repository and only until it expires, and a read token minted by a
 * repository master token installs until the master is revoked.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { systemActor } from '../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { type Sandbox, assertFailed, assertOk, createSandbox, describeRun, writePackage, writeProject } from './clients.js';
import { http } from './registry.js';

describe('MFA, automation and read tokens with npm 11', () => {
  let server: TestServer;
  let registry: string;
  let secret = '';
  const sandboxes: Sandbox[] = [];
  let devId = 0;
  let devToken = '';

  /**
   * A code for the next time step: enrolment spent the current one, and a step, once accepted,
   * is accepted again only from the same credential (devToken here, for every call).
   */
  const freshCode = () => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

  async function sandbox(label: string, token?: string): Promise<Sandbox> {
    const created = await createSandbox({ label, registry, ...(token ? { token } : {}) });
    sandboxes.push(created);
    return created;
  }

  async function api<T = Record<string, unknown>>(method: string, urlPath: string, token: string, body?: unknown, otp?: string) {
    const answer = await http(method, `${server.url}/api/v1${urlPath}`, { token, body, ...(otp ? { headers: { 'x-stockade-otp': otp } } : {}) });
    return { status: answer.status, body: answer.json as T, text: answer.text };
  }

  before(async () => {
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: admin.id });
    registry = await server.createRepo('corp', 'private', 'private');
    await server.createRepo('corp', 'other', 'private');
    const dev = await server.createUser('dev', { scopes: ['write'] });
    devId = dev.id;
    devToken = dev.token;
    await server.domain.accounts.setMember(systemActor, { owner: 'corp', user: 'dev', role: 'admin' });
    await server.domain.mfa.setOwnerRequirement(systemActor, 'corp', true);
  });

  after(async () => {
    for (const s of sandboxes) await s.remove();
    await server?.close();
  });

  it('a member without MFA cannot publish to an owner that requires it', async () => {
    const box = await sandbox('mfa-unenrolled', devToken);
    const dir = await writePackage(path.join(box.root, 'lib'), { name: '@corp/lib', version: '1.0.0' });
    const run = assertFailed(await box.npm(['publish'], { cwd: dir }));
    assert.match(run.stderr, /E403/, describeRun(run));
    assert.match(run.stderr, /corp requires two-factor authentication/, describeRun(run));
    const noncompliant = await server.domain.mfa.nonCompliant('corp');
    assert.ok(noncompliant.some((m) => m.user === 'dev'));
  });

  it('with MFA, npm publish needs --otp and succeeds with a fresh code', async () => {
    const enrollment = await server.domain.mfa.startEnrollment(systemActor, { id: devId, name: 'dev' });
    secret = enrollment.secret;
    await server.domain.mfa.confirmEnrollment(systemActor, { id: devId, name: 'dev' }, await generate({ secret }));
    const box = await sandbox('mfa-enrolled', devToken);
    const dir = await writePackage(path.join(box.root, 'lib'), { name: '@corp/lib', version: '1.0.0' });

    const withoutCode = assertFailed(await box.npm(['publish'], { cwd: dir }));
    // npm turns the OTP challenge into its own advice to pass a one-time password.
    assert.match(withoutCode.stderr, /EOTP|one-time password/i, describeRun(withoutCode));

    const wrong = assertFailed(await box.npm(['publish', '--otp=000000'], { cwd: dir }));
    assert.match(wrong.stderr, /EOTP|one-time password/i, describeRun(wrong));

    assertOk(await box.npm(['publish', `--otp=${await freshCode()}`], { cwd: dir }));
    const view = assertOk(await box.npm(['view', '@corp/lib', 'version'], { cwd: box.root }));
    assert.equal(view.stdout.trim(), '1.0.0');
  });

  it('an automation token publishes without a code, only to its repository, only until it expires', async () => {
    const code = await freshCode();
    const created = await api<{ token: string; id: number; kind: string }>(
      'POST',
      '/tokens',
      devToken,
      { name: 'ci', kind: 'automation', scopes: ['write'], repo: 'corp/private', expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString() },
      code,
    );
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.kind, 'automation');
    const ci = created.body.token;

    const box = await sandbox('mfa-ci', ci);
    const dir = await writePackage(path.join(box.root, 'lib'), { name: '@corp/lib', version: '1.1.0' });
    assertOk(await box.npm(['publish'], { cwd: dir }));

    // The same token against the other repository of the same owner.
    const elsewhere = await createSandbox({ label: 'mfa-ci-elsewhere', registry: `${server.url}/corp/other/npm/`, token: ci });
    sandboxes.push(elsewhere);
    const otherDir = await writePackage(path.join(elsewhere.root, 'lib'), { name: '@corp/lib', version: '1.0.0' });
    const refused = assertFailed(await elsewhere.npm(['publish'], { cwd: otherDir }));
    assert.match(refused.stderr, /E403|E404/, describeRun(refused));

    // Once expired, the token is refused outright.
    await server.domain.db.updateTable('tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', created.body.id).execute();
    server.domain.changes.publish('token', '*');
    const late = await writePackage(path.join(box.root, 'late'), { name: '@corp/lib', version: '1.2.0' });
    const expired = assertFailed(await box.npm(['publish'], { cwd: late }));
    assert.match(expired.stderr, /E401/, describeRun(expired));

    const audit = await server.domain.audit.query(server.domain.db, { action: 'token.create' });
    assert.ok(audit.some((entry) => entry.details.kind === 'automation'), 'the audit log shows the automation token');
  });

  it('automation tokens must name one repository, must expire and cannot administer', async () => {
    const code = await freshCode();
    const cases = [
      { name: 'x', kind: 'automation', scopes: ['write'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
      { name: 'x', kind: 'automation', scopes: ['write'], repo: 'corp/private' },
      { name: 'x', kind: 'automation', scopes: ['write'], repo: 'corp/private', expiresAt: new Date(Date.now() + 400 * 86_400_000).toISOString() },
    ];
    for (const body of cases) {
      const answer = await api('POST', '/tokens', devToken, body, code);
      assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${answer.text}`);
    }
    const admin = await api('POST', '/tokens', server.adminToken, { name: 'x', kind: 'automation', scopes: ['admin'], repo: 'corp/private', expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    assert.equal(admin.status, 400, admin.text);
    assert.match(admin.text, /cannot have the admin scope/);
  });

  it('a read token minted with the master token installs until the master is revoked', async () => {
    const code = await freshCode();
    const master = await api<{ token: string; id: number; scopes: string[] }>('POST', '/tokens', devToken, { name: 'fleet', kind: 'master', scopes: ['read'], repo: 'corp/private' }, code);
    assert.equal(master.status, 201, master.text);
    assert.deepEqual(master.body.scopes, ['read']);

    // A machine enrols itself with the master token; no user, no one-time password.
    const minted = await api<{ token: string; kind: string; parentId: number }>('POST', '/repos/corp/private/read-tokens', master.body.token, { name: 'build-host-1' });
    assert.equal(minted.status, 201, minted.text);
    assert.equal(minted.body.kind, 'read');
    assert.equal(minted.body.parentId, master.body.id);
    // A read token cannot mint more, and a personal token is not the master.
    assert.equal((await api('POST', '/repos/corp/private/read-tokens', minted.body.token, { name: 'x' })).status, 403);
    // The master token of one repository cannot even see another.
    assert.equal((await api('POST', '/repos/corp/other/read-tokens', master.body.token, { name: 'x' })).status, 404);
    assert.equal((await api('POST', '/repos/corp/private/read-tokens', devToken, { name: 'x' })).status, 403);

    const machine = await sandbox('mfa-machine', minted.body.token);
    const project = await writeProject(await machine.dir('app'), { '@corp/lib': '^1.0.0' });
    assertOk(await machine.npm(['install'], { cwd: project }));
    const publishDir = await writePackage(path.join(machine.root, 'nope'), { name: '@corp/nope', version: '1.0.0' });
    assertFailed(await machine.npm(['publish'], { cwd: publishDir }));

    const revoked = await api('DELETE', `/tokens/${master.body.id}`, devToken);
    assert.equal(revoked.status, 204, revoked.text);
    await machine.freshCache();
    const again = await writeProject(await machine.dir('app2'), { '@corp/lib': '^1.0.0' });
    const refused = assertFailed(await machine.npm(['install'], { cwd: again }));
    assert.match(refused.stderr, /E401/, describeRun(refused));
  });
});
