import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretsAnalyzer } from '../../../src/security/analyzers/secrets/index.js';
import { analyzeFiles, rulesOf } from '../analyzer-harness.js';
import { negatives, positives } from './cases.js';

describe('secrets rules: positive cases', () => {
  for (const c of positives) {
    it(`${c.rule}: ${c.name}`, async () => {
      const findings = await analyzeFiles(secretsAnalyzer, c.files);
      const finding = findings.find((f) => f.rule === `secrets/${c.rule}`);
      assert.ok(finding, `expected secrets/${c.rule}, got ${JSON.stringify(rulesOf(findings))}`);
      if (c.severity) assert.equal(finding.severity, c.severity);
      if (c.confidence) assert.equal(finding.confidence, c.confidence);
      assert.equal(finding.location?.file, Object.keys(c.files)[0]);
      if (c.line !== undefined) assert.equal(finding.location?.line, c.line);
      assert.ok(finding.message.length > 0 && finding.message.length < 300);
      assert.ok((finding.evidence ?? '').length <= 200);
    });
  }
});

describe('secrets rules: negative cases', () => {
  for (const c of negatives) {
    it(`${c.rule}: ${c.name}`, async () => {
      const findings = await analyzeFiles(secretsAnalyzer, c.files);
      assert.ok(!rulesOf(findings).includes(`secrets/${c.rule}`), `unexpected secrets/${c.rule}: ${JSON.stringify(findings)}`);
    });
  }
});

describe('secrets rules: coverage', () => {
  it('has a positive and a negative case for every rule', async () => {
    const { secretRules } = await import('../../../src/security/analyzers/secrets/index.js');
    for (const rule of secretRules) {
      assert.ok(positives.some((c) => c.rule === rule.id), `no positive case for ${rule.id}`);
      assert.ok(negatives.some((c) => c.rule === rule.id), `no negative case for ${rule.id}`);
    }
  });
});
