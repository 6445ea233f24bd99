import { createHash } from 'node:crypto';
import type { Domain } from '../../domain/index.js';
import { advisoryAffects, describeRanges } from '../../security/advisories/match.js';
import type { Advisory } from '../../security/advisories/types.js';
import { createAdvisoryLookup } from '../../security/advisory-lookup.js';
import { semverScheme } from '../../security/versions/index.js';

/** One advisory in the shape npm's bulk audit endpoint answers with. */
export interface NpmBulkAdvisory {
  id: number;
  url: string;
  title: string;
  severity: 'info' | 'low' | 'moderate' | 'high' | 'critical';
  vulnerable_versions: string;
  cwe: string[];
  cvss: { score: number; vectorString: string | null };
}

const MAX_NAMES = 10_000;
const MAX_VERSIONS_PER_NAME = 1_000;

/** npm wants a number; a stable one is derived from the OSV id so repeated audits agree. */
function numericId(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0);
}

/** The affected versions as a range npm understands: `>=1.0.0 <1.2.3 || 2.0.0`. */
function npmRange(advisory: Advisory, name: string): string {
  const entries = advisory.affected.filter((a) => a.ecosystem === 'npm' && a.name === name);
  const ranges: string[] = [];
  for (const entry of entries) {
    // Ranges only; explicit versions are listed one by one so nothing is cut off.
    const text = describeRanges({ ...entry, versions: [] }, semverScheme);
    if (text !== '') ranges.push(...text.split(', '));
    ranges.push(...entry.versions);
  }
  return [...new Set(ranges)].join(' || ');
}

/**
 * `POST /-/npm/v1/security/advisories/bulk`: `{name: [versions]}` → advisories from Stockade's
 * advisory database that affect at least one of the listed versions. `npm audit` matches the
 * ranges against its own tree.
 */
export function createNpmAudit(domain: Domain) {
  const lookup = createAdvisoryLookup(domain);
  return async function bulk(body: unknown): Promise<Record<string, NpmBulkAdvisory[]>> {
    const answer: Record<string, NpmBulkAdvisory[]> = Object.create(null) as Record<string, NpmBulkAdvisory[]>;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return answer;
    const entries = Object.entries(body as Record<string, unknown>).slice(0, MAX_NAMES);
    for (const [name, versions] of entries) {
      if (!Array.isArray(versions)) continue;
      const wanted = versions.filter((v): v is string => typeof v === 'string').slice(0, MAX_VERSIONS_PER_NAME);
      const advisories = await lookup.forPackage('npm', name);
      const found: NpmBulkAdvisory[] = [];
      for (const advisory of advisories) {
        if (!wanted.some((v) => advisoryAffects(advisory, 'npm', name, v, semverScheme))) continue;
        const range = npmRange(advisory, name);
        if (range === '') continue;
        found.push({
          id: numericId(advisory.id),
          url: advisory.references[0] ?? '',
          title: `${advisory.summary} (${advisory.id})`,
          severity: advisory.severity === 'medium' ? 'moderate' : advisory.severity,
          vulnerable_versions: range,
          cwe: advisory.malicious ? ['CWE-506'] : [],
          cvss: { score: 0, vectorString: null },
        });
      }
      if (found.length > 0) answer[name] = found;
    }
    return answer;
  };
}
