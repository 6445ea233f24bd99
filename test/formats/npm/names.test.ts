import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStockadeError } from '../../../src/errors.js';
import {
  assertValidDistTag,
  assertValidPackageName,
  assertValidVersion,
  printable,
  splitScopedName,
  tarballFileName,
} from '../../../src/formats/npm/names.js';

function expectCode(fn: () => void, code: string, ...mentions: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStockadeError(error), String(error));
    assert.equal(error.code, code, error.message);
    for (const mention of mentions) assert.ok(error.message.includes(mention), `"${error.message}" should mention ${mention}`);
    return true;
  });
}

describe('assertValidPackageName', () => {
  for (const name of ['demo', '@acme/hello', 'foo.bar', 'foo-bar_baz', 'a'.repeat(214)]) {
    it(`accepts ${name.length > 20 ? `${name.length} characters` : name}`, () => assertValidPackageName(name));
  }
  const invalid: [string, unknown, string][] = [
    ['capital letters (only valid for old packages)', 'Demo', 'capital letters'],
    ['a core module name', 'http', 'core module'],
    ['a leading period', '.hidden', 'period'],
    ['a leading underscore', '_private', 'underscore'],
    ['node_modules', 'node_modules', 'not a valid package name'],
    ['spaces', 'a b', 'URL-friendly'],
    ['an empty scope name', '@acme/', 'URL-friendly'],
    ['an unscoped slash', 'foo/bar', 'URL-friendly'],
    ['more than 214 characters', 'a'.repeat(215), '214'],
    ['the empty string', '', 'length'],
    ['a number', 42, 'must be a string'],
  ];
  for (const [label, name, reason] of invalid) {
    it(`rejects ${label}`, () => expectCode(() => assertValidPackageName(name), 'INVALID_NAME', reason));
  }
  it('names the offending value in the message', () => expectCode(() => assertValidPackageName('Demo'), 'INVALID_NAME', '"Demo"'));
});

describe('assertValidVersion', () => {
  for (const version of ['1.0.0', '0.0.0-0', '1.2.3-beta.1', '10.20.30-rc.1.alpha']) {
    it(`accepts ${version}`, () => assertValidVersion(version));
  }
  const invalid: [string, unknown, string][] = [
    ['a leading v', 'v1.0.0', 'canonical form (expected "1.0.0")'],
    ['a leading =', '=1.0.0', 'not a valid semantic version'],
    ['build metadata (npm drops it)', '1.0.0+build.5', 'canonical'],
    ['surrounding spaces', ' 1.0.0 ', 'canonical'],
    ['two components', '1.0', 'not a valid semantic version'],
    ['leading zeros', '01.0.0', 'not a valid semantic version'],
    ['a range', '^1.0.0', 'not a valid semantic version'],
    ['the empty string', '', 'not a valid semantic version'],
    ['a number', 1, 'must be a string'],
  ];
  for (const [label, version, reason] of invalid) {
    it(`rejects ${label}`, () => expectCode(() => assertValidVersion(version), 'INVALID_VERSION', reason));
  }
});

describe('assertValidDistTag', () => {
  for (const tag of ['latest', 'next', 'beta', 'canary_2', 'v-next', 'release-1.x-lts']) {
    it(`accepts ${tag}`, () => assertValidDistTag(tag));
  }
  const invalid: [string, unknown, string][] = [
    ['the empty string', '', 'non-empty'],
    ['a version', '1.0.0', 'semver range'],
    ['a major number', '1', 'semver range'],
    ['a v-prefixed major', 'v2', 'semver range'],
    ['an x-range', '1.x', 'semver range'],
    ['x (means any version)', 'x', 'semver range'],
    ['a slash', 'feature/x', 'URL-safe'],
    ['a space', 'my tag', 'URL-safe'],
    ['a percent sign', 'a%2fb', 'URL-safe'],
    ['more than 256 characters', 't'.repeat(257), 'longer than 256'],
    ['a number', 5, 'non-empty string'],
  ];
  for (const [label, tag, reason] of invalid) {
    it(`rejects ${label}`, () => expectCode(() => assertValidDistTag(tag), 'INVALID_DIST_TAG', reason));
  }
});

describe('splitScopedName and tarballFileName', () => {
  const cases: [string, { scope?: string; bare: string }][] = [
    ['demo', { bare: 'demo' }],
    ['@acme/hello', { scope: '@acme', bare: 'hello' }],
  ];
  for (const [name, expected] of cases) {
    it(`splits ${name}`, () => assert.deepEqual(splitScopedName(name), expected));
  }
  for (const name of ['@acme', '@/hello', '@acme/', '@a/b/c']) {
    it(`refuses to split ${name}`, () => expectCode(() => splitScopedName(name), 'INVALID_NAME', name));
  }
  it('uses the bare name for the tarball file', () => {
    assert.equal(tarballFileName('@acme/hello', '1.0.0'), 'hello-1.0.0.tgz');
    assert.equal(tarballFileName('demo', '2.0.0-beta.1'), 'demo-2.0.0-beta.1.tgz');
  });
});

describe('printable', () => {
  it('escapes control characters so messages cannot drive the terminal', () => {
    assert.equal(printable('a\u001b[2Jb\nc\u0000'), 'a\\x1b[2Jb\\x0ac\\x00');
  });
  it('cuts long values', () => {
    assert.equal(printable('x'.repeat(10), 4), 'xxxx…');
  });
});
