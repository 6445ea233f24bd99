import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine, seed } from './helpers.js';

let cli: CliFixture;
before(async () => {
  cli = await createCliFixture();
  await seed(cli, { users: ['alice', 'root'], orgs: [['acme', 'alice']], repos: ['acme/web'] });
});
after(async () => {
  await cli?.drop();
});

test('token create prints the secret once; list shows it; revoke disables it', async () => {
  const created = await cli.run(['token', 'create', '--user', 'alice', '--name', 'laptop', '--repo', 'acme/web', '--expires', '30d']);
  assert.equal(created.code, 0, created.stderr);
  const secret = created.stdout.trim();
  assert.match(secret, /^stk_[0-9A-Za-z]{32}[0-9a-z]{7}$/);
  assert.match(created.stderr, /token \d+ "laptop" for alice \(scopes read,write; repository acme\/web; expires \d{4}-/);

  const grant = await cli.withDomain((domain) => domain.tokens.verify(secret));
  assert.ok(grant, 'the new token verifies');
  assert.equal(grant.userName, 'alice');
  const expiresIn = Date.parse(grant.expiresAt ?? '') - Date.now();
  assert.ok(expiresIn > 29 * 86_400_000 && expiresIn <= 30 * 86_400_000, `expires in ${expiresIn} ms`);

  const listed = await cli.run(['token', 'list', '--user', 'alice', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const tokens = JSON.parse(listed.stdout) as { id: number; name: string; repo: string | null; scopes: string[] }[];
  assert.equal(tokens.length, 1);
  const [token] = tokens;
  assert.ok(token);
  assert.equal(token.name, 'laptop');
  assert.equal(token.repo, 'acme/web');
  assert.deepEqual(token.scopes, ['read', 'write']);
  assert.ok(!listed.stdout.includes(secret), 'listings never show the secret');

  const table = await cli.run(['token', 'list', '--user', 'alice']);
  assert.match(table.stdout, new RegExp(`^${token.id}\\s+personal\\s+laptop\\s+stk_\\S+…\\s+read,write\\s+acme/web\\s`, 'm'));

  const revoked = await cli.run(['token', 'revoke', String(token.id)]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, `revoked token ${token.id}\n`);
  assert.equal(await cli.withDomain((domain) => domain.tokens.verify(secret)), null, 'a revoked token no longer verifies');
  const after = await cli.run(['token', 'list', '--user', 'alice', '--json']);
  assert.deepEqual(JSON.parse(after.stdout), []);
});

test('token create --json includes the secret and the token', async () => {
  const result = await cli.run(['token', 'create', '--user', 'root', '--scopes', 'admin', '--expires', '2099-01-01', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const token = JSON.parse(result.stdout) as { secret: string; user: string; scopes: string[]; expiresAt: string; repo: null; name: string };
  assert.match(token.secret, /^stk_/);
  assert.equal(token.user, 'root');
  assert.equal(token.name, 'cli');
  assert.deepEqual(token.scopes, ['admin']);
  assert.equal(token.expiresAt, '2099-01-01T00:00:00.000Z');
  assert.equal(token.repo, null);
  assert.equal(result.stderr, '');
});

const failures: [string, string[], number, RegExp][] = [
  ['missing --user', ['create'], 2, /--user is required/],
  ['unknown scope', ['create', '--user', 'alice', '--scopes', 'read,root'], 2, /unknown scope "root"/],
  ['bad expiry', ['create', '--user', 'alice', '--expires', 'soon'], 2, /--expires "soon" is neither/],
  ['past expiry', ['create', '--user', 'alice', '--expires', '2001-01-01'], 1, /expiry must be in the future/],
  ['unknown user', ['create', '--user', 'nobody'], 1, /user nobody not found/],
  ['unknown repo', ['create', '--user', 'alice', '--repo', 'acme/nope'], 1, /repository acme\/nope not found/],
  ['non-numeric id', ['revoke', 'abc'], 2, /token id "abc" is not a positive integer/],
  ['unknown id', ['revoke', '999999'], 1, /^stockade: token not found$/],
];
for (const [label, args, code, message] of failures) {
  test(`token ${label}`, async () => {
    const result = await cli.run(['token', ...args]);
    assert.equal(result.code, code, result.stderr);
    assert.match(errorLine(result), message);
  });
}
