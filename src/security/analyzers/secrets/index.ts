import type { AnalyzerFinding, Analyzer, Confidence, ContentView, Severity } from '../../types.js';
import type { ScanFile } from './detector.js';
import { isSkipped, isTestPath } from './paths.js';
import { safeEvidence } from './redact.js';
import { detectKeystore } from './rules/keystores.js';
import { detectors } from './rules/index.js';
import { createSecretScanner, type FileHit } from './scan-file.js';

export { redact } from './redact.js';
export { secretRules } from './rules/index.js';

/** Only the head of a huge text file is scanned: credentials sit in configs and sources, not in 100 MiB data dumps. */
const MAX_SCAN_CHARS = 4 * 1024 * 1024;
const MAX_FINDINGS_PER_FILE = 50;
const MAX_FINDINGS = 500;
const scan = createSecretScanner(detectors);
const LOWER_CONFIDENCE: Record<Confidence, Confidence> = { high: 'medium', medium: 'low', low: 'low' };
const LOWER_SEVERITY: Record<Severity, Severity> = { critical: 'high', high: 'medium', medium: 'low', low: 'low', info: 'info' };

/**
 * Tests, fixtures and examples ship throwaway keys and fake tokens (a self-signed TLS key for a
 * test server is the classic case). The finding stays, one step lower in severity and
 * confidence, so a policy can still act on it without blocking every HTTPS library.
 */
function forTestPath(finding: AnalyzerFinding): AnalyzerFinding {
  return {
    ...finding,
    severity: LOWER_SEVERITY[finding.severity],
    confidence: LOWER_CONFIDENCE[finding.confidence],
    message: finding.message.replace(/\.$/, ', a test or example path.'),
    details: { ...finding.details, testPath: true },
  };
}

function toFinding(file: ScanFile, hit: FileHit): AnalyzerFinding {
  const { line, column } = file.position(hit.start);
  const details: Record<string, unknown> = { ...hit.details };
  if (hit.occurrences > 1) details.occurrences = hit.occurrences;
  const finding: AnalyzerFinding = {
    rule: `secrets/${hit.rule}`,
    severity: hit.severity,
    confidence: hit.confidence,
    message: `Found ${hit.label} in ${file.path}.`,
    location: { file: file.path, line, column },
    evidence: safeEvidence(hit.evidence, hit.secret, hit.shown),
  };
  if (Object.keys(details).length > 0) finding.details = details;
  return file.testPath ? forTestPath(finding) : finding;
}

function analyze(view: ContentView, ctx: { checkDeadline(): void }): AnalyzerFinding[] {
  const findings: AnalyzerFinding[] = [];
  for (const entry of view.files) {
    if (findings.length >= MAX_FINDINGS) break;
    ctx.checkDeadline();
    if (isSkipped(entry.path)) continue;
    const keystore = detectKeystore(entry, view.read(entry.path));
    if (keystore) {
      findings.push(isTestPath(entry.path) ? forTestPath(keystore) : keystore);
      continue;
    }
    const full = view.text(entry.path);
    if (full === undefined) continue;
    const bytes = view.read(entry.path);
    // A UTF-16 unit takes at most 3 UTF-8 bytes, so these bytes cover the scanned text.
    const { file, hits } = scan(entry.path, full.length > MAX_SCAN_CHARS ? full.slice(0, MAX_SCAN_CHARS) : full, bytes?.subarray(0, 3 * MAX_SCAN_CHARS));
    for (const hit of hits.slice(0, MAX_FINDINGS_PER_FILE)) findings.push(toFinding(file, hit));
  }
  return findings.slice(0, MAX_FINDINGS);
}

/**
 * Finds credentials a publisher shipped by mistake: provider tokens by their documented formats
 * (checksums verified where the format has one), key material, credential files (.npmrc,
 * .pypirc, docker config, .git-credentials, .env) and, at low confidence, credential-named
 * assignments of generated-looking values. Findings never carry a secret in clear.
 */
export const secretsAnalyzer: Analyzer = {
  id: 'secrets',
  version: 3,
  cacheable: true,
  appliesTo: () => true,
  analyze,
};
