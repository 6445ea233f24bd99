import type { AnalysisContext, Analyzer, AnalyzerFinding } from '../../types.js';
import { namingFor } from './ecosystems.js';
import { findLookalikes } from './match.js';
import { buildNameIndex, scopeOf, type NameIndex } from './name-index.js';

/**
 * Typosquat: warns when a package's name imitates a popular one of its ecosystem (one typo, a
 * swapped pair, other separators, an added `-js`, a look-alike character, a scope turned into
 * a prefix). Listed popular names are never flagged, nor names in a scope that holds a listed
 * name (its owner is that popular publisher), nor matches against names the same owner
 * publishes. Name similarity alone is weak evidence, so every finding is medium and the
 * default policy only warns.
 */

export interface TyposquatOptions {
  /**
   * Only names ranked at or above this are targets (popularity gap: imitating an obscure name
   * gains an attacker little). Every listed name stays exempt whatever its rank.
   */
  maxTargetRank?: number;
}

const DEFAULT_MAX_TARGET_RANK = 10_000;
/** Other matches listed in details, for the reviewer. */
const MAX_OTHERS = 4;

export function createTyposquatAnalyzer(options: TyposquatOptions = {}): Analyzer {
  const maxTargetRank = options.maxTargetRank ?? DEFAULT_MAX_TARGET_RANK;
  // One index per list and ecosystem, built on first use: lists come from PopularNames, which
  // hands out the same array every time, so the index outlives single analyses.
  const indexes = new WeakMap<readonly string[], Map<string, NameIndex>>();
  const indexFor = (names: readonly string[], ecosystem: string): NameIndex => {
    let byEcosystem = indexes.get(names);
    if (byEcosystem === undefined) {
      byEcosystem = new Map();
      indexes.set(names, byEcosystem);
    }
    let index = byEcosystem.get(ecosystem);
    if (index === undefined) {
      index = buildNameIndex(names, namingFor(ecosystem), { maxTargetRank });
      byEcosystem.set(ecosystem, index);
    }
    return index;
  };

  return {
    id: 'typosquat',
    version: 2,
    // Reads the popular lists and the owner's other names, not only the artifact bytes.
    cacheable: false,
    // Every ecosystem may have a list; one without a list yields no findings.
    appliesTo: (artifact) => artifact.name !== '',
    analyze(_view, ctx) {
      const names = ctx.popular.list(ctx.artifact.ecosystem);
      if (names.length === 0) return [];
      return judgeName(indexFor(names, ctx.artifact.ecosystem), ctx);
    },
  };
}

export const typosquatAnalyzer: Analyzer = createTyposquatAnalyzer();

/**
 * An npm scope belongs to one publisher, and only its members publish into it. A new name in a
 * scope that already holds a listed popular package therefore comes from that popular
 * publisher, not from someone imitating it: `@babel/helper-call-delegate` next to the legacy
 * `babel-helper-call-delegate`, `@types/d3-time` next to `@types/d3-timer`, `@expo/server` next
 * to `expo-server`. A look-alike scope (`@babell/core`, `@typess/node`) holds no listed name
 * and is still checked.
 */
function inEstablishedScope(index: NameIndex, name: string): boolean {
  if (!index.naming.scoped) return false;
  const scope = scopeOf(index.naming.normalize(name));
  return scope !== undefined && index.scopes.has(scope);
}

async function judgeName(index: NameIndex, ctx: AnalysisContext): Promise<AnalyzerFinding[]> {
  const { naming } = index;
  const name = ctx.artifact.name;
  // A popular package is never a squat of another; case-sensitive ecosystems compare as listed.
  if (naming.caseSensitive ? index.listedRaw.has(name) : index.listed.has(naming.normalize(name))) return [];
  if (inEstablishedScope(index, name)) return [];
  const lookalikes = findLookalikes(index, name);
  if (lookalikes.length === 0) return [];
  const ownerNames = await ctx.ownerNames();
  const owned = new Set([...ownerNames].map((n) => naming.normalize(n)));
  const matches = lookalikes.filter((m) => !owned.has(m.target.norm) && !(naming.caseSensitive && ownerNames.has(m.target.name)));
  const best = matches[0];
  if (best === undefined) return [];
  const why = best.note ?? best.technique;
  return [
    {
      rule: `typosquat/${best.technique}`,
      severity: 'medium',
      confidence: best.confidence,
      message: `The name "${name}" looks like the popular package "${best.target.name}" (${why}).`,
      evidence: name.slice(0, 200),
      details: {
        target: best.target.name,
        technique: best.technique,
        targetRank: best.target.rank,
        ...(matches.length > 1 ? { others: matches.slice(1, 1 + MAX_OTHERS).map((m) => ({ target: m.target.name, technique: m.technique, targetRank: m.target.rank })) } : {}),
      },
    },
  ];
}
