import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPopularNames, parseList } from '../../../src/security/popular.js';

const assets = join(dirname(fileURLToPath(import.meta.url)), '../../../assets/popular');

describe('createPopularNames', () => {
  it('loads the shipped lists, most popular first', () => {
    const popular = createPopularNames();
    const npm = popular.list('npm');
    const pypi = popular.list('PyPI');
    assert.equal(npm.length, 10_000);
    assert.equal(pypi.length, 10_000);
    assert.equal(npm[0], 'semver');
    assert.equal(pypi[0], 'boto3');
    assert.ok(npm.includes('lodash') && npm.includes('@babel/core'));
  });

  it('hands out the same frozen array every time (the typosquat index is keyed on it)', () => {
    const popular = createPopularNames();
    const first = popular.list('npm');
    assert.equal(popular.list('npm'), first);
    assert.ok(Object.isFrozen(first));
  });

  it('has no list for other ecosystems', () => {
    assert.deepEqual(createPopularNames().list('Go'), []);
    assert.deepEqual(createPopularNames().list('pypi'), [], 'ecosystem keys are OSV names, case-sensitive');
  });

  it('takes lists directly, and then only those', () => {
    const popular = createPopularNames({ lists: { npm: ['a', 'b'] } });
    assert.deepEqual(popular.list('npm'), ['a', 'b']);
    assert.deepEqual(popular.list('PyPI'), []);
  });

  it('reads from another directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockade-popular-'));
    try {
      writeFileSync(join(dir, 'npm.tsv'), '# comment\nfirst\t10\n\nsecond\t5\n');
      assert.deepEqual(createPopularNames({ directory: dir }).list('npm'), ['first', 'second']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the shipped files are name<TAB>figure lines', () => {
    for (const file of ['npm.tsv', 'pypi.tsv']) {
      const text = readFileSync(join(assets, file), 'utf8');
      assert.ok(text.split('\n').filter((l) => l !== '').every((l) => /^[^\t]+\t[0-9]+$/.test(l)), file);
    }
    assert.deepEqual(parseList('x\t1\ny\t2'), ['x', 'y']);
  });
});
