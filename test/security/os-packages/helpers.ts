import { createJudge, DEFAULT_POLICY, type Policy, type Verdict } from '../../../src/security/policy.js';
import { osPackagesAnalyzer } from '../../../src/security/analyzers/os-packages/index.js';
import { SEVERITIES, type AnalyzerFinding, type ContentView, type Severity } from '../../../src/security/types.js';
import type { ViewEntryInput } from '../../../src/security/view.js';
import { contextFor, viewOf, type FileMap } from '../analyzer-harness.js';

/** Runs the analyzer on a view as the gate would for a Debian artifact. */
export async function analyzeDebView(view: ContentView, manifest: Record<string, unknown> = {}, name = 'demo'): Promise<AnalyzerFinding[]> {
  const ctx = contextFor(view, { artifact: { format: 'debian', ecosystem: 'Debian', name, version: '1.0-1', filename: `${name}_1.0-1_amd64.deb`, manifest } });
  if (!osPackagesAnalyzer.appliesTo(ctx.artifact)) throw new Error('the analyzer does not apply to debian');
  return osPackagesAnalyzer.analyze(view, ctx);
}

/** Files of a package (control members under DEBIAN/) plus entries with explicit modes. */
export function analyzeDeb(files: FileMap, extra: ViewEntryInput[] = [], manifest: Record<string, unknown> = {}): Promise<AnalyzerFinding[]> {
  return analyzeDebView(viewOf(files, extra), manifest);
}

export const atLeast = (f: AnalyzerFinding, s: Severity): boolean => SEVERITIES.indexOf(f.severity) >= SEVERITIES.indexOf(s);

/** The policy the analyzer is calibrated for: the default one, which has its two entries. */
export const CALIBRATED_POLICY: Policy = DEFAULT_POLICY;

export function verdictOf(findings: AnalyzerFinding[], policy: Policy = CALIBRATED_POLICY): Verdict {
  return createJudge(policy)({ name: 'demo', version: '1.0-1', findings: findings.map((f) => ({ ...f, analyzer: osPackagesAnalyzer.id })) });
}

export function describe(findings: AnalyzerFinding[]): string {
  return findings.map((f) => `${f.rule} ${f.severity}/${f.confidence} ${f.location?.file ?? ''}:${f.location?.line ?? ''} ${f.message}`).join('\n');
}
