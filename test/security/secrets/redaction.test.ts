import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, secretsAnalyzer } from '../../../src/security/analyzers/secrets/index.js';
import { safeEvidence } from '../../../src/security/analyzers/secrets/redact.js';
import { analyzeFiles } from '../analyzer-harness.js';
import { positives } from './cases.js';

/** Every 10-character piece of the secret past the prefix a finding may show. */
function leakedPieces(secret: string, haystack: string): string[] {
  const from = Math.min(24, Math.floor(secret.length / 3));
  const pieces: string[] = [];
  for (let i = from; i + 10 <= secret.length; i++) {
    const piece = secret.slice(i, i + 10);
    if (haystack.includes(piece)) pieces.push(piece);
  }
  return pieces;
}

describe('redact', () => {
  it('keeps a short prefix and masks the rest', () => {
    assert.equal(redact('AKIAIOSFODNN7EXAMPLQ', 6), 'AKIAIO**************');
  });

  it('never shows more than a third of a value, and nothing of short ones', () => {
    assert.equal(redact('Zq83Lm02Vb77Pp', 8), 'Zq83**********');
    assert.equal(redact('hunter22', 4), '********');
    assert.equal(redact('abc', 4), '***');
  });

  it('shortens the mask of long values', () => {
    const out = redact('x'.repeat(500), 4);
    assert.ok(out.length < 30);
    assert.ok(out.endsWith('…'));
  });

  it('falls back to the redacted form when evidence repeats the secret', () => {
    const secret = 'Zq83Lm02Vb77Pp1xRt5y';
    assert.equal(safeEvidence(`token=${secret}`, secret, 2), redact(secret, 2));
    assert.equal(safeEvidence('token=Zq****', secret, 2), 'token=Zq****');
  });
});

describe('findings never contain the secret', () => {
  for (const c of positives) {
    if (c.secret === undefined) continue;
    const secret = c.secret;
    it(`${c.rule}: ${c.name}`, async () => {
      const findings = await analyzeFiles(secretsAnalyzer, c.files);
      assert.ok(findings.length > 0);
      const json = JSON.stringify(findings);
      assert.ok(!json.includes(secret), 'the full secret appears in a finding');
      assert.deepEqual(leakedPieces(secret, json), []);
    });
  }
});
