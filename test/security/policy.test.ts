import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StockadeError } from '../../src/errors.js';
import { createJudge, DEFAULT_POLICY, parsePolicy, type PolicyException } from '../../src/security/policy.js';
import type { Finding } from '../../src/security/types.js';

const finding = (over: Partial<Finding> & Pick<Finding, 'analyzer' | 'rule'>): Finding => ({
  severity: 'high',
  confidence: 'high',
  message: 'something found',
  ...over,
});

const judgeDefault = (findings: Finding[], exceptions: PolicyException[] = [], name = 'pkg') =>
  createJudge(DEFAULT_POLICY, exceptions)({ name, version: '1.0.0', findings });

describe('default policy', () => {
  const cases: { name: string; finding: Finding; action: string }[] = [
    { name: 'known malware blocks', finding: finding({ analyzer: 'vulns', rule: 'vulns/malicious', severity: 'critical' }), action: 'block' },
    { name: 'a leaked key blocks', finding: finding({ analyzer: 'secrets', rule: 'secrets/aws-access-key-id' }), action: 'block' },
    { name: 'a low-confidence secret only warns', finding: finding({ analyzer: 'secrets', rule: 'secrets/generic-assignment', severity: 'medium', confidence: 'low' }), action: 'warn' },
    { name: 'curl piped to sh quarantines', finding: finding({ analyzer: 'install-scripts', rule: 'install-scripts/pipe-to-shell', severity: 'critical' }), action: 'quarantine' },
    { name: 'a plain install hook is allowed', finding: finding({ analyzer: 'install-scripts', rule: 'install-scripts/runs-package-file', severity: 'info' }), action: 'allow' },
    { name: 'correlated malware quarantines', finding: finding({ analyzer: 'malware', rule: 'malware/exfiltration' }), action: 'quarantine' },
    { name: 'a weak malware signal warns', finding: finding({ analyzer: 'malware', rule: 'malware/obfuscation', severity: 'medium', confidence: 'medium' }), action: 'warn' },
    { name: 'a critical vulnerability warns', finding: finding({ analyzer: 'vulns', rule: 'vulns/known-vulnerability', severity: 'critical' }), action: 'warn' },
    { name: 'a typosquat warns', finding: finding({ analyzer: 'typosquat', rule: 'typosquat/transposition', severity: 'medium', confidence: 'medium' }), action: 'warn' },
    { name: 'an integrity mismatch blocks', finding: finding({ analyzer: 'integrity', rule: 'integrity/digest-mismatch' }), action: 'block' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = judgeDefault([c.finding]);
      assert.equal(verdict.action, c.action);
      assert.equal(verdict.findings[0]?.action, c.action);
    });
  }

  it('takes the most severe action and explains it with file and line', () => {
    const verdict = judgeDefault([
      finding({ analyzer: 'typosquat', rule: 'typosquat/omission', severity: 'medium' }),
      finding({ analyzer: 'secrets', rule: 'secrets/npm-token', message: 'npm access token npm_ab… found', location: { file: 'lib/.npmrc', line: 2 } }),
    ]);
    assert.equal(verdict.action, 'block');
    assert.deepEqual(verdict.reasons, ['secrets/npm-token in lib/.npmrc:2: npm access token npm_ab… found']);
  });

  it('fails closed when an analyzer failed', () => {
    const verdict = createJudge(DEFAULT_POLICY)({ name: 'p', version: '1.0.0', findings: [], failures: [{ analyzer: 'malware', reason: 'took longer than 10 ms' }] });
    assert.equal(verdict.action, 'quarantine');
    assert.deepEqual(verdict.reasons, ['analyzer malware failed: took longer than 10 ms']);
  });

  it('fails open when the policy says so', () => {
    const policy = parsePolicy({ version: 1, onAnalyzerFailure: 'allow', rules: [] });
    const verdict = createJudge(policy)({ name: 'p', version: '1.0.0', findings: [], failures: [{ analyzer: 'malware', reason: 'x' }] });
    assert.equal(verdict.action, 'allow');
  });
});

describe('policy rules', () => {
  it('first matching rule wins, selecting by rule glob, severity, confidence and package glob', () => {
    const policy = parsePolicy({
      version: 1,
      rules: [
        { match: { package: '@acme/*', analyzer: 'vulns' }, action: 'allow' },
        { match: { rule: 'vulns/*', severityAtLeast: 'critical' }, action: 'quarantine' },
        { match: { analyzer: 'vulns', confidenceAtLeast: 'medium' }, action: 'warn' },
      ],
    });
    const judge = createJudge(policy);
    const vuln = (severity: Finding['severity'], confidence: Finding['confidence']) => finding({ analyzer: 'vulns', rule: 'vulns/known-vulnerability', severity, confidence });
    assert.equal(judge({ name: 'left-pad', version: '1.0.0', findings: [vuln('critical', 'high')] }).action, 'quarantine');
    assert.equal(judge({ name: 'left-pad', version: '1.0.0', findings: [vuln('high', 'high')] }).action, 'warn');
    assert.equal(judge({ name: 'left-pad', version: '1.0.0', findings: [vuln('high', 'low')] }).action, 'allow');
    assert.equal(judge({ name: '@acme/core', version: '1.0.0', findings: [vuln('critical', 'high')] }).action, 'allow');
  });

  it('unselected findings get the default action', () => {
    const judge = createJudge(parsePolicy({ version: 1, defaultAction: 'warn', rules: [] }));
    assert.equal(judge({ name: 'p', version: '1.0.0', findings: [finding({ analyzer: 'x', rule: 'x/y' })] }).action, 'warn');
  });
});

describe('exceptions', () => {
  const aws = finding({ analyzer: 'secrets', rule: 'secrets/aws-access-key-id' });
  const exception = (over: Partial<PolicyException>): PolicyException => ({ id: 7, package: 'pkg', version: null, rule: null, reason: 'test fixture key', expiresAt: null, ...over });

  it('lets a matching finding through and says which exception did', () => {
    const verdict = judgeDefault([aws], [exception({ rule: 'secrets/*' })]);
    assert.equal(verdict.action, 'allow');
    assert.equal(verdict.findings[0]?.exception, 7);
  });

  it('is limited to its package, version and rule', () => {
    assert.equal(judgeDefault([aws], [exception({ package: 'other' })]).action, 'block');
    assert.equal(judgeDefault([aws], [exception({ version: '2.0.0' })]).action, 'block');
    assert.equal(judgeDefault([aws], [exception({ rule: 'secrets/npm-token' })]).action, 'block');
    assert.equal(judgeDefault([aws], [exception({ version: '1.0.0', rule: 'secrets/aws-access-key-id' })]).action, 'allow');
  });

  it('stops working when it expires', () => {
    const past = new Date(Date.now() - 1000).toISOString();
    const future = new Date(Date.now() + 60_000).toISOString();
    assert.equal(judgeDefault([aws], [exception({ expiresAt: past })]).action, 'block');
    assert.equal(judgeDefault([aws], [exception({ expiresAt: future })]).action, 'allow');
  });
});

describe('parsePolicy', () => {
  const invalid: { name: string; doc: unknown; message: RegExp }[] = [
    { name: 'unknown action', doc: { version: 1, rules: [{ match: {}, action: 'delete' }] }, message: /invalid policy: rules\[0\]\.action: / },
    { name: 'unknown key', doc: { version: 1, rules: [{ match: { severity: 'high' }, action: 'warn' }] }, message: /rules\[0\]\.match: unknown key "severity"/ },
    { name: 'bad severity', doc: { version: 1, rules: [{ match: {}, action: 'warn' }, { match: { severityAtLeast: 'huge' }, action: 'warn' }] }, message: /rules\[1\]\.match\.severityAtLeast/ },
    { name: 'missing version', doc: { rules: [] }, message: /invalid policy: version/ },
    { name: 'not an object', doc: 'block everything', message: /invalid policy/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name} with the path of the error`, () => {
      assert.throws(
        () => parsePolicy(c.doc),
        (error: unknown) => error instanceof StockadeError && error.code === 'INVALID_POLICY' && c.message.test(error.message),
      );
    });
  }

  it('accepts the default policy as a document', () => {
    assert.deepEqual(parsePolicy(JSON.parse(JSON.stringify(DEFAULT_POLICY))), DEFAULT_POLICY);
  });
});
