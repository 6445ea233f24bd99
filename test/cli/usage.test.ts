import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorLine, runCli } from './helpers.js';

const usageErrors: [string, string[], RegExp][] = [
  ['no command', [], /^usage: stockade <command>/],
  ['unknown command', ['frobnicate'], /^stockade: unknown command "frobnicate"/],
  ['unknown subcommand', ['user', 'delete', 'x'], /^stockade: unknown command "user delete" \(one of: create, list, password, unlock\)/],
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
