import { isDeepStrictEqual } from 'node:util';
import type { Analyzer, AnalyzerFinding } from '../../types.js';

/** Manifest fields that change what an install does; a difference between claim and artifact is manifest confusion. */
const COMPARED_FIELDS = ['name', 'version', 'dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'scripts', 'bin', 'main'];

function short(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Integrity of what entered: the digests a client or upstream claimed against the bytes received,
 * and the metadata it claimed against the artifact's own manifest. Generic over formats: each
 * format passes the claims it has. Not cacheable, because claims differ between uploads of the
 * same bytes.
 */
export const integrityAnalyzer: Analyzer = {
  id: 'integrity',
  version: 1,
  cacheable: false,
  appliesTo: () => true,
  analyze(_view, ctx) {
    const findings: AnalyzerFinding[] = [];
    const claims = ctx.claims;
    if (!claims) return findings;
    const actual: Record<string, string> = { ...(ctx.artifact.digests ?? {}), sha256: ctx.artifact.sha256 };
    for (const [algorithm, claimed] of Object.entries(claims.digests ?? {})) {
      const computed = actual[algorithm];
      if (computed === undefined) continue;
      if (claimed.toLowerCase() !== computed.toLowerCase()) {
        findings.push({
          rule: 'integrity/digest-mismatch',
          severity: 'critical',
          confidence: 'high',
          message: `the claimed ${algorithm} ${claimed.slice(0, 16)}… does not match the received bytes (${computed.slice(0, 16)}…)`,
          details: { algorithm, claimed, computed },
        });
      }
    }
    if (claims.manifest) {
      for (const field of COMPARED_FIELDS) {
        const claimed = claims.manifest[field];
        const own = ctx.artifact.manifest[field];
        if (claimed === undefined && own === undefined) continue;
        if (!isDeepStrictEqual(claimed, own)) {
          findings.push({
            rule: 'integrity/manifest-confusion',
            severity: field === 'scripts' || field.endsWith('ependencies') || field === 'bin' ? 'high' : 'medium',
            confidence: 'high',
            message: `"${field}" in the claimed metadata (${short(claimed)}) differs from the artifact's own manifest (${short(own)})`,
            details: { field },
          });
        }
      }
    }
    return findings;
  },
};
