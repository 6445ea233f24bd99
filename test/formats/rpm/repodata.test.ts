import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseRpm, type RpmPackage } from '../../../src/formats/rpm/package.js';
import {
  FILELISTS_CLOSE,
  FILELISTS_OPEN,
  filelistsEntry,
  OTHER_CLOSE,
  OTHER_OPEN,
  otherEntry,
  PRIMARY_CLOSE,
  PRIMARY_OPEN,
  primaryEntry,
  repomdXml,
  type RepomdEntry,
  type RpmFileRef,
} from '../../../src/formats/rpm/repodata.js';
import { buildRpm, rpmQuery, type FixtureChangelogEntry, type FixtureSpec } from './build-rpm.js';

/*
 * Differential test against createrepo_c 0.17 (Debian's createrepo-c): the same RPMs go through
 * createrepo_c and through our renderers with the same location, file time and pkgid, and every
 * <package> element must be equal once parsed: elements, attributes, text and order.
 *
 * Intentional differences, asserted below:
 * - our root elements carry no packages="N" (the server appends packages to a fixed prefix; libsolv
 *   ignores the attribute, and dnf reading our repository is checked at the end);
 * - we escape " and ' in text too (same parsed value, different bytes);
 * - characters XML 1.0 forbids are dropped, where createrepo_c refuses the package (C0 controls)
 *   or writes them as is (U+FFFE, U+FFFF) and so produces a document parsers reject.
 */

const FILE_TIME = 1_700_000_000;

const changelog: FixtureChangelogEntry[] = [
  'Mon Jan 01 2024',
  'Sun Dec 31 2023',
  'Sun Dec 31 2023',
  'Sun Dec 31 2023',
  'Fri Dec 01 2023',
  'Wed Nov 01 2023',
  'Sun Oct 01 2023',
  'Fri Sep 01 2023',
  'Tue Aug 01 2023',
  'Sat Jul 01 2023',
  'Thu Jun 01 2023',
  'Mon May 01 2023',
].map((date, i) => ({
  date,
  // rpm keeps the trailing spaces; createrepo drops them.
  author: `Author ${i} <a${i}@example.test> - 1.${i}-1   `,
  text: `- change ${i} & <stuff>\n- "second" line`,
}));

const fixtures: Record<'full' | 'plain' | 'small', FixtureSpec> = {
  full: {
    name: 'full',
    version: '1.2.3',
    release: '4.el9',
    epoch: 3,
    arch: 'x86_64',
    summary: `Full <pkg> & "quotes" 'too' ]]>`,
    description: 'A longer description.\n\n  Indented, with\ttab & <markup>.',
    license: 'MIT AND Apache-2.0',
    url: 'http://example.test/full?a=1&b=2',
    vendor: 'Stockade "Tests"',
    packager: 'Tester <tester@example.test>',
    group: 'Development/Tools',
    requires: [
      'bash >= 4.0',
      'coreutils',
      'glibc < 3:2.40-1',
      'zlib = 1.2.13',
      '/bin/sh',
      // Provided by the package itself with the same version: createrepo drops it.
      'full-virtual = 1.2',
      // Provided, but with another comparison: kept.
      'full-cli >= 1',
      // Own primary file: dropped; own non-primary file: kept.
      '/usr/bin/full-tool',
      '/usr/share/full/data',
      // Only the highest libc.so.6 survives, moved last.
      'libc.so.6(GLIBC_2.3)(64bit)',
      'libc.so.6(GLIBC_2.14)(64bit)',
      'libc.so.6()(64bit)',
      'libc.so.6(GLIBC_2.2.5)(64bit)',
    ],
    requiresPre: ['shadow-utils', 'bash'],
    preamble: [
      'Requires(post): p-post',
      'Requires(pretrans): p-pretrans',
      'Requires(posttrans): p-posttrans',
      'Requires(preun): p-preun',
      'Requires(postun): p-postun',
      'Requires(interp): p-interp',
      // Flags 512, 2048, 2560: pre, not pre, pre; only a repeat of the previous one is dropped.
      'Requires(pre): y',
      'Requires(preun): y',
      'Requires(pre,preun): y',
    ],
    provides: ['full-virtual = 1.2', 'full-cli', '/usr/bin/full-tool'],
    conflicts: ['evil < 2:1.0-1', 'worse'],
    obsoletes: ['oldfull <= 1.0', 'ancient > 0.1'],
    recommends: ['less'],
    suggests: ['vim >= 9'],
    supplements: ['bash'],
    enhances: ['coreutils > 8'],
    files: [
      { path: '/usr/bin/full-tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
      { path: '/usr/bin/full-link', symlink: 'full-tool' },
      { path: '/etc/full.conf', content: 'setting = 1\n', mode: 0o640, config: 'noreplace' },
      { path: '/etc/full.d', directory: true },
      { path: '/etc/full-ghost.conf', ghost: true },
      { path: '/etc/odd&<x>"q', content: 'odd\n' },
      { path: '/usr/share/doc/full/README', content: 'read me\n', doc: true },
      { path: '/usr/share/full/data', content: 'data\n' },
      { path: '/var/lib/full', directory: true, mode: 0o750 },
      { path: '/var/log/full.log', ghost: true, mode: 0o600 },
      { path: '/usr/lib/sendmail', content: 'mail\n' },
      { path: '/opt/x/sbin/y', content: 'y\n' },
      // A directory named bin is not "bin/": not primary.
      { path: '/opt/tool/bin', directory: true },
      { path: '/opt/tool/bin/x', content: 'x\n' },
      { path: '/opt/binx', content: 'b\n' },
    ],
    scripts: { pre: 'echo pre', post: 'echo post "$1"' },
    changelog,
    compressor: 'zstd',
  },
  plain: {
    name: 'plain',
    version: '0.1',
    release: '1',
    arch: 'noarch',
    files: [{ path: '/usr/share/plain/readme', content: 'plain\n' }],
    compressor: 'xz',
  },
  small: {
    name: 'small',
    version: '2.0~rc1',
    release: '0.1',
    epoch: 0,
    arch: 'noarch',
    requires: ['plain >= 0:0.1-1'],
    provides: ['small-api = 0:2'],
    files: [{ path: '/usr/sbin/small', content: '#!/bin/sh\n', mode: 0o755 }],
    changelog: changelog.slice(0, 2),
    compressor: 'gzip',
  },
};
type FixtureName = keyof typeof fixtures;

interface Built {
  data: Buffer;
  pkg: RpmPackage;
  ref: RpmFileRef;
  path: string;
}

let workDir: string;
let repoDir: string;
const built = {} as Record<FixtureName, Built>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  htmlEntities: true,
});

type Node = Record<string, unknown>;

/** Parsed document without the whitespace-only text between elements. */
function parse(xml: string): Node[] {
  const strip = (nodes: Node[]): Node[] =>
    nodes
      .filter((node) => !('#text' in node && String(node['#text']).trim() === ''))
      .map((node) => {
        const out: Node = {};
        for (const [key, value] of Object.entries(node)) out[key] = Array.isArray(value) && key !== ':@' ? strip(value as Node[]) : value;
        return out;
      });
  return strip(parser.parse(xml) as Node[]);
}

function root(doc: Node[], name: string): { children: Node[]; attrs: Record<string, string> } {
  const node = doc.find((n) => name in n);
  assert.ok(node, `no <${name}> root`);
  return { children: node[name] as Node[], attrs: (node[':@'] ?? {}) as Record<string, string> };
}

function text(children: Node[], name: string): string | undefined {
  const node = children.find((n) => name in n);
  const inner = node?.[name] as Node[] | undefined;
  return inner?.[0]?.['#text'] as string | undefined;
}

function attrs(node: Node): Record<string, string> {
  return (node[':@'] ?? {}) as Record<string, string>;
}

function run(command: string, args: string[], env: Record<string, string> = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', ...env } });
  assert.equal(result.error, undefined, `${command} could not run: ${String(result.error)}`);
  assert.equal(result.status, 0, `${command} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

function toolPresent(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'stockade-repodata-'));
  repoDir = join(workDir, 'repo');
  for (const [key, spec] of Object.entries(fixtures) as [FixtureName, FixtureSpec][]) {
    const source = buildRpm(spec, join(workDir, 'build'));
    const file = source.slice(source.lastIndexOf('/') + 1);
    const location = `Packages/${file[0]}/${file}`;
    const path = join(repoDir, location);
    mkdirSync(join(repoDir, 'Packages', file[0] ?? '_'), { recursive: true });
    copyFileSync(source, path);
    // createrepo's <time file> is the file's mtime.
    utimesSync(path, FILE_TIME, FILE_TIME);
    const data = readFileSync(path);
    const pkg = parseRpm(data);
    built[key] = { data, pkg, path, ref: { location, sha256: pkg.checksums.sha256, size: data.length, time: FILE_TIME } };
  }
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('parseRpm additions for repodata', () => {
  it('archive size matches rpm (LONGARCHIVESIZE, merged from the signature header)', () => {
    for (const { pkg, path } of Object.values(built)) {
      assert.equal(String(pkg.archiveSize), rpmQuery(path, '%{LONGARCHIVESIZE}'));
    }
  });

  it('keeps the first 10 changelog entries in header order, like rpm lists them', () => {
    const { pkg, path } = built.full;
    const expected = rpmQuery(path, '[%{CHANGELOGTIME}\x1f%{CHANGELOGNAME}\x1f%{CHANGELOGTEXT}\x1e]')
      .split('\x1e')
      .filter((s) => s !== '')
      .map((s) => {
        const [time, author, body] = s.split('\x1f');
        return { time: Number(time), author, text: body };
      });
    assert.equal(expected.length, 12);
    assert.deepEqual(pkg.changelog, expected.slice(0, 10));
    assert.deepEqual(built.plain.pkg.changelog, []);
  });

  it('maxChangelogEntries bounds what is kept', () => {
    assert.equal(parseRpm(built.full.data, { maxChangelogEntries: 3 }).changelog?.length, 3);
    assert.deepEqual(parseRpm(built.full.data, { maxChangelogEntries: 0 }).changelog, []);
    assert.equal(parseRpm(built.full.data, { maxChangelogEntries: 100 }).changelog?.length, 12);
  });
});

describe('differential against createrepo_c', () => {
  const docs = {} as Record<'primary' | 'filelists' | 'other', Node[]>;
  let theirRepomd: Node[];

  before(() => {
    // A missing tool is a failure, never a skip: the comparison is the point of this suite.
    assert.ok(toolPresent('createrepo_c'), 'createrepo_c is not installed (Debian package createrepo-c)');
    run('createrepo_c', ['--no-database', repoDir], { HOME: workDir });
    const repomdText = readFileSync(join(repoDir, 'repodata', 'repomd.xml'), 'utf8');
    theirRepomd = parse(repomdText);
    for (const data of root(theirRepomd, 'repomd').children.filter((n) => 'data' in n)) {
      const type = attrs(data)['@_type'] as keyof typeof docs;
      const location = (data.data as Node[]).find((n) => 'location' in n);
      assert.ok(location);
      const gz = readFileSync(join(repoDir, attrs(location)['@_href'] ?? ''));
      docs[type] = parse(gunzipSync(gz).toString('utf8'));
    }
    assert.deepEqual(Object.keys(docs).sort(), ['filelists', 'other', 'primary']);
  });

  const rootNames = { primary: 'metadata', filelists: 'filelists', other: 'otherdata' } as const;
  const pieces = {
    primary: { open: PRIMARY_OPEN, close: PRIMARY_CLOSE, render: (b: Built) => primaryEntry(b.pkg, b.ref) },
    filelists: { open: FILELISTS_OPEN, close: FILELISTS_CLOSE, render: (b: Built) => filelistsEntry(b.pkg, b.ref.sha256) },
    other: { open: OTHER_OPEN, close: OTHER_CLOSE, render: (b: Built) => otherEntry(b.pkg, b.ref.sha256) },
  } as const;

  function theirPackage(type: keyof typeof docs, sha256: string): Node {
    const packages = root(docs[type], rootNames[type]).children;
    const found = packages.find((p) =>
      type === 'primary' ? text(p.package as Node[], 'checksum') === sha256 : attrs(p)['@_pkgid'] === sha256,
    );
    assert.ok(found, `createrepo_c wrote no ${type} entry for ${sha256}`);
    return found;
  }

  for (const type of ['primary', 'filelists', 'other'] as const) {
    it(`${type}: root element equals createrepo_c's except packages="N"`, () => {
      const ours = root(parse(pieces[type].open + pieces[type].close), rootNames[type]);
      const theirs = root(docs[type], rootNames[type]);
      const { '@_packages': count, ...theirAttrs } = theirs.attrs;
      assert.equal(count, String(Object.keys(fixtures).length));
      assert.deepEqual(ours.attrs, theirAttrs);
      assert.deepEqual(ours.children, []);
    });

    for (const key of Object.keys(fixtures) as FixtureName[]) {
      it(`${type}: ${key} equals createrepo_c's element`, () => {
        const b = built[key];
        const xml = pieces[type].open + pieces[type].render(b) + pieces[type].close;
        assert.equal(XMLValidator.validate(xml), true);
        const ours = root(parse(xml), rootNames[type]).children;
        assert.equal(ours.length, 1);
        assert.deepEqual(ours[0], theirPackage(type, b.ref.sha256));
      });
    }
  }

  it('the rules that matter were exercised (guards the fixtures)', () => {
    const primary = parse(PRIMARY_OPEN + primaryEntry(built.full.pkg, built.full.ref) + PRIMARY_CLOSE);
    const pkg = root(primary, 'metadata').children[0]?.package as Node[];
    const format = pkg.find((n) => 'format' in n)?.format as Node[];
    const requires = (format.find((n) => 'rpm:requires' in n)?.['rpm:requires'] as Node[]).map((n) => attrs(n));
    const names = requires.map((r) => r['@_name']);
    assert.ok(!names.some((n) => n?.startsWith('rpmlib(')));
    assert.ok(!names.includes('full-virtual') && names.includes('full-cli'));
    assert.ok(!names.includes('/usr/bin/full-tool') && names.includes('/usr/share/full/data'));
    assert.deepEqual(names.filter((n) => n?.startsWith('libc.so.6')), ['libc.so.6(GLIBC_2.14)(64bit)']);
    assert.equal(names.at(-1), 'libc.so.6(GLIBC_2.14)(64bit)');
    assert.deepEqual(requires.filter((r) => r['@_name'] === 'y').map((r) => r['@_pre'] ?? '0'), ['1', '0', '1']);
    assert.deepEqual(requires.filter((r) => r['@_name'] === '/bin/sh').map((r) => r['@_pre'] ?? '0'), ['0', '1']);
    const files = format.filter((n) => 'file' in n).map((n) => [text([n], 'file'), attrs(n)['@_type'] ?? '']);
    assert.deepEqual(files, [
      ['/etc/full-ghost.conf', 'ghost'],
      ['/etc/full.conf', ''],
      ['/etc/full.d', 'dir'],
      ['/etc/odd&<x>"q', ''],
      ['/opt/tool/bin/x', ''],
      ['/opt/x/sbin/y', ''],
      ['/usr/bin/full-link', ''],
      ['/usr/bin/full-tool', ''],
      ['/usr/lib/sendmail', ''],
    ]);
    const other = parse(OTHER_OPEN + otherEntry(built.full.pkg, built.full.ref.sha256) + OTHER_CLOSE);
    const dates = (root(other, 'otherdata').children[0]?.package as Node[])
      .filter((n) => 'changelog' in n)
      .map((n) => Number(attrs(n)['@_date']));
    assert.equal(dates.length, 10);
    const authors = (root(other, 'otherdata').children[0]?.package as Node[])
      .filter((n) => 'changelog' in n)
      .map((n) => attrs(n)['@_author']);
    assert.ok(built.full.pkg.changelog?.every((c) => c.author.endsWith('   ')));
    assert.ok(authors.every((a) => a !== undefined && !a.endsWith(' ')));
    // Three entries of the same day become three consecutive seconds.
    assert.deepEqual(dates.slice(6, 9).map((d) => d - (dates[6] ?? 0)), [0, 1, 2]);
  });

  it('repomdXml writes the data elements createrepo_c writes, from the same values', () => {
    const theirData = root(theirRepomd, 'repomd').children.filter((n) => 'data' in n);
    const value = (data: Node, name: string): string => text(data.data as Node[], name) ?? '';
    const child = (data: Node, name: string): Node => (data.data as Node[]).find((n) => name in n) ?? {};
    const entries: RepomdEntry[] = theirData.map((d) => ({
      type: attrs(d)['@_type'] as RepomdEntry['type'],
      checksum: value(d, 'checksum'),
      openChecksum: value(d, 'open-checksum'),
      location: attrs(child(d, 'location'))['@_href'] ?? '',
      timestamp: Number(value(d, 'timestamp')),
      size: Number(value(d, 'size')),
      openSize: Number(value(d, 'open-size')),
    }));
    const revision = text(root(theirRepomd, 'repomd').children, 'revision') ?? '';
    const ours = parse(repomdXml({ revision, entries }));
    const oursRoot = root(ours, 'repomd');
    const theirRoot = root(theirRepomd, 'repomd');
    assert.deepEqual(oursRoot.attrs, theirRoot.attrs);
    assert.deepEqual(oursRoot.children, theirRoot.children);
  });
});

describe('dnf reads a repository written with these functions', () => {
  it('lists every package, resolves a filelists-only path and shows the changelog', () => {
    assert.ok(toolPresent('dnf'), 'dnf is not installed');
    const dir = join(workDir, 'ours');
    mkdirSync(join(dir, 'repodata'), { recursive: true });
    const bodies = { primary: PRIMARY_OPEN, filelists: FILELISTS_OPEN, other: OTHER_OPEN };
    for (const b of Object.values(built)) {
      mkdirSync(join(dir, b.ref.location, '..'), { recursive: true });
      copyFileSync(b.path, join(dir, b.ref.location));
      bodies.primary += primaryEntry(b.pkg, b.ref);
      bodies.filelists += filelistsEntry(b.pkg, b.ref.sha256);
      bodies.other += otherEntry(b.pkg, b.ref.sha256);
    }
    bodies.primary += PRIMARY_CLOSE;
    bodies.filelists += FILELISTS_CLOSE;
    bodies.other += OTHER_CLOSE;
    const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
    const entries = (Object.entries(bodies) as [RepomdEntry['type'], string][]).map(([type, xml]): RepomdEntry => {
      const gz = gzipSync(xml);
      const location = `repodata/${sha256(gz)}-${type}.xml.gz`;
      writeFileSync(join(dir, location), gz);
      return { type, checksum: sha256(gz), openChecksum: sha256(xml), size: gz.length, openSize: Buffer.byteLength(xml), timestamp: FILE_TIME, location };
    });
    writeFileSync(join(dir, 'repodata', 'repomd.xml'), repomdXml({ revision: String(FILE_TIME), entries }));

    const dnf = (...args: string[]): string =>
      run(
        'dnf',
        [
          '-q',
          `--installroot=${join(workDir, 'dnf-root')}`,
          '--releasever=1',
          '--setopt=reposdir=/dev/null',
          `--setopt=cachedir=${join(workDir, 'dnf-cache')}`,
          `--repofrompath=stk,file://${dir}`,
          '--repo=stk',
          '--nogpgcheck',
          ...args,
        ],
        { HOME: workDir },
      );
    const listed = dnf('repoquery', '--qf', '%{name} %{evr} %{arch}').trim().split('\n').sort();
    assert.deepEqual(listed, ['full 3:1.2.3-4.el9 x86_64', 'plain 0.1-1 noarch', 'small 2.0~rc1-0.1 noarch']);
    assert.equal(dnf('repoquery', '--qf', '%{name}', '--whatprovides', '/usr/share/doc/full/README').trim(), 'full');
    assert.match(dnf('repoquery', '--changelogs', 'full'), /Author 0 <a0@example\.test> - 1\.0-1\n- change 0 & <stuff>/);
  });
});

describe('hostile strings', () => {
  // Every C0 control, DEL, NEL, U+FFFE/U+FFFF, lone surrogates, a valid surrogate pair, markup.
  const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
  const nasty = `a${controls}\x7f\u0085\uFFFE\uFFFF\uD800x\uDC00y\uD83D\uDE00 ]]> <![CDATA[ & &amp; "' <b>\r\n</b>`;
  const clean = `a\t\n\r\x7f\u0085xy\uD83D\uDE00 ]]> <![CDATA[ & &amp; "' <b>\r\n</b>`;

  function hostile(base: RpmPackage): RpmPackage {
    return {
      ...base,
      name: nasty,
      version: nasty,
      release: nasty,
      summary: nasty,
      description: nasty,
      license: nasty,
      vendor: nasty,
      packager: nasty,
      url: nasty,
      group: nasty,
      buildHost: nasty,
      sourceRpm: nasty,
      provides: [{ ...base.provides[0]!, name: nasty, flags: 'EQ', version: nasty, release: nasty, epoch: 1 }],
      requires: [{ ...base.provides[0]!, name: nasty, flags: null, version: null, release: null, epoch: null, rawFlags: 512 }],
      files: [{ ...base.files[0]!, path: `/etc/${nasty}` }],
      changelog: [{ time: 1, author: nasty, text: nasty }],
    };
  }

  /** Strict parse with Python's expat, which rejects every character XML 1.0 forbids. */
  function expatAccepts(xml: string): void {
    assert.ok(toolPresent('python3'), 'python3 is not installed');
    const check = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())'], {
      input: Buffer.from(xml, 'utf8'),
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr);
  }

  it('primary, filelists and other stay well-formed and keep the text', () => {
    const pkg = hostile(built.full.pkg);
    const ref: RpmFileRef = { ...built.full.ref, location: `Packages/${nasty}.rpm` };
    const documents = [
      PRIMARY_OPEN + primaryEntry(pkg, ref) + PRIMARY_CLOSE,
      FILELISTS_OPEN + filelistsEntry(pkg, nasty) + FILELISTS_CLOSE,
      OTHER_OPEN + otherEntry(pkg, nasty) + OTHER_CLOSE,
    ];
    for (const xml of documents) {
      assert.equal(XMLValidator.validate(xml), true);
      expatAccepts(xml);
    }
    const primary = root(parse(documents[0]!), 'metadata').children[0]?.package as Node[];
    for (const field of ['name', 'summary', 'description', 'packager', 'url']) assert.equal(text(primary, field), clean, field);
    const version = attrs(primary.find((n) => 'version' in n) ?? {});
    assert.equal(version['@_ver'], clean);
    assert.equal(attrs(primary.find((n) => 'location' in n) ?? {})['@_href'], `Packages/${clean}.rpm`);
    const format = primary.find((n) => 'format' in n)?.format as Node[];
    for (const field of ['rpm:license', 'rpm:vendor', 'rpm:group', 'rpm:buildhost', 'rpm:sourcerpm']) {
      assert.equal(text(format, field), clean, field);
    }
    const provide = attrs((format.find((n) => 'rpm:provides' in n)?.['rpm:provides'] as Node[])[0] ?? {});
    assert.deepEqual(provide, { '@_name': clean, '@_flags': 'EQ', '@_epoch': '1', '@_ver': clean, '@_rel': clean });
    const require = attrs((format.find((n) => 'rpm:requires' in n)?.['rpm:requires'] as Node[])[0] ?? {});
    assert.deepEqual(require, { '@_name': clean, '@_pre': '1' });
    assert.equal(text(format.filter((n) => 'file' in n), 'file'), `/etc/${clean}`);

    const other = root(parse(documents[2]!), 'otherdata').children[0];
    assert.equal(attrs(other ?? {})['@_pkgid'], clean);
    const entry = (other?.package as Node[]).find((n) => 'changelog' in n) ?? {};
    assert.equal(attrs(entry)['@_author'], clean);
    assert.equal(text([entry], 'changelog'), clean);
  });

  it('a huge summary is written whole and parses back', () => {
    const summary = `${'<&>"]]>'.repeat(150_000)}end`;
    const xml = PRIMARY_OPEN + primaryEntry({ ...built.plain.pkg, summary }, built.plain.ref) + PRIMARY_CLOSE;
    expatAccepts(xml);
    assert.equal(text(root(parse(xml), 'metadata').children[0]?.package as Node[], 'summary'), summary);
  });

  it('a source package is published with arch src, as createrepo does', () => {
    const xml = FILELISTS_OPEN + filelistsEntry({ ...built.plain.pkg, isSource: true, sourceRpm: null }, 'abc') + FILELISTS_CLOSE;
    assert.equal(attrs(root(parse(xml), 'filelists').children[0] ?? {})['@_arch'], 'src');
  });

  it('numbers that are not counts are refused instead of written', () => {
    assert.throws(() => primaryEntry(built.plain.pkg, { ...built.plain.ref, size: -1 }), RangeError);
    assert.throws(() => primaryEntry(built.plain.pkg, { ...built.plain.ref, time: 1.5 }), RangeError);
    assert.throws(() => repomdXml({ revision: '1', entries: [{ ...repomdSample[0]!, size: Number.NaN }] }), RangeError);
  });
});

const repomdSample: RepomdEntry[] = [
  { type: 'primary', checksum: 'a'.repeat(64), openChecksum: 'b'.repeat(64), size: 10, openSize: 20, timestamp: 1, location: 'repodata/p.xml.gz' },
  { type: 'filelists', checksum: 'c'.repeat(64), openChecksum: 'd'.repeat(64), size: 30, openSize: 40, timestamp: 2, location: 'repodata/f&<.xml.gz' },
  { type: 'other', checksum: 'e'.repeat(64), openChecksum: 'f'.repeat(64), size: 0, openSize: 0, timestamp: 3, location: 'repodata/o.xml.gz' },
];

describe('repomdXml', () => {
  it('round-trips through a parser', () => {
    const xml = repomdXml({ revision: '1700000000 <&>', entries: repomdSample });
    assert.equal(XMLValidator.validate(xml), true);
    const repomd = root(parse(xml), 'repomd');
    assert.deepEqual(repomd.attrs, { '@_xmlns': 'http://linux.duke.edu/metadata/repo', '@_xmlns:rpm': 'http://linux.duke.edu/metadata/rpm' });
    assert.equal(text(repomd.children, 'revision'), '1700000000 <&>');
    const data = repomd.children.filter((n) => 'data' in n);
    assert.deepEqual(
      data.map((d) => {
        const children = d.data as Node[];
        const find = (name: string): Node => children.find((n) => name in n) ?? {};
        return {
          type: attrs(d)['@_type'],
          checksum: text(children, 'checksum'),
          checksumType: attrs(find('checksum'))['@_type'],
          openChecksum: text(children, 'open-checksum'),
          openChecksumType: attrs(find('open-checksum'))['@_type'],
          location: attrs(find('location'))['@_href'],
          timestamp: Number(text(children, 'timestamp')),
          size: Number(text(children, 'size')),
          openSize: Number(text(children, 'open-size')),
        };
      }),
      repomdSample.map((e) => ({
        type: e.type,
        checksum: e.checksum,
        checksumType: 'sha256',
        openChecksum: e.openChecksum,
        openChecksumType: 'sha256',
        location: e.location,
        timestamp: e.timestamp,
        size: e.size,
        openSize: e.openSize,
      })),
    );
  });
});
