import type { Domain } from '../domain/index.js';
import { advisoryAffects, describeRanges, fixedVersions } from './advisories/match.js';
import { normalizePackageName, splitEcosystem } from './advisories/ecosystems.js';
import type { Advisory } from './advisories/types.js';
import type { AdvisoryLookup, AdvisoryMatch } from './types.js';
import { versionSchemeFor } from './versions/index.js';

/** The match as analyzers and `npm audit` see it. */
export function toMatch(advisory: Advisory, ecosystem: string, name: string): AdvisoryMatch {
  const entries = advisory.affected.filter((a) => a.ecosystem === ecosystem && a.name === name);
  const scheme = versionSchemeFor(ecosystem);
  const match: AdvisoryMatch = {
    id: advisory.id,
    aliases: advisory.aliases,
    summary: advisory.summary,
    severity: advisory.severity,
    malicious: advisory.malicious,
    affectedRanges: describeRanges(entries, scheme),
    fixed: fixedVersions(entries, scheme),
  };
  const url = advisory.references[0];
  if (url !== undefined) match.url = url;
  return match;
}

/** Matches versions against the advisories stored for their package; withdrawn records never match. */
export function createAdvisoryLookup(domain: Domain): AdvisoryLookup & { forPackage(ecosystem: string, name: string): Promise<Advisory[]> } {
  async function forPackage(ecosystem: string, name: string): Promise<Advisory[]> {
    const base = splitEcosystem(ecosystem).base;
    const rows = await domain.advisories.forPackage(base, normalizePackageName(base, name));
    return rows.filter((r) => r.withdrawn === null).map((r) => r.document as Advisory);
  }
  return {
    forPackage,
    async affecting(ecosystem, name, version) {
      const base = splitEcosystem(ecosystem).base;
      const normalized = normalizePackageName(base, name);
      const scheme = versionSchemeFor(base);
      const advisories = await forPackage(base, name);
      return advisories.filter((a) => advisoryAffects(a, base, normalized, version, scheme)).map((a) => toMatch(a, base, normalized));
    },
  };
}

/** A lookup over advisories held in memory: `stockade scan --advisories PATH` works without a database. */
export function createMemoryAdvisoryLookup(advisories: Iterable<Advisory>): AdvisoryLookup {
  const byPackage = new Map<string, Advisory[]>();
  for (const advisory of advisories) {
    if (advisory.withdrawn !== undefined) continue;
    for (const affected of advisory.affected) {
      const key = `${affected.ecosystem}\0${affected.name}`;
      const list = byPackage.get(key) ?? [];
      if (!list.includes(advisory)) list.push(advisory);
      byPackage.set(key, list);
    }
  }
  return {
    async affecting(ecosystem, name, version) {
      const base = splitEcosystem(ecosystem).base;
      const normalized = normalizePackageName(base, name);
      const scheme = versionSchemeFor(base);
      const candidates = byPackage.get(`${base}\0${normalized}`) ?? [];
      return candidates.filter((a) => advisoryAffects(a, base, normalized, version, scheme)).map((a) => toMatch(a, base, normalized));
    },
  };
}
