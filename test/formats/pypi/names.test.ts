import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStockadeError } from '../../../src/errors.js';
import {
  assertValidProjectName,
  isValidProjectName,
  normalizeProjectName,
  parseSdistFilename,
  parseWheelFilename,
  sameVersion,
  sdistFilenameCandidates,
} from '../../../src/formats/pypi/names.js';

function expectInvalid(fn: () => unknown, ...mentions: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), `not a StockadeError: ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARCHIVE', error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}

describe('PEP 503 name normalization', () => {
  const table: [string, string][] = [
    ['Foo.Bar_baz', 'foo-bar-baz'],
    ['friendly-bard', 'friendly-bard'],
    ['Friendly-Bard', 'friendly-bard'],
    ['FRIENDLY-BARD', 'friendly-bard'],
    ['friendly.bard', 'friendly-bard'],
    ['friendly_bard', 'friendly-bard'],
    ['friendly--bard', 'friendly-bard'],
    ['FrIeNdLy-._.-bArD', 'friendly-bard'],
    ['a', 'a'],
    ['zope.interface', 'zope-interface'],
  ];
  for (const [input, expected] of table) {
    it(`${input} → ${expected}`, () => assert.equal(normalizeProjectName(input), expected));
  }

  it('validates names as PEP 508 and core metadata do', () => {
    for (const good of ['a', 'A1', 'foo.bar', 'foo_bar-baz', '1password']) assert.ok(isValidProjectName(good), good);
    for (const bad of ['', '-foo', 'foo-', '.foo', 'foo bar', 'føø', 'foo/bar', 'x'.repeat(201)]) assert.ok(!isValidProjectName(bad), bad);
    assert.throws(() => assertValidProjectName('-bad'), (e: unknown) => isStockadeError(e) && e.code === 'INVALID_NAME');
  });

  it('compares versions as PEP 440 does', () => {
    assert.ok(sameVersion('1.0', '1.0.0'));
    assert.ok(sameVersion('1.0-1', '1.0.post1'));
    assert.ok(sameVersion('1.0RC1', '1.0rc1'));
    assert.ok(!sameVersion('1.0', '1.1'));
    assert.ok(!sameVersion('1.0', 'not a version'));
  });
});

describe('wheel file names', () => {
  it('parses name, version and tags', () => {
    const parsed = parseWheelFilename('Foo_Bar-1.2.3-py2.py3-none-any.whl');
    assert.equal(parsed.name, 'Foo_Bar');
    assert.equal(parsed.normalizedName, 'foo-bar');
    assert.equal(parsed.version, '1.2.3');
    assert.equal(parsed.build, undefined);
    assert.deepEqual(parsed.tags, { python: ['py2', 'py3'], abi: ['none'], platform: ['any'] });
    assert.deepEqual(parsed.expandedTags, ['py2-none-any', 'py3-none-any']);
  });

  it('parses build tags', () => {
    const parsed = parseWheelFilename('demo-2.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl');
    assert.deepEqual(parsed.build, { number: 1, suffix: '', raw: '1' });
    assert.deepEqual(parsed.tags.platform, ['manylinux_2_17_x86_64', 'manylinux2014_x86_64']);
    assert.equal(parseWheelFilename('demo-2.0-12abc-py3-none-any.whl').build?.suffix, 'abc');
  });

  it('turns the escaped "_" of a version back into "-"', () => {
    assert.equal(parseWheelFilename('demo-1.0_post1-py3-none-any.whl').version, '1.0-post1');
    assert.equal(parseWheelFilename('demo-1.0+local.1-py3-none-any.whl').version, '1.0+local.1');
  });

  const refused: [string, string, string][] = [
    ['demo-1.0-py3-none.whl', 'too few parts', '5 or 6'],
    ['demo-1.0-1-2-py3-none-any.whl', 'too many parts', '5 or 6'],
    ['demo-1.0-abc-py3-none-any.whl', 'a build tag without a leading digit', 'build tag'],
    ['demo-x.y-py3-none-any.whl', 'an invalid version', 'PEP 440'],
    ['-demo-1.0-py3-none-any.whl', 'an invalid name', 'project name'],
    ['demo-1.0-py3-none-any.zip', 'another extension', '.whl'],
    ['../demo-1.0-py3-none-any.whl', 'a path', 'path separator'],
    ['demo-1.0-py3-none-any\u0000.whl', 'a NUL', 'characters'],
    ['demo-1.0-py3-no ne-any.whl', 'a space', 'characters'],
  ];
  for (const [filename, what, mention] of refused) {
    it(`refuses ${what}`, () => expectInvalid(() => parseWheelFilename(filename), mention));
  }
});

describe('sdist file names', () => {
  it('parses PEP 625 names', () => {
    const parsed = parseSdistFilename('foo_bar-1.0.tar.gz');
    assert.deepEqual(
      { name: parsed.name, normalizedName: parsed.normalizedName, version: parsed.version, extension: parsed.extension },
      { name: 'foo_bar', normalizedName: 'foo-bar', version: '1.0', extension: '.tar.gz' },
    );
    assert.equal(parseSdistFilename('demo-2.0rc1.zip').extension, '.zip');
  });

  it('splits legacy names that keep their dashes', () => {
    assert.deepEqual(
      sdistFilenameCandidates('python-dateutil-2.8.2.tar.gz').map((c) => [c.name, c.version]),
      [['python-dateutil', '2.8.2']],
    );
    // Both splits are valid; the caller picks with the name from PKG-INFO.
    assert.deepEqual(
      sdistFilenameCandidates('foo-1.0-1.tar.gz').map((c) => [c.name, c.version]),
      [
        ['foo', '1.0-1'],
        ['foo-1.0', '1'],
      ],
    );
  });

  it('refuses other extensions and unsplittable names', () => {
    expectInvalid(() => parseSdistFilename('demo-1.0.tar.bz2'), '.tar.gz or .zip');
    expectInvalid(() => parseSdistFilename('demo.tar.gz'), '{name}-{version}');
    expectInvalid(() => parseSdistFilename('demo-notaversion.tar.gz'), '{name}-{version}');
  });
});
