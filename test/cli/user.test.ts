import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine } from './helpers.js';

const PASSWORD = 'Correct-Horse-42';

let cli: CliFixture;
before(async () => {
  cli = await createCliFixture();
});
after(async () => {
  await cli?.drop();
});

test('user create reads the password from stdin', async () => {
  const result = await cli.run(['user', 'create', 'alice', '--email', 'alice@example.com'], { input: `${PASSWORD}\n` });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'created user alice\n');
  const user = await cli.withDomain((domain) => domain.accounts.authenticate('alice', PASSWORD));
  assert.equal(user.email, 'alice@example.com');
  assert.equal(user.isAdmin, false);
});

test('user create --admin --password-stdin --json prints the user', async () => {
  const result = await cli.run(['user', 'create', 'root', '--admin', '--password-stdin', '--json'], { input: 'An0ther-Secret!' });
  assert.equal(result.code, 0, result.stderr);
  const user = JSON.parse(result.stdout) as { name: string; isAdmin: boolean };
  assert.equal(user.name, 'root');
  assert.equal(user.isAdmin, true);
});

test('a duplicate user fails with one line', async () => {
  const result = await cli.run(['user', 'create', 'alice'], { input: `${PASSWORD}\n` });
  assert.equal(result.code, 1);
  assert.equal(errorLine(result), 'stockade: user "alice" already exists');
  assert.equal(result.stdout, '');
});

const weak: [string, string, RegExp][] = [
  ['too short', 'Ab1!', /password too weak: use at least 10 characters/],
  ['common', 'password123', /password too weak: it is on the list of common passwords/],
  ['contains the name', 'bob-Secret-42', /password too weak: it contains the user name/],
];
for (const [label, password, message] of weak) {
  test(`a weak password is refused: ${label}`, async () => {
    const result = await cli.run(['user', 'create', 'bob'], { input: `${password}\n` });
    assert.equal(result.code, 1);
    assert.match(errorLine(result), message);
  });
}

test('no password on stdin is an error, not an empty password', async () => {
  const result = await cli.run(['user', 'create', 'bob'], { input: '' });
  assert.equal(result.code, 1);
  assert.equal(errorLine(result), 'stockade: no password on stdin');
});

test('a password is never taken as an argument', async () => {
  const result = await cli.run(['user', 'create', 'bob', '--password', PASSWORD]);
  assert.equal(result.code, 2);
  assert.match(errorLine(result), /Unknown option '--password'/);
});

test('user password changes the password', async () => {
  const result = await cli.run(['user', 'password', 'alice'], { input: 'New-Password-77\n' });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'password of alice changed\n');
  await cli.withDomain(async (domain) => {
    await domain.accounts.authenticate('alice', 'New-Password-77');
    await assert.rejects(domain.accounts.authenticate('alice', PASSWORD), /invalid username or password/);
  });
  const missing = await cli.run(['user', 'password', 'nobody'], { input: 'New-Password-77\n' });
  assert.equal(missing.code, 1);
  assert.equal(errorLine(missing), 'stockade: user nobody not found');
});

test('user list shows a table, or JSON', async () => {
  const text = await cli.run(['user', 'list']);
  assert.equal(text.code, 0, text.stderr);
  const [header, ...rows] = text.stdout.trimEnd().split('\n');
  assert.match(header ?? '', /^NAME\s+ADMIN\s+DISABLED\s+EMAIL\s+CREATED$/);
  assert.deepEqual(
    rows.map((row) => row.split(/\s+/).slice(0, 4)),
    [
      ['alice', 'no', 'no', 'alice@example.com'],
      ['root', 'yes', 'no', '-'],
    ],
  );
  const json = await cli.run(['--json', 'user', 'list']);
  const users = JSON.parse(json.stdout) as { name: string }[];
  assert.deepEqual(
    users.map((u) => u.name),
    ['alice', 'root'],
  );
});
