/**
 * OSV ecosystem names (osv-schema `ecosystems.json`, plus `GIT`, which the schema also accepts as
 * an ecosystem). Used to give a base name its canonical spelling (`pypi` → `PyPI`); a name not
 * listed here is kept as written, since the list grows faster than releases.
 */
const KNOWN_ECOSYSTEMS: readonly string[] = [
  'AlmaLinux', 'Alpaquita', 'Alpine', 'Android', 'Azure Linux', 'BellSoft Hardened Containers', 'Bioconductor',
  'Bitnami', 'Chainguard', 'CleanStart', 'ConanCenter', 'CRAN', 'crates.io', 'Debian', 'Docker Hardened Images', 'Echo',
  'FreeBSD', 'GHC', 'GIT', 'GitHub Actions', 'Go', 'Hackage', 'Hex', 'Julia', 'Kubernetes', 'Linux', 'Mageia', 'Maven',
  'MinimOS', 'npm', 'NuGet', 'opam', 'openEuler', 'openSUSE', 'OSS-Fuzz', 'Packagist', 'Photon OS', 'Pub', 'PyPI',
  'Red Hat', 'Rocky Linux', 'Root', 'RubyGems', 'SUSE', 'SwiftURL', 'TuxCare', 'Ubuntu', 'VSCode', 'Wolfi',
];

const canonical = new Map(KNOWN_ECOSYSTEMS.map((name) => [name.toLowerCase(), name]));

export function isKnownEcosystem(base: string): boolean {
  return canonical.has(base.toLowerCase());
}

/** Splits `Debian:12` into base `Debian` and the full string, the base in its canonical spelling. */
export function splitEcosystem(ecosystem: string): { base: string; full: string } {
  const colon = ecosystem.indexOf(':');
  const rawBase = colon === -1 ? ecosystem : ecosystem.slice(0, colon);
  const base = canonical.get(rawBase.toLowerCase()) ?? rawBase;
  return { base, full: colon === -1 ? base : base + ecosystem.slice(colon) };
}

/**
 * A package name as advisories and lookups compare it: PyPI per PEP 503 (lowercase, runs of
 * `-`, `_`, `.` become one `-`); every other ecosystem as given (npm names are already
 * lowercase-or-exact, RubyGems names are case-sensitive).
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  if (splitEcosystem(ecosystem).base === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  return name;
}
