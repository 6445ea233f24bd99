import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, repoRoot } from './helpers.js';

// util-linux `script` runs the CLI on a pseudo-terminal, so stdin.isTTY is true as for a person.
const hasScript = spawnSync('script', ['--version']).status === 0;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `stockade ARGS` on a terminal, typing each answer once its prompt appears. */
function onTerminal(cli: CliFixture, args: string[], answers: [prompt: string, typed: string][]): Promise<{ code: number | null; output: string }> {
  const command = ['node', '--import', 'tsx', 'src/cli/main.ts', '--config', cli.configFile, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOCKADE_')) env[key] = value;
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let next = 0;
  let seen = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    const answer = answers[next];
    const at = answer ? output.indexOf(answer[0], seen) : -1;
    if (answer && at >= 0) {
      seen = at + answer[0].length;
      next++;
      child.stdin.write(answer[1]);
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

let cli: CliFixture;
before(async () => {
  if (hasScript) cli = await createCliFixture();
});
after(async () => {
  await cli?.drop();
});

test('on a terminal the password is asked twice, without echo', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
  const typed = 'Violet-Lamp-Xx\u007f-99';
  const result = await onTerminal(cli, ['user', 'create', 'tty-user'], [
    ['new password: ', `${typed}\r`],
    ['repeat it: ', 'Violet-Lamp-X-99\r'],
  ]);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /created user tty-user/);
  assert.ok(!result.output.includes('Violet'), `the password was echoed: ${JSON.stringify(result.output)}`);
  // Backspace removed the extra "x".
  await cli.withDomain((domain) => domain.accounts.authenticate('tty-user', 'Violet-Lamp-X-99'));
});

test('on a terminal both answers may be typed ahead at the first prompt', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
  const result = await onTerminal(cli, ['user', 'password', 'tty-user'], [['new password: ', 'Orange-Bell-31\rOrange-Bell-31\r']]);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /password of tty-user changed/);
  assert.ok(!result.output.includes('Orange'), `the password was echoed: ${JSON.stringify(result.output)}`);
  await cli.withDomain((domain) => domain.accounts.authenticate('tty-user', 'Orange-Bell-31'));
});

test('on a terminal two different answers are refused', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
  const result = await onTerminal(cli, ['user', 'password', 'tty-user'], [
    ['new password: ', 'Green-Door-55\r'],
    ['repeat it: ', 'Green-Door-56\r'],
  ]);
  assert.equal(result.code, 1);
  assert.match(result.output, /stockade: the two passwords differ/);
});
