import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { integrityAnalyzer } from '../../src/security/analyzers/integrity/index.js';
import { vulnsAnalyzer } from '../../src/security/analyzers/vulns/index.js';
import { parseOsv } from '../../src/security/advisories/osv.js';
import { createMemoryAdvisoryLookup } from '../../src/security/advisory-lookup.js';
import type { AnalysisContext } from '../../src/security/types.js';
import { contextFor, rulesOf, viewOf } from './analyzer-harness.js';

const osv = (doc: Record<string, unknown>) => parseOsv({ schema_version: '1.6.0', modified: '2026-01-01T00:00:00Z', ...doc });

const advisories = createMemoryAdvisoryLookup([
  osv({
    id: 'GHSA-test-0001',
    aliases: ['CVE-2026-0001'],
    summary: 'prototype pollution in merge',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name: 'deep-merge-lib' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.1.0' }] }] }],
  }),
  osv({
    id: 'MAL-2026-0042',
    summary: 'Malicious code in tiny-colors',
    affected: [{ package: { ecosystem: 'npm', name: 'tiny-colors' }, versions: ['1.4.1'] }],
  }),
  osv({
    id: 'GHSA-test-0002',
    summary: 'withdrawn advisory',
    withdrawn: '2026-02-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'npm', name: 'deep-merge-lib' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }],
  }),
]);

async function vulnsFor(pkg: { name: string; version: string }, files: Record<string, string> = {}) {
  const view = viewOf({ 'package.json': JSON.stringify(pkg), ...files });
  const ctx: AnalysisContext = { ...contextFor(view), advisories };
  return vulnsAnalyzer.analyze(view, ctx);
}

describe('vulns analyzer', () => {
  it('reports an advisory affecting the artifact, with its severity, aliases and fix', async () => {
    const findings = await vulnsFor({ name: 'deep-merge-lib', version: '2.0.9' });
    assert.deepEqual(rulesOf(findings), ['vulns/known-vulnerability']);
    assert.equal(findings[0]?.severity, 'critical');
    assert.match(findings[0]?.message ?? '', /GHSA-test-0001 \(CVE-2026-0001\): prototype pollution in merge \(affected <2\.1\.0; fixed in 2\.1\.0\)/);
  });

  it('is silent on a fixed version and ignores withdrawn advisories', async () => {
    assert.deepEqual(await vulnsFor({ name: 'deep-merge-lib', version: '2.1.0' }), []);
  });

  it('reports a MAL- record as known malware', async () => {
    const findings = await vulnsFor({ name: 'tiny-colors', version: '1.4.1' });
    assert.deepEqual(rulesOf(findings), ['vulns/malicious']);
    assert.equal(findings[0]?.severity, 'critical');
    assert.deepEqual(await vulnsFor({ name: 'tiny-colors', version: '1.4.0' }), []);
  });

  it('checks dependencies pinned by a bundled npm-shrinkwrap.json (lockfile v3 and v1)', async () => {
    const v3 = JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/deep-merge-lib': { version: '1.0.0' },
        'node_modules/x/node_modules/tiny-colors': { version: '1.4.1' },
      },
    });
    const findings = await vulnsFor({ name: 'app', version: '1.0.0' }, { 'npm-shrinkwrap.json': v3 });
    assert.deepEqual(rulesOf(findings), ['vulns/malicious', 'vulns/vulnerable-dependency']);
    assert.ok(findings.every((f) => f.location?.file === 'npm-shrinkwrap.json'));
    const v1 = JSON.stringify({ lockfileVersion: 1, dependencies: { x: { version: '1.0.0', dependencies: { 'deep-merge-lib': { version: '2.0.0' } } } } });
    assert.deepEqual(rulesOf(await vulnsFor({ name: 'app', version: '1.0.0' }, { 'npm-shrinkwrap.json': v1 })), ['vulns/vulnerable-dependency']);
  });

  it('ignores a malformed shrinkwrap instead of failing', async () => {
    assert.deepEqual(await vulnsFor({ name: 'app', version: '1.0.0' }, { 'npm-shrinkwrap.json': '{not json' }), []);
  });
});

describe('integrity analyzer', () => {
  const view = viewOf({ 'package.json': JSON.stringify({ name: 'lib', version: '1.0.0', scripts: { test: 'node t.js' } }) });
  const base = contextFor(view, { artifact: { sha256: 'a'.repeat(64), digests: { sha1: 'b'.repeat(40) } } });

  it('passes when the claims match', async () => {
    const ctx = { ...base, claims: { digests: { sha256: 'A'.repeat(64), sha1: 'b'.repeat(40) }, manifest: { ...base.artifact.manifest } } };
    assert.deepEqual(await integrityAnalyzer.analyze(view, ctx), []);
  });

  it('reports a claimed digest that differs from the bytes', async () => {
    const findings = await integrityAnalyzer.analyze(view, { ...base, claims: { digests: { sha1: 'c'.repeat(40) } } });
    assert.deepEqual(rulesOf(findings), ['integrity/digest-mismatch']);
  });

  it('reports claimed metadata that differs from the manifest (manifest confusion)', async () => {
    const claims = { manifest: { name: 'lib', version: '1.0.0', scripts: { test: 'node t.js', postinstall: 'node x.js' } } };
    const findings = await integrityAnalyzer.analyze(view, { ...base, claims });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.rule, 'integrity/manifest-confusion');
    assert.equal(findings[0]?.severity, 'high');
    assert.match(findings[0]?.message ?? '', /"scripts"/);
  });
});
