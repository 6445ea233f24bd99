import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { type CliFixture, cliFixtureForServer } from './helpers.js';

let server: TestServer;
let upstream: NpmUpstream;
let cli: CliFixture;
let writeToken = '';
const FILE = '/cached-lib/-/cached-lib-1.0.0.tgz';

async function storedCopy() {
  const repo = await server.domain.repos.get('acme', 'proxy');
  assert.ok(repo);
  return server.domain.packages.findFile({ repo, format: 'npm', name: 'cached-lib' }, 'cached-lib-1.0.0.tgz');
}

before(async () => {
  upstream = await startNpmUpstream();
  upstream.add({ name: 'cached-lib', version: '1.0.0' });
  server = await startTestServer();
  cli = await cliFixtureForServer(server.config);
  const alice = await server.createUser('alice', { scopes: ['read', 'write'] });
  await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: alice.id });
  const created = await fetch(`${server.url}/api/v1/repos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'acme', name: 'proxy', visibility: 'public', kind: 'remote', upstream: { format: 'npm', url: upstream.url, retries: 0 } }),
  });
  assert.equal(created.status, 201, await created.text());
  await server.createRepo('acme', 'hosted', 'public');
  const bob = await server.createUser('bob', { scopes: ['read', 'write', 'delete'] });
  await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'bob', role: 'write' });
  writeToken = bob.token;
});

after(async () => {
  await server?.close();
  await upstream?.close();
});

test('evict drops the cached copy, and the next request fetches it again from the upstream', async () => {
  assert.equal((await fetch(`${server.url}/acme/proxy/npm${FILE}`)).status, 200);
  assert.ok(await storedCopy());
  assert.equal(upstream.hits(FILE), 1);

  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: server.adminToken };
  const evicted = await cli.run(['evict', 'acme/proxy', 'npm', 'cached-lib', '1.0.0'], { env });
  assert.equal(evicted.code, 0, evicted.stderr);
  assert.equal(evicted.stdout, 'evicted npm package cached-lib 1.0.0 from acme/proxy: the next request fetches it again\n');
  assert.equal(await storedCopy(), null);

  assert.equal((await fetch(`${server.url}/acme/proxy/npm${FILE}`)).status, 200);
  assert.equal(upstream.hits(FILE), 2);
  assert.ok(await storedCopy());

  const json = await cli.run(['evict', 'acme/proxy', 'npm', 'cached-lib', '1.0.0', '--json'], { env });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), { format: 'npm', name: 'cached-lib', version: '1.0.0', evicted: true });
});

test('evict names what it refused, and a refusal changes nothing', async () => {
  assert.equal((await fetch(`${server.url}/acme/proxy/npm${FILE}`)).status, 200);
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: server.adminToken };

  const notCached = await cli.run(['evict', 'acme/proxy', 'npm', 'cached-lib', '9.9.9'], { env });
  assert.equal(notCached.code, 1);
  assert.match(notCached.stderr, /cached-lib@9\.9\.9 not found/);

  const hosted = await cli.run(['evict', 'acme/hosted', 'npm', 'cached-lib', '1.0.0'], { env });
  assert.equal(hosted.code, 1);
  assert.match(hosted.stderr, /acme\/hosted is a hosted repository: only cached copies in remote repositories are evicted/);

  // Evicting takes admin rights on the repository, not only the right to publish and delete.
  const member = await cli.run(['evict', 'acme/proxy', 'npm', 'cached-lib', '1.0.0'], { env: { ...env, STOCKADE_TOKEN: writeToken } });
  assert.equal(member.code, 1);
  assert.match(member.stderr, /admin/);
  assert.ok(await storedCopy(), 'a refused eviction leaves the copy');

  const noUrl = await cli.run(['evict', 'acme/proxy', 'npm', 'cached-lib', '1.0.0'], { env: { STOCKADE_TOKEN: server.adminToken } });
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /no server URL/);
  const badUrl = await cli.run(['evict', 'acme/proxy', 'npm', 'cached-lib', '1.0.0', '--url', 'ftp://example.invalid'], { env });
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /must start with http/);
  assert.ok(await storedCopy());
});
