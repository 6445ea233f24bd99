import type { Domain } from '../domain/index.js';
import { describeRanges, fixedVersions, isAffected } from './advisories/match.js';
import { normalizePackageName, splitEcosystem } from './advisories/ecosystems.js';
import type { Advisory, AffectedPackage } from './advisories/types.js';
import type { AdvisoryLookup, AdvisoryMatch } from './types.js';
import { versionSchemeFor, type VersionScheme } from './versions/index.js';

/**
 * Which `affected[]` entries a lookup in `ecosystem` reads. A bare ecosystem (`npm`, `Debian`)
 * reads every entry of that base, whatever its release. An ecosystem with a release
 * (`Debian:12`, `AlmaLinux:9`) reads the entries of that release and those without one (a
 * record for bare `Debian` applies to every release), never another release's: a Debian 11 fix
 * says nothing about the Debian 12 build.
 */
function entryFilter(ecosystem: string, name: string): { base: string; name: string; applies(entry: AffectedPackage): boolean } {
  const { base, full } = splitEcosystem(ecosystem);
  const normalized = normalizePackageName(base, name);
  const scoped = full !== base;
  return {
    base,
    name: normalized,
    applies: (entry) => entry.ecosystem === base && entry.name === normalized && (!scoped || entry.ecosystemFull === full || entry.ecosystemFull === base),
  };
}

function affects(advisory: Advisory, applies: (entry: AffectedPackage) => boolean, version: string, scheme: VersionScheme | undefined): boolean {
  return advisory.affected.some((entry) => applies(entry) && isAffected(entry, version, scheme));
}

/** The match as analyzers and `npm audit` see it; ranges and fixes of the looked-up release only. */
export function toMatch(advisory: Advisory, ecosystem: string, name: string): AdvisoryMatch {
  const filter = entryFilter(ecosystem, name);
  const entries = advisory.affected.filter(filter.applies);
  const scheme = versionSchemeFor(filter.base);
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
      const filter = entryFilter(ecosystem, name);
      const scheme = versionSchemeFor(filter.base);
      const advisories = await forPackage(filter.base, name);
      return advisories.filter((a) => affects(a, filter.applies, version, scheme)).map((a) => toMatch(a, ecosystem, name));
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
      const filter = entryFilter(ecosystem, name);
      const scheme = versionSchemeFor(filter.base);
      const candidates = byPackage.get(`${filter.base}\0${filter.name}`) ?? [];
      return candidates.filter((a) => affects(a, filter.applies, version, scheme)).map((a) => toMatch(a, ecosystem, name));
    },
  };
}
