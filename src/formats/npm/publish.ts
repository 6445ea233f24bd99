import { hash } from 'node:crypto';
import type { Actor } from '../../domain/audit.js';
import type { PackageRef } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { gateRecordOf } from '../../security/service.js';
import type { ArtifactInfo, ContentView } from '../../security/types.js';
import { assertManifestMatches, verifyIntegrity } from './manifest-check.js';
import { assertValidDistTag, assertValidPackageName, assertValidVersion, splitScopedName, tarballFileName } from './names.js';
import type { NpmVersionRecord } from './packument.js';
import { readNpmTarball } from './tarball.js';

export const FORMAT = 'npm';

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

/**
 * The manifest Stockade serves for a version: the tarball's own package.json with the same
 * normalization npm applies when it publishes (so honest publishes compare equal), minus the
 * readme (served separately) and private `_` fields.
 */
export function normalizeManifest(pkgJson: Record<string, unknown>, files: { path: string }[]): Record<string, unknown> {
  const manifest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pkgJson)) {
    if (key.startsWith('_') || key === 'readme' || key === 'readmeFilename') continue;
    manifest[key] = value;
  }
  if (typeof manifest.bin === 'string' && typeof manifest.name === 'string') {
    manifest.bin = { [splitScopedName(manifest.name).bare]: manifest.bin };
  }
  const scripts = isObject(manifest.scripts) ? { ...manifest.scripts } : undefined;
  // npm turns a root *.gyp into an install script unless the package has its own.
  if (files.some((f) => !f.path.includes('/') && f.path.endsWith('.gyp')) && !scripts?.install && !scripts?.preinstall && manifest.gypfile !== false) {
    manifest.scripts = { ...(scripts ?? {}), install: 'node-gyp rebuild' };
    manifest.gypfile = true;
  }
  return manifest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Opens a tarball and derives the package's identity and served manifest from its own package.json. */
export function inspectTarball(data: Buffer) {
  const contents = readNpmTarball(data, {}, { view: true });
  const pkgJson = contents.manifest;
  const name = pkgJson.name;
  const version = pkgJson.version;
  if (typeof name !== 'string') throw new StockadeError('INVALID_ARCHIVE', ['package.json in the tarball has no "name"']);
  if (typeof version !== 'string') throw new StockadeError('INVALID_ARCHIVE', ['package.json in the tarball has no "version"']);
  assertValidPackageName(name);
  assertValidVersion(version);
  return { contents, name, version, manifest: normalizeManifest(pkgJson, contents.files), view: contents.view as ContentView };
}

export interface IngestInput {
  repo: RepoInfo;
  actor: Actor;
  data: Buffer;
  /** The name the client addressed (URL); the tarball must agree. */
  expectedName?: string;
  /** The version document the client sent; compared with the tarball (manifest confusion). */
  claimed?: Record<string, unknown>;
  claimedIntegrity?: { integrity?: string; shasum?: string };
  distTags: Record<string, string>;
  /** A tag to point at whatever version the tarball declares (uploads through the REST API). */
  tagForVersion?: string;
}

/** Checks a tarball end to end and publishes it; nothing is stored unless every check passes. */
export async function ingestTarball(ctx: ServerContext, input: IngestInput) {
  const hashes = verifyIntegrity(input.data, input.claimedIntegrity ?? {});
  const { contents, name, version, manifest } = inspectTarball(input.data);
  if (input.expectedName !== undefined && input.expectedName !== name) {
    throw new StockadeError('NAME_MISMATCH', [name, input.expectedName]);
  }
  const distTags = { ...input.distTags };
  if (input.tagForVersion) distTags[input.tagForVersion] = version;
  for (const [tag, tagged] of Object.entries(distTags)) {
    assertValidDistTag(tag);
    if (tagged !== version) throw new StockadeError('VALIDATION_FAILED', [`dist-tag "${tag}" points to ${tagged}, not the published version ${version}`]);
  }
  if (input.claimed) assertManifestMatches(input.claimed, manifest, { files: contents.files });

  const scripts = isObject(manifest.scripts) ? manifest.scripts : {};
  const record: NpmVersionRecord = {
    manifest,
    fileCount: contents.fileCount,
    unpackedSize: contents.unpackedSize,
    hasShrinkwrap: contents.files.some((f) => f.path === 'npm-shrinkwrap.json'),
    hasInstallScript: INSTALL_SCRIPTS.some((s) => typeof scripts[s] === 'string'),
  };
  if (contents.readme !== undefined) record.readme = contents.readme;
  const npmVersion = input.claimed?._npmVersion;
  const nodeVersion = input.claimed?._nodeVersion;
  if (typeof npmVersion === 'string') record.npmVersion = npmVersion.slice(0, 64);
  if (typeof nodeVersion === 'string') record.nodeVersion = nodeVersion.slice(0, 64);

  const ref: PackageRef = { repo: input.repo, format: FORMAT, name };
  const state = await ctx.domain.packages.versionState(ref, version);
  if (state === 'exists' || state === 'quarantined') throw new StockadeError('VERSION_EXISTS', [name, version]);
  if (state === 'retired') throw new StockadeError('VERSION_REUSED', [name, version]);

  const filename = tarballFileName(name, version);
  const sha256 = hash('sha256', input.data, 'hex');
  const artifact: ArtifactInfo = {
    format: FORMAT,
    ecosystem: 'npm',
    name,
    version,
    filename,
    sha256,
    digests: { sha256, sha512: Buffer.from(hashes.integrity.slice('sha512-'.length), 'base64').toString('hex'), sha1: hashes.shasum },
    size: input.data.length,
    manifest,
  };
  const verdict = await ctx.gate.admit(input.actor, input.repo, { artifact, view: contents.view as ContentView });

  const digests = await ctx.blobs.put(input.data);
  await ctx.domain.packages.publish(input.actor, ref, {
    version,
    metadata: record as unknown as Record<string, unknown>,
    file: { filename, digests },
    distTags,
    defaultTag: 'latest',
    details: { integrity: hashes.integrity },
    gate: gateRecordOf(verdict),
  });
  return { name, version, filename, digests, integrity: hashes.integrity, verdict };
}
