import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { semverScheme, versionSchemeFor } from '../../../src/security/versions/index.js';
import { gemBump, isPrerelease, rubyGemsScheme } from '../../../src/security/versions/rubygems.js';
import { debianScheme, ubuntuScheme } from '../../../src/security/versions/dpkg.js';
import { pep440Scheme } from '../../../src/security/versions/pep440.js';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe('versionSchemeFor', () => {
  it('knows npm, PyPI, RubyGems, Debian, Ubuntu and the RPM family, by base name too, and nothing else yet', () => {
    assert.equal(versionSchemeFor('npm'), semverScheme);
    assert.equal(versionSchemeFor('PyPI'), pep440Scheme);
    assert.equal(versionSchemeFor('RubyGems'), rubyGemsScheme);
    assert.equal(versionSchemeFor('npm:https://registry.example'), semverScheme);
    assert.equal(versionSchemeFor('Debian:12'), debianScheme);
    assert.equal(versionSchemeFor('Ubuntu:22.04:LTS'), ubuntuScheme);
    assert.equal(versionSchemeFor('Red Hat:enterprise_linux:9')?.ecosystem, 'Red Hat');
    assert.equal(versionSchemeFor('AlmaLinux:9')?.ecosystem, 'AlmaLinux');
    for (const ecosystem of ['pypi', 'rubygems', 'Maven', 'NPM', 'crates.io', 'Go', '']) {
      assert.equal(versionSchemeFor(ecosystem), undefined, ecosystem);
    }
  });
});

describe('npm (SemVer 2.0)', () => {
  // [a, b, expected sign of compare(a, b)]
  const cases: [string, string, number][] = [
    ['1.0.0', '1.0.0', 0],
    ['1.0.0', '1.0.1', -1],
    ['1.10.0', '1.9.0', 1],
    ['2.0.0', '10.0.0', -1],
    ['1.0.0-alpha', '1.0.0', -1],
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
    ['1.0.0-alpha.beta', '1.0.0-beta', -1],
    ['1.0.0-beta', '1.0.0-beta.2', -1],
    ['1.0.0-beta.2', '1.0.0-beta.11', -1],
    ['1.0.0-beta.11', '1.0.0-rc.1', -1],
    ['1.0.0-rc.1', '1.0.0', -1],
    ['1.0.0-0', '1.0.0-alpha', -1],
    ['0.9.9', '1.0.0-0', -1],
    // build metadata is ignored
    ['1.0.0+build.1', '1.0.0+build.2', 0],
    ['1.0.0+build', '1.0.0', 0],
    ['1.0.0-rc.1+b', '1.0.0-rc.1', 0],
  ];
  for (const [a, b, expected] of cases) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '='} ${b}`, () => {
      assert.equal(sign(semverScheme.compare(a, b)), expected);
      assert.equal(sign(semverScheme.compare(b, a)), sign(-expected));
    });
  }

  it('accepts SemVer 2.0 and rejects the rest', () => {
    for (const v of ['0.0.0', '1.2.3', '1.2.3-alpha.1', '1.2.3+sha.abc', '10.20.30-rc.1+build.5']) assert.equal(semverScheme.isValid(v), true, v);
    for (const v of ['1.2', '1', '1.2.3.4', 'abc', '', '01.2.3', '1.2.3-', '^1.2.3', '>=1.0.0', 'x'.repeat(300)]) {
      assert.equal(semverScheme.isValid(v), false, v);
    }
  });

  it('throws on an invalid version in compare', () => {
    assert.throws(() => semverScheme.compare('1.0', '1.0.0'), TypeError);
  });
});

describe('RubyGems (Gem::Version)', () => {
  const cases: [string, string, number][] = [
    ['1.0', '1.0.0', 0],
    ['1', '1.0.0.0', 0],
    ['1.9', '1.10', -1],
    ['1.0.a', '1.0', -1],
    ['1.0.a', '1.a', 0],
    ['1.0.0.rc1', '1.0.0', -1],
    ['1.0.0.beta1', '1.0.0.rc1', -1],
    ['1.0.0-beta', '1.0.0.pre.beta', 0],
    ['2.0.0.beta1', '2.0.0-alpha', -1], // "beta" < "pre" bytewise
    ['6.1.7.9', '6.1.7.10', -1],
    ['6.1.7.10', '6.1.8', -1],
    ['1.2.3', '1.2.3.1', -1],
    ['99999999999999999999', '100000000000000000000', -1],
    ['1.A', '1.a', -1],
  ];
  for (const [a, b, expected] of cases) {
    it(`${a} ${expected < 0 ? '<' : expected > 0 ? '>' : '='} ${b}`, () => {
      assert.equal(sign(rubyGemsScheme.compare(a, b)), expected);
      assert.equal(sign(rubyGemsScheme.compare(b, a)), sign(-expected));
    });
  }

  it('validates like Gem::Version', () => {
    for (const v of ['1', '1.0', '1.0.0.rc1', '2.0.0-alpha', ' 1.2 ', '3.1.0.rc6']) assert.equal(rubyGemsScheme.isValid(v), true, v);
    for (const v of ['', 'a', '1..2', '1.0 beta', '-1', '>= 1.0']) assert.equal(rubyGemsScheme.isValid(v), false, v);
  });

  it('bumps like Gem::Version#bump (the upper bound of ~>)', () => {
    assert.equal(gemBump('1.2.3'), '1.3');
    assert.equal(gemBump('1.2'), '2');
    assert.equal(gemBump('1'), '2');
    assert.equal(gemBump('6.1.7.9'), '6.1.8');
    assert.equal(gemBump('3.1.0.rc6'), '3.2');
    assert.equal(isPrerelease('3.1.0.rc6'), true);
    assert.equal(isPrerelease('3.1.0'), false);
  });
});
