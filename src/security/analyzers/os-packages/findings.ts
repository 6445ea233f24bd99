import { SEVERITIES, type AnalyzerFinding, type Confidence, type Severity } from '../../types.js';
import { clip } from '../install-scripts/patterns.js';

/**
 * The rules of the analyzer. Severity and confidence are chosen per case against the policy
 * rules in policy-rules.ts: clearly malicious behaviour is high or critical with high
 * confidence (quarantine), merely risky behaviour is medium, or high with lower confidence
 * (warn), and what reviewers only need to see is info or low (allow).
 */
export type OsPackageRule =
  | 'download-execute'
  | 'decode-execute'
  | 'reverse-shell'
  | 'exfiltration'
  | 'privileged-user'
  | 'authorized-keys'
  | 'sudoers'
  | 'preload-hijack'
  | 'persistence'
  | 'disable-security'
  | 'anti-forensics'
  | 'setuid'
  | 'world-writable'
  | 'network'
  | 'inline-code'
  | 'auth-config'
  | 'apt-source'
  | 'uninspectable-script'
  | 'cron-job'
  | 'profile-script'
  | 'device-node';

export const ANALYZER_ID = 'os-packages';

export interface Hit {
  rule: OsPackageRule;
  severity: Severity;
  confidence: Confidence;
  message: string;
  line?: number;
  evidence?: string;
  details?: Record<string, unknown>;
}

export function toFinding(file: string, hit: Hit): AnalyzerFinding {
  const finding: AnalyzerFinding = {
    rule: `${ANALYZER_ID}/${hit.rule}`,
    severity: hit.severity,
    confidence: hit.confidence,
    message: hit.message.charAt(0).toUpperCase() + hit.message.slice(1),
    location: hit.line === undefined ? { file } : { file, line: hit.line },
  };
  if (hit.evidence !== undefined && hit.evidence !== '') finding.evidence = clip(hit.evidence);
  if (hit.details !== undefined) finding.details = hit.details;
  return finding;
}

const strength = (f: AnalyzerFinding): number => SEVERITIES.indexOf(f.severity) * 3 + ['low', 'medium', 'high'].indexOf(f.confidence);

/**
 * One finding per rule and place, the strongest kept; a `network` finding is dropped where a
 * stronger rule already explains the same line (the curl of `curl … | sh`, the nc of a reverse shell).
 */
export function dedupe(findings: readonly AnalyzerFinding[]): AnalyzerFinding[] {
  const where = (f: AnalyzerFinding): string => `${f.location?.file ?? ''}:${f.location?.line ?? ''}`;
  const best = new Map<string, AnalyzerFinding>();
  for (const f of findings) {
    const key = `${f.rule}@${where(f)}`;
    const prev = best.get(key);
    if (prev === undefined || strength(f) > strength(prev)) best.set(key, f);
  }
  const kept = [...best.values()];
  return kept.filter((f) => f.rule !== `${ANALYZER_ID}/network` || !kept.some((o) => o !== f && where(o) === where(f) && strength(o) > strength(f)));
}
