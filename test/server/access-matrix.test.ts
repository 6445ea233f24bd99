/**
 * Walks every route of the REST API and of every format with every caller of the authorization
 * matrix (src/server/access-matrix.ts) and checks each answer against the table. A route that is
 * not in the table fails here; a private repository must answer an outsider exactly as a missing
 * one does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { API_ROUTES, CALLERS, type Caller, FORMAT_ROUTES, MATRIX, type Outcome, REPO_ROUTES } from '../../src/server/access-matrix.js';
import { systemActor } from '../../src/domain/audit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publishBody } from '../e2e/registry.js';
import { packageTgz } from '../e2e/tarballs.js';
import { buildDeb } from '../formats/debian/build-deb.js';
import { buildRpm } from '../formats/rpm/build-rpm.js';
import { buildWheel, cleanupBuilder } from '../formats/pypi/build-dist.js';
import { buildGem } from '../formats/rubygems/build-gem.js';

interface Credential {
  token: string | null;
  /** Sends a fresh one-time password with every request. */
  otpSecret?: string;
  /** The password of the user behind the credential, for bodies that carry it. */
  password?: string;
}

interface Answer {
  status: number;
  text: string;
  code: string | undefined;
  message: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

describe('authorization matrix: every route, every caller', () => {
  let server: TestServer;
  const callers = {} as Record<Caller, Credential>;
  let tempPassword = '';
  let spareTokenId = 0;
  let exceptionId = 0;
  const wheel = buildWheel({ name: 'matrix-wheel', version: '1.0' });
  const gems: Record<string, Buffer> = {};

  async function send(method: string, url: string, caller: Caller, body?: unknown, contentType = 'application/json'): Promise<Answer> {
    const credential = callers[caller];
    const headers: Record<string, string> = {};
    if (credential.token) headers.authorization = `Bearer ${credential.token}`;
    if (credential.otpSecret) {
      // The next step's code: enrolment spent the current one, and a step is accepted again only
      // from the credential that presented it first (this one, for all of its requests).
      const code = await generate({ secret: credential.otpSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
      headers['x-stockade-otp'] = code;
      headers['npm-otp'] = code;
    }
    let payload: string | Buffer | FormData | undefined;
    if (body instanceof FormData) {
      // fetch writes the multipart boundary into the content type itself.
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = contentType;
      payload = Buffer.isBuffer(body) ? body : JSON.stringify(body);
    }
    const response = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await response.text();
    let parsed: { code?: string; error?: string | { code?: string; message?: string } } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // Not JSON (a tarball): no error code.
    }
    // Plain-text answers (pip, gem, apt, dnf) carry the code in a header and the message as the body.
    const json = text.startsWith('{');
    const code = (typeof parsed.error === 'object' ? parsed.error.code : parsed.code) ?? response.headers.get('x-stockade-error') ?? undefined;
    const message = typeof parsed.error === 'object' ? (parsed.error.message ?? '') : (parsed.error ?? (json || response.ok ? '' : text));
    return { status: response.status, text, code, message };
  }

  /**
   * What an answer means in the terms of the matrix. A 404 that names the repository or the
   * organization is always `hidden`; any other 404 (a token or package that is not there) is the
   * route's own answer, or hiding when hiding is what the table expects.
   */
  function outcomeOf(answer: Answer, expected: Outcome): Outcome | `server error ${number}` {
    if (answer.status >= 500) return `server error ${answer.status}`;
    if (answer.status === 401) {
      if (answer.code === 'OTP_REQUIRED') return 'otp';
      // A wrong password or code in the body is the request's own business, not its credential's.
      return answer.code === 'INVALID_CREDENTIALS' || answer.code === 'INVALID_OTP' ? 'ok' : 'unauthenticated';
    }
    if (answer.status === 403) return answer.code === 'MFA_REQUIRED' ? 'mfa' : 'forbidden';
    // A 404 about something other than the repository or organization is the route's own answer.
    if (answer.status === 404) return /repository|organization/.test(answer.message) || expected === 'hidden' ? 'hidden' : 'ok';
    return 'ok';
  }

  before(async () => {
    server = await startTestServer({ auth: { lockout: { threshold: 200, baseDelaySeconds: 1, maxDelaySeconds: 1 } } });
    const d = server.domain;
    const boss = await server.createUser('boss', { scopes: ['admin'] });
    const writer = await server.createUser('writer', { scopes: ['read', 'write', 'delete'] });
    const lax = await server.createUser('lax', { scopes: ['read', 'write', 'delete'] });
    const temp = await server.createUser('temp');
    tempPassword = temp.password;
    await d.accounts.createOrg(systemActor, { name: 'corp', adminUserId: boss.id });
    await d.accounts.setMember(systemActor, { owner: 'corp', user: 'writer', role: 'write' });
    await d.accounts.setMember(systemActor, { owner: 'corp', user: 'lax', role: 'write' });
    await d.accounts.setMember(systemActor, { owner: 'corp', user: 'temp', role: 'read' });
    const registryA = await server.createRepo('corp', 'a', 'private');
    await server.createRepo('corp', 'b', 'private');
    const repoA = await d.repos.get('corp', 'a');
    const repoB = await d.repos.get('corp', 'b');
    assert.ok(repoA && repoB);

    // Packages, published before corp requires MFA: one to read, and one per unpublish route.
    const publish = async (name: string, version: string) => {
      const pkgJson = { name, version, description: 'matrix fixture', main: 'index.js' };
      const url = `${registryA}${name.replace('/', '%2f')}`;
      const answer = await fetch(url, {
        method: 'PUT',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(publishBody({ registry: registryA, pkgJson, tarball: packageTgz(pkgJson) })),
      });
      assert.equal(answer.status, 201, await answer.text());
    };
    await publish('@corp/lib', '1.0.0');
    await d.packages.setDistTag(systemActor, { repo: repoA, format: 'npm', name: '@corp/lib' }, 'beta', '1.0.0');
    for (const victim of ['@corp/victim-versions', '@corp/victim-package', '@corp/victim-tarball']) {
      await publish(victim, '1.0.0');
      await publish(victim, '1.1.0');
    }
    const deb = await buildDeb({ name: 'matrix-deb', version: '1.0', arch: 'all' });
    const debUpload = await fetch(`${server.url}/api/v1/repos/corp/a/upload?filename=matrix-deb_1.0_all.deb&distribution=bookworm`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
      body: deb.data,
    });
    assert.equal(debUpload.status, 201, await debUpload.text());
    await deb.cleanup();
    const rpmDir = await mkdtemp(join(tmpdir(), 'matrix-rpm-'));
    const rpm = readFileSync(buildRpm({ name: 'matrix-rpm', version: '1.0', release: '1', files: [{ path: '/usr/share/matrix-rpm/README', content: 'fixture' }] }, rpmDir));
    const rpmUpload = await fetch(`${server.url}/api/v1/repos/corp/a/upload?filename=matrix-rpm.rpm&distribution=el/9`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
      body: rpm,
    });
    assert.equal(rpmUpload.status, 201, await rpmUpload.text());
    await rm(rpmDir, { recursive: true, force: true });
    const upload = async (filename: string, data: Buffer) => {
      const answer = await fetch(`${server.url}/api/v1/repos/corp/a/upload?filename=${filename}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
        body: data,
      });
      assert.equal(answer.status, 201, await answer.text());
    };
    await upload(wheel.filename, wheel.data);
    const gemDir = await mkdtemp(join(tmpdir(), 'matrix-gem-'));
    for (const name of ['matrix-gem', 'matrix-victim']) {
      gems[name] = buildGem({ name, version: '1.0.0', files: { [`lib/${name}.rb`]: 'module Matrix; end\n' } }, join(gemDir, name));
      await upload(`${name}-1.0.0.gem`, gems[name]);
    }
    await rm(gemDir, { recursive: true, force: true });
    const exception = await fetch(`${server.url}/api/v1/repos/corp/a/policy/exceptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ package: 'left-pad', reason: 'matrix fixture' }),
    });
    exceptionId = ((await exception.json()) as { id: number }).id;

    // MFA for the writer and the org admin; corp requires it from then on.
    const enroll = async (user: { id: number; name: string }) => {
      const { secret } = await d.mfa.startEnrollment(systemActor, user);
      await d.mfa.confirmEnrollment(systemActor, user, await generate({ secret }));
      return secret;
    };
    const writerSecret = await enroll({ id: writer.id, name: 'writer' });
    const bossSecret = await enroll({ id: boss.id, name: 'boss' });
    await d.mfa.setOwnerRequirement(systemActor, 'corp', true);

    const token = async (input: Parameters<typeof d.tokens.create>[1]) => d.tokens.create(systemActor, input);
    const masterA = await token({ userId: boss.id, name: 'fleet a', kind: 'master', scopes: ['read'], repoId: repoA.id });
    const masterB = await token({ userId: boss.id, name: 'fleet b', kind: 'master', scopes: ['read'], repoId: repoB.id });
    const readA = await token({ userId: boss.id, name: 'host a', kind: 'read', scopes: ['read'], repoId: repoA.id, parentId: masterA.token.id });
    const readB = await token({ userId: boss.id, name: 'host b', kind: 'read', scopes: ['read'], repoId: repoB.id, parentId: masterB.token.id });
    const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const automation = await token({ userId: writer.id, name: 'ci', kind: 'automation', scopes: ['write', 'delete'], repoId: repoA.id, expiresAt: inAWeek });
    const expired = await token({ userId: writer.id, name: 'old', scopes: ['read', 'write', 'delete'], expiresAt: inAWeek });
    await d.db.updateTable('tokens').set({ expires_at: new Date(Date.now() - 60_000).toISOString() }).where('id', '=', expired.token.id).execute();
    const revoked = await token({ userId: writer.id, name: 'gone', scopes: ['read', 'write', 'delete'] });
    await d.tokens.revoke(systemActor, { userId: writer.id, isAdmin: false, id: revoked.token.id });
    const spare = await token({ userId: writer.id, name: 'spare', scopes: ['read'] });
    spareTokenId = spare.token.id;
    d.changes.publish('token', '*');

    Object.assign(callers, {
      anonymous: { token: null },
      expired: { token: expired.secret },
      revoked: { token: revoked.secret },
      readTokenA: { token: readA.secret },
      readTokenB: { token: readB.secret },
      masterTokenA: { token: masterA.secret },
      memberWithoutMfa: { token: lax.token, password: lax.password },
      writerWithoutOtp: { token: writer.token, password: writer.password },
      siteAdmin: { token: server.adminToken, password: server.adminPassword },
      automationA: { token: automation.secret },
      writer: { token: writer.token, otpSecret: writerSecret, password: writer.password },
      orgAdmin: { token: boss.token, otpSecret: bossSecret, password: boss.password },
    } satisfies Record<Caller, Credential>);
    assert.deepEqual(Object.keys(callers).sort(), [...CALLERS].sort());
  });

  after(async () => {
    cleanupBuilder();
    await server?.close();
  });

  it('lists every REST API route, and only those', async () => {
    const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`));
    assert.deepEqual(routes.sort(), Object.keys(API_ROUTES).sort(), 'add new routes to API_ROUTES in src/server/access-matrix.ts');
  });

  /**
   * Runs one request for every caller (in CALLERS order: the one admin who may delete comes last)
   * and returns the mismatches. `hiddenTwin` builds the same request for a missing repository,
   * whose answer a hidden one must equal.
   */
  async function walk(
    label: string,
    access: keyof typeof MATRIX,
    request: (caller: Caller) => Promise<{ method: string; url: string; body?: unknown; contentType?: string }>,
    hiddenTwin?: (url: string) => string,
  ): Promise<string[]> {
    const problems: string[] = [];
    for (const caller of CALLERS) {
      const expected = MATRIX[access][caller];
      const { method, url, body, contentType } = await request(caller);
      const answer = await send(method, url, caller, body, contentType);
      const got = outcomeOf(answer, expected);
      if (got !== expected) {
        problems.push(`${label} as ${caller}: expected ${expected}, got ${got} (${answer.status} ${answer.text.slice(0, 160)})`);
        continue;
      }
      if (expected === 'hidden' && hiddenTwin) {
        const twin = await send(method, hiddenTwin(url), caller, body, contentType);
        const normalize = (text: string) => text.replaceAll('corp/nope', 'corp/a');
        if (twin.status !== answer.status || normalize(twin.text) !== answer.text) {
          problems.push(`${label} as ${caller}: a hidden repository answers ${answer.status} ${answer.text.slice(0, 120)} but a missing one ${twin.status} ${twin.text.slice(0, 120)}`);
        }
      }
    }
    return problems;
  }

  const toMissingRepo = (url: string) => url.replace('/corp/a/', '/corp/nope/');

  it('answers every npm endpoint as the matrix says', async () => {
    const registry = `${server.url}/corp/a/npm`;
    const name = (packageName: string) => packageName.replace('/', '%2f');
    /** The current revision, read by the org admin, so a wrong one never hides the real answer. */
    const revision = async (packageName: string) => {
      const answer = await send('GET', `${registry}/${name(packageName)}?write=true`, 'orgAdmin');
      return (JSON.parse(answer.text) as { _rev?: string })._rev ?? '0-missing';
    };
    const published = { name: '@corp/lib', version: '2.0.0', description: 'matrix fixture', main: 'index.js' };
    const problems: string[] = [];
    for (const endpoint of FORMAT_ROUTES.npm ?? []) {
      for (const method of endpoint.methods) {
        if (method === 'HEAD') continue;
        const build = async (caller: Caller) => {
          let path = endpoint.path;
          let body: unknown;
          let victim = '@corp/lib';
          if (endpoint.id === 'unpublish-versions') victim = '@corp/victim-versions';
          if (endpoint.id === 'unpublish-package') victim = '@corp/victim-package';
          if (endpoint.id === 'unpublish-tarball') victim = '@corp/victim-tarball';
          const rev = path.includes('{rev}') ? await revision(victim) : '';
          path = path
            .replace('{name}', name(victim))
            .replace('{file}', endpoint.id === 'unpublish-tarball' ? 'victim-tarball-1.1.0.tgz' : 'lib-1.0.0.tgz')
            .replace('{rev}', rev)
            .replace('{tag}', 'beta')
            .replace('{user}', 'temp')
            .replace('{token}', 'stk_not-a-token')
            .replace('{id}', '999999')
            .replace('{version}', '1.0.0');
          if (endpoint.id === 'login') body = { name: 'temp', password: tempPassword };
          if (endpoint.id === 'tokens-create') body = { password: callers[caller].password ?? 'none', readonly: true };
          if (endpoint.id === 'audit-bulk' || endpoint.id === 'audit-quick') body = {};
          if (endpoint.id === 'dist-tag-set') body = '1.0.0';
          if (endpoint.id === 'publish') body = publishBody({ registry: `${registry}/`, pkgJson: published, tarball: packageTgz(published) });
          if (endpoint.id === 'unpublish-versions') {
            const doc = JSON.parse((await send('GET', `${registry}/${name(victim)}?write=true`, 'orgAdmin')).text) as { versions?: Record<string, unknown> };
            const versions = { ...doc.versions };
            delete versions['1.1.0'];
            body = { ...doc, versions };
          }
          const query = endpoint.id === 'search' ? '?text=lib' : '';
          return { method, url: `${registry}${path}${query}`, ...(body !== undefined ? { body } : {}) };
        };
        const repoScoped = endpoint.access.startsWith('repo-');
        problems.push(...(await walk(`npm ${method} ${endpoint.path}`, endpoint.access, build, repoScoped ? toMissingRepo : undefined)));
      }
    }
    assert.deepEqual(problems, []);
  });

  it('answers every APT repository endpoint as the matrix says', async () => {
    const registry = `${server.url}/corp/a/debian`;
    const files: Record<string, string> = { release: 'InRelease', index: 'Packages', pool: 'main/m/matrix-deb/matrix-deb_1.0_all.deb' };
    const problems: string[] = [];
    for (const endpoint of FORMAT_ROUTES.debian ?? []) {
      const path = endpoint.path
        .replace('{dist}', 'bookworm')
        .replace('{component}', 'main')
        .replace('{binary}', 'binary-amd64')
        .replace('{file}', files[endpoint.id] ?? '');
      problems.push(...(await walk(`debian GET ${endpoint.path}`, endpoint.access, async () => ({ method: 'GET', url: `${registry}${path}` }), toMissingRepo)));
    }
    assert.deepEqual(problems, []);
  });

  it('answers every RPM repository endpoint as the matrix says', async () => {
    const registry = `${server.url}/corp/a/rpm`;
    const files: Record<string, string> = { repodata: 'repomd.xml', package: 'm/matrix-rpm-1.0-1.noarch.rpm' };
    const problems: string[] = [];
    for (const endpoint of FORMAT_ROUTES.rpm ?? []) {
      const path = endpoint.path
        .replace('{distro}', 'el')
        .replace('{release}', '9')
        .replace('{file}', files[endpoint.id] ?? '');
      problems.push(...(await walk(`rpm GET ${endpoint.path}`, endpoint.access, async () => ({ method: 'GET', url: `${registry}${path}` }), toMissingRepo)));
    }
    assert.deepEqual(problems, []);
  });

  it('answers every PyPI endpoint as the matrix says', async () => {
    const registry = `${server.url}/corp/a/pypi`;
    const problems: string[] = [];
    for (const endpoint of FORMAT_ROUTES.pypi ?? []) {
      for (const method of endpoint.methods) {
        if (method === 'HEAD') continue;
        const path = endpoint.path.replace('{project}', 'matrix-wheel').replace('{file}', wheel.filename);
        const build = async () => {
          if (method !== 'POST') return { method, url: `${registry}${path}` };
          // What twine sends; the same file again is accepted without change.
          const form = new FormData();
          const fields = { ':action': 'file_upload', protocol_version: '1', name: 'matrix-wheel', version: '1.0', filetype: 'bdist_wheel', pyversion: 'py3', metadata_version: '2.1' };
          for (const [key, value] of Object.entries(fields)) form.append(key, value);
          form.append('sha256_digest', createHash('sha256').update(wheel.data).digest('hex'));
          form.append('content', new Blob([wheel.data]), wheel.filename);
          return { method, url: `${registry}${path}`, body: form };
        };
        problems.push(...(await walk(`pypi ${method} ${endpoint.path}`, endpoint.access, build, toMissingRepo)));
      }
    }
    assert.deepEqual(problems, []);
  });

  it('answers every RubyGems endpoint as the matrix says', async () => {
    const registry = `${server.url}/corp/a/rubygems`;
    const files: Record<string, string> = { 'quick-spec': 'matrix-gem-1.0.0.gemspec.rz', gem: 'matrix-gem-1.0.0.gem' };
    const problems: string[] = [];
    for (const endpoint of FORMAT_ROUTES.rubygems ?? []) {
      for (const method of endpoint.methods) {
        if (method === 'HEAD') continue;
        const path = endpoint.path.replace('{file}', files[endpoint.id] ?? '').replace('{name}', 'matrix-gem');
        const build = async () => {
          if (endpoint.id === 'push') return { method, url: `${registry}${path}`, body: gems['matrix-gem'], contentType: 'application/octet-stream' };
          if (endpoint.id === 'yank') return { method, url: `${registry}${path}?gem_name=matrix-victim&version=1.0.0` };
          return { method, url: `${registry}${path}` };
        };
        problems.push(...(await walk(`rubygems ${method} ${endpoint.path}`, endpoint.access, build, toMissingRepo)));
      }
    }
    assert.deepEqual(problems, []);
  });

  it('answers every route at the repository URL as the matrix says', async () => {
    const problems: string[] = [];
    for (const endpoint of REPO_ROUTES) {
      problems.push(...(await walk(`repo GET ${endpoint.path}`, endpoint.access, async () => ({ method: 'GET', url: `${server.url}/corp/a${endpoint.path}` }), toMissingRepo)));
    }
    assert.deepEqual(problems, []);
  });

  it('answers every REST API route as the matrix says', async () => {
    const api = `${server.url}/api/v1`;
    const problems: string[] = [];
    // Deleting repository A comes last: every other route still finds it.
    const routes = Object.entries(API_ROUTES).sort(([a], [b]) => Number(a === 'DELETE /repos/{owner}/{repo}') - Number(b === 'DELETE /repos/{owner}/{repo}'));
    for (const [route, access] of routes) {
      const [method = 'GET', template = '/'] = route.split(' ');
      const build = async (caller: Caller) => {
        let target = 'writer';
        if (template.startsWith('/users/{name}/mfa') || template.startsWith('/users/{name}/unlock')) target = 'temp';
        const path = template
          .replace('{owner}', 'corp')
          .replace('{repo}', 'a')
          .replace('{format}', 'npm')
          .replace('{scope}', '@corp')
          .replace('/orgs/{name}', '/orgs/corp')
          .replace('/packages/npm/{name}', '/packages/npm/lib-unscoped')
          .replace('{name}', target)
          .replace('{user}', 'temp')
          .replace('/tokens/{id}', `/tokens/${spareTokenId}`)
          .replace('/exceptions/{id}', `/exceptions/${exceptionId}`);
        const unique = `${caller.toLowerCase()}-${Date.now().toString(36)}`;
        const bodies: Record<string, unknown> = {
          'POST /users': { name: `u-${unique}`, password: 'a perfectly fine passphrase' },
          'PUT /users/{name}/password': { password: callers.writer.password, currentPassword: callers.writer.password },
          'POST /session': { user: 'temp', password: tempPassword },
          'POST /user/mfa/confirm': { code: '000000' },
          'POST /user/mfa/disable': { code: '000000' },
          'POST /user/mfa/recovery-codes': { code: '000000' },
          'POST /orgs': { name: `o-${unique}` },
          'PUT /orgs/{name}/members/{user}': { role: 'read' },
          'PUT /orgs/{name}/mfa': { required: true },
          'POST /tokens': { name: 'matrix', scopes: ['read'] },
          'POST /repos/{owner}/{repo}/read-tokens': { name: 'matrix host' },
          'POST /repos': { owner: 'corp', name: `r-${unique}` },
          'PATCH /repos/{owner}/{repo}': { description: 'matrix' },
          'PUT /repos/{owner}/{repo}/policy': { rules: [] },
          'POST /repos/{owner}/{repo}/policy/exceptions': { package: 'left-pad', reason: 'matrix' },
          'POST /repos/{owner}/{repo}/quarantine/review': { format: 'npm', name: '@corp/lib', version: '1.0.0', decision: 'approve', reason: 'matrix' },
        };
        if (route === 'PUT /repos/{owner}/{repo}/upload') {
          return { method, url: `${api}${path}?filename=lib-9.9.9.tgz`, body: Buffer.alloc(0), contentType: 'application/octet-stream' };
        }
        const body = bodies[route] ?? (['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined);
        return { method, url: `${api}${path}`, ...(body !== undefined ? { body } : {}) };
      };
      const repoScoped = template.startsWith('/repos/{owner}/{repo}');
      problems.push(...(await walk(`API ${route}`, access, build, repoScoped ? toMissingRepo : undefined)));
    }
    assert.deepEqual(problems, []);
  });
});
