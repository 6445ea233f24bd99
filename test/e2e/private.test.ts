/**
 * A private repository through npm 11: anonymous callers are asked to authenticate, tokens that
 * do not cover the repository cannot tell it from a missing one, read tokens install but cannot
 * publish, and the right token installs.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { type Sandbox, assertFailed, assertOk, createSandbox, describeRun, indexSource, writePackage, writeProject } from './clients.js';
import { http, packageUrl, publishBody } from './registry.js';
import { packageTgz } from './tarballs.js';

interface Lockfile {
  packages: Record<string, { resolved?: string; integrity?: string }>;
}

describe('private repository with npm 11', () => {
  let server: TestServer;
  let registry: string;
  /** A repository that does not exist, in the same org. */
  let missingRegistry: string;
  const tokens: Record<'outsider' | 'insiderElsewhere' | 'readOnly' | 'viewer' | 'member', string> = {
    outsider: '',
    insiderElsewhere: '',
    readOnly: '',
    viewer: '',
    member: '',
  };
  const sandboxes: Sandbox[] = [];

  async function sandbox(label: string, token?: string, registryUrl = registry): Promise<Sandbox> {
    const created = await createSandbox({ label, registry: registryUrl, ...(token ? { token } : {}) });
    sandboxes.push(created);
    return created;
  }

  before(async () => {
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: admin.id });
    registry = await server.createRepo('corp', 'private', 'private');
    missingRegistry = `${server.url}/corp/nope/npm/`;
    await server.createUser('other');
    await server.createRepo('other', 'repo', 'private');

    const addMember = (user: string, role: 'read' | 'write') => server.domain.accounts.setMember(systemActor, { owner: 'corp', user, role });
    // A reader of other/repo only, with a token for that repository.
    const outsider = await server.createUser('outsider', { repo: 'other/repo', scopes: ['read'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'other', user: 'outsider', role: 'read' });
    tokens.outsider = outsider.token;
    // A corp member whose token is restricted to another repository.
    const elsewhere = await server.createUser('elsewhere', { repo: 'other/repo', scopes: ['read'] });
    await addMember('elsewhere', 'write');
    tokens.insiderElsewhere = elsewhere.token;
    // A corp writer holding a read-only token.
    const readOnly = await server.createUser('ci-reader', { scopes: ['read'] });
    await addMember('ci-reader', 'write');
    tokens.readOnly = readOnly.token;
    // A corp reader holding a write token: the role, not the token, says no.
    const viewer = await server.createUser('viewer', { scopes: ['write'] });
    await addMember('viewer', 'read');
    tokens.viewer = viewer.token;
    const member = await server.createUser('member', { scopes: ['write'] });
    await addMember('member', 'write');
    tokens.member = member.token;

    // @corp/secret-lib through npm, plain-secret (its dependency) as a raw PUT.
    const pkgJson = { name: 'plain-secret', version: '1.0.0', description: 'private dependency', main: 'index.js' };
    const put = await http('PUT', packageUrl(registry, 'plain-secret'), { token: tokens.member, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(put.status, 201, put.text);
    const publisher = await sandbox('private-publisher', tokens.member);
    const dir = await writePackage(path.join(publisher.root, 'secret-lib'), { name: '@corp/secret-lib', version: '1.0.0', dependencies: { 'plain-secret': '^1.0.0' } });
    assertOk(await publisher.npm(['publish'], { cwd: dir }));
  });

  after(async () => {
    for (const s of sandboxes) await s.remove();
    await server?.close();
  });

  it('anonymous npm view and npm install fail with E401', async () => {
    const anonymous = await sandbox('private-anon');
    const viewed = assertFailed(await anonymous.npm(['view', '@corp/secret-lib'], { cwd: anonymous.root }));
    assert.match(viewed.stderr, /npm error code E401/, describeRun(viewed));
    const dir = await writeProject(await anonymous.dir('project'));
    const installed = assertFailed(await anonymous.npm(['install', '@corp/secret-lib'], { cwd: dir }));
    assert.match(installed.stderr, /npm error code E401/, describeRun(installed));
    // Anonymous callers get the same 401 for a repository that does not exist.
    for (const url of [packageUrl(registry, '@corp/secret-lib'), packageUrl(missingRegistry, '@corp/secret-lib')]) {
      const raw = await http('GET', url);
      assert.equal(raw.status, 401, url);
      assert.equal(raw.json?.code, 'AUTH_REQUIRED');
      assert.match(raw.headers.get('www-authenticate') ?? '', /^Bearer /);
    }
  });

  /** npm's stderr with the parts that legitimately differ (repo path, log file) blanked out. */
  const normalize = (stderr: string, repoPath: string) =>
    stderr
      .replaceAll(repoPath, '<repo>')
      .split('\n')
      .filter((line) => !line.includes('complete log of this run'))
      .join('\n');

  it("another repository's reader gets the same 404 as for a nonexistent repository", async () => {
    const hidden = await sandbox('private-outsider', tokens.outsider);
    const missing = await sandbox('private-outsider-missing', tokens.outsider, missingRegistry);
    const onHidden = assertFailed(await hidden.npm(['view', '@corp/secret-lib'], { cwd: hidden.root }));
    const onMissing = assertFailed(await missing.npm(['view', '@corp/secret-lib'], { cwd: missing.root }));
    assert.match(onHidden.stderr, /npm error code E404/, describeRun(onHidden));
    assert.equal(normalize(onHidden.stderr, 'corp/private'), normalize(onMissing.stderr, 'corp/nope'));

    for (const token of [tokens.outsider, tokens.insiderElsewhere]) {
      for (const suffix of ['@corp%2fsecret-lib', 'plain-secret/-/plain-secret-1.0.0.tgz', 'no-such-package', '-/v1/search?text=secret']) {
        const onRepo = await http('GET', `${registry}${suffix}`, { token });
        const onNothing = await http('GET', `${missingRegistry}${suffix}`, { token });
        assert.equal(onRepo.status, 404, `${suffix}: ${onRepo.text}`);
        assert.equal(onRepo.text.replaceAll('corp/private', '<repo>'), onNothing.text.replaceAll('corp/nope', '<repo>'), suffix);
      }
    }
  });

  it('a read-only token installs, but npm publish with it fails with 403 and a message', async () => {
    const reader = await sandbox('private-reader', tokens.readOnly);
    const dir = await writeProject(await reader.dir('project'));
    assertOk(await reader.npm(['install', '@corp/secret-lib'], { cwd: dir }));
    assert.equal(await readFile(path.join(dir, 'node_modules/@corp/secret-lib/index.js'), 'utf8'), indexSource({ name: '@corp/secret-lib', version: '1.0.0' }));

    const pkgDir = await writePackage(path.join(reader.root, 'new-pkg'), { name: 'reader-pkg', version: '1.0.0' });
    const denied = assertFailed(await reader.npm(['publish'], { cwd: pkgDir }));
    assert.match(denied.stderr, /npm error code E403/, describeRun(denied));
    assert.match(denied.stderr, /forbidden: you may not publish to corp\/private/, describeRun(denied));

    // A reader (by role) with a write token is refused the same way.
    const viewer = await sandbox('private-viewer', tokens.viewer);
    const viewerDenied = assertFailed(await viewer.npm(['publish'], { cwd: pkgDir }));
    assert.match(viewerDenied.stderr, /forbidden: you may not publish to corp\/private/, describeRun(viewerDenied));
    assert.equal((await http('GET', packageUrl(registry, 'reader-pkg'), { token: tokens.member })).status, 404);
  });

  it('the right token installs the package and its private dependency', async () => {
    const member = await sandbox('private-member', tokens.member);
    const dir = await writeProject(await member.dir('project'));
    const result = assertOk(await member.npm(['install', '@corp/secret-lib'], { cwd: dir }));
    assert.match(result.stdout, /added 2 packages/);
    assert.equal(await readFile(path.join(dir, 'node_modules/plain-secret/index.js'), 'utf8'), indexSource({ name: 'plain-secret', version: '1.0.0' }));
    const lock = JSON.parse(await readFile(path.join(dir, 'package-lock.json'), 'utf8')) as Lockfile;
    assert.equal(lock.packages['node_modules/@corp/secret-lib']?.resolved, `${registry}@corp/secret-lib/-/secret-lib-1.0.0.tgz`);
    assert.equal(lock.packages['node_modules/plain-secret']?.resolved, `${registry}plain-secret/-/plain-secret-1.0.0.tgz`);
  });
});
