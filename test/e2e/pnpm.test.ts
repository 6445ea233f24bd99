/**
 * pnpm 10 against a private Stockade repository: packages published by npm install with a cold
 * cache (the token comes from the project's .npmrc only), the lockfile reinstalls with
 * --frozen-lockfile, and pnpm publish works.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import {
  type Sandbox,
  assertClientInstalled,
  assertFailed,
  assertOk,
  createSandbox,
  describeRun,
  indexSource,
  npmrcText,
  runCommand,
  writePackage,
  writeProject,
} from './clients.js';
import { http, packageUrl } from './registry.js';
import { integrityOf } from './tarballs.js';

describe('pnpm 10 client', () => {
  let server: TestServer;
  let registry: string;
  let token: string;
  let projectDir: string;
  const sandboxes: Sandbox[] = [];

  /** A sandbox whose user npmrc names the registry but holds no token. */
  async function sandbox(label: string): Promise<Sandbox> {
    const created = await createSandbox({ label, registry });
    sandboxes.push(created);
    return created;
  }

  before(async () => {
    await assertClientInstalled('pnpm');
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: admin.id });
    registry = await server.createRepo('corp', 'private', 'private');
    const member = await server.createUser('member', { scopes: ['write'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'corp', user: 'member', role: 'write' });
    token = member.token;

    const publisher = await createSandbox({ label: 'pnpm-npm-publisher', registry, token });
    sandboxes.push(publisher);
    const util = await writePackage(path.join(publisher.root, 'util'), { name: 'e2e-util', version: '1.0.0' });
    assertOk(await publisher.npm(['publish'], { cwd: util }));
    const hello = await writePackage(path.join(publisher.root, 'hello'), {
      name: '@acme/hello',
      version: '1.0.0',
      dependencies: { 'e2e-util': '^1.0.0' },
      bin: { hello: 'bin/hello.js' },
      files: { 'bin/hello.js': '#!/usr/bin/env node\nconsole.log("hello from " + require("e2e-util"));\n' },
    });
    assertOk(await publisher.npm(['publish'], { cwd: hello }));
  });

  after(async () => {
    for (const s of sandboxes) await s.remove();
    await server?.close();
  });

  async function download(url: string): Promise<Buffer> {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, url);
    return Buffer.from(await response.arrayBuffer());
  }

  async function writeProjectNpmrc(dir: string): Promise<void> {
    await writeFile(path.join(dir, '.npmrc'), npmrcText({ registry, token }));
  }

  async function expectInstalled(dir: string, env: Record<string, string>): Promise<void> {
    const modules = path.join(dir, 'node_modules');
    assert.equal(await readFile(path.join(modules, '@acme/hello/index.js'), 'utf8'), indexSource({ name: '@acme/hello', version: '1.0.0' }));
    assert.equal(await readFile(path.join(modules, 'e2e-util/index.js'), 'utf8'), indexSource({ name: 'e2e-util', version: '1.0.0' }));
    const hello = await runCommand(path.join(modules, '.bin/hello'), [], env, { cwd: dir });
    assert.equal(assertOk(hello).stdout.trim(), 'hello from e2e-util@1.0.0');
  }

  it('installs a scoped and an unscoped package with a cold cache and writes a lockfile', async () => {
    const client = await sandbox('pnpm-install');
    projectDir = await writeProject(await client.dir('project'), { '@acme/hello': '^1.0.0', 'e2e-util': '^1.0.0' });
    await writeProjectNpmrc(projectDir);
    assertOk(await client.pnpm(['install'], { cwd: projectDir }));
    await expectInstalled(projectDir, client.env);

    const lock = await readFile(path.join(projectDir, 'pnpm-lock.yaml'), 'utf8');
    for (const [name, file] of [
      ['@acme/hello', '@acme/hello/-/hello-1.0.0.tgz'],
      ['e2e-util', 'e2e-util/-/e2e-util-1.0.0.tgz'],
    ] as const) {
      const data = await download(`${registry}${file}`);
      // YAML quotes keys that start with `@`.
      const key = name.startsWith('@') ? `'${name}@1.0.0'` : `${name}@1.0.0`;
      const entry = `${key}:\n    resolution: {integrity: ${integrityOf(data).integrity}}`;
      assert.ok(lock.includes(entry), `pnpm-lock.yaml has ${name} with the served integrity:\n${lock}`);
    }
  });

  it('pnpm install --frozen-lockfile reinstalls the lockfile with another cold cache', async () => {
    const client = await sandbox('pnpm-frozen');
    const dir = await client.dir('project');
    for (const file of ['package.json', 'pnpm-lock.yaml', '.npmrc']) await copyFile(path.join(projectDir, file), path.join(dir, file));
    const lockBefore = await readFile(path.join(dir, 'pnpm-lock.yaml'), 'utf8');
    const result = assertOk(await client.pnpm(['install', '--frozen-lockfile'], { cwd: dir }));
    assert.match(result.stdout, /\+ @acme\/hello 1\.0\.0/);
    await expectInstalled(dir, client.env);
    assert.equal(await readFile(path.join(dir, 'pnpm-lock.yaml'), 'utf8'), lockBefore);
  });

  it('pnpm install without the token fails with 401', async () => {
    const client = await sandbox('pnpm-anon');
    const dir = await writeProject(await client.dir('project'), { '@acme/hello': '^1.0.0' });
    const result = assertFailed(await client.pnpm(['install'], { cwd: dir }));
    assert.match(result.stdout + result.stderr, /ERR_PNPM_FETCH_401/, describeRun(result));
  });

  it('pnpm publish', async () => {
    const client = await sandbox('pnpm-publish');
    const dir = await writePackage(await client.dir('pkg'), { name: '@acme/from-pnpm', version: '2.0.0', dependencies: { 'e2e-util': '^1.0.0' } });
    await writeProjectNpmrc(dir);
    const result = assertOk(await client.pnpm(['publish', '--no-git-checks'], { cwd: dir }));
    assert.match(result.stdout, /\+ @acme\/from-pnpm@2\.0\.0/);
    const doc = await http('GET', packageUrl(registry, '@acme/from-pnpm'), { token });
    assert.equal(doc.status, 200, doc.text);
    const version = (doc.json?.versions as Record<string, { dependencies: Record<string, string>; dist: { tarball: string; integrity: string } }>)['2.0.0'];
    assert.ok(version);
    assert.deepEqual(version.dependencies, { 'e2e-util': '^1.0.0' });
    assert.equal(version.dist.tarball, `${registry}@acme/from-pnpm/-/from-pnpm-2.0.0.tgz`);
    const data = await download(version.dist.tarball);
    assert.equal(integrityOf(data).integrity, version.dist.integrity);
  });
});
