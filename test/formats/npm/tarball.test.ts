import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header, create } from 'tar';
import { isStockadeError } from '../../../src/errors.js';
import { readNpmTarball, type TarballLimits } from '../../../src/formats/npm/tarball.js';

// Hand-written tar so the hostile cases contain exactly what an attacker would send.
interface RawEntry {
  path: string;
  type?: string;
  body?: string | Buffer;
  linkpath?: string;
  /** Declared size when it must differ from the body (truncation). */
  size?: number;
}

function header(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const fields = { path: entry.path, type: entry.type ?? 'File', size, mode: 0o644, mtime: new Date(0), linkpath: entry.linkpath };
  new Header(fields as ConstructorParameters<typeof Header>[0]).encode(block, 0);
  return block;
}

function rawTar(entries: RawEntry[], { terminate = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    parts.push(header(entry, entry.size ?? body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (terminate) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A pax extended header record set (POSIX.1-2001 `x` entry). */
function pax(records: Record<string, string>): RawEntry {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const line = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(line) + 1;
    while (String(length).length + Buffer.byteLength(line) !== length) length++;
    body += `${length}${line}`;
  }
  return { path: 'PaxHeader/x', type: 'ExtendedHeader', body };
}

const tgz = (entries: RawEntry[]): Buffer => gzipSync(rawTar(entries));
const manifestEntry: RawEntry = { path: 'package/package.json', body: '{"name":"demo","version":"1.0.0"}' };
const withManifest = (...entries: RawEntry[]): Buffer => tgz([manifestEntry, ...entries]);

function expectError(data: Buffer, code: string, ...mentions: (string | RegExp)[]): (limits?: Partial<TarballLimits>) => void {
  return (limits) => {
    assert.throws(
      () => readNpmTarball(data, limits),
      (error: unknown) => {
        assert.ok(isStockadeError(error), `expected a StockadeError, got ${String(error)}`);
        assert.equal(error.code, code, error.message);
        for (const mention of mentions) {
          if (typeof mention === 'string') assert.ok(error.message.includes(mention), `"${error.message}" should name ${mention}`);
          else assert.match(error.message, mention);
        }
        return true;
      },
    );
  };
}

describe('readNpmTarball: hostile archives', () => {
  const cases: { name: string; data: () => Buffer; code: string; mentions: (string | RegExp)[]; limits?: Partial<TarballLimits> }[] = [
    // Container
    { name: 'plain tar (not gzip)', data: () => rawTar([manifestEntry]), code: 'INVALID_ARCHIVE', mentions: ['not gzip-compressed'] },
    { name: 'random bytes', data: () => randomBytes(4096), code: 'INVALID_ARCHIVE', mentions: ['not gzip-compressed'] },
    { name: 'empty upload', data: () => Buffer.alloc(0), code: 'INVALID_ARCHIVE', mentions: ['not gzip-compressed'] },
    { name: 'gzip of random bytes', data: () => gzipSync(randomBytes(8192)), code: 'INVALID_ARCHIVE', mentions: ['not a tar archive'] },
    {
      name: 'gzip of plain text',
      data: () => gzipSync(Buffer.from('just some text, not a tarball\n'.repeat(100))),
      code: 'INVALID_ARCHIVE',
      mentions: ['not a tar archive'],
    },
    { name: 'gzip of a short text', data: () => gzipSync('hello'), code: 'INVALID_ARCHIVE', mentions: ['not a tar archive'] },
    {
      name: 'truncated gzip stream',
      data: () => withManifest({ path: 'package/index.js', body: 'x'.repeat(5000) }).subarray(0, 40),
      code: 'INVALID_ARCHIVE',
      mentions: ['corrupt gzip data'],
    },
    {
      name: 'gzip inside gzip (would bypass the output limit)',
      data: () => gzipSync(withManifest()),
      code: 'INVALID_ARCHIVE',
      mentions: ['not a tar archive', 'twice'],
    },
    {
      name: 'tar truncated inside an entry',
      data: () => gzipSync(rawTar([manifestEntry, { path: 'package/index.js', body: 'x'.repeat(100), size: 4000 }], { terminate: false })),
      code: 'INVALID_ARCHIVE',
      mentions: ['package/index.js', /truncated/i],
    },
    {
      name: 'garbage after a valid entry',
      data: () => gzipSync(Buffer.concat([rawTar([manifestEntry], { terminate: false }), randomBytes(1024)])),
      code: 'INVALID_ARCHIVE',
      mentions: ['corrupt tar archive after entry "package/package.json"'],
    },
    // Paths
    { name: 'parent traversal ../x', data: () => withManifest({ path: '../x', body: 'x' }), code: 'UNSAFE_ARCHIVE', mentions: ['"../x"', '".."'] },
    {
      name: 'traversal inside the package folder',
      data: () => withManifest({ path: 'package/lib/../../../etc/cron.d/x', body: 'x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/lib/../../../etc/cron.d/x"'],
    },
    { name: 'absolute path /etc/passwd', data: () => withManifest({ path: '/etc/passwd', body: 'root' }), code: 'UNSAFE_ARCHIVE', mentions: ['"/etc/passwd"', 'absolute'] },
    {
      name: 'backslash traversal package\\..\\..\\x',
      data: () => withManifest({ path: 'package\\..\\..\\x', body: 'x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package\\..\\..\\x"'],
    },
    { name: 'windows drive path C:\\x', data: () => withManifest({ path: 'C:\\evil.js', body: 'x' }), code: 'UNSAFE_ARCHIVE', mentions: ['"C:\\evil.js"', 'absolute'] },
    { name: 'UNC path \\\\host\\share', data: () => withManifest({ path: '\\\\host\\share\\x', body: 'x' }), code: 'UNSAFE_ARCHIVE', mentions: ['absolute'] },
    {
      name: 'NUL byte hidden in a pax path',
      data: () => withManifest(pax({ path: 'package/index.js\0.txt' }), { path: 'package/placeholder', body: 'x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['NUL', 'package/package.json'],
    },
    {
      name: 'path deeper than the limit',
      data: () => withManifest({ path: `package/${'d/'.repeat(64)}f.js`, body: 'x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['package/d/d/d', '66 levels deep', 'limit 64'],
    },
    {
      name: 'more entries than maxFiles',
      data: () => withManifest(...Array.from({ length: 5 }, (_, i) => ({ path: `package/f${i}.js`, body: 'x' }))),
      limits: { maxFiles: 4 },
      code: 'UNSAFE_ARCHIVE',
      mentions: ['more than 4 entries', '"package/f3.js"'],
    },
    {
      name: 'two top-level folders with package.json',
      data: () => withManifest({ path: 'evil/package.json', body: '{"name":"demo","version":"1.0.0","scripts":{"install":"x"}}' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/package.json"', '"evil/package.json"', 'both install to "package.json"'],
    },
    {
      name: 'the same file twice',
      data: () => withManifest({ path: 'package/index.js', body: 'good' }, { path: 'package/index.js', body: 'evil' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/index.js"'],
    },
    // Special files
    { name: 'fifo', data: () => withManifest({ path: 'package/pipe', type: 'FIFO' }), code: 'UNSAFE_ARCHIVE', mentions: ['"package/pipe"', 'FIFO'] },
    { name: 'character device', data: () => withManifest({ path: 'package/tty', type: 'CharacterDevice' }), code: 'UNSAFE_ARCHIVE', mentions: ['"package/tty"', 'CharacterDevice'] },
    { name: 'block device', data: () => withManifest({ path: 'package/sda', type: 'BlockDevice' }), code: 'UNSAFE_ARCHIVE', mentions: ['"package/sda"', 'BlockDevice'] },
    { name: 'unsupported entry type', data: () => withManifest({ path: 'package/sparse', type: 'SparseFile' }), code: 'UNSAFE_ARCHIVE', mentions: ['"package/sparse"', 'SparseFile'] },
    // Links
    {
      name: 'symlink to ../../x',
      data: () => withManifest({ path: 'package/lib/link', type: 'SymbolicLink', linkpath: '../../x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/lib/link"', '"../../x"', 'outside the package'],
    },
    {
      name: 'symlink to the parent of the package folder',
      data: () => withManifest({ path: 'package/up', type: 'SymbolicLink', linkpath: '..' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/up"', 'outside the package'],
    },
    {
      name: 'absolute symlink',
      data: () => withManifest({ path: 'package/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/passwd"', '"/etc/passwd"', 'absolute'],
    },
    {
      name: 'symlink with a backslash traversal target',
      data: () => withManifest({ path: 'package/win', type: 'SymbolicLink', linkpath: '..\\..\\x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/win"', 'outside the package'],
    },
    {
      name: 'symlink chain that only escapes when followed',
      data: () =>
        withManifest(
          { path: 'package/sub/self', type: 'SymbolicLink', linkpath: '.' },
          { path: 'package/escape', type: 'SymbolicLink', linkpath: 'sub/self/../..' },
        ),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/escape"', 'outside the package'],
    },
    {
      name: 'symlink loop',
      data: () =>
        withManifest({ path: 'package/a', type: 'SymbolicLink', linkpath: 'b' }, { path: 'package/b', type: 'SymbolicLink', linkpath: 'a' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/a"', 'loops'],
    },
    {
      name: 'file written through a symlinked folder',
      data: () =>
        withManifest({ path: 'package/dir', type: 'SymbolicLink', linkpath: 'lib' }, { path: 'package/dir/index.js', body: 'x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"dir/index.js"', 'inside the symlink "dir"'],
    },
    {
      name: 'symlink at the archive top level',
      data: () => withManifest({ path: 'package2', type: 'SymbolicLink', linkpath: 'package' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package2"', 'top level'],
    },
    {
      name: 'hardlink to /etc/shadow',
      data: () => withManifest({ path: 'package/shadow', type: 'Link', linkpath: '/etc/shadow' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/shadow"', '"/etc/shadow"', 'absolute'],
    },
    {
      name: 'hardlink with a .. target',
      data: () => withManifest({ path: 'package/h', type: 'Link', linkpath: 'package/../../x' }),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['"package/h"', '".."'],
    },
    {
      name: 'hardlink through a symlink loop',
      data: () =>
        withManifest(
          { path: 'package/a', type: 'SymbolicLink', linkpath: 'b/x' },
          { path: 'package/b', type: 'SymbolicLink', linkpath: 'a/y' },
          { path: 'package/h', type: 'Link', linkpath: 'package/a/z' },
        ),
      code: 'UNSAFE_ARCHIVE',
      mentions: ['loops through symlinks'],
    },
    // package.json
    { name: 'no package.json', data: () => tgz([{ path: 'package/index.js', body: 'x' }]), code: 'INVALID_ARCHIVE', mentions: ['no package.json'] },
    {
      name: 'package.json only at the archive root',
      data: () => tgz([{ path: 'package.json', body: '{}' }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['no package.json', 'archive root'],
    },
    {
      name: 'package.json nested one folder too deep',
      data: () => tgz([{ path: './package/package.json', body: '{}' }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['no package.json'],
    },
    {
      name: 'package.json that is not JSON',
      data: () => tgz([{ path: 'package/package.json', body: '{"name": "demo",' }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['"package/package.json"', 'not valid JSON'],
    },
    {
      name: 'package.json holding an array',
      data: () => tgz([{ path: 'package/package.json', body: '["name"]' }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['"package/package.json"', 'not an array'],
    },
    {
      name: 'package.json holding null',
      data: () => tgz([{ path: 'package/package.json', body: 'null' }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['"package/package.json"', 'not null'],
    },
    {
      name: 'package.json larger than 1 MiB',
      data: () => tgz([{ path: 'package/package.json', body: `{"name":"demo","x":"${'a'.repeat(1024 * 1024)}"}` }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['"package/package.json"', 'larger than 1048576 bytes'],
    },
    {
      name: 'package.json as a symlink to another file',
      data: () => tgz([{ path: 'package/real.json', body: '{}' }, { path: 'package/package.json', type: 'SymbolicLink', linkpath: 'real.json' }]),
      code: 'INVALID_ARCHIVE',
      mentions: ['"package/package.json"', 'not a regular file'],
    },
    // Bombs
    {
      name: 'compression ratio above the limit',
      data: () => gzipSync(rawTar([manifestEntry, { path: 'package/zeros', body: Buffer.alloc(4 * 1024 * 1024) }])),
      limits: { ratioGraceBytes: 1024 * 1024 },
      code: 'UNSAFE_ARCHIVE',
      mentions: ['decompresses to more than', 'compression ratio above 200:1'],
    },
    {
      name: 'unpacked size above maxUnpackedBytes',
      data: () => withManifest({ path: 'package/big.js', body: randomBytes(64 * 1024) }),
      limits: { maxUnpackedBytes: 32 * 1024 },
      code: 'UNSAFE_ARCHIVE',
      mentions: ['decompresses to more than 32768 bytes'],
    },
  ];

  for (const testCase of cases) {
    it(testCase.name, () => expectError(testCase.data(), testCase.code, ...testCase.mentions)(testCase.limits));
  }

  it('gzip bomb: 300 MiB of zeros with the default limits', () => {
    // gzip members may be concatenated (RFC 1952 §2.2): one small member repeated is a cheap bomb.
    const zeros = gzipSync(Buffer.alloc(1024 * 1024));
    const bomb = Buffer.concat([gzipSync(rawTar([manifestEntry], { terminate: false })), ...Array<Buffer>(300).fill(zeros)]);
    assert.ok(bomb.length < 1024 * 1024, 'the bomb itself stays small');
    expectError(bomb, 'UNSAFE_ARCHIVE', 'decompresses to more than', 'decompression bomb')();
  });

  it('escapes control characters in entry names', () => {
    expectError(withManifest({ path: '/tmp/\u001b[31mred', body: 'x' }), 'UNSAFE_ARCHIVE', '\\x1b[31mred')();
  });
});

describe('readNpmTarball: well-formed packages', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockade-tarball-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function packDir(root: string, top: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of create({ gzip: true, cwd: root, portable: true }, [top])) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('reads a package made by tar.create with nested folders and a symlink inside', async () => {
    const root = join(dir, 'normal');
    await mkdir(join(root, 'package/lib/deep/er'), { recursive: true });
    await writeFile(join(root, 'package/package.json'), '\uFEFF{"name":"demo","version":"1.2.3","main":"lib/index.js"}');
    await writeFile(join(root, 'package/lib/index.js'), 'module.exports = 1;\n');
    await writeFile(join(root, 'package/lib/deep/er/x.js'), 'x');
    await writeFile(join(root, 'package/README.md'), '# Demo\n');
    await writeFile(join(root, 'package/readme.txt'), 'plain');
    await symlink('lib/index.js', join(root, 'package/entry.js'));
    await symlink('../index.js', join(root, 'package/lib/deep/up.js'));
    const tarball = await packDir(root, 'package');

    const contents = readNpmTarball(tarball);
    assert.deepEqual(contents.manifest, { name: 'demo', version: '1.2.3', main: 'lib/index.js' });
    assert.equal(contents.readme, '# Demo\n');
    const byPath = new Map(contents.files.map((f) => [f.path, f]));
    assert.equal(byPath.get('lib/deep/er/x.js')?.type, 'file');
    assert.equal(byPath.get('lib/deep')?.type, 'directory');
    assert.equal(byPath.get('entry.js')?.type, 'symlink');
    assert.equal(byPath.get('lib/deep/up.js')?.type, 'symlink');
    assert.ok(!byPath.has(''), 'the top folder itself is not listed');
    const regular = contents.files.filter((f) => f.type === 'file');
    assert.equal(contents.fileCount, regular.length);
    assert.equal(contents.fileCount, 5);
    assert.equal(contents.unpackedSize, regular.reduce((sum, f) => sum + f.size, 0));
  });

  it('accepts a top folder other than package/ (npm strips whatever comes first)', async () => {
    const root = join(dir, 'other-top');
    await mkdir(join(root, 'node-demo'), { recursive: true });
    await writeFile(join(root, 'node-demo/package.json'), '{"name":"demo","version":"0.1.0"}');
    const contents = readNpmTarball(await packDir(root, 'node-demo'));
    assert.equal(contents.manifest.version, '0.1.0');
    assert.deepEqual(
      contents.files.map((f) => f.path),
      ['package.json'],
    );
  });

  it('accepts long paths carried in pax headers', async () => {
    const root = join(dir, 'long');
    const longDir = join(root, 'package', ...Array.from({ length: 12 }, (_, i) => `segment-number-${i}`));
    await mkdir(longDir, { recursive: true });
    await writeFile(join(root, 'package/package.json'), '{"name":"demo","version":"1.0.0"}');
    await writeFile(join(longDir, 'file.js'), 'x');
    const contents = readNpmTarball(await packDir(root, 'package'));
    assert.ok(contents.files.some((f) => f.path.endsWith('segment-number-11/file.js')));
  });

  it('accepts internal symlinks and hardlinks written by hand', () => {
    const contents = readNpmTarball(
      withManifest(
        { path: 'package/lib/a.js', body: 'a' },
        { path: 'package/lib/alias.js', type: 'SymbolicLink', linkpath: './a.js' },
        { path: 'package/lib/sibling', type: 'SymbolicLink', linkpath: '../lib/a.js' },
        { path: 'package/hard.js', type: 'Link', linkpath: 'package/lib/a.js' },
      ),
    );
    assert.deepEqual(
      contents.files.map((f) => [f.path, f.type]),
      [
        ['package.json', 'file'],
        ['lib/a.js', 'file'],
        ['lib/alias.js', 'symlink'],
        ['lib/sibling', 'symlink'],
        ['hard.js', 'link'],
      ],
    );
    assert.equal(contents.fileCount, 2);
  });

  it('prefers a markdown README and cuts it at maxReadmeBytes', () => {
    const contents = readNpmTarball(
      withManifest(
        { path: 'package/README', body: 'plain readme' },
        { path: 'package/ReadMe.markdown', body: 'é'.repeat(100) },
        { path: 'package/docs/README.md', body: 'not at the root' },
      ),
      { maxReadmeBytes: 51 },
    );
    assert.equal(contents.readme, 'é'.repeat(25));
  });

  it('falls back to a bare README and leaves readme unset when there is none', () => {
    assert.equal(readNpmTarball(withManifest({ path: 'package/readme', body: 'bare' })).readme, 'bare');
    assert.equal(readNpmTarball(withManifest({ path: 'package/index.js', body: 'x' })).readme, undefined);
  });

  it('keeps the mode of each entry', () => {
    const contents = readNpmTarball(withManifest({ path: 'package/bin/cli.js', body: '#!/usr/bin/env node' }));
    assert.equal(contents.files.find((f) => f.path === 'bin/cli.js')?.mode, 0o644);
  });
});
