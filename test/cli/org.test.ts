import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine, seed } from './helpers.js';

let cli: CliFixture;
before(async () => {
  cli = await createCliFixture();
  await seed(cli, { users: ['alice', 'bob'] });
});
after(async () => {
  await cli?.drop();
});

test('org create makes the user its admin', async () => {
  const result = await cli.run(['org', 'create', 'acme', '--admin', 'alice']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'created organization acme with admin alice\n');
  const members = await cli.withDomain((domain) => domain.accounts.listMembers('acme'));
  assert.deepEqual(members, [{ user: 'alice', role: 'admin' }]);
});

test('org create refuses a taken name and a missing admin', async () => {
  const taken = await cli.run(['org', 'create', 'bob', '--admin', 'alice']);
  assert.equal(taken.code, 1);
  assert.equal(errorLine(taken), 'stockade: name "bob" is already taken by a user or organization');
  const noAdmin = await cli.run(['org', 'create', 'other']);
  assert.equal(noAdmin.code, 2);
  assert.equal(errorLine(noAdmin), 'stockade: --admin is required');
});

test('org member sets and removes a role', async () => {
  const set = await cli.run(['org', 'member', 'acme', 'bob', 'write', '--json']);
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout), { owner: 'acme', user: 'bob', role: 'write' });
  assert.deepEqual(await cli.withDomain((domain) => domain.accounts.listMembers('acme')), [
    { user: 'alice', role: 'admin' },
    { user: 'bob', role: 'write' },
  ]);
  const removed = await cli.run(['org', 'member', 'acme', 'bob', '--remove']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, 'removed bob from acme\n');
  assert.deepEqual(await cli.withDomain((domain) => domain.accounts.listMembers('acme')), [{ user: 'alice', role: 'admin' }]);
});

const usage: [string, string[], RegExp][] = [
  ['unknown role', ['acme', 'bob', 'owner'], /unknown role "owner"/],
  ['role and --remove', ['acme', 'bob', 'read', '--remove'], /either a ROLE .* or --remove/],
  ['neither', ['acme', 'bob'], /either a ROLE .* or --remove/],
];
for (const [label, args, message] of usage) {
  test(`org member usage error: ${label}`, async () => {
    const result = await cli.run(['org', 'member', ...args]);
    assert.equal(result.code, 2);
    assert.match(errorLine(result), message);
  });
}
