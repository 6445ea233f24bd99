import { createHash } from 'node:crypto';
import semver from 'semver';
import type { StoredPackage, StoredVersion } from '../../domain/packages.js';

/** What Stockade keeps per npm version: derived from the tarball, never from the client's JSON. */
export interface NpmVersionRecord {
  /** The tarball's package.json after npm's publish-time normalization, without the readme. */
  manifest: Record<string, unknown>;
  readme?: string;
  fileCount: number;
  unpackedSize: number;
  hasShrinkwrap: boolean;
  hasInstallScript: boolean;
  npmVersion?: string;
  nodeVersion?: string;
}

// The per-version fields of the abbreviated ("corgi") document, as the registry API lists them.
const CORGI_FIELDS = [
  'name', 'version', 'dependencies', 'optionalDependencies', 'devDependencies', 'bundleDependencies',
  'peerDependencies', 'peerDependenciesMeta', 'bin', 'directories', 'engines', 'os', 'cpu', 'funding',
  'deprecated', '_hasShrinkwrap', 'hasInstallScript', 'dist', 'license',
] as const;

export function compareNpmVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

export function npmRevision(pkg: { rev: number; name: string }): string {
  return `${pkg.rev}-${createHash('sha1').update(`${pkg.name}\0${pkg.rev}`).digest('hex').slice(0, 16)}`;
}

function integrityOf(version: StoredVersion): { integrity: string; shasum: string } {
  const file = version.files[0];
  if (!file) return { integrity: '', shasum: '' };
  return { integrity: `sha512-${Buffer.from(file.sha512, 'hex').toString('base64')}`, shasum: file.sha1 };
}

function versionDoc(pkg: StoredPackage, version: StoredVersion, registryUrl: string): Record<string, unknown> {
  const record = version.metadata as unknown as NpmVersionRecord;
  const file = version.files[0];
  const { integrity, shasum } = integrityOf(version);
  const doc: Record<string, unknown> = {
    ...record.manifest,
    name: pkg.name,
    version: version.version,
    _id: `${pkg.name}@${version.version}`,
    dist: {
      tarball: `${registryUrl}/${pkg.name}/-/${file?.filename ?? ''}`,
      shasum,
      integrity,
      fileCount: record.fileCount,
      unpackedSize: record.unpackedSize,
    },
  };
  if (record.nodeVersion) doc._nodeVersion = record.nodeVersion;
  if (record.npmVersion) doc._npmVersion = record.npmVersion;
  doc._npmUser = { name: version.publisher };
  if (record.hasShrinkwrap) doc._hasShrinkwrap = true;
  if (record.hasInstallScript) doc.hasInstallScript = true;
  if (version.deprecated) doc.deprecated = version.deprecated;
  return doc;
}

function latestVersion(pkg: StoredPackage): StoredVersion | undefined {
  const latest = pkg.distTags.latest;
  return pkg.versions.find((v) => v.version === latest) ?? pkg.versions[pkg.versions.length - 1];
}

/** The full packument (`application/json`). */
export function renderFull(pkg: StoredPackage, registryUrl: string): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = { created: pkg.createdAt, modified: pkg.updatedAt };
  const maintainers = new Map<string, { name: string }>();
  for (const v of pkg.versions) {
    versions[v.version] = versionDoc(pkg, v, registryUrl);
    time[v.version] = v.createdAt;
    maintainers.set(v.publisher, { name: v.publisher });
  }
  const latest = latestVersion(pkg);
  const latestManifest = ((latest?.metadata as unknown as NpmVersionRecord | undefined)?.manifest ?? {}) as Record<string, unknown>;
  const doc: Record<string, unknown> = {
    _id: pkg.name,
    _rev: npmRevision(pkg),
    name: pkg.name,
    'dist-tags': { ...pkg.distTags },
    versions,
    time,
    maintainers: [...maintainers.values()],
  };
  for (const key of ['description', 'keywords', 'license', 'homepage', 'repository', 'bugs', 'author'] as const) {
    if (latestManifest[key] !== undefined) doc[key] = latestManifest[key];
  }
  const readme = (latest?.metadata as unknown as NpmVersionRecord | undefined)?.readme;
  doc.readme = readme ?? '';
  return doc;
}

/** The abbreviated packument (`application/vnd.npm.install-v1+json`). */
export function renderAbbreviated(pkg: StoredPackage, registryUrl: string): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const v of pkg.versions) {
    const full = versionDoc(pkg, v, registryUrl);
    const slim: Record<string, unknown> = {};
    for (const key of CORGI_FIELDS) if (full[key] !== undefined) slim[key] = full[key];
    versions[v.version] = slim;
  }
  return { name: pkg.name, modified: pkg.updatedAt, 'dist-tags': { ...pkg.distTags }, versions };
}

/** One version's manifest, for `GET /{name}/{version-or-tag}`. */
export function renderVersion(pkg: StoredPackage, spec: string, registryUrl: string): Record<string, unknown> | null {
  const resolved = pkg.distTags[spec] ?? spec;
  const version = pkg.versions.find((v) => v.version === resolved);
  return version ? versionDoc(pkg, version, registryUrl) : null;
}
