/**
 * Namespace claims of virtual repositories are normalized and matched the way each format
 * compares names: npm and RubyGems case-insensitively, PyPI after PEP 503 normalization.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimForm, matchingClaim, normalizeClaim } from '../../src/domain/virtual-repos.js';

describe('virtual repository claims', () => {
  it('keeps npm claims as npm compares names', () => {
    assert.equal(normalizeClaim(' @Acme/* '), '@acme/*');
    assert.equal(normalizeClaim('Acme-*'), 'acme-*');
    assert.equal(matchingClaim(['@acme/*'], '@ACME/tools'), '@acme/*');
    assert.equal(matchingClaim(['acme-*'], 'acme_tools'), undefined);
    assert.throws(() => normalizeClaim('no spaces *'), /claim/);
  });

  it('normalizes PyPI claims per PEP 503, so one claim covers every spelling', () => {
    assert.equal(normalizeClaim('Acme.*', 'pypi'), 'acme-*');
    assert.equal(normalizeClaim('acme__*', 'pypi'), 'acme-*');
    assert.equal(normalizeClaim('Acme_Tools', 'pypi'), 'acme-tools');
    for (const name of ['acme-tools', 'Acme_Tools', 'acme.tools', 'ACME--tools']) {
      assert.equal(matchingClaim(['acme-*'], name, 'pypi'), 'acme-*', name);
      assert.equal(matchingClaim(['acme-tools'], name, 'pypi'), 'acme-tools', name);
    }
    assert.equal(matchingClaim(['acme-*'], 'acmetools', 'pypi'), undefined);
    assert.equal(claimForm('pypi', 'Zope.Interface'), 'zope-interface');
    assert.throws(() => normalizeClaim('@acme/*', 'pypi'), /project name/);
  });

  it('matches RubyGems claims case-insensitively, separators kept', () => {
    assert.equal(normalizeClaim('Acme_*', 'rubygems'), 'acme_*');
    assert.equal(matchingClaim(['acme_*'], 'ACME_rails', 'rubygems'), 'acme_*');
    assert.equal(matchingClaim(['acme_*'], 'acme-rails', 'rubygems'), undefined);
    assert.throws(() => normalizeClaim('@acme/*', 'rubygems'), /gem name/);
  });
});
