import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isStockadeError } from '../../../src/errors.js';
import { expectCode } from '../../helpers/expect-code.js';
import { parseGem, type GemContents } from '../../../src/formats/rubygems/gem.js';
import {
  assertRubyInstalled,
  buildGem,
  readTar,
  repackGem,
  rewriteData,
  rewriteMetadata,
  rubySpec,
  writeTar,
  type FixtureGem,
} from './build-gem.js';

const widget: FixtureGem = {
  name: 'acme-widget',
  version: '1.2.3',
  summary: 'Widgets for the parser tests',
  description: 'A longer description.\nOn two lines.',
  authors: ['Ada Example', 'Bob Example'],
  email: ['ada@example.invalid', 'bob@example.invalid'],
  homepage: 'https://example.invalid/acme-widget',
  licenses: ['MIT', 'Apache-2.0'],
  metadata: { source_code_uri: 'https://example.invalid/acme-widget/src', rubygems_mfa_required: 'true' },
  requiredRubyVersion: '>= 2.7',
  executables: ['acme'],
  postInstallMessage: 'Thanks for installing acme-widget!',
  dependencies: [
    { name: 'rake', type: 'runtime', requirements: ['>= 12.0', '< 14'] },
    { name: 'json_pure', type: 'runtime', requirements: ['~> 2.6'] },
    { name: 'minitest', type: 'development', requirements: ['~> 5.0', '!= 5.3.1'] },
  ],
  files: {
    'lib/acme.rb': 'require "acme/widget"\n',
    'lib/acme/widget.rb': 'module Acme; class Widget; end; end\n',
    'exe/acme': '#!/usr/bin/env ruby\nrequire "acme"\n',
    Rakefile: 'task :default\n',
    'README.md': '# acme-widget\n',
  },
};

const fixtures: Record<string, FixtureGem> = {
  widget,
  platform: { name: 'acme-native', version: '2.0.0', platform: 'x86_64-linux', files: { 'lib/acme_native.rb': 'module AcmeNative; end\n' } },
  prerelease: { name: 'acme-pre', version: '1.0.0.pre1', files: { 'lib/acme_pre.rb': 'module AcmePre; end\n' } },
  extension: {
    name: 'acme-ext',
    version: '0.3.0',
    extensions: ['ext/foo/extconf.rb'],
    postInstallMessage: 'compiled foo',
    files: {
      'ext/foo/extconf.rb': 'require "mkmf"\ncreate_makefile("foo")\n',
      'ext/foo/foo.c': 'void Init_foo(void) {}\n',
      'lib/acme_ext.rb': 'require "foo"\n',
    },
  },
};

describe('parseGem', () => {
  let work: string;
  const built: Record<string, { data: Buffer; gem: GemContents }> = {};

  before(async () => {
    assertRubyInstalled();
    work = mkdtempSync(join(tmpdir(), 'stockade-gem-'));
    for (const [key, fixture] of Object.entries(fixtures)) {
      const data = buildGem(fixture, work);
      built[key] = { data, gem: await parseGem(data) };
    }
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const get = (key: string) => {
    const entry = built[key];
    assert.ok(entry, `fixture ${key} was not built`);
    return entry;
  };

  it('reads a gem with dependencies, metadata and executables', () => {
    const { gem } = get('widget');
    const spec = gem.spec;
    assert.equal(spec.name, 'acme-widget');
    assert.equal(spec.version, '1.2.3');
    assert.equal(spec.prerelease, false);
    assert.equal(spec.platform, 'ruby');
    assert.equal(spec.summary, 'Widgets for the parser tests');
    assert.equal(spec.description, 'A longer description.\nOn two lines.');
    assert.deepEqual(spec.authors, ['Ada Example', 'Bob Example']);
    assert.deepEqual(spec.email, ['ada@example.invalid', 'bob@example.invalid']);
    assert.equal(spec.homepage, 'https://example.invalid/acme-widget');
    assert.deepEqual(spec.licenses, ['MIT', 'Apache-2.0']);
    assert.deepEqual({ ...spec.metadata }, widget.metadata);
    assert.equal(Object.getPrototypeOf(spec.metadata), null);
    assert.deepEqual(spec.dependencies, [
      { name: 'rake', type: 'runtime', requirements: [['>=', '12.0'], ['<', '14']] },
      { name: 'json_pure', type: 'runtime', requirements: [['~>', '2.6']] },
      { name: 'minitest', type: 'development', requirements: [['~>', '5.0'], ['!=', '5.3.1']] },
    ]);
    assert.deepEqual(spec.requiredRubyVersion, [['>=', '2.7']]);
    assert.deepEqual(spec.requiredRubygemsVersion, [['>=', '0']]);
    assert.equal(spec.bindir, 'exe');
    assert.deepEqual(spec.executables, ['acme']);
    assert.equal(spec.postInstallMessage, 'Thanks for installing acme-widget!');
    assert.deepEqual([...spec.files].sort(), Object.keys(widget.files).sort());
    assert.deepEqual(spec.requirePaths, ['lib']);
    assert.ok(gem.specYaml.startsWith('--- !ruby/object:Gem::Specification'));
  });

  it('verifies both checksum algorithms and lists the files', () => {
    const { gem } = get('widget');
    assert.deepEqual(gem.verified, ['SHA256', 'SHA512']);
    assert.match(gem.checksums.SHA256?.['metadata.gz'] ?? '', /^[0-9a-f]{64}$/);
    assert.match(gem.checksums.SHA512?.['data.tar.gz'] ?? '', /^[0-9a-f]{128}$/);
    assert.deepEqual(gem.signatures, []);
    assert.deepEqual(gem.files.map((f) => f.path).sort(), Object.keys(widget.files).sort());
    assert.ok(gem.files.every((f) => f.type === 'file'));
    assert.deepEqual(gem.fileList, { missing: [], unlisted: [] });
    assert.equal(gem.unpackedSize, Object.values(widget.files).reduce((n, c) => n + Buffer.byteLength(c), 0));
  });

  it('hands the Ruby sources to the gate in the content view', () => {
    const { gem } = get('widget');
    assert.equal(gem.view.text('lib/acme/widget.rb'), widget.files['lib/acme/widget.rb']);
    assert.equal(gem.view.text('Rakefile'), 'task :default\n');
    assert.equal(gem.view.text('exe/acme'), widget.files['exe/acme']);
    const ext = get('extension').gem;
    assert.equal(ext.view.text('ext/foo/extconf.rb'), fixtures.extension?.files['ext/foo/extconf.rb']);
  });

  it('reads platform, prerelease and extension gems', () => {
    assert.equal(get('platform').gem.spec.platform, 'x86_64-linux');
    const pre = get('prerelease').gem.spec;
    assert.equal(pre.version, '1.0.0.pre1');
    assert.equal(pre.prerelease, true);
    const ext = get('extension').gem.spec;
    assert.deepEqual(ext.extensions, ['ext/foo/extconf.rb']);
    assert.equal(ext.postInstallMessage, 'compiled foo');
  });

  it('reads every built gem the way Ruby does', () => {
    for (const key of Object.keys(fixtures)) {
      const { data, gem } = get(key);
      const ruby = rubySpec(data, work);
      const spec = gem.spec;
      assert.deepEqual(
        {
          name: spec.name,
          version: spec.version,
          platform: spec.platform,
          prerelease: spec.prerelease,
          dependencies: spec.dependencies,
          required_ruby_version: spec.requiredRubyVersion,
          files: spec.files,
          extensions: spec.extensions,
          executables: spec.executables,
          post_install_message: spec.postInstallMessage ?? null,
          metadata: { ...spec.metadata },
        },
        ruby,
        key,
      );
    }
  });

  it('reports files missing from or unlisted in the spec without refusing', async () => {
    const data = rewriteData(get('widget').data, (entries) => [
      ...entries.filter((e) => e.name !== 'README.md'),
      { name: 'lib/acme/extra.rb', body: Buffer.from('puts 1\n') },
    ]);
    const gem = await parseGem(data);
    assert.deepEqual(gem.fileList, { missing: ['README.md'], unlisted: ['lib/acme/extra.rb'] });
  });

  it('keeps Ruby sources in the view ahead of other bodies', async () => {
    const data = rewriteData(get('widget').data, (entries) => [
      { name: 'data/blob.bin', body: Buffer.alloc(6000, 1) },
      ...entries,
    ]);
    const gem = await parseGem(data, { view: { maxTotalBytes: 8000 } });
    assert.equal(gem.view.get('data/blob.bin')?.kept, false);
    assert.equal(gem.view.text('lib/acme/widget.rb'), widget.files['lib/acme/widget.rb']);
  });

  it('accepts symlinks and hard links that stay inside the gem', async () => {
    const data = rewriteData(get('widget').data, (entries) => [
      ...entries,
      { name: 'lib/alias.rb', body: Buffer.alloc(0), type: '2', linkname: 'acme.rb' },
      { name: 'lib/copy.rb', body: Buffer.alloc(0), type: '1', linkname: 'lib/acme.rb' },
    ]);
    const gem = await parseGem(data);
    assert.deepEqual(
      gem.files.filter((f) => f.type !== 'file').map((f) => [f.path, f.type, f.linkTarget]),
      [
        ['lib/alias.rb', 'symlink', 'acme.rb'],
        ['lib/copy.rb', 'link', 'lib/acme.rb'],
      ],
    );
  });

  describe('refuses hostile or broken gems', () => {
    const cases: { name: string; make: (good: Buffer) => Buffer; code: string; mentions: string[]; options?: Parameters<typeof parseGem>[1] }[] = [
      {
        name: 'a checksum mismatch',
        make: (good) => rewriteMetadata(good, (yaml) => yaml.replace('Widgets for', 'Gadgets for'), true),
        code: 'INVALID_ARCHIVE',
        mentions: ['SHA256 checksum mismatch for metadata.gz'],
      },
      {
        name: 'a data.tar.gz swapped under the checksums',
        make: (good) =>
          repackGem(good, (members) => members.map((m) => (m.name === 'data.tar.gz' ? { ...m, body: gzipSync(writeTar([])) } : m)), true),
        code: 'INVALID_ARCHIVE',
        mentions: ['checksum mismatch for data.tar.gz'],
      },
      {
        name: 'an extra member',
        make: (good) => repackGem(good, (members) => [...members, { name: 'evil.rb', body: Buffer.from('x') }]),
        code: 'INVALID_ARCHIVE',
        mentions: ['unexpected gem member "evil.rb"'],
      },
      {
        name: 'a member with a path',
        make: (good) => repackGem(good, (members) => members.map((m) => (m.name === 'metadata.gz' ? { ...m, name: 'x/metadata.gz' } : m))),
        code: 'INVALID_ARCHIVE',
        mentions: ['"x/metadata.gz"', 'never have a path'],
      },
      {
        name: 'a duplicate member',
        make: (good) => repackGem(good, (members) => [...members, ...members.filter((m) => m.name === 'metadata.gz')]),
        code: 'INVALID_ARCHIVE',
        mentions: ['two "metadata.gz" members'],
      },
      {
        name: 'a member that is a symlink',
        make: (good) => repackGem(good, (members) => [...members, { name: 'metadata.gz.sig', body: Buffer.alloc(0), type: '2', linkname: '/etc/passwd' }]),
        code: 'INVALID_ARCHIVE',
        mentions: ['"metadata.gz.sig"', 'SymbolicLink'],
      },
      {
        name: 'a missing checksums.yaml.gz',
        make: (good) => repackGem(good, (members) => members.filter((m) => m.name !== 'checksums.yaml.gz')),
        code: 'INVALID_ARCHIVE',
        mentions: ['no checksums.yaml.gz'],
      },
      {
        name: 'an unsupported checksum algorithm',
        make: (good) =>
          repackGem(good, (members) => members.map((m) => (m.name === 'checksums.yaml.gz' ? { ...m, body: gzipSync('MD4:\n  metadata.gz: abc\n') } : m)), true),
        code: 'INVALID_ARCHIVE',
        mentions: ['unsupported checksum algorithm "MD4"'],
      },
      {
        name: 'checksums without a strong digest of data.tar.gz',
        make: (good) =>
          repackGem(
            good,
            (members) =>
              members.map((m) => {
                if (m.name !== 'checksums.yaml.gz') return m;
                const text = gunzipSync(m.body).toString('utf8').split('\n').filter((line) => !line.includes('data.tar.gz')).join('\n');
                return { ...m, body: gzipSync(text) };
              }),
            true,
          ),
        code: 'INVALID_ARCHIVE',
        mentions: ['no SHA256 or SHA512 checksum for data.tar.gz'],
      },
      {
        name: 'a symlink in data.tar.gz pointing outside',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: 'lib/evil', body: Buffer.alloc(0), type: '2', linkname: '../../../etc/passwd' }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['symlink "lib/evil"', 'resolves outside the gem'],
      },
      {
        name: 'a symlink chain leading outside',
        make: (good) =>
          rewriteData(good, (entries) => [
            ...entries,
            { name: 'lib/up', body: Buffer.alloc(0), type: '2', linkname: '..' },
            { name: 'lib/evil', body: Buffer.alloc(0), type: '2', linkname: 'up/../..' },
          ]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['resolves outside the gem'],
      },
      {
        name: 'an absolute symlink',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: 'lib/evil', body: Buffer.alloc(0), type: '2', linkname: '/etc/passwd' }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['absolute path "/etc/passwd"'],
      },
      {
        name: 'a file written through a symlink',
        make: (good) =>
          rewriteData(good, (entries) => [
            ...entries,
            { name: 'lib/dir', body: Buffer.alloc(0), type: '2', linkname: 'acme' },
            { name: 'lib/dir/x.rb', body: Buffer.from('x') },
          ]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['lies inside the symlink "lib/dir"'],
      },
      {
        name: '../ in data.tar.gz',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: 'lib/../../evil.rb', body: Buffer.from('x') }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['"lib/../../evil.rb"', '".." path segment'],
      },
      {
        name: 'an absolute path in data.tar.gz',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: '/etc/cron.d/evil', body: Buffer.from('x') }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['"/etc/cron.d/evil"', 'absolute path'],
      },
      {
        name: 'a hard link outside the gem',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: 'lib/shadow', body: Buffer.alloc(0), type: '1', linkname: '/etc/shadow' }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['"/etc/shadow"'],
      },
      {
        name: 'a hard link to a later or missing file',
        make: (good) => rewriteData(good, (entries) => [{ name: 'lib/first', body: Buffer.alloc(0), type: '1', linkname: 'lib/acme.rb' }, ...entries]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['hard link "lib/first"', 'not an earlier file'],
      },
      {
        name: 'a device in data.tar.gz',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: 'lib/null', body: Buffer.alloc(0), type: '3' }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['"lib/null"', 'CharacterDevice'],
      },
      {
        name: 'a duplicate path in data.tar.gz',
        make: (good) => rewriteData(good, (entries) => [...entries, { name: './lib/acme.rb', body: Buffer.from('evil') }]),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['both install to "lib/acme.rb"'],
      },
      {
        name: 'too many entries in data.tar.gz',
        make: (good) => good,
        options: { limits: { maxEntries: 3 } },
        code: 'UNSAFE_ARCHIVE',
        mentions: ['more than 3 entries'],
      },
      {
        name: 'an entry above the size limit',
        make: (good) => good,
        options: { limits: { maxEntryBytes: 10 } },
        code: 'UNSAFE_ARCHIVE',
        mentions: ['(limit 10)'],
      },
      {
        name: 'a YAML alias bomb in metadata.gz',
        make: (good) =>
          rewriteMetadata(good, (yaml) => {
            const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
            for (let i = 1; i < 9; i++) {
              const prev = String.fromCharCode(96 + i);
              levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
            }
            return yaml.replace('metadata:', `bomb:\n${levels.map((l) => `  ${l}`).join('\n')}\nmetadata:`);
          }),
        code: 'UNSAFE_ARCHIVE',
        mentions: ['metadata.gz', 'alias bomb'],
      },
      {
        name: 'an unknown Ruby tag',
        make: (good) => rewriteMetadata(good, (yaml) => yaml.replace('metadata:', 'evil: !ruby/object:ERB\n  src: system("id")\nmetadata:')),
        code: 'INVALID_ARCHIVE',
        mentions: ['metadata.gz', '!ruby/object:ERB', 'not allowed'],
      },
      {
        name: 'an invalid gem name',
        make: (good) => rewriteMetadata(good, (yaml) => yaml.replace('name: acme-widget', 'name: "-acme widget"')),
        code: 'INVALID_ARCHIVE',
        mentions: ['name "-acme widget" is not a valid gem name'],
      },
      {
        name: 'an invalid version',
        make: (good) => rewriteMetadata(good, (yaml) => yaml.replace('version: 1.2.3', 'version: 1.2.3 evil')),
        code: 'INVALID_ARCHIVE',
        mentions: ['"1.2.3 evil" is not a valid RubyGems version'],
      },
      {
        name: 'a gzip bomb in data.tar.gz',
        make: (good) => {
          // A 200 MiB file of zeros compresses about 1000:1.
          const size = 200 * 1024 * 1024;
          const header = writeTar([{ name: 'lib/zeros.bin', body: Buffer.alloc(0), type: '0' }]).subarray(0, 512);
          header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
          header.write('        ', 148, 'ascii');
          let sum = 0;
          for (const byte of header) sum += byte;
          header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
          const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(size)]), { level: 9 });
          return repackGem(good, (members) => members.map((m) => (m.name === 'data.tar.gz' ? { ...m, body: bomb } : m)));
        },
        code: 'UNSAFE_ARCHIVE',
        mentions: ['"data.tar.gz" decompresses to more than', 'decompression bomb'],
      },
      {
        name: 'a truncated gem',
        make: (good) => good.subarray(0, Math.floor(good.length / 2)),
        code: 'INVALID_ARCHIVE',
        mentions: ['the gem'],
      },
      {
        name: 'a gzip-compressed gem',
        make: (good) => gzipSync(good),
        code: 'INVALID_ARCHIVE',
        mentions: ['gzip'],
      },
      {
        name: 'a data.tar.gz compressed twice',
        make: (good) =>
          repackGem(good, (members) => members.map((m) => (m.name === 'data.tar.gz' ? { ...m, body: gzipSync(m.body) } : m))),
        code: 'INVALID_ARCHIVE',
        mentions: ['"data.tar.gz" is not a tar archive'],
      },
    ];
    for (const testCase of cases) {
      it(testCase.name, async () => {
        const data = testCase.make(get('widget').data);
        await expectCode(() => parseGem(data, testCase.options), testCase.code, ...testCase.mentions);
      });
    }
  });

  it('accepts a gem without checksums only when asked', async () => {
    const data = repackGem(get('widget').data, (members) => members.filter((m) => m.name !== 'checksums.yaml.gz'));
    const gem = await parseGem(data, { allowMissingChecksums: true });
    assert.deepEqual(gem.verified, []);
    assert.equal(gem.spec.name, 'acme-widget');
  });

  it('reports signature members', async () => {
    const data = repackGem(get('widget').data, (members) => [...members, { name: 'metadata.gz.sig', body: Buffer.from('sig') }]);
    assert.deepEqual((await parseGem(data)).signatures, ['metadata.gz.sig']);
  });

  it('throws nothing but StockadeErrors on random damage (seeded fuzz)', async () => {
    let seed = 0x5eed;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const check = async (label: string, data: Buffer) => {
      try {
        await parseGem(data);
      } catch (error) {
        assert.ok(isStockadeError(error), `${label}: ${String(error)}`);
      }
    };
    const good = get('widget').data;
    // The outer tar as uploaded.
    for (let round = 0; round < 200; round++) {
      const copy = Buffer.from(good.subarray(0, round % 3 === 0 ? random(good.length) : good.length));
      for (let flips = 1 + random(4); flips > 0; flips--) copy[random(copy.length || 1)] = random(256);
      await check(`gem round ${round}`, copy);
    }
    // Damage that passes the checksums: the spec YAML and data.tar itself.
    const members = readTar(good);
    const yaml = gunzipSync(members.find((m) => m.name === 'metadata.gz')?.body ?? Buffer.alloc(0));
    for (let round = 0; round < 150; round++) {
      const copy = Buffer.from(yaml.subarray(0, round % 4 === 0 ? random(yaml.length) : yaml.length));
      for (let flips = 1 + random(4); flips > 0; flips--) copy[random(copy.length || 1)] = ' -:!&*[{"\'\n#a0'.charCodeAt(random(16));
      await check(`metadata round ${round}`, rewriteMetadata(good, () => copy.toString('latin1')));
    }
    const dataTar = gunzipSync(members.find((m) => m.name === 'data.tar.gz')?.body ?? Buffer.alloc(0));
    for (let round = 0; round < 150; round++) {
      const copy = Buffer.from(dataTar.subarray(0, round % 4 === 0 ? random(dataTar.length) : dataTar.length));
      for (let flips = 1 + random(4); flips > 0; flips--) copy[random(Math.min(copy.length, 2048) || 1)] = random(256);
      const damaged = repackGem(good, (ms) => ms.map((m) => (m.name === 'data.tar.gz' ? { ...m, body: gzipSync(copy) } : m)));
      await check(`data round ${round}`, damaged);
    }
  });
});
