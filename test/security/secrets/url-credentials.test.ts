import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretsAnalyzer } from '../../../src/security/analyzers/secrets/index.js';
import { citedAsExample, isSamplePassword } from '../../../src/security/analyzers/secrets/rules/url-credentials.js';
import { createJudge, DEFAULT_POLICY, type Action } from '../../../src/security/policy.js';
import { analyzeFiles, type FileMap } from '../analyzer-harness.js';
import { randomString } from './fake-secrets.js';

/**
 * Credentials in URLs: what the default policy does with each shape. A generated password for a
 * real host blocks; the same password cited as an example in a sentence warns; documentation's
 * sample values (`key_1234`, `demo1234`) are not reported at all.
 */

const judge = createJudge(DEFAULT_POLICY);

async function verdictOf(files: FileMap): Promise<Action> {
  const findings = await analyzeFiles(secretsAnalyzer, files);
  return judge({ name: 'fixture', version: '1.0.0', findings: findings.map((f) => ({ ...f, analyzer: 'secrets' })) }).action;
}

const password = randomString('url-credentials-test', 14);

describe('url-basic-auth under the default policy', () => {
  it('blocks a generated password for a real host in a source constant', async () => {
    assert.equal(await verdictOf({ 'src/db.js': `export const DB = 'postgres://orders:${password}@db.acme-corp.net:5432/orders';` }), 'block');
  });

  it('blocks a generated password in a config file', async () => {
    assert.equal(await verdictOf({ 'config/default.yaml': `cache:\n  url: redis://:${password}@cache.acme-corp.net:6379/0\n` }), 'block');
  });

  it('blocks a password for a host whose name merely starts with "my"', async () => {
    assert.equal(await verdictOf({ 'src/db.js': `const url = "mysql://svc:${password}@mysql.acme-corp.net/app";` }), 'block');
  });

  it('warns on a generated password cited as an example in an error message', async () => {
    const source = `throw new Error("Wrong format. Must be a URI like amqp://worker:${password}@mq.acme-corp.net/vhost");`;
    assert.equal(await verdictOf({ 'lib/connect.js': source }), 'warn');
  });

  it('allows a sample key in an error message of bundled library code', async () => {
    const source = [
      'function _instructions(result, vaultKey) {',
      '  try { return new URL(vaultKey); } catch (error) {',
      '    throw new Error("INVALID_VAULT_KEY: Wrong format. Must be in valid uri format like vault://:key_1234@vault.acme-corp.net/app/.env.vault?environment=development");',
      '  }',
      '}',
    ].join('\n');
    const findings = await analyzeFiles(secretsAnalyzer, { 'lib/utilsBundle.js': source });
    assert.deepEqual(findings, []);
  });

  it('never puts the password in the finding', async () => {
    const findings = await analyzeFiles(secretsAnalyzer, { 'docs/setup.md': `Use a URL such as postgres://app:${password}@db.acme-corp.net/app.` });
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.details?.example, true);
    assert.ok(!JSON.stringify(findings).includes(password));
  });
});

describe('isSamplePassword', () => {
  for (const value of ['key_1234', 'demo1234', 'abc123', 'pwd_98765', 'pass42', 'token-7', 'proxy0000', 'apikey', 'test_0123']) {
    it(`${value} is a sample value`, () => assert.equal(isSamplePassword(value), true));
  }
  for (const value of ['Summer2024', 'hunter2', 'correcthorse', 'orders_2019', 'build3456', password, 'x7Kq2mPz9', 'k3y_1234']) {
    it(`${value.length > 12 ? 'a generated value' : value} is not`, () => assert.equal(isSamplePassword(value), false));
  }
});

describe('citedAsExample', () => {
  const at = (line: string): boolean => citedAsExample(line, line.indexOf('postgres://'));
  for (const line of [
    'throw new Error("Wrong format. Must be in valid uri format like postgres://u:p@h");',
    '// e.g. postgres://u:p@h',
    'Set it (for example "postgres://a:b@c", "postgres://u:p@h") before starting.',
    '* Examples: postgres://u:p@h',
    'The URL takes the form of postgres://u:p@h',
    'Usage: connect postgres://u:p@h',
    'Format: postgres://u:p@h',
    '    >>> connect("postgres://u:p@h")',
    "    ...     'postgres://u:p@h').finalize()",
    "    >>> builder.add_credentials('u', 'p').unsplit()\n    'postgres://u:p@h'",
  ]) {
    it(`example: ${line}`, () => assert.equal(at(line), true));
  }
  for (const line of [
    'const url = "postgres://u:p@h";',
    'const isLike = true; const url = "postgres://u:p@h";',
    'connect(format, "postgres://u:p@h")',
    '// connects like the old client\nconst url = "postgres://u:p@h";',
    'an unlikely postgres://u:p@h',
    '    >>> connect(x)\n\n    url = "postgres://u:p@h"',
    'x = 1 # >>> postgres://u:p@h',
    '>>>postgres://u:p@h',
  ]) {
    it(`not an example: ${line.replace(/\n/g, '\\n')}`, () => assert.equal(at(line), false));
  }
});
