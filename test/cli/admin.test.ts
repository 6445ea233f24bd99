import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine, runCli } from './helpers.js';

const PASSWORD = 'Correct-Horse-42';

describe('stockade local admin commands', () => {
  let cli: CliFixture;
  before(async () => {
    cli = await createCliFixture();
  });
  after(async () => {
    await cli?.drop();
  });

  describe('user', () => {
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
  });

  describe('org', () => {
    before(async () => {
      const result = await cli.run(['user', 'create', 'bob'], { input: `${PASSWORD}\n` });
      assert.equal(result.code, 0, result.stderr);
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
  });

  describe('repo', () => {
    test('repo create makes a public repository and shows its npm URL', async () => {
      const result = await cli.run(['repo', 'create', 'acme/web', '--public', '--description', 'web team packages']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^created public repository acme\/web\n/);
      assert.match(result.stdout, /npm registry +http:\/\/127\.0\.0\.1:8080\/acme\/web\/npm\/$/m);
    });

    test('repositories are private unless --public', async () => {
      const result = await cli.run(['repo', 'create', 'alice/secret', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const repo = JSON.parse(result.stdout) as { path: string; visibility: string };
      assert.equal(repo.path, 'alice/secret');
      assert.equal(repo.visibility, 'private');
    });

    test('repo create refuses duplicates, unknown owners and bad paths', async () => {
      const duplicate = await cli.run(['repo', 'create', 'acme/web']);
      assert.equal(duplicate.code, 1);
      assert.equal(errorLine(duplicate), 'stockade: repository acme/web already exists');
      const noOwner = await cli.run(['repo', 'create', 'nobody/web']);
      assert.equal(noOwner.code, 1);
      assert.equal(errorLine(noOwner), 'stockade: owner nobody not found');
      const badPath = await cli.run(['repo', 'create', 'acme']);
      assert.equal(badPath.code, 2);
      assert.match(errorLine(badPath), /not a repository path of the form owner\/name/);
      const both = await cli.run(['repo', 'create', 'acme/x', '--public', '--private']);
      assert.equal(both.code, 2);
    });

    test('repo list, filtered by owner', async () => {
      const all = await cli.run(['repo', 'list', '--json']);
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(
        (JSON.parse(all.stdout) as { path: string }[]).map((r) => r.path),
        ['acme/web', 'alice/secret'],
      );
      const acme = await cli.run(['repo', 'list', '--owner', 'acme']);
      assert.equal(acme.code, 0, acme.stderr);
      const lines = acme.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2);
      assert.match(lines[1] ?? '', /^acme\/web\s+public\s+\S+\s+web team packages$/);
    });

    test('repo show names the registry URL from --url, else the config', async () => {
      const shown = await cli.run(['repo', 'show', 'acme/web', '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      const repo = JSON.parse(shown.stdout) as { visibility: string; description: string; registries: Record<string, string> };
      assert.equal(repo.visibility, 'public');
      assert.equal(repo.description, 'web team packages');
      assert.deepEqual(repo.registries, { npm: 'http://127.0.0.1:8080/acme/web/npm/' });

      const withUrl = await cli.run(['repo', 'show', 'acme/web', '--url', 'https://packages.example.com/']);
      assert.match(withUrl.stdout, /^npm registry +https:\/\/packages\.example\.com\/acme\/web\/npm\/$/m);

      const fromEnv = await cli.run(['repo', 'show', 'acme/web', '--json'], { env: { STOCKADE_SERVER_PUBLIC_URL: 'https://pkg.example.org' } });
      assert.equal((JSON.parse(fromEnv.stdout) as { registries: Record<string, string> }).registries.npm, 'https://pkg.example.org/acme/web/npm/');
    });

    test('repo show of a missing repository fails', async () => {
      const result = await cli.run(['repo', 'show', 'acme/nope']);
      assert.equal(result.code, 1);
      assert.equal(errorLine(result), 'stockade: repository acme/nope not found');
    });
  });

  describe('token', () => {
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
      assert.match(table.stdout, new RegExp(`^${token.id}\\s+laptop\\s+stk_\\S+…\\s+read,write\\s+acme/web\\s`, 'm'));

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
  });
});

describe('stockade command line', () => {
  const usageErrors: [string, string[], RegExp][] = [
    ['no command', [], /^usage: stockade <command>/],
    ['unknown command', ['frobnicate'], /^stockade: unknown command "frobnicate"/],
    ['unknown subcommand', ['user', 'delete', 'x'], /^stockade: unknown command "user delete" \(one of: create, list, password\)/],
    ['group without subcommand', ['token'], /^stockade: "token" needs a command: create, list, revoke/],
    ['unknown option', ['repo', 'list', '--colour'], /^stockade: Unknown option '--colour' \(usage: stockade repo list \[--owner O\]\)/],
    ['missing argument', ['repo', 'show'], /^stockade: missing argument \(usage: stockade repo show owner\/name/],
    ['extra argument', ['user', 'list', 'extra'], /^stockade: unexpected argument "extra"/],
    ['option without value', ['repo', 'list', '--owner'], /^stockade: Option '--owner <value>' argument missing/],
  ];
  for (const [label, args, message] of usageErrors) {
    test(`usage error exits 2: ${label}`, async () => {
      const result = await runCli(args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    });
  }

  test('--json turns errors into JSON on stdout as well', async () => {
    const result = await runCli(['--json', 'repo', 'show']);
    assert.equal(result.code, 2);
    const body = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'USAGE');
    assert.match(body.error.message, /missing argument/);
  });

  test('help for everything and for each command', async () => {
    const general = await runCli(['help']);
    assert.equal(general.code, 0);
    for (const name of ['serve', 'user create', 'org member', 'token revoke', 'repo show', 'audit verify', 'push']) {
      assert.match(general.stdout, new RegExp(`^  ${name} `, 'm'));
    }
    const viaFlag = await runCli(['--help']);
    assert.equal(viaFlag.stdout, general.stdout);

    const one = await runCli(['token', 'create', '--help']);
    assert.equal(one.code, 0);
    assert.match(one.stdout, /^usage: stockade token create --user NAME/);
    assert.match(one.stdout, /^examples:$/m);
    assert.equal((await runCli(['help', 'token', 'create'])).stdout, one.stdout);

    const group = await runCli(['repo', '--help']);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /repo create/);
    assert.doesNotMatch(group.stdout, /user create/);
  });

  test('a configuration error is one line naming the key', async () => {
    const result = await runCli(['user', 'list'], { env: { STOCKADE_SERVER_PORT: 'many' } });
    assert.equal(result.code, 1);
    assert.match(errorLine(result), /^stockade: invalid configuration \(environment\): "server\.port": Expected number, received string$/);
    const missing = await runCli(['--config', '/nonexistent/stockade.yaml', 'user', 'list']);
    assert.equal(missing.code, 1);
    assert.match(errorLine(missing), /^stockade: cannot read configuration file \/nonexistent\/stockade\.yaml/);
  });
});
