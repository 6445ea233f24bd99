import { debianSource, osvEcosystemsFor } from '../../os-ecosystems.js';
import type { AdvisoryMatch, AnalysisContext, Analyzer, AnalyzerFinding, ArtifactInfo, ContentView } from '../../types.js';

const MAX_SHRINKWRAP_BYTES = 8 * 1024 * 1024;
/** Pinned dependencies checked per artifact; a bigger tree is checked up to this many. */
const MAX_PINNED = 5_000;

function describe(match: AdvisoryMatch): string {
  const aliases = match.aliases.filter((a) => a !== match.id).slice(0, 3);
  return `${match.id}${aliases.length > 0 ? ` (${aliases.join(', ')})` : ''}`;
}

function advisoryFinding(match: AdvisoryMatch, subject: string, via?: { file: string; path: string }, where?: OsLookup): AnalyzerFinding {
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
  if (where) finding.details = { ...finding.details, ecosystem: where.ecosystem, package: where.name, version: where.version };
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

/** Distributions one file can be judged for at once. */
const MAX_DISTS = 32;

/** Formats whose advisories are scoped to a distribution release and name source packages. */
const OS_FORMATS: ReadonlySet<string> = new Set(['debian', 'rpm']);
/** Manifest values are the uploader's: longer ones are no real package name or version. */
const MAX_NAME = 200;
const MAX_VERSION = 256;

/** One advisory look-up for an OS package: a package name and version in one OSV ecosystem. */
interface OsLookup {
  ecosystem: string;
  name: string;
  version: string;
}

const text = (value: unknown, max: number): string | undefined => (typeof value === 'string' && value !== '' && value.length <= max ? value : undefined);

/**
 * What to look up for an OS package. OSV's Debian and Ubuntu records name the source package
 * and its version (a binary's `Source: src (version)`); RPM-family records name the source
 * package (AlmaLinux, Rocky, SUSE) or a binary one (Red Hat), so both are looked up. Each in
 * every OSV ecosystem of the distributions the package is published in (`manifest.dists`, or
 * `manifest.dist` for one).
 */
function osLookups(artifact: ArtifactInfo): { lookups: OsLookup[]; subject: string; dist: string | undefined; ecosystems: string[] } {
  const manifest = artifact.manifest;
  // `dists`: every distribution a file is listed in (the same .deb in bullseye and bookworm).
  const listed = Array.isArray(manifest.dists) ? manifest.dists.slice(0, MAX_DISTS).map((d) => text(d, 100)) : [text(manifest.dist, 100)];
  const dists = [...new Set(listed.filter((d): d is string => d !== undefined))];
  const dist = dists.length === 0 ? undefined : dists.join(', ');
  const ecosystems = [...new Set(dists.flatMap((d) => osvEcosystemsFor(artifact.format, d)))];
  const wanted: { name: string; version: string }[] = [];
  let subject = `${artifact.name} ${artifact.version}`;
  if (artifact.format === 'debian') {
    const source = debianSource(manifest) ?? { name: artifact.name, version: artifact.version };
    if (source.name.length <= MAX_NAME && source.version.length <= MAX_VERSION) wanted.push(source);
    if (source.name !== artifact.name || source.version !== artifact.version) subject += ` (source ${source.name} ${source.version})`;
  } else {
    wanted.push({ name: artifact.name, version: artifact.version });
    const name = text(manifest.source, MAX_NAME);
    const version = text(manifest.sourceVersion, MAX_VERSION);
    if (name !== undefined && version !== undefined && (name !== artifact.name || version !== artifact.version)) {
      wanted.push({ name, version });
      subject += ` (source ${name} ${version})`;
    }
  }
  const lookups = ecosystems.flatMap((ecosystem) => wanted.map((w) => ({ ecosystem, ...w })));
  return { lookups, subject, dist, ecosystems };
}

async function osPackageFindings(ctx: AnalysisContext): Promise<AnalyzerFinding[]> {
  const { lookups, subject, dist, ecosystems } = osLookups(ctx.artifact);
  if (ecosystems.length === 0) {
    // Held against no release's records rather than every release's: another release's fixes would mislead.
    return [
      {
        rule: 'vulns/os-release-unknown',
        severity: 'info',
        confidence: 'high',
        message:
          dist === undefined
            ? `${subject} was not checked against OS advisories: the distribution it is published in is unknown.`
            : `${subject} was not checked against OS advisories: the distribution ${JSON.stringify(dist)} has no OSV ecosystem.`,
        details: { dist: dist ?? null },
      },
    ];
  }
  const findings: AnalyzerFinding[] = [];
  const seen = new Set<string>();
  for (const lookup of lookups) {
    ctx.checkDeadline();
    for (const match of await ctx.advisories.affecting(lookup.ecosystem, lookup.name, lookup.version)) {
      // One advisory can name the binary and the source, or several releases' ecosystems of one dist.
      if (seen.has(match.id)) continue;
      seen.add(match.id);
      findings.push(advisoryFinding(match, subject, undefined, lookup));
    }
  }
  return findings;
}

/**
 * Known vulnerabilities and known malware from the advisory database: the artifact itself, and
 * for npm the dependencies pinned by a bundled npm-shrinkwrap.json; OS packages by their source
 * package in their distribution's release (see os-ecosystems.ts). Not cacheable: the answer
 * changes whenever advisories do (rescans rely on that).
 */
export const vulnsAnalyzer: Analyzer = {
  id: 'vulns',
  // 2: OS packages matched by source package and release.
  version: 2,
  cacheable: false,
  appliesTo: () => true,
  async analyze(view, ctx) {
    const { artifact } = ctx;
    if (OS_FORMATS.has(artifact.format)) return osPackageFindings(ctx);
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
