import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generate } from 'otplib';
import { create as createTar } from 'tar';
import { systemActor } from '../../src/domain/audit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { buildDeb } from '../formats/debian/build-deb.js';
import { buildRpm } from '../formats/rpm/build-rpm.js';
import { type CliFixture, cliFixtureForServer, errorLine, repoRoot } from './helpers.js';

let server: TestServer;
let cli: CliFixture;
let work: string;
let token: string;
let tokenId: number;

/** An npm tarball as `npm pack` lays it out: everything under `package/`. */
async function npmTarball(name: string, version: string, extra: Record<string, Buffer | string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(work, 'pkg-'));
  await mkdir(path.join(dir, 'package'));
  await writeFile(path.join(dir, 'package', 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }, null, 2));
  await writeFile(path.join(dir, 'package', 'index.js'), `module.exports = ${JSON.stringify(version)};\n`);
  for (const [file, content] of Object.entries(extra)) await writeFile(path.join(dir, 'package', file), content);
  const file = path.join(dir, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  await createTar({ gzip: true, cwd: dir, file, portable: true }, ['package']);
  return file;
}

async function packument(name: string): Promise<{ versions: Record<string, unknown>; 'dist-tags': Record<string, string> }> {
  const response = await fetch(`${server.url}/acme/web/npm/${name.replace('/', '%2f')}`);
  assert.equal(response.status, 200);
  return (await response.json()) as { versions: Record<string, unknown>; 'dist-tags': Record<string, string> };
}

before(async () => {
  server = await startTestServer();
  // The CLI works on the running server's own database, as an operator's would.
  cli = await cliFixtureForServer(server.config);
  work = await mkdtemp(path.join(tmpdir(), 'stockade-push-'));
  const steps = [
    ['user', 'create', 'alice'],
    ['org', 'create', 'acme', '--admin', 'alice'],
    ['repo', 'create', 'acme/web', '--public'],
  ];
  for (const args of steps) {
    const result = await cli.run(args, { input: 'Correct-Horse-42\n' });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  }
  const created = await cli.run(['token', 'create', '--user', 'alice', '--repo', 'acme/web', '--name', 'push test', '--json']);
  assert.equal(created.code, 0, created.stderr);
  ({ secret: token, id: tokenId } = JSON.parse(created.stdout) as { secret: string; id: number });
});

after(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('push uploads an npm tarball with STOCKADE_URL and STOCKADE_TOKEN', async () => {
  const file = await npmTarball('@acme/hello', '1.0.0');
  const result = await cli.run(['push', 'acme/web', file], { env: { STOCKADE_URL: server.url, STOCKADE_TOKEN: token } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^pushed npm package @acme\/hello@1\.0\.0 to acme\/web\n {2}file {4}hello-1\.0\.0\.tgz \(\d+ B\)\n {2}sha256 {2}[0-9a-f]{64}\n$/);
  assert.equal(result.stderr, '', 'no progress bar when stderr is not a terminal');
  const doc = await packument('@acme/hello');
  assert.ok(doc.versions['1.0.0']);
  assert.equal(doc['dist-tags'].latest, '1.0.0');
});

test('push --tag --json streams a larger file and reports what the server stored', async () => {
  // Incompressible content makes the body many stream chunks.
  const file = await npmTarball('@acme/hello', '1.1.0-beta.1', { 'data.bin': randomBytes(3 * 1024 * 1024) });
  const bytes = await readFile(file);
  const result = await cli.run(['push', 'acme/web', file, '--tag', 'next', '--url', `${server.url}/`, '--token', token, '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), {
    format: 'npm',
    name: '@acme/hello',
    version: '1.1.0-beta.1',
    // npm names stored files itself (`hello-1.1.0-beta.1.tgz`) from the package inside, not the upload's name.
    filename: 'hello-1.1.0-beta.1.tgz',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    verdict: 'allow',
    reasons: [],
  });
  assert.equal((await packument('@acme/hello'))['dist-tags'].next, '1.1.0-beta.1');
});

test('push prints the server message when the server refuses', async () => {
  const file = await npmTarball('@acme/hello', '1.0.0');
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const again = await cli.run(['push', 'acme/web', file], { env });
  assert.equal(again.code, 1);
  assert.equal(errorLine(again), 'stockade: cannot publish @acme/hello@1.0.0: that version already exists');

  const json = await cli.run(['push', 'acme/web', file, '--json'], { env });
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'VERSION_EXISTS');

  const badToken = await cli.run(['push', 'acme/web', file], { env: { ...env, STOCKADE_TOKEN: 'stk_not-a-real-token' } });
  assert.equal(badToken.code, 1);
  assert.equal(errorLine(badToken), 'stockade: invalid, expired or revoked token');

  // Refused before the body is read: the CLI stops sending and still reports the server's answer.
  const big = path.join(work, 'big-1.0.0.tgz');
  await writeFile(big, randomBytes(32 * 1024 * 1024));
  const earlyRefusal = await cli.run(['push', 'acme/web', big], { env: { ...env, STOCKADE_TOKEN: 'stk_not-a-real-token' } });
  assert.equal(earlyRefusal.code, 1);
  assert.equal(errorLine(earlyRefusal), 'stockade: invalid, expired or revoked token');

  const otherRepo = await cli.run(['push', 'acme/nope', file], { env });
  assert.equal(otherRepo.code, 1);
  assert.match(errorLine(otherRepo), /not found/);

  const notPackage = path.join(work, 'notes.txt');
  await writeFile(notPackage, 'just text\n');
  const unsupported = await cli.run(['push', 'acme/web', notPackage], { env });
  assert.equal(unsupported.code, 1);
  assert.equal(errorLine(unsupported), 'stockade: could not detect the package format of notes.txt');
});

test('push puts a .deb into an APT distribution and an .rpm into a distribution release', async () => {
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const deb = await buildDeb({ name: 'acme-cli-deb', version: '1.2-1', arch: 'all' });
  const pushedDeb = await cli.run(['push', 'acme/web/debian/bookworm/contrib', deb.path], { env });
  await deb.cleanup();
  assert.equal(pushedDeb.code, 0, pushedDeb.stderr);
  assert.match(pushedDeb.stdout, /^pushed debian package acme-cli-deb@1\.2-1 to acme\/web/);
  const packages = await (await fetch(`${server.url}/acme/web/debian/dists/bookworm/contrib/binary-amd64/Packages`)).text();
  assert.match(packages, /^Package: acme-cli-deb$/m);

  const rpmDir = await mkdtemp(path.join(work, 'rpm-'));
  const rpm = buildRpm({ name: 'acme-cli-rpm', version: '2.0', release: '1', files: [{ path: '/usr/share/acme-cli-rpm/f', content: 'f\n' }] }, rpmDir);
  for (const target of ['acme/web/el/9', 'acme/web/rpm/fedora/40']) {
    const pushed = await cli.run(['push', target, rpm], { env });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, /^pushed rpm package acme-cli-rpm@2\.0-1 to acme\/web/);
  }
  for (const dist of ['el/9', 'fedora/40']) {
    const repomd = await fetch(`${server.url}/acme/web/rpm/${dist}/repodata/repomd.xml`);
    assert.equal(repomd.status, 200, dist);
  }
  // A target that names no place the file can go.
  for (const target of ['acme/web/el', 'acme/web/debian', 'acme/web/el/9/x', 'acme/web//9']) {
    const refused = await cli.run(['push', target, rpm], { env });
    assert.equal(refused.code, 2, target);
    assert.match(refused.stderr, /is not a push target/);
  }
  const withoutPlace = await cli.run(['push', 'acme/web', rpm], { env });
  assert.equal(withoutPlace.code, 1);
  assert.match(errorLine(withoutPlace), /needs a distribution and release/);
});

test('push with several files imports them in one request and names each result', async () => {
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const built = [];
  for (const name of ['acme-bulk-one', 'acme-bulk-two']) built.push(await buildDeb({ name, version: '1.0-1', arch: 'all' }));
  const notes = path.join(work, 'bulk-notes.txt');
  await writeFile(notes, 'not a package\n');
  try {
    const pushed = await cli.run(['push', 'acme/web/debian/bookworm', built[0]!.path, built[1]!.path, notes], { env });
    assert.equal(pushed.code, 1, 'a refused file makes the command fail');
    assert.match(pushed.stdout, /^pushed 2 of 3 files to acme\/web; 1 refused$/m);
    assert.match(pushed.stdout, /^ {2}stored +\S+\.deb → debian acme-bulk-one@1\.0-1$/m);
    assert.match(pushed.stdout, /^ {2}refused +bulk-notes\.txt: could not detect the package format of bulk-notes\.txt$/m);
    const packages = await (await fetch(`${server.url}/acme/web/debian/dists/bookworm/main/binary-amd64/Packages`)).text();
    assert.match(packages, /^Package: acme-bulk-one$/m);
    assert.match(packages, /^Package: acme-bulk-two$/m);

    const json = await cli.run(['push', 'acme/web/debian/bookworm', built[0]!.path, built[1]!.path, '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { stored: number; failed: number; results: { file: string; name: string }[] };
    assert.equal(answer.stored, 2, 'the same files again are answered as stored');
    assert.deepEqual(answer.results.map((r) => r.name), ['acme-bulk-one', 'acme-bulk-two']);

    const tagged = await cli.run(['push', 'acme/web/debian/bookworm', built[0]!.path, built[1]!.path, '--tag', 'next'], { env });
    assert.equal(tagged.code, 2);
    assert.match(tagged.stderr, /--tag applies to one file/);
  } finally {
    for (const b of built) await b.cleanup();
  }
});

test('a token revoked with the CLI stops working on the running server', async () => {
  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const first = await cli.run(['push', 'acme/web', await npmTarball('@acme/revoked', '1.0.0')], { env });
  assert.equal(first.code, 0, first.stderr);
  const revoke = await cli.run(['token', 'revoke', String(tokenId)]);
  assert.equal(revoke.code, 0, revoke.stderr);
  const second = await cli.run(['push', 'acme/web', await npmTarball('@acme/revoked', '1.0.1')], { env });
  assert.equal(second.code, 1);
  assert.equal(errorLine(second), 'stockade: invalid, expired or revoked token');
});

test('push fails cleanly without a server, a file or a URL', async () => {
  const file = await npmTarball('@acme/offline', '1.0.0');
  const noUrl = await cli.run(['push', 'acme/web', file], { env: { STOCKADE_TOKEN: token } });
  assert.equal(noUrl.code, 2);
  assert.equal(errorLine(noUrl), 'stockade: no server URL: pass --url or set STOCKADE_URL');

  const noToken = await cli.run(['push', 'acme/web', file, '--url', server.url]);
  assert.equal(noToken.code, 2);
  assert.equal(errorLine(noToken), 'stockade: no token: set STOCKADE_TOKEN or pass --token');

  const env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: token };
  const noFile = await cli.run(['push', 'acme/web', path.join(work, 'missing.tgz')], { env });
  assert.equal(noFile.code, 1);
  assert.match(errorLine(noFile), /^stockade: cannot read .*missing\.tgz: ENOENT$/);

  // Port 9 (discard) is not listening on a test machine: connection refused.
  const offline = await cli.run(['push', 'acme/web', file], { env: { ...env, STOCKADE_URL: 'http://127.0.0.1:9' } });
  assert.equal(offline.code, 1);
  assert.equal(errorLine(offline), 'stockade: cannot upload to http://127.0.0.1:9: ECONNREFUSED');

  const badUrl = await cli.run(['push', 'acme/web', file], { env: { ...env, STOCKADE_URL: 'ftp://example.com' } });
  assert.equal(badUrl.code, 2);
});

// util-linux `script` runs the CLI on a pseudo-terminal, so stdin.isTTY is true as for a person.
const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs `stockade ARGS` on a terminal with ENV, typing ANSWER once its prompt appears. */
function onTerminal(args: string[], env: Record<string, string>, answer: [prompt: string, typed: string]): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = ['node', '--import', 'tsx', 'src/cli/main.ts', ...args].map(quote).join(' ');
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOCKADE_')) childEnv[key] = value;
  Object.assign(childEnv, env);
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: repoRoot, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let typed = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (!typed && output.includes(answer[0])) {
      typed = true;
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

describe('push --otp for a user with two-factor authentication', () => {
  let bob: { token: string; id: number };
  let secret: string;
  let env: Record<string, string>;
  /**
   * A code for the next time step: enrolment spent the current one. The server accepts one step
   * ahead, and lets the same token present the code of its last accepted step again, so this is
   * good for every push below whether or not the clock has moved on meanwhile.
   */
  const nextCode = () => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

  before(async () => {
    bob = await server.createUser('bob');
    await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'bob', role: 'write' });
    const user = { id: bob.id, name: 'bob' };
    ({ secret } = await server.domain.mfa.startEnrollment(systemActor, user));
    await server.domain.mfa.confirmEnrollment(systemActor, user, await generate({ secret }));
    env = { STOCKADE_URL: server.url, STOCKADE_TOKEN: bob.token };
  });

  test('without --otp and without a terminal, push says to pass --otp', async () => {
    const file = await npmTarball('@acme/guarded', '1.0.0');
    const result = await cli.run(['push', 'acme/web', file], { env });
    assert.equal(result.code, 1);
    assert.equal(
      errorLine(result),
      'stockade: the server wants a one-time password for this push: run it again with --otp CODE (the code from your authenticator app)',
    );
    const json = await cli.run(['push', 'acme/web', file, '--json'], { env });
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'OTP_REQUIRED');
    assert.equal((await fetch(`${server.url}/acme/web/npm/@acme%2fguarded`)).status, 404, 'nothing was stored');
  });

  test('a wrong --otp is refused with the server message', async () => {
    const wrong = (await nextCode()) === '000000' ? '111111' : '000000';
    const result = await cli.run(['push', 'acme/web', await npmTarball('@acme/guarded', '1.0.0'), '--otp', wrong], { env });
    assert.equal(result.code, 1);
    assert.equal(errorLine(result), 'stockade: the one-time password is wrong, expired or already used: wait for the next code from your authenticator app');
  });

  test('an empty or unprintable --otp is a usage error', async () => {
    const file = await npmTarball('@acme/guarded', '1.0.0');
    const empty = await cli.run(['push', 'acme/web', file, '--otp', ' '], { env });
    assert.equal(empty.code, 2);
    assert.equal(errorLine(empty), 'stockade: the one-time password is empty: give the code from your authenticator app');
    const control = await cli.run(['push', 'acme/web', file, '--otp', '12\u000734'], { env });
    assert.equal(control.code, 2);
    assert.match(errorLine(control), /^stockade: the one-time password must be the code from your authenticator app/);
  });

  test('push --otp sends the code in X-Stockade-OTP and succeeds', async () => {
    const file = await npmTarball('@acme/guarded', '1.0.0');
    const result = await cli.run(['push', 'acme/web', file, '--otp', await nextCode()], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^pushed npm package @acme\/guarded@1\.0\.0 to acme\/web\n/);
    assert.ok((await packument('@acme/guarded')).versions['1.0.0']);
  });

  test('on a terminal push asks for the code once and sends the file again', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
    // Big enough that the refusal comes before the whole body is sent, so the retry must reopen the file.
    const file = await npmTarball('@acme/guarded', '1.1.0', { 'data.bin': randomBytes(8 * 1024 * 1024) });
    const bytes = await readFile(file);
    const code = await nextCode();
    const result = await onTerminal(['push', 'acme/web', file, '--json'], env, ['one-time password from your authenticator app: ', `${code}\r`]);
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.split('one-time password from your authenticator app: ').length, 2, 'asked exactly once');
    const answer = JSON.parse(result.output.slice(result.output.indexOf('{'))) as { version: string; sha256: string; size: number };
    assert.equal(answer.version, '1.1.0');
    assert.equal(answer.size, bytes.length);
    assert.equal(answer.sha256, createHash('sha256').update(bytes).digest('hex'));
  });

  test('on a terminal a wrong code is not asked again', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
    const file = await npmTarball('@acme/guarded', '1.2.0');
    const result = await onTerminal(['push', 'acme/web', file], env, ['one-time password from your authenticator app: ', 'abc\r']);
    assert.equal(result.code, 1);
    assert.match(result.output, /stockade: the one-time password is wrong, expired or already used/);
    assert.equal(result.output.split('one-time password from your authenticator app: ').length, 2, 'asked exactly once');
  });
});
