import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStockadeError } from '../../../src/errors.js';
import { parseCoreMetadata, parseRequirement } from '../../../src/formats/pypi/metadata.js';

function expectInvalid(fn: () => unknown, ...mentions: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), `not a StockadeError: ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARCHIVE', error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}

const BASE = 'Metadata-Version: 2.1\nName: Demo.Pkg\nVersion: 1.0.0\n';

describe('core metadata', () => {
  it('reads the typed fields, multiple-use fields and the body', () => {
    const text = [
      'Metadata-Version: 2.4',
      'Name: Demo.Pkg',
      'Version: 1.0.0',
      'Summary: A demo',
      'Requires-Python: >=3.8, <4',
      'Requires-Dist: requests (>=2.0)',
      'Requires-Dist: idna[all] >=3 ; python_version < "3.12"',
      'Requires-Dist: tool @ https://example.invalid/tool.zip ; extra == "x"',
      'Provides-Extra: x',
      'Classifier: Programming Language :: Python :: 3',
      'Classifier: License :: OSI Approved :: MIT License',
      'Project-URL: Source, https://example.invalid/src',
      'License-Expression: MIT',
      'License-File: LICENSE',
      'Dynamic: Requires-Dist',
      'Description-Content-Type: text/markdown',
      'X-Custom: kept',
      '',
      '# Demo',
      '',
      'Body text.',
      '',
    ].join('\n');
    const { metadata, text: raw } = parseCoreMetadata(Buffer.from(text));
    assert.equal(raw, text);
    assert.equal(metadata.name, 'Demo.Pkg');
    assert.equal(metadata.normalizedName, 'demo-pkg');
    assert.equal(metadata.normalizedVersion, '1.0.0');
    assert.equal(metadata.requiresPython, '>=3.8, <4');
    assert.deepEqual(metadata.requiresDist, [
      'requests (>=2.0)',
      'idna[all] >=3 ; python_version < "3.12"',
      'tool @ https://example.invalid/tool.zip ; extra == "x"',
    ]);
    assert.deepEqual(
      metadata.requirements.map((r) => [r.normalizedName, r.extras, r.specifier, r.url, r.marker]),
      [
        ['requests', [], '>=2.0', undefined, undefined],
        ['idna', ['all'], '>=3', undefined, 'python_version < "3.12"'],
        ['tool', [], '', 'https://example.invalid/tool.zip', 'extra == "x"'],
      ],
    );
    assert.deepEqual(metadata.classifiers.length, 2);
    assert.deepEqual(metadata.projectUrls, [{ label: 'Source', url: 'https://example.invalid/src' }]);
    assert.deepEqual(metadata.providesExtra, ['x']);
    assert.deepEqual(metadata.dynamic, ['Requires-Dist']);
    assert.equal(metadata.licenseExpression, 'MIT');
    assert.deepEqual(metadata.licenseFiles, ['LICENSE']);
    assert.equal(metadata.description, '# Demo\n\nBody text.\n');
    assert.deepEqual(metadata.fields.get('x-custom'), ['kept']);
  });

  it('unfolds continuation lines and keeps multi-line descriptions (metadata 1.x)', () => {
    const text = [
      'Metadata-Version: 1.1',
      'Name: demo',
      'Version: 1.0',
      'Summary: a summary',
      '  folded onto two lines',
      'Description: First line',
      '       |',
      '       |    indented line',
      '        plain continuation',
      'License: MIT License',
      '        ',
      '        Copyright (c) demo',
      '',
    ].join('\r\n');
    const { metadata } = parseCoreMetadata(text);
    assert.equal(metadata.summary, 'a summary  folded onto two lines');
    assert.equal(metadata.description, 'First line\n\n    indented line\nplain continuation');
    assert.equal(metadata.license, 'MIT License\n\nCopyright (c) demo');
  });

  it('matches field names case-insensitively and keeps the first of a repeated single-use field', () => {
    const { metadata } = parseCoreMetadata(`${BASE}summary: one\nSUMMARY: two\n`);
    assert.equal(metadata.summary, 'one');
    assert.equal(metadata.warnings.length, 1);
  });

  const refused: [string, string, string[]][] = [
    ['no Name', 'Metadata-Version: 2.1\nVersion: 1.0\n', ['"Name"']],
    ['no Version', 'Metadata-Version: 2.1\nName: demo\n', ['"Version"']],
    ['no Metadata-Version', 'Name: demo\nVersion: 1.0\n', ['Metadata-Version']],
    ['Metadata-Version 3.0', 'Metadata-Version: 3.0\nName: demo\nVersion: 1.0\n', ['3.0']],
    ['two Name fields', `${BASE}Name: other\n`, ['2 "Name" fields']],
    ['an invalid name', 'Metadata-Version: 2.1\nName: -demo\nVersion: 1.0\n', ['invalid Name']],
    ['a non-PEP 440 version', 'Metadata-Version: 2.1\nName: demo\nVersion: one\n', ['PEP 440']],
    ['an invalid Requires-Python', `${BASE}Requires-Python: >>3\n`, ['Requires-Python']],
    ['an invalid Requires-Dist', `${BASE}Requires-Dist: -bad\n`, ['Requires-Dist']],
    ['Name marked dynamic', `${BASE}Dynamic: Name\n`, ['Dynamic']],
    ['a line that is not a field', `${BASE}this is not a header\n`, ['line 4']],
    ['a continuation with no field', ' leading\nName: demo\n', ['line 1']],
    ['a NUL byte', `${BASE}Summary: a\u0000b\n`, ['NUL']],
  ];
  for (const [what, text, mentions] of refused) {
    it(`refuses ${what}`, () => expectInvalid(() => parseCoreMetadata(Buffer.from(text), { source: 'METADATA' }), 'METADATA', ...mentions));
  }

  it('refuses bytes that are not UTF-8, naming the line', () => {
    const bytes = Buffer.concat([Buffer.from(`${BASE}Author: Ren`), Buffer.from([0xe9]), Buffer.from('\n')]);
    expectInvalid(() => parseCoreMetadata(bytes, { source: 'PKG-INFO' }), 'PKG-INFO', 'not valid UTF-8', '0xe9', 'line 4');
  });

  it('refuses a huge field, too many fields and a huge file', () => {
    expectInvalid(() => parseCoreMetadata(`${BASE}Summary: ${'x'.repeat(200_000)}\n`), 'Summary', 'longer than');
    expectInvalid(() => parseCoreMetadata(`${BASE}Keywords: a\n${' more\n'.repeat(30_000)}`), 'Keywords', 'longer than');
    expectInvalid(() => parseCoreMetadata(`${BASE}${'Classifier: x\n'.repeat(20)}`, { limits: { maxHeaders: 10 } }), 'more than 10 fields');
    expectInvalid(() => parseCoreMetadata(Buffer.alloc(5 * 1024 * 1024, 0x41)), 'limit');
  });

  it('parses PEP 508 requirements', () => {
    assert.equal(parseRequirement('Foo_Bar[a, b]>=1,<2; os_name == "posix"')?.normalizedName, 'foo-bar');
    assert.deepEqual(parseRequirement('Foo_Bar[a, b]>=1,<2; os_name == "posix"')?.extras, ['a', 'b']);
    assert.equal(parseRequirement('name')?.specifier, '');
    assert.equal(parseRequirement('[bad]'), undefined);
    assert.equal(parseRequirement('name garbage'), undefined);
  });
});
