import type { AdvisoryMatch, Analyzer, AnalyzerFinding, ContentView } from '../../types.js';

const MAX_SHRINKWRAP_BYTES = 8 * 1024 * 1024;
/** Pinned dependencies checked per artifact; a bigger tree is checked up to this many. */
const MAX_PINNED = 5_000;

function describe(match: AdvisoryMatch): string {
  const aliases = match.aliases.filter((a) => a !== match.id).slice(0, 3);
  return `${match.id}${aliases.length > 0 ? ` (${aliases.join(', ')})` : ''}`;
}

function advisoryFinding(match: AdvisoryMatch, subject: string, via?: { file: string; path: string }): AnalyzerFinding {
  const fix = match.fixed.length > 0 ? `; fixed in ${match.fixed.join(', ')}` : '';
  const finding: AnalyzerFinding = match.malicious
    ? {
        rule: 'vulns/malicious',
        severity: 'critical',
        confidence: 'high',
        message: `${subject} is known malware: ${describe(match)} ${match.summary}`.trim(),
      }
    : {
        rule: via ? 'vulns/vulnerable-dependency' : 'vulns/known-vulnerability',
        severity: match.severity,
        confidence: 'high',
        message: `${subject} is affected by ${describe(match)}: ${match.summary} (affected ${match.affectedRanges || 'all versions'}${fix})`,
      };
  finding.details = { advisory: match.id, aliases: match.aliases, affected: match.affectedRanges, fixed: match.fixed, ...(match.url ? { url: match.url } : {}) };
  if (via) finding.location = { file: via.file };
  return finding;
}

/** Dependencies an npm package pins in its own npm-shrinkwrap.json (the lockfile npm honours when installing it). */
function pinnedDependencies(view: ContentView): { name: string; version: string; path: string }[] {
  const entry = view.get('npm-shrinkwrap.json');
  if (!entry || entry.size > MAX_SHRINKWRAP_BYTES) return [];
  const text = view.text('npm-shrinkwrap.json');
  if (text === undefined) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const pinned = new Map<string, { name: string; version: string; path: string }>();
  const add = (name: unknown, version: unknown, path: string) => {
    if (typeof name !== 'string' || typeof version !== 'string' || pinned.size >= MAX_PINNED) return;
    pinned.set(`${name}@${version}`, { name, version, path });
  };
  const root = doc as { packages?: unknown; dependencies?: unknown };
  // lockfileVersion 2/3: `packages` keyed by node_modules path.
  if (root.packages && typeof root.packages === 'object') {
    for (const [path, value] of Object.entries(root.packages as Record<string, unknown>)) {
      if (path === '' || !value || typeof value !== 'object') continue;
      const meta = value as { name?: unknown; version?: unknown; link?: unknown };
      if (meta.link === true) continue;
      const name = meta.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      add(name, meta.version, path);
    }
  } else if (root.dependencies && typeof root.dependencies === 'object') {
    // lockfileVersion 1: nested `dependencies`.
    const walk = (deps: Record<string, unknown>, prefix: string, depth: number) => {
      if (depth > 64) return;
      for (const [name, value] of Object.entries(deps)) {
        if (!value || typeof value !== 'object') continue;
        const meta = value as { version?: unknown; dependencies?: unknown };
        const path = `${prefix}node_modules/${name}`;
        add(name, meta.version, path);
        if (meta.dependencies && typeof meta.dependencies === 'object') walk(meta.dependencies as Record<string, unknown>, `${path}/`, depth + 1);
      }
    };
    walk(root.dependencies as Record<string, unknown>, '', 0);
  }
  return [...pinned.values()];
}

/**
 * Known vulnerabilities and known malware from the advisory database: the artifact itself, and
 * for npm the dependencies pinned by a bundled npm-shrinkwrap.json. Not cacheable: the answer
 * changes whenever advisories do (rescans rely on that).
 */
export const vulnsAnalyzer: Analyzer = {
  id: 'vulns',
  version: 1,
  cacheable: false,
  appliesTo: () => true,
  async analyze(view, ctx) {
    const { artifact } = ctx;
    const findings: AnalyzerFinding[] = [];
    for (const match of await ctx.advisories.affecting(artifact.ecosystem, artifact.name, artifact.version)) {
      findings.push(advisoryFinding(match, `${artifact.name}@${artifact.version}`));
    }
    if (artifact.ecosystem === 'npm') {
      for (const dep of pinnedDependencies(view)) {
        ctx.checkDeadline();
        for (const match of await ctx.advisories.affecting('npm', dep.name, dep.version)) {
          findings.push(advisoryFinding(match, `the pinned dependency ${dep.name}@${dep.version}`, { file: 'npm-shrinkwrap.json', path: dep.path }));
        }
      }
    }
    return findings;
  },
};
