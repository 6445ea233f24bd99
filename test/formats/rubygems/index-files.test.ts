/**
 * The pieces of the gem indexes, checked against Ruby itself where Ruby has an opinion: platform
 * strings parse as Gem::Platform parses them, quick specs and specs indexes load with Marshal,
 * compact index lines read as bundler reads them; stored version keys order by Gem::Version; the
 * format claims .gem files only; the raw API key header gem sends authenticates a token.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../../src/domain/audit.js';
import { StockadeError } from '../../../src/errors.js';
import { authenticate } from '../../../src/http/auth.js';
import { infoLine, namesFile, versionsFile } from '../../../src/formats/rubygems/compact-index.js';
import { rubygemsFormat } from '../../../src/formats/rubygems/index.js';
import { parsePlatform, quickSpecRz, specsIndexGz } from '../../../src/formats/rubygems/marshal.js';
import { compareVersionKeys, splitVersionKey, versionKey } from '../../../src/formats/rubygems/publish.js';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { assertRubyInstalled, buildGem } from './build-gem.js';

let work = '';

function ruby(script: string, ...args: string[]): string {
  const result = spawnSync('ruby', ['-e', script, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LC_ALL: 'C.UTF-8' } });
  if (result.error !== undefined || result.status !== 0) throw new Error(`ruby failed: ${result.error?.message ?? result.stderr}`);
  return result.stdout;
}

before(() => {
  assertRubyInstalled();
  work = mkdtempSync(join(tmpdir(), 'stockade-gem-index-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('Marshal index files', () => {
  it('parses platforms as Gem::Platform does', () => {
    const platforms = ['x86_64-linux', 'x86_64-linux-musl', 'arm64-darwin-21', 'universal-darwin', 'java', 'jruby', 'x64-mingw32', 'x64-mingw-ucrt', 'i386-mswin32', 'mswin32', 'i686-linux', 'x86-linux-gnu', 'aarch64-linux', 'sparc-solaris2.10', 'x86_64-freebsd13', 'weird-thing'];
    const expected = JSON.parse(ruby('require "json"; puts JSON.generate(ARGV.map { |a| p = Gem::Platform.new(a); [p.cpu, p.os, p.version] })', ...platforms)) as [string | null, string, string | null][];
    platforms.forEach((platform, i) => {
      const { cpu, os, version } = parsePlatform(platform);
      assert.deepEqual([cpu, os, version], expected[i], platform);
    });
  });

  it('writes quick specs and specs indexes that Ruby loads', () => {
    const rz = join(work, 'spec.rz');
    writeFileSync(
      rz,
      quickSpecRz({
        name: 'widget',
        version: '2.0.0.beta1',
        platform: 'java',
        date: '2023-11-14 00:00:00.000000000 Z',
        summary: 'Ünïcode summary',
        email: ['a@example.invalid', 'b@example.invalid'],
        authors: ['A', 'B'],
        licenses: ['MIT'],
        metadata: { homepage_uri: 'https://example.invalid' },
        requiredRubyVersion: [['>=', '3.0'], ['<', '4']],
        requiredRubygemsVersion: [['>', '1.3.1']],
        dependencies: [{ name: 'dep', type: 'runtime', requirements: [['~>', '1.2']] }],
      }),
    );
    const loaded = ruby(
      'require "json"; s = Marshal.load(Gem::Util.inflate(File.binread(ARGV[0]))); puts JSON.generate([s.full_name, s.summary, s.email, s.date.utc.to_s, s.required_ruby_version.to_s, s.required_rubygems_version.to_s, s.dependencies.map(&:to_s), s.platform.to_s, s.version.prerelease?, s.metadata])',
      rz,
    );
    assert.deepEqual(JSON.parse(loaded), [
      'widget-2.0.0.beta1-java',
      'Ünïcode summary',
      ['a@example.invalid', 'b@example.invalid'],
      '2023-11-14 00:00:00 UTC',
      '>= 3.0, < 4',
      '> 1.3.1',
      ['dep (~> 1.2)'],
      'java',
      true,
      { homepage_uri: 'https://example.invalid' },
    ]);
    const gz = join(work, 'specs.gz');
    writeFileSync(gz, specsIndexGz([['a', '1.0', 'ruby'], ['b-c', '0.1.a', 'x86_64-linux']]));
    assert.equal(ruby('p Marshal.load(Gem::Util.gunzip(File.binread(ARGV[0]))).map { |n, v, p| [n, v.class, v.to_s, p] }', gz).trim(), '[["a", Gem::Version, "1.0", "ruby"], ["b-c", Gem::Version, "0.1.a", "x86_64-linux"]]');
  });
});

describe('compact index lines', () => {
  it('writes /info lines that bundler parses back', () => {
    const line = infoLine({
      key: '1.0.0-x86_64-linux',
      dependencies: [
        { name: 'a', requirements: [['>=', '1.0'], ['<', '2']] },
        { name: 'b', requirements: [] },
      ],
      sha256: 'f'.repeat(64),
      requiredRubyVersion: [['>=', '2.7']],
      requiredRubygemsVersion: [],
    });
    assert.equal(line, `1.0.0-x86_64-linux a:>= 1.0&< 2,b:>= 0|checksum:${'f'.repeat(64)},ruby:>= 2.7`);
    assert.equal(infoLine({ key: '1.0', dependencies: [], sha256: 'ab', requiredRubyVersion: [], requiredRubygemsVersion: [['>', '1.3.1']] }), '1.0 |checksum:ab,rubygems:> 1.3.1');
    const parsed = ruby('require "bundler"; require "bundler/compact_index_client"; p Bundler::CompactIndexClient::GemParser.new.parse(ARGV[0])', line).trim();
    assert.equal(parsed, `["1.0.0", "x86_64-linux", [["a", [">= 1.0", "< 2"]], ["b", [">= 0"]]], [["checksum", ["${'f'.repeat(64)}"]], ["ruby", [">= 2.7"]]]]`);
  });

  it('writes /versions and /names', () => {
    assert.equal(versionsFile('2024-01-02T03:04:05Z', [{ name: 'a', keys: ['1.0', '1.1-java'], infoMd5: 'abc' }]), 'created_at: 2024-01-02T03:04:05Z\n---\na 1.0,1.1-java abc\n');
    assert.equal(namesFile(['a', 'b']), '---\na\nb\n');
  });
});

describe('stored version keys', () => {
  it('encode the platform and order by Gem::Version', () => {
    assert.equal(versionKey('1.0.0', 'ruby'), '1.0.0');
    assert.equal(versionKey('1.0.0', 'x86_64-linux'), '1.0.0-x86_64-linux');
    assert.deepEqual(splitVersionKey('1.0.0-x86_64-linux'), { version: '1.0.0', platform: 'x86_64-linux' });
    assert.deepEqual(splitVersionKey('2.0-java'), { version: '2.0', platform: 'java' });
    assert.deepEqual(splitVersionKey('1.0-rc1'), { version: '1.0-rc1', platform: 'ruby' });
    const sorted = ['1.10.0', '1.2.0-x86_64-linux', '1.2.0', '1.2.0.rc1', '1.9', '1.2.0-java'].sort(compareVersionKeys);
    assert.deepEqual(sorted, ['1.2.0.rc1', '1.2.0', '1.2.0-java', '1.2.0-x86_64-linux', '1.9', '1.10.0']);
  });
});

describe('the rubygems format', () => {
  it('claims .gem files by name and tar header only', () => {
    const gem = buildGem({ name: 'claimed', version: '1.0.0', files: { 'lib/claimed.rb': '' } }, work);
    assert.equal(rubygemsFormat.claims('claimed-1.0.0.gem', gem.subarray(0, 4096)), true);
    assert.equal(rubygemsFormat.claims('claimed-1.0.0.tar', gem.subarray(0, 4096)), false);
    assert.equal(rubygemsFormat.claims('x.gem', Buffer.alloc(4096)), false);
  });

  it('inspects a gem into the gate manifest with the GemSpec property names', async () => {
    const gem = buildGem({ name: 'inspected', version: '0.3.0', files: { 'lib/inspected.rb': 'puts 1\n' }, dependencies: [{ name: 'json', type: 'runtime', requirements: ['~> 2.0'] }] }, work);
    const inspected = await rubygemsFormat.inspect(gem, 'whatever.gem');
    assert.equal(inspected.name, 'inspected');
    assert.equal(inspected.version, '0.3.0');
    assert.equal(inspected.filename, 'inspected-0.3.0.gem');
    assert.equal(inspected.manifest.platform, 'ruby');
    assert.deepEqual(inspected.manifest.dependencies, [{ name: 'json', type: 'runtime', requirements: [['~>', '2.0']] }]);
    assert.deepEqual(inspected.manifest.requirePaths, ['lib']);
    assert.equal(Object.getPrototypeOf(inspected.manifest.metadata), Object.prototype);
    assert.ok(inspected.view.files.some((f) => f.path === 'lib/inspected.rb'));
  });
});

describe('the API key header gem sends', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.close());

  it('authenticates a bare Stockade token and nothing else without a scheme', async () => {
    const { secret } = await server.domain.tokens.create(systemActor, { userId: (await server.domain.accounts.getUser('admin'))!.id, name: 'gem', scopes: ['read'] });
    const principal = await authenticate(server.domain, secret);
    assert.equal(principal?.userName, 'admin');
    await assert.rejects(authenticate(server.domain, 'stk_wrong'), (error: unknown) => error instanceof StockadeError && error.code === 'INVALID_TOKEN');
    await assert.rejects(authenticate(server.domain, 'some-other-key'), (error: unknown) => error instanceof StockadeError && error.code === 'INVALID_TOKEN');
  });
});
