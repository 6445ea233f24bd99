import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isStockadeError } from '../../../src/errors.js';
import { expectCode } from '../../helpers/expect-code.js';
import { parseSdist } from '../../../src/formats/pypi/sdist.js';
import { parseWheel } from '../../../src/formats/pypi/wheel.js';
import { buildSdist, buildWheel, cleanupBuilder, metadataFor, type BuiltDist, type DistSpec } from './build-dist.js';

const GOOD: DistSpec = {
  name: 'Demo.Pkg',
  version: '1.2.0',
  metadata: [
    ['Requires-Python', '>=3.8'],
    ['Requires-Dist', 'requests>=2'],
    ['Requires-Dist', 'idna; extra == "x"'],
    ['Provides-Extra', 'x'],
  ],
};

after(() => cleanupBuilder());

describe('wheels', () => {
  it('reads a good wheel', async () => {
    const spec: DistSpec = {
      ...GOOD,
      files: [
        { path: 'demo_pkg/__init__.py', body: 'VALUE = 1\n' },
        { path: 'demo_pkg-hook.pth', body: 'import os\n' },
        { path: 'demo_pkg-1.2.0.data/scripts/demo', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
      ],
    };
    const built = buildWheel(spec);
    assert.equal(built.filename, 'demo_pkg-1.2.0-py3-none-any.whl');
    const wheel = await parseWheel(built.data, built.filename);
    assert.equal(wheel.name, 'Demo.Pkg');
    assert.equal(wheel.normalizedName, 'demo-pkg');
    assert.equal(wheel.version, '1.2.0');
    assert.equal(wheel.metadata.requiresPython, '>=3.8');
    assert.deepEqual(wheel.metadata.requiresDist, ['requests>=2', 'idna; extra == "x"']);
    assert.equal(wheel.metadataBytes.toString(), metadataFor(spec));
    assert.equal(wheel.wheelInfo.wheelVersion, '1.0');
    assert.deepEqual(wheel.wheelInfo.tags, ['py3-none-any']);
    assert.equal(wheel.record.verified, true);
    assert.equal(wheel.distInfoDir, 'demo_pkg-1.2.0.dist-info');
    assert.equal(wheel.view.text('demo_pkg-hook.pth'), 'import os\n');
    assert.equal(wheel.view.get('demo_pkg-1.2.0.data/scripts/demo')?.mode, 0o755);
    assert.ok(wheel.view.read('demo_pkg-1.2.0.dist-info/RECORD'));
    assert.deepEqual(
      wheel.files.map((f) => f.path),
      [
        'demo_pkg/__init__.py',
        'demo_pkg-hook.pth',
        'demo_pkg-1.2.0.data/scripts/demo',
        'demo_pkg-1.2.0.dist-info/METADATA',
        'demo_pkg-1.2.0.dist-info/WHEEL',
        'demo_pkg-1.2.0.dist-info/RECORD',
      ],
    );
  });

  it('accepts a build tag and an equivalent version spelling', async () => {
    const built = buildWheel({ name: 'demo', version: '1.0', filename: 'demo-1.0.0-7-py3-none-any.whl' });
    const wheel = await parseWheel(built.data, built.filename);
    assert.equal(wheel.filename.build?.number, 7);
    assert.equal(wheel.version, '1.0');
  });

  const hostile: [string, DistSpec, string, string[]][] = [
    ['a tampered file (RECORD hash)', { record: { tamper: 'demo/__init__.py' } }, 'INVALID_ARCHIVE', ['"demo/__init__.py"', 'sha256 hash']],
    ['a file missing from RECORD', { rawEntries: [{ path: 'demo/extra.py', body: 'x = 1\n' }], record: { omit: ['demo/extra.py'] } }, 'INVALID_ARCHIVE', ['"demo/extra.py"', 'not listed']],
    ['a RECORD row for an absent file', { record: { extraRows: ['demo/ghost.py,sha256=AAAA,4'] } }, 'INVALID_ARCHIVE', ['"demo/ghost.py"', 'does not contain']],
    ['a RECORD with md5', { record: { text: 'demo/__init__.py,md5=AAAA,10\n' } }, 'INVALID_ARCHIVE', ['md5']],
    ['a zip slip path', { rawEntries: [{ path: '../evil.py', body: 'x' }] }, 'UNSAFE_ARCHIVE', ['"../evil.py"', '".."']],
    ['an absolute path', { rawEntries: [{ path: '/etc/evil', body: 'x' }] }, 'UNSAFE_ARCHIVE', ['absolute']],
    ['a drive letter', { rawEntries: [{ path: 'C:/evil', body: 'x' }] }, 'UNSAFE_ARCHIVE', ['absolute']],
    ['a backslash', { rawEntries: [{ path: 'demo\\..\\..\\evil', body: 'x' }] }, 'UNSAFE_ARCHIVE', ['backslash']],
    ['a symlink', { rawEntries: [{ path: 'demo/link', symlinkTo: '/etc/passwd' }] }, 'UNSAFE_ARCHIVE', ['"demo/link"', 'symbolic link']],
    ['a duplicate name', { rawEntries: [{ path: 'demo/__init__.py', body: 'evil = 1\n' }] }, 'UNSAFE_ARCHIVE', ['"demo/__init__.py"', 'twice']],
    ['names differing only in case', { rawEntries: [{ path: 'demo/__INIT__.py', body: 'x' }] }, 'UNSAFE_ARCHIVE', ['differ only in case']],
    ['an encrypted entry', { patch: { encrypt: 'demo/__init__.py' } }, 'UNSAFE_ARCHIVE', ['encrypted']],
    ['a METADATA name that differs from the file name', { metadataText: metadataFor({ name: 'other' }) }, 'INVALID_ARCHIVE', ['METADATA says Name "other"', 'file name says "demo"']],
    ['a METADATA version that differs', { metadataText: metadataFor({ version: '9.9' }) }, 'INVALID_ARCHIVE', ['Version "9.9"', '"1.0"']],
    ['a .dist-info that differs from the file name', { stem: 'other-1.0' }, 'INVALID_ARCHIVE', ['"other-1.0.dist-info"']],
    ['two .dist-info directories', { rawEntries: [{ path: 'extra-1.0.dist-info/METADATA', body: 'x' }] }, 'INVALID_ARCHIVE', ['2 .dist-info']],
    ['Wheel-Version 2.0', { wheelText: 'Wheel-Version: 2.0\nRoot-Is-Purelib: true\n' }, 'INVALID_ARCHIVE', ['Wheel-Version "2.0"']],
  ];
  for (const [what, spec, code, mentions] of hostile) {
    it(`refuses ${what}`, async () => {
      const built = buildWheel(spec);
      await expectCode(() => parseWheel(built.data, built.filename), code, ...mentions);
    });
  }

  it('refuses a wheel with no .dist-info', async () => {
    const built = buildSdist({}, 'zip');
    await expectCode(() => parseWheel(built.data, 'demo-1.0-py3-none-any.whl'), 'INVALID_ARCHIVE', 'no .dist-info');
  });

  it('refuses zip bombs: by ratio, by declared total and by lying sizes', async () => {
    const zeros = buildWheel({ rawEntries: [{ path: 'demo/zeros.bin', body: Buffer.alloc(20 * 1024 * 1024) }] });
    await expectCode(() => parseWheel(zeros.data, zeros.filename), 'UNSAFE_ARCHIVE', '"demo/zeros.bin"', 'zip bomb');
    const declared = buildWheel({ patch: { declaredSize: { path: 'demo/__init__.py', size: 3_000_000_000 } } });
    await expectCode(() => parseWheel(declared.data, declared.filename), 'UNSAFE_ARCHIVE', 'declares 3000000000 bytes', 'zip bomb');
    const total = buildWheel({ rawEntries: [{ path: 'demo/big.txt', body: 'text '.repeat(1000) }] });
    await expectCode(
      () => parseWheel(total.data, total.filename, { limits: { maxUnpackedBytes: 4000 } }),
      'UNSAFE_ARCHIVE',
      'declares more uncompressed data than the limit of 4000 bytes',
    );
    const lying = buildWheel({
      rawEntries: [{ path: 'demo/data.bin', body: Buffer.alloc(1024 * 1024) }],
      patch: { declaredSize: { path: 'demo/data.bin', size: 1000 } },
    });
    await expectCode(() => parseWheel(lying.data, lying.filename), 'UNSAFE_ARCHIVE', '"demo/data.bin"', 'more than its declared 1000 bytes');
    await expectCode(
      () => parseWheel(buildWheel().data, 'demo-1.0-py3-none-any.whl', { limits: { maxEntries: 2 } }),
      'UNSAFE_ARCHIVE',
      'more than the limit of 2',
    );
  });

  it('refuses what is not a zip, and a bad file name', async () => {
    await expectCode(() => parseWheel(Buffer.from('not a zip at all'), 'demo-1.0-py3-none-any.whl'), 'INVALID_ARCHIVE', 'not a valid zip');
    await expectCode(() => parseWheel(buildWheel().data, 'demo-1.0.whl'), 'INVALID_ARCHIVE', '5 or 6');
  });

  it('throws nothing but StockadeErrors on random damage (seeded fuzz)', async () => {
    await fuzz(buildWheel(GOOD), (data, filename) => parseWheel(data, filename), 'wheel');
  });
});

describe('sdists', () => {
  for (const format of ['tar.gz', 'zip'] as const) {
    it(`reads a good ${format} sdist`, async () => {
      const built = buildSdist(GOOD, format);
      assert.equal(built.filename, `demo_pkg-1.2.0.${format}`);
      const sdist = await parseSdist(built.data, built.filename);
      assert.equal(sdist.name, 'Demo.Pkg');
      assert.equal(sdist.version, '1.2.0');
      assert.equal(sdist.format, format);
      assert.equal(sdist.topDir, 'demo_pkg-1.2.0');
      assert.deepEqual(sdist.metadata.requiresDist, ['requests>=2', 'idna; extra == "x"']);
      assert.equal(sdist.metadata.requiresPython, '>=3.8');
      assert.equal(sdist.view.text('setup.py'), 'from setuptools import setup\nsetup()\n');
      assert.ok(sdist.view.text('pyproject.toml')?.includes('[build-system]'));
      assert.ok(sdist.view.get('PKG-INFO'));
      assert.ok(sdist.view.get('src/demo_pkg/__init__.py'));
    });
  }

  it('reads a legacy name with dashes and an inside symlink and hard link', async () => {
    const built = buildSdist({
      name: 'python-demo',
      stem: 'python-demo-2.0',
      version: '2.0',
      filename: 'python-demo-2.0.tar.gz',
      files: [
        { path: 'setup.py', body: 'print(1)\n' },
        { path: 'docs/link.py', symlinkTo: '../setup.py' },
        { path: 'copy.py', hardlinkTo: 'python-demo-2.0/setup.py' },
      ],
    });
    const sdist = await parseSdist(built.data, built.filename);
    assert.equal(sdist.normalizedName, 'python-demo');
    assert.equal(sdist.view.get('docs/link.py')?.linkTarget, '../setup.py');
    assert.equal(sdist.files.find((f) => f.path === 'copy.py')?.linkTarget, 'setup.py');
  });

  const hostile: [string, DistSpec, 'tar.gz' | 'zip' | 'both', string, string[]][] = [
    ['a symlink out of the project', { files: [{ path: 'evil', symlinkTo: '../../etc/passwd' }] }, 'both', 'UNSAFE_ARCHIVE', ['"demo-1.0/evil"', 'outside']],
    ['an absolute symlink', { files: [{ path: 'evil', symlinkTo: '/etc/passwd' }] }, 'tar.gz', 'UNSAFE_ARCHIVE', ['outside']],
    ['a hard link out of the archive', { files: [{ path: 'evil', hardlinkTo: '/etc/passwd' }] }, 'tar.gz', 'UNSAFE_ARCHIVE', ['absolute']],
    ['a device', { files: [{ path: 'dev', mode: 0o020644 }] }, 'tar.gz', 'UNSAFE_ARCHIVE', ['CharacterDevice']],
    ['a ".." path', { rawEntries: [{ path: 'demo-1.0/../../evil', body: 'x' }] }, 'both', 'UNSAFE_ARCHIVE', ['".."']],
    ['an absolute path', { rawEntries: [{ path: '/tmp/evil', body: 'x' }] }, 'both', 'UNSAFE_ARCHIVE', ['absolute']],
    ['a duplicate', { rawEntries: [{ path: 'demo-1.0/setup.py', body: 'evil' }] }, 'both', 'UNSAFE_ARCHIVE', ['"demo-1.0/setup.py"', 'twice']],
    ['a second top-level directory', { rawEntries: [{ path: 'other/x.py', body: 'x' }] }, 'both', 'INVALID_ARCHIVE', ['two top-level']],
    ['a PKG-INFO name that differs from the file name', { metadataText: metadataFor({ name: 'other' }) }, 'both', 'INVALID_ARCHIVE', ['PKG-INFO says Name "other"', '"demo"']],
    ['a PKG-INFO version that differs', { metadataText: metadataFor({ version: '2.0' }) }, 'both', 'INVALID_ARCHIVE', ['Version "2.0"']],
    ['a top directory that differs', { stem: 'other-1.0', filename: 'demo-1.0.tar.gz' }, 'tar.gz', 'INVALID_ARCHIVE', ['"other-1.0"']],
    ['an empty PKG-INFO', { metadataText: '', files: [] }, 'tar.gz', 'INVALID_ARCHIVE', ['Metadata-Version']],
  ];
  for (const [what, spec, formats, code, mentions] of hostile) {
    for (const format of formats === 'both' ? (['tar.gz', 'zip'] as const) : [formats]) {
      it(`refuses ${what} (${format})`, async () => {
        const built = buildSdist(spec, format);
        const filename = spec.filename?.replace(/\.tar\.gz$/, `.${format}`) ?? built.filename;
        await expectCode(() => parseSdist(built.data, filename), code, ...mentions);
      });
    }
  }

  it('refuses decompression bombs', async () => {
    const tar = buildSdist({ files: [{ path: 'zeros.bin', body: Buffer.alloc(24 * 1024 * 1024) }] });
    await expectCode(() => parseSdist(tar.data, tar.filename), 'UNSAFE_ARCHIVE', 'decompression bomb');
    const zip = buildSdist({ files: [{ path: 'zeros.bin', body: Buffer.alloc(24 * 1024 * 1024) }] }, 'zip');
    await expectCode(() => parseSdist(zip.data, zip.filename), 'UNSAFE_ARCHIVE', '"demo-1.0/zeros.bin"', 'zip bomb');
  });

  it('throws nothing but StockadeErrors on random damage (seeded fuzz)', async () => {
    await fuzz(buildSdist(GOOD), (data, filename) => parseSdist(data, filename), 'sdist tar.gz');
    await fuzz(buildSdist(GOOD, 'zip'), (data, filename) => parseSdist(data, filename), 'sdist zip');
  });
});

async function fuzz(built: BuiltDist, parse: (data: Buffer, filename: string) => Promise<unknown>, label: string): Promise<void> {
  let seed = 0x5eed;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const { data } = built;
    const copy = Buffer.from(data.subarray(0, round % 5 === 0 ? random(data.length) : data.length));
    for (let flips = 1 + random(4); flips > 0; flips--) {
      const at = random(copy.length || 1);
      if (at < copy.length) copy[at] = random(256);
    }
    try {
      await parse(copy, built.filename);
    } catch (error) {
      assert.ok(isStockadeError(error), `${label} round ${round}: ${String(error)}`);
    }
  }
}
