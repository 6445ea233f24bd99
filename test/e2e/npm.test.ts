/**
 * npm 11 against a real Stockade server: publish, view, install (cold cache, with and without a
 * lockfile), dist-tags, deprecate, unpublish, login, whoami, ping, search, tokens and audit.
 * One server for the file; the steps build on each other and run in order.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { systemActor } from '../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import {
  type Sandbox,
  assertFailed,
  assertOk,
  createSandbox,
  describeRun,
  indexSource,
  listFiles,
  nerfDart,
  runCommand,
  writePackage,
  writeProject,
} from './clients.js';
import { http, packageUrl, publishBody } from './registry.js';
import { integrityOf, packageTgz } from './tarballs.js';

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, { version?: string; resolved?: string; integrity?: string; deprecated?: string }>;
}

describe('npm 11 client', () => {
  let server: TestServer;
  let registry: string;
  /** Publishes as the site admin. */
  let admin: Sandbox;
  /** A member of the owning org with the write role (may publish, may not unpublish). */
  let writer: Sandbox;
  let devPassword: string;
  let writerToken: string;
  const sandboxes: Sandbox[] = [];
  let consumerDir: string;

  async function sandbox(label: string, token?: string): Promise<Sandbox> {
    const created = await createSandbox({ label, registry, ...(token ? { token } : {}) });
    sandboxes.push(created);
    return created;
  }

  async function publishFixture(as: Sandbox, spec: Parameters<typeof writePackage>[1]) {
    const dir = await writePackage(path.join(as.root, 'src', `${spec.name.replace('/', '__')}-${spec.version}`), spec);
    return as.npm(['publish'], { cwd: dir });
  }

  async function view(args: string[]) {
    return assertOk(await admin.npm(['view', ...args], { cwd: admin.root }));
  }

  async function viewJson<T>(args: string[]): Promise<T> {
    const result = await view([...args, '--json']);
    return JSON.parse(result.stdout) as T;
  }

  before(async () => {
    server = await startTestServer();
    const adminUser = await server.domain.accounts.getUser('admin');
    assert.ok(adminUser);
    await server.domain.accounts.createOrg(systemActor, { name: 'e2e', adminUserId: adminUser.id });
    registry = await server.createRepo('e2e', 'packages');
    const dev = await server.createUser('dev', { scopes: ['write'] });
    devPassword = dev.password;
    writerToken = dev.token;
    await server.domain.accounts.setMember(systemActor, { owner: 'e2e', user: 'dev', role: 'write' });
    admin = await sandbox('npm-admin', server.adminToken);
    writer = await sandbox('npm-writer', dev.token);
  });

  after(async () => {
    for (const s of sandboxes) await s.remove();
    await server?.close();
  });

  interface Packument {
    name: string;
    'dist-tags': Record<string, string>;
    versions: Record<string, { version: string; deprecated?: string; bin?: Record<string, string>; dist: { tarball: string; integrity: string } }>;
  }

  /** The full packument over plain HTTP, for checks where npm itself is not under test. */
  async function packument(name: string): Promise<Packument> {
    const answer = await http('GET', packageUrl(registry, name), { token: server.adminToken });
    assert.equal(answer.status, 200, `GET ${name}: ${answer.text}`);
    return answer.json as unknown as Packument;
  }

  it('publishes an unscoped package with a bin entry', async () => {
    const result = assertOk(
      await publishFixture(admin, {
        name: 'e2e-util',
        version: '1.0.0',
        bin: { 'e2e-util': 'bin/cli.js' },
        files: { 'bin/cli.js': '#!/usr/bin/env node\nconsole.log("e2e-util cli 1.0.0");\n' },
      }),
    );
    assert.match(result.stdout, /\+ e2e-util@1\.0\.0/);
    const doc = await packument('e2e-util');
    assert.deepEqual(doc['dist-tags'], { latest: '1.0.0' });
    assert.deepEqual(doc.versions['1.0.0']?.bin, { 'e2e-util': 'bin/cli.js' });
    assert.equal(doc.versions['1.0.0']?.dist.tarball, `${registry}e2e-util/-/e2e-util-1.0.0.tgz`);
  });

  it('publishes a scoped package that depends on the unscoped one', async () => {
    const result = assertOk(
      await publishFixture(admin, {
        name: '@acme/hello',
        version: '1.0.0',
        dependencies: { 'e2e-util': '^1.0.0' },
        bin: { hello: 'bin/hello.js' },
        files: { 'bin/hello.js': '#!/usr/bin/env node\nconsole.log("hello from " + require("e2e-util"));\n' },
      }),
    );
    assert.match(result.stdout, /\+ @acme\/hello@1\.0\.0/);
  });

  it('npm view shows the scoped package, its dependencies and its tarball URL', async () => {
    const doc = await viewJson<{
      name: string;
      version: string;
      dependencies: Record<string, string>;
      bin: Record<string, string>;
      dist: { tarball: string; integrity: string };
      'dist-tags': Record<string, string>;
    }>(['@acme/hello']);
    assert.equal(doc.name, '@acme/hello');
    assert.equal(doc.version, '1.0.0');
    assert.deepEqual(doc.dependencies, { 'e2e-util': '^1.0.0' });
    assert.deepEqual(doc.bin, { hello: 'bin/hello.js' });
    assert.deepEqual(doc['dist-tags'], { latest: '1.0.0' });
    // The client made up `…/@acme/hello/-/@acme/hello-1.0.0.tgz`; the server serves its own URL.
    assert.equal(doc.dist.tarball, `${registry}@acme/hello/-/hello-1.0.0.tgz`);
    const tarball = await fetch(doc.dist.tarball);
    assert.equal(tarball.status, 200);
    assert.equal(integrityOf(Buffer.from(await tarball.arrayBuffer())).integrity, doc.dist.integrity);
  });

  it('installs with a cold cache and no lockfile, pulling the dependency from the registry', async () => {
    // Anonymous: the repository is public.
    const consumer = await sandbox('npm-consumer');
    consumerDir = await writeProject(await consumer.dir('project'));
    const result = assertOk(await consumer.npm(['install', '@acme/hello'], { cwd: consumerDir }));
    assert.match(result.stdout, /added 2 packages/);
    const modules = path.join(consumerDir, 'node_modules');
    assert.equal(await readFile(path.join(modules, '@acme/hello/index.js'), 'utf8'), indexSource({ name: '@acme/hello', version: '1.0.0' }));
    assert.equal(await readFile(path.join(modules, 'e2e-util/index.js'), 'utf8'), indexSource({ name: 'e2e-util', version: '1.0.0' }));
    assert.deepEqual(await listFiles(path.join(modules, '@acme/hello')), ['README.md', 'bin/hello.js', 'index.js', 'package.json']);
    // Both bins are linked and run.
    const hello = await runCommand(path.join(modules, '.bin/hello'), [], consumer.env, { cwd: consumerDir });
    assert.equal(assertOk(hello).stdout.trim(), 'hello from e2e-util@1.0.0');
    const cli = await runCommand(path.join(modules, '.bin/e2e-util'), [], consumer.env, { cwd: consumerDir });
    assert.equal(assertOk(cli).stdout.trim(), 'e2e-util cli 1.0.0');

    const pkg = JSON.parse(await readFile(path.join(consumerDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.deepEqual(pkg.dependencies, { '@acme/hello': '^1.0.0' });
    const lock = JSON.parse(await readFile(path.join(consumerDir, 'package-lock.json'), 'utf8')) as Lockfile;
    assert.equal(lock.lockfileVersion, 3);
    const expected = {
      'node_modules/@acme/hello': `${registry}@acme/hello/-/hello-1.0.0.tgz`,
      'node_modules/e2e-util': `${registry}e2e-util/-/e2e-util-1.0.0.tgz`,
    };
    for (const [key, url] of Object.entries(expected)) {
      const entry = lock.packages[key];
      assert.ok(entry, `lockfile lacks ${key}`);
      assert.equal(entry.resolved, url, `${key}: resolved must point at Stockade`);
      const tarball = await fetch(url);
      assert.equal(tarball.status, 200);
      assert.equal(entry.integrity, integrityOf(Buffer.from(await tarball.arrayBuffer())).integrity, `${key}: integrity`);
    }
  });

  it('npm ci reinstalls exactly the lockfile with another cold cache', async () => {
    const consumer = await sandbox('npm-ci');
    const dir = await consumer.dir('project');
    await copyFile(path.join(consumerDir, 'package.json'), path.join(dir, 'package.json'));
    await copyFile(path.join(consumerDir, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    const before = await readFile(path.join(dir, 'package-lock.json'), 'utf8');
    const result = assertOk(await consumer.npm(['ci'], { cwd: dir }));
    assert.match(result.stdout, /added 2 packages/);
    assert.equal(await readFile(path.join(dir, 'node_modules/@acme/hello/index.js'), 'utf8'), indexSource({ name: '@acme/hello', version: '1.0.0' }));
    assert.equal(await readFile(path.join(dir, 'node_modules/e2e-util/index.js'), 'utf8'), indexSource({ name: 'e2e-util', version: '1.0.0' }));
    assert.equal(await readFile(path.join(dir, 'package-lock.json'), 'utf8'), before, 'npm ci must not rewrite the lockfile');
  });

  it('publishes a second version and moves latest', async () => {
    assertOk(await publishFixture(admin, { name: 'e2e-util', version: '1.1.0', bin: { 'e2e-util': 'bin/cli.js' }, files: { 'bin/cli.js': 'console.log(1)\n' } }));
    const doc = await packument('e2e-util');
    assert.deepEqual(Object.keys(doc.versions), ['1.0.0', '1.1.0']);
    assert.deepEqual(doc['dist-tags'], { latest: '1.1.0' });
  });

  it('npm publish --tag beta leaves latest alone', async () => {
    const result = assertOk(
      await admin.npm(['publish', '--tag', 'beta'], { cwd: await writePackage(path.join(admin.root, 'src', 'util-beta'), { name: 'e2e-util', version: '2.0.0-beta.1' }) }),
    );
    assert.match(result.stdout, /\+ e2e-util@2\.0\.0-beta\.1/);
    assert.deepEqual((await packument('e2e-util'))['dist-tags'], { latest: '1.1.0', beta: '2.0.0-beta.1' });
  });

  it('npm dist-tag add, ls and rm', async () => {
    const add = assertOk(await admin.npm(['dist-tag', 'add', 'e2e-util@1.0.0', 'stable'], { cwd: admin.root }));
    assert.match(add.stdout, /\+stable: e2e-util@1\.0\.0/);
    const ls = assertOk(await admin.npm(['dist-tag', 'ls', 'e2e-util'], { cwd: admin.root }));
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['beta: 2.0.0-beta.1', 'latest: 1.1.0', 'stable: 1.0.0']);
    const byTag = await http('GET', `${registry}e2e-util/stable`);
    assert.equal(byTag.json?.version, '1.0.0');
    const rm = assertOk(await admin.npm(['dist-tag', 'rm', 'e2e-util', 'stable'], { cwd: admin.root }));
    assert.match(rm.stdout, /-stable: e2e-util@1\.0\.0/);
    assert.deepEqual((await packument('e2e-util'))['dist-tags'], { latest: '1.1.0', beta: '2.0.0-beta.1' });
  });

  it('npm deprecate sets a message npm view shows, and "" clears it', async () => {
    const message = 'use 1.1.0 instead';
    assertOk(await admin.npm(['deprecate', 'e2e-util@1.0.0', message], { cwd: admin.root }));
    assert.equal((await view(['e2e-util@1.0.0', 'deprecated'])).stdout.trim(), message);
    const deprecated = await packument('e2e-util');
    assert.equal(deprecated.versions['1.0.0']?.deprecated, message);
    assert.equal(deprecated.versions['1.1.0']?.deprecated, undefined, '1.1.0 must stay undeprecated');

    assertOk(await admin.npm(['deprecate', 'e2e-util@1.0.0', ''], { cwd: admin.root }));
    assert.equal((await view(['e2e-util@1.0.0', 'deprecated'])).stdout.trim(), '');
    assert.equal((await packument('e2e-util')).versions['1.0.0']?.deprecated, undefined);
  });

  it('a writer may publish but not unpublish (default policy: admins)', async () => {
    const pkgJson = { name: 'e2e-gone', version: '1.0.0', description: 'to be removed', main: 'index.js' };
    const put = await http('PUT', packageUrl(registry, 'e2e-gone'), { token: writerToken, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(put.status, 201, put.text);
    assertOk(await publishFixture(writer, { name: 'e2e-gone', version: '1.1.0' }));
    const denied = assertFailed(await writer.npm(['unpublish', 'e2e-gone@1.1.0'], { cwd: writer.root }));
    assert.match(denied.stderr, /E403/, describeRun(denied));
    assert.match(denied.stderr, /you may not unpublish from e2e\/packages/, describeRun(denied));
    assert.deepEqual(Object.keys((await packument('e2e-gone')).versions), ['1.0.0', '1.1.0']);
  });

  it('npm unpublish pkg@version removes one version as admin', async () => {
    const result = assertOk(await admin.npm(['unpublish', 'e2e-gone@1.1.0'], { cwd: admin.root }));
    assert.match(result.stdout, /- e2e-gone@1\.1\.0/);
    const doc = await packument('e2e-gone');
    assert.deepEqual(Object.keys(doc.versions), ['1.0.0']);
    assert.deepEqual(doc['dist-tags'], { latest: '1.0.0' });
    assert.equal((await http('GET', `${registry}e2e-gone/-/e2e-gone-1.1.0.tgz`)).status, 404);
    assert.equal((await http('GET', `${registry}e2e-gone/-/e2e-gone-1.0.0.tgz`)).status, 200);
  });

  it('republishing an unpublished version fails with a clear message', async () => {
    const again = assertFailed(await publishFixture(admin, { name: 'e2e-gone', version: '1.1.0' }));
    assert.match(again.stderr, /409/, describeRun(again));
    assert.match(again.stderr, /cannot publish e2e-gone@1\.1\.0: that version was unpublished and cannot be reused/, describeRun(again));
  });

  it('npm unpublish pkg --force removes the package; its versions stay retired', async () => {
    const result = assertOk(await admin.npm(['unpublish', 'e2e-gone', '--force'], { cwd: admin.root }));
    assert.match(result.stdout, /- e2e-gone/);
    const gone = assertFailed(await admin.npm(['view', 'e2e-gone'], { cwd: admin.root }));
    assert.match(gone.stderr, /E404/);
    assert.match(gone.stderr, /package e2e-gone not found/, describeRun(gone));
    assert.equal((await http('GET', `${registry}e2e-gone/-/e2e-gone-1.0.0.tgz`)).status, 404);
    const pkgJson = { name: 'e2e-gone', version: '1.0.0', description: 'to be removed', main: 'index.js' };
    const again = await http('PUT', packageUrl(registry, 'e2e-gone'), { token: server.adminToken, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json?.code, 'VERSION_REUSED');
  });

  it('npm login (npm 11 default: web login, falls back to the couch flow), whoami, logout', async () => {
    const fresh = await sandbox('npm-login');
    const login = await fresh.npm(['login', '--loglevel=verbose'], {
      cwd: fresh.root,
      answers: [
        { prompt: /Username:/, reply: 'admin' },
        { prompt: /Password:/, reply: server.adminPassword },
      ],
    });
    assertOk(login);
    // npm 11 tries `POST /-/v1/login` first; our 404 makes it fall back to `PUT /-/user/org.couchdb.user:…`.
    assert.match(login.stderr, /POST 404 .*\/-\/v1\/login/, describeRun(login));
    assert.match(login.stderr, /web login not supported, trying couch/, describeRun(login));
    assert.ok(login.stdout.includes(`Logged in on ${registry}.`), describeRun(login));
    const npmrc = await readFile(fresh.npmrc, 'utf8');
    assert.match(npmrc, new RegExp(`^${nerfDart(registry).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:_authToken=stk_\\S+$`, 'm'));
    const whoami = assertOk(await fresh.npm(['whoami'], { cwd: fresh.root }));
    assert.equal(whoami.stdout.trim(), 'admin');

    // npm logout revokes the token on the server (DELETE /-/user/token/…) and forgets it.
    const token = /:_authToken=(\S+)/.exec(npmrc)?.[1] as string;
    assertOk(await fresh.npm(['logout'], { cwd: fresh.root }));
    assert.doesNotMatch(await readFile(fresh.npmrc, 'utf8'), /_authToken/);
    assert.equal((await http('GET', `${registry}-/whoami`, { token })).status, 401, 'the logged-out token is revoked');
  });

  it('npm login --auth-type=legacy goes straight to the couch flow; a wrong password is E401', async () => {
    const fresh = await sandbox('npm-login-legacy');
    const login = assertOk(
      await fresh.npm(['login', '--auth-type=legacy', '--loglevel=verbose'], {
        cwd: fresh.root,
        answers: [
          { prompt: /Username:/, reply: 'dev' },
          { prompt: /Password:/, reply: devPassword },
        ],
      }),
    );
    assert.doesNotMatch(login.stderr, /\/-\/v1\/login/);
    const token = /:_authToken=(\S+)/.exec(await readFile(fresh.npmrc, 'utf8'))?.[1];
    assert.ok(token, 'npm login wrote a token');
    assert.deepEqual((await http('GET', `${registry}-/whoami`, { token })).json, { username: 'dev' });

    const wrong = await sandbox('npm-login-wrong');
    const denied = assertFailed(
      await wrong.npm(['login', '--auth-type=legacy'], {
        cwd: wrong.root,
        answers: [
          { prompt: /Username:/, reply: 'admin' },
          { prompt: /Password:/, reply: 'not-the-password' },
        ],
      }),
    );
    assert.match(denied.stderr, /E401/, describeRun(denied));
    assert.doesNotMatch(await readFile(wrong.npmrc, 'utf8'), /_authToken/);
  });

  it('npm whoami with an unknown token fails with E401 from the server', async () => {
    const forged = await sandbox('npm-bad-token', `stk_${'x'.repeat(40)}`);
    const denied = assertFailed(await forged.npm(['whoami'], { cwd: forged.root }));
    assert.match(denied.stderr, /E401/, describeRun(denied));
    // Without any token npm refuses locally (ENEEDAUTH); the server's own answer is 401 too.
    const raw = await http('GET', `${registry}-/whoami`);
    assert.equal(raw.status, 401);
    assert.equal(raw.json?.code, 'AUTH_REQUIRED');
  });

  it('npm ping', async () => {
    const result = assertOk(await admin.npm(['ping'], { cwd: admin.root }));
    assert.ok(result.stderr.includes(`PING ${registry}`), describeRun(result));
    assert.match(result.stderr, /PONG \d+ms/);
  });

  it('npm search finds published packages', async () => {
    const byName = JSON.parse(assertOk(await admin.npm(['search', 'e2e', '--json'], { cwd: admin.root })).stdout) as { name: string; version: string }[];
    const names = byName.map((p) => p.name).sort();
    assert.ok(names.includes('e2e-util'), `search e2e: ${names.join(', ')}`);
    assert.equal(byName.find((p) => p.name === 'e2e-util')?.version, '1.1.0');
    assert.ok(!names.includes('e2e-gone'), 'an unpublished package must not be found');
    const scoped = assertOk(await admin.npm(['search', 'hello'], { cwd: admin.root }));
    assert.match(scoped.stdout, /@acme\/hello/);
    const none = await http('GET', `${registry}-/v1/search?text=no-such-package-anywhere&size=20`);
    assert.deepEqual(none.json?.objects, []);
  });

  interface ListedToken {
    key: string;
    /** Shortened for display: `stk_abcd…`. */
    token: string;
    name?: string;
  }
  let listedByCreate: ListedToken | undefined;

  it('npm token create, list and revoke', async () => {
    const create = assertOk(await admin.npm(['token', 'create', `--password=${server.adminPassword}`, '--name=ci-token', '--json'], { cwd: admin.root }));
    const secret = (JSON.parse(create.stdout) as { token: string }).token;
    assert.match(secret, /^stk_/);
    const asNew = await http('GET', `${registry}-/whoami`, { token: secret });
    assert.equal(asNew.status, 200);
    assert.deepEqual(asNew.json, { username: 'admin' });

    const list = JSON.parse(assertOk(await admin.npm(['token', 'list', '--json'], { cwd: admin.root })).stdout) as ListedToken[];
    const listed = list.find((t) => secret.startsWith(t.token.replace(/…$/, '')));
    assert.ok(listed, `the new token is listed: ${JSON.stringify(list)}`);
    listedByCreate = listed;

    const revoke = assertOk(await admin.npm(['token', 'revoke', listed.key], { cwd: admin.root }));
    assert.match(revoke.stdout, /Removed 1 token/);
    const afterRevoke = await http('GET', `${registry}-/whoami`, { token: secret });
    assert.equal(afterRevoke.status, 401);
    const relisted = await http('GET', `${registry}-/npm/v1/tokens`, { token: server.adminToken });
    assert.ok(!(relisted.json?.objects as ListedToken[]).some((t) => t.key === listed.key));
  });

  it('npm token list shows the name given to npm token create --name', async () => {
    // npm 11 sends `name` when creating and prints `name <name>` for each token it lists.
    assert.equal(listedByCreate?.name, 'ci-token', `listed: ${JSON.stringify(listedByCreate)}`);
    const list = assertOk(await admin.npm(['token', 'list'], { cwd: admin.root }));
    assert.match(list.stdout, /Token stk_/);
    assert.doesNotMatch(list.stdout, /name undefined/, describeRun(list));
  });

  it('npm audit on an installed project completes', async () => {
    // npm sends the bulk advisory request gzip-compressed (`content-encoding: gzip`).
    const bulk = await http('POST', `${registry}-/npm/v1/security/advisories/bulk`, {
      rawBody: gzipSync(JSON.stringify({ 'e2e-util': ['1.0.0'] })),
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
    });
    assert.equal(bulk.status, 200, bulk.text);
    assert.deepEqual(bulk.json, {});
    const consumer = await sandbox('npm-audit');
    // `--audit` overrides the sandbox npmrc's audit=false; npm POSTs the bulk advisory request gzip'd.
    const result = await consumer.npm(['audit', '--audit'], { cwd: consumerDir });
    assert.equal(result.code, 0, describeRun(result));
    assert.match(result.stdout, /found 0 vulnerabilities/);
  });
});
