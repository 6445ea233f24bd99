import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStockadeError } from '../../../src/errors.js';
import { parseGemSpec, readRubyYaml } from '../../../src/formats/rubygems/spec-yaml.js';

function expectCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), `not a StockadeError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}

const HEAD = `--- !ruby/object:Gem::Specification
name: demo
version: !ruby/object:Gem::Version
  version: 1.0.0
`;

/** A spec as RubyGems 1.x wrote it: anchors shared between requirement and version_requirements. */
const OLD_STYLE = `${HEAD}platform: !ruby/object:Gem::Platform
  cpu: x86
  os: mingw32
  version:
email: solo@example.invalid
description: !binary |-
  aMOpbGxv
dependencies:
- !ruby/object:Gem::Dependency
  name: rack
  requirement: &id001 !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: "1.0"
    version:
  type: !ruby/sym runtime
  prerelease: false
  version_requirements: *id001
- !ruby/object:Gem::Dependency
  name: legacy
  version_requirements: !ruby/object:Gem::Version::Requirement
    requirements:
    - - !ruby/object:YAML::Syck::DefaultKey {}
      - !ruby/object:Gem::Version
        version: 0.9.1
  type: :development
summary:
metadata: {}
`;

describe('parseGemSpec', () => {
  it('reads old-style specs: anchors, Gem::Platform objects, !binary, symbol tags, DefaultKey', () => {
    const spec = parseGemSpec(OLD_STYLE);
    assert.equal(spec.name, 'demo');
    assert.equal(spec.version, '1.0.0');
    assert.equal(spec.platform, 'x86-mingw32');
    assert.deepEqual(spec.email, ['solo@example.invalid']);
    assert.equal(spec.description, 'héllo');
    assert.equal(spec.summary, undefined);
    assert.deepEqual(spec.dependencies, [
      { name: 'rack', type: 'runtime', requirements: [['>=', '1.0']] },
      { name: 'legacy', type: 'development', requirements: [['=', '0.9.1']] },
    ]);
    assert.deepEqual(spec.files, []);
  });

  const refused: { name: string; yaml: string; code: string; mentions: string[] }[] = [
    { name: 'an unknown object tag', yaml: `${HEAD}x: !ruby/object:Gem::Installer {}\n`, code: 'INVALID_ARCHIVE', mentions: ['!ruby/object:Gem::Installer', 'not allowed'] },
    { name: 'an unknown scalar tag', yaml: `${HEAD}x: !ruby/regexp /a/\n`, code: 'INVALID_ARCHIVE', mentions: ['!ruby/regexp'] },
    { name: 'an unknown sequence tag', yaml: `${HEAD}x: !ruby/array:Foo [1]\n`, code: 'INVALID_ARCHIVE', mentions: ['!ruby/array:Foo'] },
    { name: 'a %TAG handle', yaml: `%TAG !e! tag:example.invalid,2000:\n${HEAD}x: !e!thing {}\n`, code: 'INVALID_ARCHIVE', mentions: ['tag:example.invalid,2000:thing'] },
    { name: 'a permitted class on a scalar', yaml: `${HEAD}x: !ruby/object:Gem::Version 1.0\n`, code: 'INVALID_ARCHIVE', mentions: ['must be on a map'] },
    { name: 'a root that is not a spec', yaml: 'name: demo\n', code: 'INVALID_ARCHIVE', mentions: ['not a !ruby/object:Gem::Specification'] },
    { name: 'a missing name', yaml: '--- !ruby/object:Gem::Specification\nversion: 1.0\n', code: 'INVALID_ARCHIVE', mentions: ['name is missing'] },
    { name: 'a name starting with a dot', yaml: HEAD.replace('name: demo', 'name: .demo'), code: 'INVALID_ARCHIVE', mentions: ['".demo" is not a valid gem name'] },
    { name: 'a name with a slash', yaml: HEAD.replace('name: demo', 'name: a/b'), code: 'INVALID_ARCHIVE', mentions: ['"a/b"'] },
    { name: 'a platform with a slash', yaml: `${HEAD}platform: x86/../../evil\n`, code: 'INVALID_ARCHIVE', mentions: ['not a valid platform'] },
    {
      name: 'an unknown operator',
      yaml: `${HEAD}required_ruby_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - "=~"\n    - "1"\n`,
      code: 'INVALID_ARCHIVE',
      mentions: ['unknown operator "=~"'],
    },
    {
      name: 'an unknown dependency type',
      yaml: `${HEAD}dependencies:\n- !ruby/object:Gem::Dependency\n  name: x\n  type: :optional\n`,
      code: 'INVALID_ARCHIVE',
      mentions: ['must be :runtime or :development', ':optional'],
    },
    {
      name: 'a dependency name that would break index lines',
      yaml: `${HEAD}dependencies:\n- !ruby/object:Gem::Dependency\n  name: "x:y,z"\n`,
      code: 'INVALID_ARCHIVE',
      mentions: ['"x:y,z" is not a valid gem name'],
    },
    { name: 'a non-string metadata value', yaml: `${HEAD}metadata:\n  a: [1]\n`, code: 'INVALID_ARCHIVE', mentions: ['metadata "a" must be a string'] },
    { name: 'a list field holding a map', yaml: `${HEAD}files: {a: b}\n`, code: 'INVALID_ARCHIVE', mentions: ['files must be a list'] },
    { name: 'duplicate keys', yaml: `${HEAD}summary: a\nsummary: b\n`, code: 'INVALID_ARCHIVE', mentions: ['not valid YAML', 'unique'] },
    { name: 'two documents', yaml: `${HEAD}---\n${HEAD}`, code: 'INVALID_ARCHIVE', mentions: ['not valid YAML'] },
    { name: 'an alias without anchor', yaml: `${HEAD}files: *nothing\n`, code: 'INVALID_ARCHIVE', mentions: ['*nothing has no anchor before it'] },
    { name: 'a recursive alias', yaml: `${HEAD}files: &a [*a]\n`, code: 'INVALID_ARCHIVE', mentions: ['contains it'] },
    { name: 'deep nesting', yaml: `${HEAD}files: ${'['.repeat(100)}${']'.repeat(100)}\n`, code: 'UNSAFE_ARCHIVE', mentions: ['nested more than 64'] },
    { name: 'absurd nesting', yaml: `${HEAD}files: ${'['.repeat(200_000)}\n`, code: 'INVALID_ARCHIVE', mentions: ['metadata.gz'] },
  ];
  for (const testCase of refused) {
    it(`refuses ${testCase.name}`, () => {
      expectCode(() => parseGemSpec(testCase.yaml), testCase.code, ...testCase.mentions);
    });
  }

  it('refuses alias bombs by alias count and by expanded size', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) {
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    }
    const bomb = `${HEAD}${levels.join('\n')}\n`;
    expectCode(() => parseGemSpec(bomb), 'UNSAFE_ARCHIVE', 'more than 1000 YAML aliases');
    expectCode(() => parseGemSpec(bomb, { limits: { maxAliasCount: 1e9, maxNodes: 10_000 } }), 'UNSAFE_ARCHIVE', 'more than 10000 YAML values');
  });

  it('refuses documents above the size limit', () => {
    expectCode(() => parseGemSpec(`${HEAD}summary: ${'x'.repeat(2000)}\n`, { limits: { maxBytes: 1000 } }), 'UNSAFE_ARCHIVE', 'more than the limit of 1000');
  });
});

describe('readRubyYaml', () => {
  it('reads scalars the way Psych does', () => {
    const value = readRubyYaml('a: ~\nb: yes\nc: "yes"\nd: :sym\ne: 1.10\nf: !!str 12\ng:\n', 'test');
    assert.deepEqual(value, {
      kind: 'hash',
      entries: new Map<string, unknown>([
        ['a', null],
        ['b', true],
        ['c', 'yes'],
        ['d', { kind: 'symbol', name: 'sym' }],
        ['e', '1.10'],
        ['f', '12'],
        ['g', null],
      ]),
    });
  });

  it('throws nothing but StockadeErrors on random YAML (seeded fuzz)', () => {
    let seed = 0x5eed;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ' -:!&*[]{}"\'\n#|>?,%@`a0~\t.';
    for (let round = 0; round < 500; round++) {
      const base = round % 2 === 0 ? OLD_STYLE : '';
      const chars = [...base];
      const extra = random(60);
      for (let i = 0; i < extra; i++) chars.splice(random(chars.length + 1), 0, alphabet.charAt(random(alphabet.length)));
      try {
        parseGemSpec(chars.join(''));
      } catch (error) {
        assert.ok(isStockadeError(error), `round ${round}: ${String(error)}`);
      }
    }
  });
});
