import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { buildWheel, cleanupBuilder } from '../formats/pypi/build-dist.js';
import { type CliFixture, cliFixtureForServer } from './helpers.js';

let server: TestServer;
let cli: CliFixture;
let token = '';
let readToken = '';

async function yankedOf(version: string): Promise<unknown> {
  const response = await fetch(`${server.url}/acme/py/pypi/simple/demo/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
  const doc = (await response.json()) as { files: { filename: string; yanked: unknown }[] };
  return doc.files.find((f) => f.filename === `demo-${version}-py3-none-any.whl`)?.yanked;
}

before(async () => {
  server = await startTestServer();
  cli = await cliFixtureForServer(server.config);
  const alice = await server.createUser('alice', { scopes: ['read', 'write'] });
  await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: alice.id });
  await server.createRepo('acme', 'py', 'public');
  token = alice.token;
  const bob = await server.createUser('bob', { scopes: ['read'] });
  await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'bob', role: 'write' });
  readToken = bob.token;
  for (const version of ['1.0', '1.1']) {
    const wheel = buildWheel({ version });
    const answer = await fetch(`${server.url}/api/v1/repos/acme/py/upload?filename=${wheel.filename}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: wheel.data,
    });
    assert.equal(answer.status, 201, await answer.text());
  }
});

after(async () => {
  await server?.close();
  cleanupBuilder();
});

test('yank marks a version with its reason, and --undo takes it back', async () => {
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const yanked = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '1.1', '--reason', 'broken wheel'], { env });
  assert.equal(yanked.code, 0, yanked.stderr);
  assert.equal(yanked.stdout, 'yanked pypi package demo 1.1 in acme/py: broken wheel\n');
  assert.equal(await yankedOf('1.1'), 'broken wheel');
  assert.equal(await yankedOf('1.0'), false);

  const undone = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '1.1.0', '--undo', '--json'], { env });
  assert.equal(undone.code, 0, undone.stderr);
  assert.deepEqual(JSON.parse(undone.stdout), { format: 'pypi', name: 'demo', version: '1.1', yanked: null });
  assert.equal(await yankedOf('1.1'), false);
});

test('yank without a reason, and the errors a user can meet', async () => {
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const plain = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '1.0'], { env });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, 'yanked pypi package demo 1.0 in acme/py\n');
  assert.equal(await yankedOf('1.0'), true);

  const missing = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '9.9'], { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /version demo@9\.9 not found/);
  const readOnly = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '1.0', '--undo'], { env: { ...env, STOCKADE_TOKEN: readToken } });
  assert.equal(readOnly.code, 1);
  assert.match(readOnly.stderr, /may not publish to acme\/py|write scope/);
  assert.equal(await yankedOf('1.0'), true, 'a refused undo changes nothing');
  const both = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '1.0', '--undo', '--reason', 'x'], { env });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--reason and --undo do not go together/);
  const noToken = await cli.run(['yank', 'acme/py', 'pypi', 'demo', '1.0'], { env: { STOCKADE_URL: server.url } });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /no token/);
});
