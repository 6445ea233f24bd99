import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateTokenSecret } from '../../../src/domain/tokens.js';
import { crc32Base62, encodeBech32, hasBase62Checksum, isValidBech32 } from '../../../src/security/analyzers/secrets/checksums.js';
import { secretRules, secretsAnalyzer } from '../../../src/security/analyzers/secrets/index.js';
import { analyzeFiles, contextFor, rulesOf, viewOf } from '../analyzer-harness.js';
import { checksumToken, pemBlock, randomString, stockadeToken } from './fake-secrets.js';

const ghp = checksumToken('ghp_', 'analyzer-ghp');
const npm = checksumToken('npm_', 'analyzer-npm');

describe('secrets analyzer', () => {
  it('is a cacheable analyzer for every format', () => {
    assert.equal(secretsAnalyzer.id, 'secrets');
    assert.equal(secretsAnalyzer.version, 3);
    assert.equal(secretsAnalyzer.cacheable, true);
    const ctx = contextFor(viewOf({}));
    assert.ok(secretsAnalyzer.appliesTo(ctx.artifact));
    assert.ok(secretsAnalyzer.appliesTo({ ...ctx.artifact, format: 'pypi', ecosystem: 'PyPI' }));
  });

  it('has at least 30 rules with kebab-case ids', () => {
    assert.ok(secretRules.length >= 30, `only ${secretRules.length} rules`);
    for (const rule of secretRules) assert.match(rule.id, /^[a-z0-9]+(?:-[a-z0-9]+)*$/);
  });

  it('reports file, line and column of the secret', async () => {
    const [finding] = await analyzeFiles(secretsAnalyzer, { 'lib/a.js': `// one\n// two\n  const t = "${ghp}";\n` });
    assert.deepEqual(finding?.location, { file: 'lib/a.js', line: 3, column: 14 });
  });

  it('lowers severity and confidence under test and example paths but keeps the finding', async () => {
    for (const path of ['test/fixtures/a.js', '__tests__/a.js', 'examples/a.js', 'src/a.spec.ts']) {
      const [finding] = await analyzeFiles(secretsAnalyzer, { [path]: `x = "${ghp}"` });
      assert.equal(finding?.rule, 'secrets/github-pat', path);
      assert.equal(finding?.severity, 'high', path);
      assert.equal(finding?.confidence, 'medium', path);
      assert.equal(finding?.details?.testPath, true, path);
    }
  });

  it('reports a repeated secret once per file with a count', async () => {
    const findings = await analyzeFiles(secretsAnalyzer, { 'a.js': `${ghp}\n${ghp}\n${ghp}\n` });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.details?.occurrences, 3);
  });

  it('reports a token in .npmrc once, by its most specific rule', async () => {
    const findings = await analyzeFiles(secretsAnalyzer, { '.npmrc': `//registry.example/:_authToken=${npm}\n` });
    assert.deepEqual(rulesOf(findings), ['secrets/npm-access-token']);
  });

  it('reports the key of a service-account file once', async () => {
    const key = pemBlock('PRIVATE KEY', 'sa-once', 900);
    const findings = await analyzeFiles(secretsAnalyzer, { 'sa.json': JSON.stringify({ type: 'service_account', private_key: key }) });
    assert.deepEqual(rulesOf(findings), ['secrets/gcp-service-account']);
  });

  it('scans dotfiles and files without extension', async () => {
    const findings = await analyzeFiles(secretsAnalyzer, { '.github/.secret': ghp, LICENSE_NOTES: ghp });
    assert.equal(findings.length, 2);
  });

  it('skips source maps and binary files', async () => {
    const binary = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(ghp)]);
    const findings = await analyzeFiles(secretsAnalyzer, { 'dist/a.js.map': `{"sourcesContent":["${ghp}"]}`, 'bin/tool': binary });
    assert.deepEqual(findings, []);
  });

  it('still runs precise rules inside minified bundles', async () => {
    const bundle = `${'var a=1;'.repeat(2000)}var t="${npm}";${'var b=2;'.repeat(2000)}`;
    const findings = await analyzeFiles(secretsAnalyzer, { 'dist/app.min.js': bundle });
    assert.deepEqual(rulesOf(findings), ['secrets/npm-access-token']);
  });

  it('scans only the head of huge files', async () => {
    const filler = `${'// padding line\n'.repeat(300_000)}`;
    const findings = await analyzeFiles(secretsAnalyzer, { 'data/big.txt': `${ghp}\n${filler}${npm}\n` });
    assert.deepEqual(rulesOf(findings), ['secrets/github-pat']);
  });

  it('checks the deadline between files', async () => {
    const view = viewOf({ 'a.js': 'x', 'b.js': 'y', 'c.js': 'z' });
    let calls = 0;
    const ctx = { ...contextFor(view), checkDeadline: () => void calls++ };
    await secretsAnalyzer.analyze(view, ctx);
    assert.equal(calls, 3);
  });

  it('stays quiet on an ordinary package', async () => {
    const findings = await analyzeFiles(secretsAnalyzer, {
      'package.json': JSON.stringify({ name: 'left-pad-ish', version: '1.0.0', scripts: { test: 'node --test' } }),
      'index.js': "export function pad(s, n, c = ' ') { return String(s).padStart(n, c); }\n",
      'README.md': '# left-pad-ish\n\nSet `NPM_TOKEN` in CI and reference it as `${NPM_TOKEN}` in .npmrc.\n',
      '.npmrc': '//registry.example/:_authToken=${NPM_TOKEN}\n',
    });
    assert.deepEqual(findings, []);
  });
});

describe('stockade tokens', () => {
  it('detects tokens made by the real generator', async () => {
    for (let i = 0; i < 20; i++) {
      const token = generateTokenSecret();
      const findings = await analyzeFiles(secretsAnalyzer, { 'publish.mjs': `const token = '${token}';` });
      assert.deepEqual(rulesOf(findings), ['secrets/stockade-token'], token.slice(0, 8));
      assert.ok(!JSON.stringify(findings).includes(token));
    }
  });

  it('ignores stk_ strings whose checksum does not match', async () => {
    const token = stockadeToken('analyzer');
    const body = randomString('analyzer-other', 32);
    const findings = await analyzeFiles(secretsAnalyzer, { 'a.js': `'stk_${body}${token.slice(-7)}'` });
    assert.deepEqual(rulesOf(findings), []);
  });
});

describe('checksums', () => {
  it('computes the GitHub/npm base62 CRC32', () => {
    const body = randomString('crc', 30);
    assert.equal(crc32Base62(body, 6).length, 6);
    assert.ok(hasBase62Checksum(`ghp_${body}${crc32Base62(body, 6)}`, 4));
    assert.ok(!hasBase62Checksum(`ghp_${body}000000`, 4));
  });

  it('verifies Bech32', () => {
    const value = encodeBech32('age-secret-key-', Array.from({ length: 52 }, (_, i) => (i * 7) % 32));
    assert.ok(isValidBech32(value));
    assert.ok(isValidBech32(value.toUpperCase()));
    assert.ok(!isValidBech32(`${value.slice(0, -1)}${value.endsWith('q') ? 'p' : 'q'}`));
  });
});
