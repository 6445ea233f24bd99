/**
 * yarn classic (1.22) against a private Stockade repository: packages published by npm install
 * with a cold cache and the lockfile reinstalls with --frozen-lockfile.
 *
 * yarn 1 reads the project's .npmrc, including `//host:port/path/:_authToken=…` for a registry
 * with a path. It sends that token for scoped names only, unless `always-auth=true` is set:
 * without it the unscoped dependency's packument request goes out anonymously, gets 401, and
 * yarn reports `Couldn't find package "e2e-util@^1.0.0"`.
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
import { integrityOf } from './tarballs.js';

describe('yarn classic 1.22 client', () => {
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
    await assertClientInstalled('yarn');
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: admin.id });
    registry = await server.createRepo('corp', 'private', 'private');
    const member = await server.createUser('member', { scopes: ['write'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'corp', user: 'member', role: 'write' });
    token = member.token;

    const publisher = await createSandbox({ label: 'yarn-npm-publisher', registry, token });
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

  /** The project's own config: the token in .npmrc, and no self-update check in .yarnrc. */
  async function writeProjectConfig(dir: string, withToken = true): Promise<void> {
    await writeFile(path.join(dir, '.npmrc'), npmrcText(withToken ? { registry, token, extra: ['always-auth=true'] } : { registry }));
    await writeFile(path.join(dir, '.yarnrc'), 'disable-self-update-check true\n');
  }

  async function download(url: string): Promise<Buffer> {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, url);
    return Buffer.from(await response.arrayBuffer());
  }

  async function expectInstalled(dir: string, env: Record<string, string>): Promise<void> {
    const modules = path.join(dir, 'node_modules');
    assert.equal(await readFile(path.join(modules, '@acme/hello/index.js'), 'utf8'), indexSource({ name: '@acme/hello', version: '1.0.0' }));
    assert.equal(await readFile(path.join(modules, 'e2e-util/index.js'), 'utf8'), indexSource({ name: 'e2e-util', version: '1.0.0' }));
    const hello = await runCommand(path.join(modules, '.bin/hello'), [], env, { cwd: dir });
    assert.equal(assertOk(hello).stdout.trim(), 'hello from e2e-util@1.0.0');
  }

  it('installs a scoped and an unscoped package with a cold cache and writes yarn.lock', async () => {
    const client = await sandbox('yarn-install');
    projectDir = await writeProject(await client.dir('project'), { '@acme/hello': '^1.0.0', 'e2e-util': '^1.0.0' });
    await writeProjectConfig(projectDir);
    assertOk(await client.yarn(['install'], { cwd: projectDir }));
    await expectInstalled(projectDir, client.env);

    const lock = await readFile(path.join(projectDir, 'yarn.lock'), 'utf8');
    for (const [name, file] of [
      ['@acme/hello', '@acme/hello/-/hello-1.0.0.tgz'],
      ['e2e-util', 'e2e-util/-/e2e-util-1.0.0.tgz'],
    ] as const) {
      const { integrity, shasum } = integrityOf(await download(`${registry}${file}`));
      // yarn quotes keys that start with `@`.
      const key = name.startsWith('@') ? `"${name}@^1.0.0":` : `${name}@^1.0.0:`;
      const entry = [key, '  version "1.0.0"', `  resolved "${registry}${file}#${shasum}"`, `  integrity ${integrity}`].join('\n');
      assert.ok(lock.includes(entry), `yarn.lock has ${name} from Stockade with the served hashes:\n${lock}`);
    }
  });

  it('yarn install --frozen-lockfile reinstalls the lockfile with another cold cache', async () => {
    const client = await sandbox('yarn-frozen');
    const dir = await client.dir('project');
    for (const file of ['package.json', 'yarn.lock', '.npmrc', '.yarnrc']) await copyFile(path.join(projectDir, file), path.join(dir, file));
    const lockBefore = await readFile(path.join(dir, 'yarn.lock'), 'utf8');
    assertOk(await client.yarn(['install', '--frozen-lockfile'], { cwd: dir }));
    await expectInstalled(dir, client.env);
    assert.equal(await readFile(path.join(dir, 'yarn.lock'), 'utf8'), lockBefore);
  });

  it('yarn install without the token fails with our 401 message', async () => {
    const client = await sandbox('yarn-anon');
    const dir = await writeProject(await client.dir('project'), { '@acme/hello': '^1.0.0' });
    await writeProjectConfig(dir, false);
    const result = assertFailed(await client.yarn(['install'], { cwd: dir }));
    // yarn prints the server's `error` text.
    assert.match(result.stderr, /@acme%2fhello: authentication required/, describeRun(result));
  });
});
