import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isStockadeError } from '../../../src/errors.js';
import { decompressPayload, readCpio } from '../../../src/formats/rpm/cpio.js';
import { readRpmLayout } from '../../../src/formats/rpm/header.js';
import { parseEvr, parseRpm, readRpmPayload, type RpmDependency, type RpmPackage } from '../../../src/formats/rpm/package.js';
import { RpmType, Tag } from '../../../src/formats/rpm/tags.js';
import { buildRpm, readRpm, rpmQuery, type FixtureSpec } from './build-rpm.js';
import { expectCode as expectCodeAsync } from '../../helpers/expect-code.js';

function expectCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), `not a StockadeError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}

const TOOL_SCRIPT = '#!/bin/sh\necho "tool $@"\n';
const CONF = 'setting = 1\n';

const demoSpec: FixtureSpec = {
  name: 'demo',
  version: '1.2.3',
  release: '4.el9',
  epoch: 2,
  arch: 'noarch',
  summary: 'Demo package for the parser',
  description: 'A longer description.\nOn two lines.',
  license: 'MIT AND Apache-2.0',
  url: 'http://example.test/demo',
  vendor: 'Stockade Tests',
  packager: 'Tester <tester@example.test>',
  group: 'Development/Tools',
  requires: ['bash >= 4.0', 'coreutils', 'glibc < 3:2.40-1', 'zlib = 1.2.13'],
  requiresPre: ['shadow-utils'],
  provides: ['demo-virtual = 1.2', 'demo-cli'],
  conflicts: ['evil < 2:1.0-1'],
  obsoletes: ['olddemo <= 1.0', 'ancient > 0.1'],
  recommends: ['less'],
  suggests: ['vim >= 9'],
  supplements: ['bash'],
  enhances: ['coreutils'],
  files: [
    { path: '/usr/bin/demo-tool', content: TOOL_SCRIPT, mode: 0o4755 },
    { path: '/usr/bin/demo-link', symlink: 'demo-tool' },
    { path: '/etc/demo.conf', content: CONF, mode: 0o640, config: 'noreplace' },
    { path: '/etc/demo-plain.conf', content: 'plain\n', config: true },
    { path: '/usr/share/doc/demo/README', content: 'read me\n', doc: true },
    { path: '/var/lib/demo', directory: true, mode: 0o750 },
    { path: '/var/log/demo.log', ghost: true, mode: 0o600 },
  ],
  scripts: {
    pretrans: { body: 'print("pretrans")', program: '<lua>' },
    pre: 'getent group demo >/dev/null || groupadd -r demo',
    post: { body: 'echo post "$1"', program: '/bin/sh' },
    preun: 'echo preun',
    postun: 'echo postun',
    posttrans: 'echo posttrans',
  },
  triggers: [
    { kind: 'triggerin', on: 'bash >= 3.0', body: 'echo bash changed' },
    { kind: 'triggerun', on: 'coreutils', body: 'print("gone")', program: '<lua>' },
  ],
  compressor: 'zstd',
};

let workDir: string;
const built: Record<'demo' | 'arch' | 'xz' | 'gzip', { path: string; data: Buffer; pkg: RpmPackage }> = {} as never;
const bombs: Record<'gzip' | 'xz' | 'zstd', Buffer> = {} as never;

function load(path: string): { path: string; data: Buffer; pkg: RpmPackage } {
  const data = readRpm(path);
  return { path, data, pkg: parseRpm(data) };
}

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'stockade-rpm-'));
  built.demo = load(buildRpm(demoSpec, workDir));
  built.arch = load(
    buildRpm(
      {
        name: 'archpkg',
        version: '0.9',
        release: '1',
        arch: 'x86_64',
        requires: ['libc.so.6()(64bit)'],
        files: [{ path: '/usr/lib64/archpkg/data.bin', content: Buffer.from([0, 1, 2, 3, 255]) }],
        scripts: { post: '/sbin/ldconfig' },
        compressor: 'gzip',
      },
      workDir,
    ),
  );
  built.xz = load(
    buildRpm(
      {
        name: 'xzpkg',
        version: '3.0',
        release: '2',
        files: [
          { path: '/opt/xzpkg/hello.txt', content: 'hello from xz\n' },
          { path: '/opt/xzpkg/bin/run', content: TOOL_SCRIPT, mode: 0o2755, group: 'daemon' },
        ],
        compressor: 'xz',
      },
      workDir,
    ),
  );
  built.gzip = load(
    buildRpm({ name: 'gzpkg', version: '1', release: '1', files: [{ path: '/opt/gz/a.txt', content: 'gz\n' }], compressor: 'gzip' }, workDir),
  );
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (const compressor of ['gzip', 'xz', 'zstd'] as const) {
    const path = buildRpm(
      { name: `bomb-${compressor}`, version: '1', release: '1', files: [{ path: '/opt/bomb/zeros', content: zeros }], compressor },
      workDir,
    );
    bombs[compressor] = readRpm(path);
  }
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const NONE = '(none)';
const orNone = (value: string | number | null): string => (value === null ? NONE : String(value));

function evr(dep: RpmDependency): string {
  if (dep.version === null) return '';
  return `${dep.epoch === null ? '' : `${dep.epoch}:`}${dep.version}${dep.release === null ? '' : `-${dep.release}`}`;
}

describe('parseRpm against rpm -qp --queryformat', () => {
  const scalarTags = [
    'NAME', 'EPOCH', 'VERSION', 'RELEASE', 'ARCH', 'OS', 'SUMMARY', 'LICENSE', 'VENDOR', 'PACKAGER', 'URL', 'GROUP',
    'BUILDHOST', 'BUILDTIME', 'SOURCERPM', 'PAYLOADFORMAT', 'PAYLOADCOMPRESSOR', 'PAYLOADFLAGS', 'SIZE',
  ];
  const scalars = (pkg: RpmPackage): string[] => [
    pkg.name, orNone(pkg.epoch), pkg.version, pkg.release, pkg.arch, orNone(pkg.os), orNone(pkg.summary), orNone(pkg.license),
    orNone(pkg.vendor), orNone(pkg.packager), orNone(pkg.url), orNone(pkg.group), orNone(pkg.buildHost), orNone(pkg.buildTime),
    orNone(pkg.sourceRpm), pkg.payload.format, pkg.payload.compressor, orNone(pkg.payload.flags), orNone(pkg.installedSize),
  ];

  for (const key of ['demo', 'arch', 'xz', 'gzip'] as const) {
    it(`${key}: identity, descriptive fields, payload tags`, () => {
      const { path, pkg } = built[key];
      const expected = rpmQuery(path, scalarTags.map((t) => `%{${t}}`).join('\x1f')).split('\x1f');
      assert.deepEqual(scalars(pkg), expected);
      assert.equal(pkg.description, rpmQuery(path, '%{DESCRIPTION}'));
      assert.equal(pkg.isSource, false);
    });

    it(`${key}: every dependency kind with flags and versions`, () => {
      const { path, pkg } = built[key];
      const kinds = [
        ['REQUIRE', pkg.requires], ['PROVIDE', pkg.provides], ['CONFLICT', pkg.conflicts], ['OBSOLETE', pkg.obsoletes],
        ['RECOMMEND', pkg.recommends], ['SUGGEST', pkg.suggests], ['SUPPLEMENT', pkg.supplements], ['ENHANCE', pkg.enhances],
      ] as const;
      for (const [tag, deps] of kinds) {
        const expected = rpmQuery(path, `[%{${tag}NAME}\t%{${tag}FLAGS}\t%{${tag}VERSION}\n]`);
        const actual = deps.map((d) => `${d.name}\t${d.rawFlags}\t${evr(d)}\n`).join('');
        assert.equal(actual, expected, tag);
      }
    });

    it(`${key}: file list with modes, sizes, owners, links, digests, flags`, () => {
      const { path, pkg } = built[key];
      const expected = rpmQuery(
        path,
        '[%{FILENAMES}\t%{FILEMODES}\t%{FILESIZES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILELINKTOS}\t%{FILEDIGESTS}\t%{FILEFLAGS}\n]',
      );
      const actual = pkg.files
        .map((f) => [f.path, f.mode, f.size, f.user, f.group, f.linkTarget ?? '', f.digest ?? '', f.flags.raw].join('\t') + '\n')
        .join('');
      assert.equal(actual, expected);
      assert.equal(pkg.fileDigestAlgorithm, { '8': 'sha256', '1': 'md5' }[rpmQuery(path, '%{FILEDIGESTALGO}')]);
    });

    it(`${key}: scriptlets and their interpreters`, () => {
      const { path, pkg } = built[key];
      const names = [
        ['pretrans', 'PRETRANS'], ['pre', 'PREIN'], ['post', 'POSTIN'], ['preun', 'PREUN'], ['postun', 'POSTUN'], ['posttrans', 'POSTTRANS'],
      ] as const;
      for (const [field, tag] of names) {
        const [body, program] = rpmQuery(path, `%{${tag}}\x1f%{${tag}PROG}`).split('\x1f');
        const script = pkg.scripts[field];
        if (body === NONE && program === NONE) {
          assert.equal(script, undefined, field);
          continue;
        }
        assert.deepEqual(script, { body: body === NONE ? '' : body, program: program === NONE ? null : program }, field);
      }
    });

    it(`${key}: triggers`, () => {
      const { path, pkg } = built[key];
      const conditions = rpmQuery(path, '[%{TRIGGERNAME}\t%{TRIGGERFLAGS}\t%{TRIGGERVERSION}\t%{TRIGGERINDEX}\n]');
      const actualConditions = pkg.triggers
        .flatMap((t, index) => t.conditions.map((c) => `${c.name}\t${c.rawFlags}\t${evr(c)}\t${index}\n`))
        .join('');
      assert.equal(actualConditions, conditions);
      const scripts = rpmQuery(path, '[%{TRIGGERSCRIPTS}\x1e%{TRIGGERSCRIPTPROG}\x1f]');
      assert.equal(pkg.triggers.map((t) => `${t.body}\x1e${t.program}\x1f`).join(''), scripts);
    });

    it(`${key}: header range, digests and checksum`, () => {
      const { path, data, pkg } = built[key];
      const [sigSize, sha256Header, payloadDigest] = rpmQuery(path, '%{SIGSIZE}\x1f%{SHA256HEADER}\x1f%{PAYLOADDIGEST}').split('\x1f');
      // rpm 4.18 has no HEADERRANGE tag; SIGSIZE counts header + payload, so it pins the start,
      // and rpm's own header/payload digests over our ranges pin the end.
      assert.equal(pkg.headerRange.start, data.length - Number(sigSize));
      assert.equal(createHash('sha256').update(data.subarray(pkg.headerRange.start, pkg.headerRange.end)).digest('hex'), sha256Header);
      assert.equal(pkg.payload.offset, pkg.headerRange.end);
      assert.equal(pkg.payload.digest?.value, payloadDigest);
      assert.equal(createHash('sha256').update(data.subarray(pkg.payload.offset)).digest('hex'), payloadDigest);
      assert.equal(pkg.checksums.sha256, createHash('sha256').update(data).digest('hex'));
      assert.deepEqual(pkg.verifiedDigests, ['size', 'header-sha256', 'header-sha1', 'payload-sha256', 'md5']);
      assert.equal(pkg.signed, false);
    });
  }

  it('decodes what the demo spec declared', () => {
    const { pkg } = built.demo;
    assert.equal(pkg.epoch, 2);
    const glibc = pkg.requires.find((d) => d.name === 'glibc');
    assert.deepEqual(glibc, { name: 'glibc', flags: 'LT', pre: false, rawFlags: 2, epoch: 3, version: '2.40', release: '1' });
    assert.equal(pkg.requires.find((d) => d.name === 'bash')?.flags, 'GE');
    assert.equal(pkg.requires.find((d) => d.name === 'zlib')?.flags, 'EQ');
    assert.equal(pkg.requires.find((d) => d.name === 'coreutils')?.flags, null);
    assert.equal(pkg.requires.find((d) => d.name === 'shadow-utils')?.pre, true);
    assert.ok(pkg.requires.filter((d) => d.name.startsWith('rpmlib(')).every((d) => d.pre && d.flags === 'LE'));
    assert.equal(pkg.obsoletes.find((d) => d.name === 'olddemo')?.flags, 'LE');
    assert.equal(pkg.obsoletes.find((d) => d.name === 'ancient')?.flags, 'GT');
    assert.deepEqual(pkg.conflicts[0], { name: 'evil', flags: 'LT', pre: false, rawFlags: 2, epoch: 2, version: '1.0', release: '1' });

    const file = (p: string) => pkg.files.find((f) => f.path === p);
    assert.equal(file('/usr/bin/demo-tool')?.mode, 0o104755);
    assert.equal(file('/usr/bin/demo-tool')?.digest, createHash('sha256').update(TOOL_SCRIPT).digest('hex'));
    assert.equal(file('/usr/bin/demo-link')?.linkTarget, 'demo-tool');
    assert.equal(file('/usr/bin/demo-link')?.mode, 0o120777);
    assert.deepEqual(
      { config: file('/etc/demo.conf')?.flags.config, noreplace: file('/etc/demo.conf')?.flags.noreplace, mode: file('/etc/demo.conf')?.mode },
      { config: true, noreplace: true, mode: 0o100640 },
    );
    assert.equal(file('/etc/demo-plain.conf')?.flags.noreplace, false);
    assert.equal(file('/usr/share/doc/demo/README')?.flags.doc, true);
    assert.equal(file('/var/log/demo.log')?.flags.ghost, true);
    assert.equal(file('/var/lib/demo')?.mode, 0o40750);

    assert.deepEqual(pkg.scripts.pretrans, { body: 'print("pretrans")', program: '<lua>' });
    assert.deepEqual(pkg.scripts.pre, { body: 'getent group demo >/dev/null || groupadd -r demo', program: '/bin/sh' });
    assert.deepEqual(pkg.scripts.post, { body: 'echo post "$1"', program: '/bin/sh' });
    assert.deepEqual(
      pkg.triggers.map((t) => ({ event: t.event, on: t.conditions.map((c) => `${c.name} ${c.flags ?? ''} ${c.version ?? ''}`), program: t.program })),
      [
        { event: 'in', on: ['bash GE 3.0'], program: '/bin/sh' },
        { event: 'un', on: ['coreutils  '], program: '<lua>' },
      ],
    );
  });

  it('reads the x86_64 build as an arch package without epoch', () => {
    const { pkg } = built.arch;
    assert.equal(pkg.arch, 'x86_64');
    assert.equal(pkg.epoch, null);
    assert.equal(pkg.payload.compressor, 'gzip');
  });

  it('parseEvr follows rpm: digits before ":" are the epoch, the last "-" starts the release', () => {
    assert.deepEqual(parseEvr('1:2.3-4.el9'), { epoch: 1, version: '2.3', release: '4.el9' });
    assert.deepEqual(parseEvr('2.3'), { epoch: null, version: '2.3', release: null });
    assert.deepEqual(parseEvr('a:1-2-3'), { epoch: null, version: 'a:1-2', release: '3' });
    assert.deepEqual(parseEvr(''), { epoch: null, version: null, release: null });
  });
});

describe('readRpmPayload', () => {
  for (const key of ['demo', 'arch', 'xz', 'gzip'] as const) {
    it(`${key}: payload entries match the header and bodies match the file digests`, async () => {
      const { data, pkg } = built[key];
      const { entries, view } = await readRpmPayload(data, pkg);
      const inPayload = pkg.files.filter((f) => !f.flags.ghost);
      assert.deepEqual(entries.map((e) => e.path).sort(), inPayload.map((f) => f.path).sort());
      for (const file of inPayload) {
        const entry = view.get(file.path.slice(1));
        assert.ok(entry, file.path);
        assert.equal(entry.mode, file.mode, file.path);
        if (file.digest !== null) {
          assert.equal(createHash(pkg.fileDigestAlgorithm).update(view.read(entry.path) ?? '').digest('hex'), file.digest, file.path);
          assert.equal(entry.size, file.size);
        }
        if (file.linkTarget !== null) assert.equal(entry.linkTarget, file.linkTarget);
      }
    });
  }

  it('gives the gate the setuid tool, the symlink and text bodies', async () => {
    const { view } = await readRpmPayload(built.demo.data, built.demo.pkg);
    assert.equal(view.text('usr/bin/demo-tool'), TOOL_SCRIPT);
    assert.equal(view.get('usr/bin/demo-tool')?.mode, 0o104755);
    assert.equal(view.get('usr/bin/demo-link')?.type, 'symlink');
    assert.equal(view.text('etc/demo.conf'), CONF);
    assert.equal(view.get('var/lib/demo')?.type, 'directory');
    assert.equal(view.get('var/log/demo.log'), undefined);
    const xz = await readRpmPayload(built.xz.data, built.xz.pkg);
    assert.equal(xz.view.text('opt/xzpkg/hello.txt'), 'hello from xz\n');
    assert.equal(xz.view.get('opt/xzpkg/bin/run')?.mode, 0o102755);
  });

  it('keeps bodies only within the view budget', async () => {
    const { view } = await readRpmPayload(built.demo.data, built.demo.pkg, { view: { maxFileBytes: 10 } });
    assert.equal(view.read('usr/bin/demo-tool'), undefined);
    assert.equal(view.get('usr/bin/demo-tool')?.kept, false);
    assert.equal(view.text('usr/share/doc/demo/README'), 'read me\n');
  });

  for (const compressor of ['gzip', 'xz', 'zstd'] as const) {
    it(`stops a ${compressor} payload bomb at the budget (UNSAFE_ARCHIVE)`, async () => {
      const data = bombs[compressor];
      const pkg = parseRpm(data);
      assert.equal(pkg.payload.compressor, compressor);
      assert.ok(data.length < 64 * 1024, `${compressor} bomb is ${data.length} bytes`);
      await expectCodeAsync(() => readRpmPayload(data, pkg, { limits: { ratioGraceBytes: 1024 * 1024 } }), 'UNSAFE_ARCHIVE', 'decompression bomb');
      await expectCodeAsync(() => readRpmPayload(data, pkg, { limits: { maxUnpackedBytes: 2 * 1024 * 1024 } }), 'UNSAFE_ARCHIVE', 'limit');
      // Within the default budget the same package is fine.
      const { view } = await readRpmPayload(data, pkg);
      assert.equal(view.get('opt/bomb/zeros')?.size, 4 * 1024 * 1024);
    });
  }

  it('verifies the SHA-256 block checks rpm writes into xz payloads', async () => {
    const { data, pkg } = built.xz;
    const compressed = data.subarray(pkg.payload.offset);
    const archive = await decompressPayload(compressed, 'xz');
    assert.equal(archive.subarray(0, 6).toString('latin1'), '070701');
    // rpm's xz streams carry one block whose check is the SHA-256 of the cpio archive.
    const checkAt = compressed.indexOf(createHash('sha256').update(archive).digest());
    assert.ok(checkAt > 0, 'the SHA-256 block check is in the stream');
    const damaged = Buffer.from(compressed);
    damaged[checkAt] = (damaged[checkAt] ?? 0) ^ 1;
    await expectCodeAsync(() => decompressPayload(damaged, 'xz'), 'INVALID_ARCHIVE', 'SHA-256 check of block 0 does not match');
    const noFooter = Buffer.from(compressed);
    noFooter[noFooter.length - 1] = 0x21;
    await expectCodeAsync(() => decompressPayload(noFooter, 'xz'), 'INVALID_ARCHIVE', 'corrupt xz payload');
  });

  it('refuses a zstd frame that declares a huge window before allocating it', async () => {
    // Frame header: magic, descriptor (no single segment), window byte 2^41, then an empty last raw block.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00]);
    await expectCodeAsync(() => decompressPayload(frame, 'zstd'), 'UNSAFE_ARCHIVE', 'more than');
  });

  it('refuses payloads whose compression does not match the header, or an unknown compressor', async () => {
    const { data, pkg } = built.gzip;
    await expectCodeAsync(() => readRpmPayload(data, { ...pkg, payload: { ...pkg.payload, compressor: 'xz' } }), 'INVALID_ARCHIVE', 'not xz-compressed');
    await expectCodeAsync(() => readRpmPayload(data, { ...pkg, payload: { ...pkg.payload, compressor: 'bzip2' } }), 'INVALID_ARCHIVE', 'unsupported payload compressor');
    const corrupt = Buffer.from(data.subarray(pkg.payload.offset));
    corrupt.fill(0x55, 20);
    await expectCodeAsync(() => decompressPayload(corrupt, 'gzip'), 'INVALID_ARCHIVE', 'corrupt gzip payload');
  });

  it('refuses payload entries the header does not list or lists with another file type', async () => {
    const { pkg } = built.gzip;
    const withPayload = (archive: Buffer) => ({ data: gzipSync(archive), pkg: { ...pkg, payload: { ...pkg.payload, offset: 0 } } });
    const extra = withPayload(cpio([{ name: './opt/gz/a.txt', body: 'gz\n' }, { name: './etc/cron.d/evil', body: '* * * * * root sh' }]));
    await expectCodeAsync(() => readRpmPayload(extra.data, extra.pkg), 'INVALID_ARCHIVE', 'not in the header', 'cron.d/evil');
    const retyped = withPayload(cpio([{ name: './opt/gz/a.txt', body: '/etc/shadow', mode: 0o120777 }]));
    await expectCodeAsync(() => readRpmPayload(retyped.data, retyped.pkg), 'INVALID_ARCHIVE', 'file type');
  });
});

interface CpioInput {
  name: string;
  body?: string;
  mode?: number;
  ino?: number;
  nlink?: number;
  nameSize?: number;
  magic?: string;
}

/** A newc archive written by hand, so every field can be made hostile. */
function cpio(entries: CpioInput[], trailer = true): Buffer {
  const parts: Buffer[] = [];
  const pad = (length: number) => Buffer.alloc((4 - (length % 4)) % 4);
  const all = trailer ? [...entries, { name: 'TRAILER!!!', mode: 0 }] : entries;
  all.forEach((entry, i) => {
    const name = Buffer.from(`${entry.name}\0`, 'utf8');
    const body = Buffer.from(entry.body ?? '', 'utf8');
    const fields = [entry.ino ?? i + 1, entry.mode ?? 0o100644, 0, 0, entry.nlink ?? 1, 0, body.length, 0, 0, 0, 0, entry.nameSize ?? name.length, 0];
    const header = Buffer.from((entry.magic ?? '070701') + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1');
    parts.push(header, name, pad(header.length + name.length), body, pad(body.length));
  });
  return Buffer.concat(parts);
}

describe('readCpio on hostile archives', () => {
  it('reads a well-formed archive', () => {
    const entries = readCpio(cpio([{ name: './usr/bin/x', body: 'abc' }, { name: './usr/lib', mode: 0o40755 }, { name: './usr/bin/y', body: 'x', mode: 0o120777 }]));
    assert.deepEqual(entries.map((e) => [e.path, e.type, e.body.toString()]), [
      ['usr/bin/x', 'file', 'abc'],
      ['usr/lib', 'directory', ''],
      ['usr/bin/y', 'symlink', 'x'],
    ]);
  });

  const cases: [string, Buffer, string, string][] = [
    ['".." traversal', cpio([{ name: './usr/../../etc/passwd', body: 'x' }]), 'UNSAFE_ARCHIVE', '".." path segment'],
    ['absolute path', cpio([{ name: '/etc/passwd', body: 'x' }]), 'UNSAFE_ARCHIVE', 'absolute path'],
    ['NUL in a name', cpio([{ name: './usr/bin/a\0b', body: 'x' }]), 'UNSAFE_ARCHIVE', 'NUL byte'],
    ['duplicate path', cpio([{ name: './a', body: '1' }, { name: 'a', body: '2' }]), 'UNSAFE_ARCHIVE', 'twice'],
    ['no trailer', cpio([{ name: './a', body: '1' }], false), 'INVALID_ARCHIVE', 'TRAILER!!!'],
    ['old binary cpio magic', cpio([{ name: './a', magic: '070707' }]), 'INVALID_ARCHIVE', 'unsupported cpio header'],
    ['name size 0', cpio([{ name: './a', nameSize: 0 }]), 'INVALID_ARCHIVE', 'name size of 0'],
    ['name not NUL-terminated', cpio([{ name: './abc', nameSize: 4 }]), 'INVALID_ARCHIVE', 'NUL terminator'],
    ['directory with data', cpio([{ name: './d', mode: 0o40755, body: 'x' }]), 'INVALID_ARCHIVE', 'directory with 1 bytes'],
    ['truncated body', cpio([{ name: './a', body: 'x'.repeat(100) }]).subarray(0, 150), 'INVALID_ARCHIVE', 'truncated'],
  ];
  for (const [name, archive, code, mention] of cases) {
    it(`refuses ${name}`, () => expectCode(() => readCpio(archive), code, mention));
  }

  it('refuses a malformed hex field and too many entries', () => {
    const archive = cpio([{ name: './a' }]);
    archive.write('zzzzzzzz', 6, 'latin1');
    expectCode(() => readCpio(archive), 'INVALID_ARCHIVE', 'malformed field');
    expectCode(() => readCpio(cpio([{ name: './a' }, { name: './b' }, { name: './c' }]), { maxFiles: 2 }), 'UNSAFE_ARCHIVE', 'more than 2 entries');
  });
});

interface CraftEntry {
  tag: number;
  type: number;
  data: Buffer;
  count: number;
  /** Overrides the computed offset / count in the index. */
  offset?: number;
  rawCount?: number;
}

const str = (value: string) => Buffer.from(`${value}\0`);

/** A header structure (magic, index, store) written by hand, aligning INT data as rpm does. */
function craftHeader(entries: CraftEntry[], storeSizeOverride?: number): Buffer {
  const index: Buffer[] = [];
  const store: Buffer[] = [];
  let size = 0;
  const align: Record<number, number> = { [RpmType.INT16]: 2, [RpmType.INT32]: 4, [RpmType.INT64]: 8 };
  for (const entry of entries) {
    const padding = (((align[entry.type] ?? 1) - (size % (align[entry.type] ?? 1))) % (align[entry.type] ?? 1));
    store.push(Buffer.alloc(padding));
    size += padding;
    const row = Buffer.alloc(16);
    row.writeUInt32BE(entry.tag, 0);
    row.writeUInt32BE(entry.type, 4);
    row.writeUInt32BE(entry.offset ?? size, 8);
    row.writeUInt32BE(entry.rawCount ?? entry.count, 12);
    index.push(row);
    store.push(entry.data);
    size += entry.data.length;
  }
  const preamble = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  preamble.writeUInt32BE(entries.length, 8);
  preamble.writeUInt32BE(storeSizeOverride ?? size, 12);
  return Buffer.concat([preamble, ...index, ...store]);
}

function craftRpm(headerEntries: CraftEntry[], payload = Buffer.alloc(0)): Buffer {
  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead);
  lead.write('crafted', 10, 'latin1');
  lead.writeUInt16BE(5, 78);
  const signature = craftHeader([{ tag: 1008, type: RpmType.BIN, data: Buffer.alloc(4), count: 4 }]);
  const padding = Buffer.alloc((8 - (signature.length % 8)) % 8);
  return Buffer.concat([lead, signature, padding, craftHeader(headerEntries), payload]);
}

const nevr: CraftEntry[] = [
  { tag: Tag.NAME, type: RpmType.STRING, data: str('crafted'), count: 1 },
  { tag: Tag.VERSION, type: RpmType.STRING, data: str('1'), count: 1 },
  { tag: Tag.RELEASE, type: RpmType.STRING, data: str('1'), count: 1 },
];

describe('parseRpm on hostile input', () => {
  it('accepts a minimal hand-written package (the crafted baseline is valid)', () => {
    const pkg = parseRpm(craftRpm(nevr));
    assert.equal(pkg.name, 'crafted');
    assert.deepEqual(pkg.verifiedDigests, []);
    assert.deepEqual(pkg.files, []);
  });

  it('reports truncation at every part of the file', () => {
    const { data } = built.demo;
    const layout = readRpmLayout(data);
    const sigIndexEnd = 96 + 16 + layout.signature.entries.size * 16;
    const headerIndexEnd = layout.header.start + 16 + layout.header.entries.size * 16;
    const cuts: [number, string][] = [
      [0, 'lead magic'],
      [3, 'lead magic'],
      [50, 'truncated in the lead'],
      [100, 'signature header preamble'],
      [sigIndexEnd - 5, 'signature header index'],
      [sigIndexEnd + 10, 'signature header data store'],
      [layout.header.start - 2, 'padding after the signature header'],
      [layout.header.start + 8, 'header preamble'],
      [headerIndexEnd - 1, 'header index'],
      [layout.header.end - 1, 'header data store'],
      [layout.header.end, 'size mismatch'],
      [data.length - 1, 'size mismatch'],
    ];
    for (const [length, mention] of cuts) {
      expectCode(() => parseRpm(data.subarray(0, length)), 'INVALID_ARCHIVE', mention);
    }
  });

  it('refuses wrong magic in the lead, the signature header and the header', () => {
    const { data, pkg } = built.demo;
    const flip = (at: number) => {
      const copy = Buffer.from(data);
      copy[at] = (copy[at] ?? 0) ^ 0xff;
      return copy;
    };
    expectCode(() => parseRpm(flip(0)), 'INVALID_ARCHIVE', 'lead magic');
    expectCode(() => parseRpm(flip(96)), 'INVALID_ARCHIVE', 'bad signature header magic at offset 96');
    expectCode(() => parseRpm(flip(pkg.headerRange.start + 1)), 'INVALID_ARCHIVE', `bad header magic at offset ${pkg.headerRange.start}`);
    expectCode(() => parseRpm(Buffer.from('not an rpm at all, just some text that is long enough')), 'INVALID_ARCHIVE', 'not an RPM package');
    const badLead = Buffer.from(data);
    badLead.writeUInt16BE(1, 78);
    expectCode(() => parseRpm(badLead), 'INVALID_ARCHIVE', 'signature type 1');
  });

  it('refuses an index entry pointing outside the data store', () => {
    expectCode(
      () => parseRpm(craftRpm([...nevr, { tag: Tag.SUMMARY, type: RpmType.STRING, data: str('s'), count: 1, offset: 10_000 }])),
      'INVALID_ARCHIVE',
      'header index entry 3 (tag 1004) points outside the data store',
    );
    // The same inside a real package: redirect its NAME entry.
    const { data, pkg } = built.demo;
    const copy = Buffer.from(data);
    const layout = readRpmLayout(data);
    const position = [...layout.header.entries.keys()].indexOf(Tag.NAME);
    copy.writeUInt32BE(0x7fffffff, pkg.headerRange.start + 16 + position * 16 + 8);
    expectCode(() => parseRpm(copy), 'INVALID_ARCHIVE', 'tag 1000', 'points outside the data store');
  });

  it('refuses a string without a NUL terminator', () => {
    const entries = [...nevr, { tag: Tag.SUMMARY, type: RpmType.STRING, data: Buffer.from('no terminator'), count: 1 }];
    expectCode(() => parseRpm(craftRpm(entries)), 'INVALID_ARCHIVE', 'tag 1004', 'without a NUL terminator');
    const array = [...nevr, { tag: Tag.BASENAMES, type: RpmType.STRING_ARRAY, data: str('a'), count: 1, rawCount: 3 }];
    expectCode(() => parseRpm(craftRpm(array)), 'INVALID_ARCHIVE', 'tag 1117', 'more than fit');
  });

  it('refuses huge counts and sizes before allocating anything', () => {
    const huge = [...nevr, { tag: Tag.FILESIZES, type: RpmType.INT32, data: Buffer.alloc(4), count: 1, rawCount: 0x40000000 }];
    expectCode(() => parseRpm(craftRpm(huge)), 'INVALID_ARCHIVE', 'tag 1028', 'runs past the end of the data store');
    const manyEntries = craftRpm(nevr);
    const headerStart = manyEntries.length - craftHeader(nevr).length;
    manyEntries.writeUInt32BE(5_000_000, headerStart + 8);
    expectCode(() => parseRpm(manyEntries), 'INVALID_ARCHIVE', '5000000 index entries');
    const bigStore = craftRpm(nevr);
    bigStore.writeUInt32BE(0xfffffff0, headerStart + 12);
    expectCode(() => parseRpm(bigStore), 'INVALID_ARCHIVE', 'data store (limit');
    expectCode(() => parseRpm(craftRpm(nevr), { maxIndexEntries: 2 }), 'INVALID_ARCHIVE', '3 index entries (limit 2)');
  });

  it('refuses misaligned integers, unknown types, duplicates, overlaps and wrong types', () => {
    const misaligned = [...nevr, { tag: Tag.EPOCH, type: RpmType.INT32, data: Buffer.alloc(4), count: 1, offset: 1 }];
    expectCode(() => parseRpm(craftRpm(misaligned)), 'INVALID_ARCHIVE', 'not aligned to 4 bytes');
    const unknownType = [...nevr, { tag: Tag.EPOCH, type: 42, data: Buffer.alloc(4), count: 1 }];
    expectCode(() => parseRpm(craftRpm(unknownType)), 'INVALID_ARCHIVE', 'unknown type 42');
    const duplicate = [...nevr, { tag: Tag.NAME, type: RpmType.STRING, data: str('other'), count: 1 }];
    expectCode(() => parseRpm(craftRpm(duplicate)), 'INVALID_ARCHIVE', 'duplicates an earlier entry');
    const overlap = [...nevr, { tag: Tag.SUMMARY, type: RpmType.STRING, data: str('x'), count: 1, offset: 0 }];
    expectCode(() => parseRpm(craftRpm(overlap)), 'INVALID_ARCHIVE', 'overlaps');
    const zeroCount = [...nevr, { tag: Tag.EPOCH, type: RpmType.INT32, data: Buffer.alloc(4), count: 0 }];
    expectCode(() => parseRpm(craftRpm(zeroCount)), 'INVALID_ARCHIVE', 'count of 0');
    const wrongType = [...nevr, { tag: Tag.EPOCH, type: RpmType.STRING, data: str('1'), count: 1 }];
    expectCode(() => parseRpm(craftRpm(wrongType)), 'INVALID_ARCHIVE', 'tag 1003 has type STRING, expected an integer');
    const noName = nevr.slice(1);
    expectCode(() => parseRpm(craftRpm(noName)), 'INVALID_ARCHIVE', 'no NAME');
  });

  it('refuses inconsistent parallel arrays', () => {
    const deps = [
      ...nevr,
      { tag: Tag.REQUIREFLAGS, type: RpmType.INT32, data: Buffer.alloc(4), count: 1 },
      { tag: Tag.REQUIRENAME, type: RpmType.STRING_ARRAY, data: Buffer.concat([str('a'), str('b')]), count: 2 },
    ];
    expectCode(() => parseRpm(craftRpm(deps)), 'INVALID_ARCHIVE', 'REQUIRENAME lists 2 entries but REQUIREFLAGS has 1');
    const dirIndex = Buffer.alloc(4);
    dirIndex.writeUInt32BE(7);
    const files = [
      ...nevr,
      { tag: Tag.DIRINDEXES, type: RpmType.INT32, data: dirIndex, count: 1 },
      { tag: Tag.BASENAMES, type: RpmType.STRING_ARRAY, data: str('x'), count: 1 },
      { tag: Tag.DIRNAMES, type: RpmType.STRING_ARRAY, data: str('/usr/'), count: 1 },
    ];
    expectCode(() => parseRpm(craftRpm(files)), 'INVALID_ARCHIVE', 'directory index 7');
  });

  it('detects a corrupted header byte (header digest) and payload byte (payload digest)', () => {
    const { data, pkg } = built.demo;
    const summaryAt = data.indexOf('Demo package for the parser', pkg.headerRange.start);
    assert.ok(summaryAt > pkg.headerRange.start && summaryAt < pkg.headerRange.end);
    const header = Buffer.from(data);
    header[summaryAt] = 'X'.charCodeAt(0);
    expectCode(() => parseRpm(header), 'INVALID_ARCHIVE', 'header digest mismatch');
    const payload = Buffer.from(data);
    payload[data.length - 10] = (payload[data.length - 10] ?? 0) ^ 1;
    expectCode(() => parseRpm(payload), 'INVALID_ARCHIVE', 'payload digest mismatch');
  });

  it('throws nothing but StockadeErrors on random damage (seeded fuzz)', async () => {
    let seed = 0x5eed;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const { data, pkg } = built.gzip;
    const headerEnd = pkg.headerRange.end;
    for (let round = 0; round < 300; round++) {
      const copy = Buffer.from(data.subarray(0, round % 3 === 0 ? random(data.length) : data.length));
      for (let flips = 1 + random(4); flips > 0; flips--) {
        const at = random(Math.min(copy.length, headerEnd) || 1);
        if (at < copy.length) copy[at] = random(256);
      }
      try {
        parseRpm(copy);
      } catch (error) {
        assert.ok(isStockadeError(error), `round ${round}: ${String(error)}`);
      }
    }
    // The payload readers on damaged input: cpio from a real archive, and each decompressor.
    const archive = Buffer.from(await decompressPayload(data.subarray(pkg.payload.offset), 'gzip'));
    for (const [compressor, rpm] of [['gzip', built.gzip.data], ['xz', built.xz.data], ['zstd', built.demo.data]] as const) {
      const compressed = rpm.subarray(parseRpm(rpm).payload.offset);
      for (let round = 0; round < 40; round++) {
        const damaged = Buffer.from(compressed.subarray(0, round % 2 === 0 ? compressed.length : random(compressed.length)));
        for (let flips = random(3); flips > 0; flips--) damaged[6 + random(Math.max(1, damaged.length - 6))] = random(256);
        try {
          readCpio(await decompressPayload(damaged, compressor));
        } catch (error) {
          assert.ok(isStockadeError(error), `${compressor} round ${round}: ${String(error)}`);
        }
      }
    }
    for (let round = 0; round < 300; round++) {
      const damaged = Buffer.from(archive.subarray(0, round % 4 === 0 ? random(archive.length) : archive.length));
      damaged[random(damaged.length || 1)] = random(256);
      try {
        readCpio(damaged);
      } catch (error) {
        assert.ok(isStockadeError(error), `cpio round ${round}: ${String(error)}`);
      }
    }
  });
});
