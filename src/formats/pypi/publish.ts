import { hash } from 'node:crypto';
import type { Actor } from '../../domain/audit.js';
import type { PackageRef, VersionStatus } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { gateRecordOf } from '../../security/service.js';
import type { ArtifactInfo, ContentView } from '../../security/types.js';
import { pep440Scheme } from '../../security/versions/pep440.js';
import type { InspectedArtifact, UploadResult } from '../format.js';
import { printable } from '../npm/names.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { type PackageType, pypiGateManifest } from './gate-manifest.js';
import type { CoreMetadata } from './metadata.js';
import { normalizeProjectName, sameVersion } from './names.js';
import { parseSdist } from './sdist.js';
import { parseWheel } from './wheel.js';

export const FORMAT = 'pypi';
export const ECOSYSTEM = 'PyPI';

/** PEP 440 order of stored (normalized) versions. */
export const comparePypiVersions = (a: string, b: string): number => pep440Scheme.compare(a, b);

/** A wheel's METADATA kept for PEP 658: as text when it round-trips exactly, else base64. */
export interface StoredCoreMetadata {
  encoding: 'utf8' | 'base64';
  data: string;
}

/** What Stockade keeps about each file of a version, in `metadata.files[filename]`. */
export interface PypiFileEntry {
  packagetype: PackageType;
  /** `Requires-Python` of this file's own metadata. */
  requiresPython?: string;
  /** The wheel's python tag, `source` for an sdist (twine's `pyversion`). */
  pythonVersion: string;
  uploadedAt: string;
  /** Wheels: the sha256 of METADATA, served at `{file}.metadata` (PEP 658/714). */
  coreMetadataSha256?: string;
}

/** The version record (`versions.metadata`) of a PyPI release. */
export interface PypiVersionRecord {
  /** The project name as its first file wrote it. */
  name: string;
  version: string;
  summary?: string;
  requiresPython?: string;
  requiresDist: string[];
  files: Record<string, PypiFileEntry>;
  /** METADATA bodies by sha256; wheels of one release usually share one. */
  coreMetadata: Record<string, StoredCoreMetadata>;
}

export interface InspectedDist extends InspectedArtifact {
  packagetype: PackageType;
  metadata: CoreMetadata;
  pythonVersion: string;
  /** Wheels: METADATA exactly as shipped. */
  coreMetadataBytes?: Buffer;
}

/**
 * Opens a wheel or an sdist as hostile input. Name and version come from the file's own metadata
 * (which the parsers have already compared with the file name); the stored name is the PEP 503
 * normalized one and the stored version the PEP 440 normalized one.
 */
export async function inspectDist(data: Buffer, filename: string): Promise<InspectedDist> {
  if (filename.toLowerCase().endsWith('.whl')) {
    const wheel = await parseWheel(data, filename);
    return {
      name: wheel.normalizedName,
      version: wheel.metadata.normalizedVersion,
      filename,
      manifest: pypiGateManifest(wheel.metadata, 'bdist_wheel', filename) as unknown as Record<string, unknown>,
      view: wheel.view,
      packagetype: 'bdist_wheel',
      metadata: wheel.metadata,
      pythonVersion: wheel.filename.tags.python.join('.'),
      coreMetadataBytes: wheel.metadataBytes,
    };
  }
  const sdist = await parseSdist(data, filename);
  return {
    name: sdist.normalizedName,
    version: sdist.metadata.normalizedVersion,
    filename,
    manifest: pypiGateManifest(sdist.metadata, 'sdist', filename) as unknown as Record<string, unknown>,
    view: sdist.view as ContentView,
    packagetype: 'sdist',
    metadata: sdist.metadata,
    pythonVersion: 'source',
  };
}

/** The upload form of the legacy API, as twine fills it; every field may repeat. */
export type UploadForm = Map<string, string[]>;

const one = (form: UploadForm, key: string): string | undefined => {
  const value = form.get(key)?.[0];
  return value === undefined || value === '' ? undefined : value;
};

/** The digests an upload or an upstream index may declare, by their algorithm names. */
const DIGESTS: Record<string, (data: Buffer) => string> = {
  sha256: (data) => hash('sha256', data, 'hex'),
  md5: (data) => hash('md5', data, 'hex'),
  blake2_256: (data) => Buffer.from(blake2b(data, { dkLen: 32 })).toString('hex'),
};

/**
 * Checks declared digests (algorithm → hex) against the bytes: at least one is required, and each
 * one given must match. `words` name each digest and the file in the error. Returns the digests for
 * the gate's integrity analyzer.
 */
export function verifyDigests(
  data: Buffer,
  declared: Record<string, string>,
  words: { label: (algorithm: string) => string; file: string } = { label: (a) => a, file: 'file' },
): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [algorithm, compute] of Object.entries(DIGESTS)) {
    const value = Object.hasOwn(declared, algorithm) ? declared[algorithm] : undefined;
    if (value === undefined) continue;
    const claimed = value.trim().toLowerCase();
    const actual = compute(data);
    if (claimed !== actual) {
      throw new StockadeError('INTEGRITY_MISMATCH', [`${words.label(algorithm)} is ${printable(claimed, 80)} but the ${words.file}'s ${algorithm} is ${actual}: the file was changed or cut off on the way`]);
    }
    checked[algorithm] = actual;
  }
  if (Object.keys(checked).length === 0) throw new StockadeError('INTEGRITY_MISMATCH', ['no digest is declared for the file']);
  return checked;
}

/**
 * Checks the digests the client declared in the upload form (`sha256_digest`, `md5_digest`,
 * `blake2_256_digest`; twine sends all three) against the bytes.
 */
export function verifyDeclaredDigests(data: Buffer, form: UploadForm): Record<string, string> {
  const declared: Record<string, string> = {};
  for (const algorithm of Object.keys(DIGESTS)) {
    const value = one(form, `${algorithm}_digest`);
    if (value !== undefined) declared[algorithm] = value;
  }
  if (Object.keys(declared).length === 0) {
    throw new StockadeError('INTEGRITY_MISMATCH', ['the upload declares no digest: send sha256_digest (twine does)']);
  }
  return verifyDigests(data, declared, { label: (algorithm) => `${algorithm}_digest`, file: 'uploaded file' });
}

/** Requirement lists compare without whitespace, which tools reformat freely. */
const squeeze = (text: string) => text.replace(/\s+/g, '');

/**
 * The form must describe the file it carries: name (PEP 503), version (PEP 440), file type and,
 * when sent, Requires-Python and Requires-Dist. A difference means the client and the file
 * disagree about what is being published, and the file's own metadata is what installers read.
 */
export function assertFormMatches(form: UploadForm, dist: InspectedDist): void {
  const where = `the file's ${dist.packagetype === 'sdist' ? 'PKG-INFO' : 'METADATA'}`;
  const differ = (field: string, claimed: string, actual: string | undefined) =>
    new StockadeError('VALIDATION_FAILED', [`the upload form says ${field} "${printable(claimed, 100)}" but ${where} says ${actual === undefined ? 'nothing' : `"${printable(actual, 100)}"`}`]);
  const name = one(form, 'name');
  if (name === undefined) throw new StockadeError('VALIDATION_FAILED', ['the upload form has no "name" field']);
  if (normalizeProjectName(name) !== dist.metadata.normalizedName) throw differ('name', name, dist.metadata.name);
  const version = one(form, 'version');
  if (version === undefined) throw new StockadeError('VALIDATION_FAILED', ['the upload form has no "version" field']);
  if (!sameVersion(version, dist.metadata.version)) throw differ('version', version, dist.metadata.version);
  const filetype = one(form, 'filetype');
  if (filetype !== undefined && filetype !== dist.packagetype) {
    throw new StockadeError('VALIDATION_FAILED', [`the upload form says filetype "${printable(filetype, 40)}" but the file is a ${dist.packagetype === 'sdist' ? 'source distribution (sdist)' : 'wheel (bdist_wheel)'}`]);
  }
  const requiresPython = one(form, 'requires_python');
  if (requiresPython !== undefined && squeeze(requiresPython) !== squeeze(dist.metadata.requiresPython ?? '')) {
    throw differ('requires_python', requiresPython, dist.metadata.requiresPython);
  }
  const requiresDist = (form.get('requires_dist') ?? []).filter((r) => r !== '');
  if (requiresDist.length > 0) {
    const claimed = requiresDist.map(squeeze).sort();
    const actual = dist.metadata.requiresDist.map(squeeze).sort();
    if (claimed.length !== actual.length || claimed.some((r, i) => r !== actual[i])) {
      throw differ('requires_dist', requiresDist.join(', '), dist.metadata.requiresDist.join(', ') || undefined);
    }
  }
}

/** The file must be the release it was listed as; the file's own metadata is what installers read. */
function assertExpected(expect: { name: string; version: string }, dist: InspectedDist): void {
  if (expect.name === dist.name && sameVersion(expect.version, dist.version)) return;
  throw new StockadeError('VALIDATION_FAILED', [
    `${dist.filename} was listed as ${printable(expect.name, 100)} ${printable(expect.version, 60)} but its metadata says ${dist.name} ${dist.version}`,
  ]);
}

function storedCoreMetadata(bytes: Buffer): StoredCoreMetadata {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? { encoding: 'utf8', data: text } : { encoding: 'base64', data: bytes.toString('base64') };
}

export function coreMetadataBytes(stored: StoredCoreMetadata): Buffer {
  return Buffer.from(stored.data, stored.encoding);
}

export interface IngestInput {
  repo: RepoInfo;
  actor: Actor;
  filename: string;
  data: Buffer;
  /** The legacy upload form; absent for REST uploads, which have nothing to compare. */
  form?: UploadForm;
  /** Digests vouched for elsewhere (an upstream index): each must match, and the gate sees them. */
  claimedDigests?: Record<string, string>;
  /** The project and version the file must be (what an upstream index listed it as). */
  expect?: { name: string; version: string };
}

/**
 * Stores a wheel or sdist, all or nothing: check the declared digests, parse the file, compare
 * the form with it, let the gate judge it, write the blob, then record it as a new version or as
 * one more file of an existing version. The same file again is accepted and changes nothing;
 * another file under a taken name is FILE_EXISTS.
 */
export async function ingestDist(ctx: ServerContext, input: IngestInput): Promise<UploadResult> {
  const claimedDigests = input.form ? verifyDeclaredDigests(input.data, input.form) : input.claimedDigests ? verifyDigests(input.data, input.claimedDigests) : {};
  const dist = await inspectDist(input.data, input.filename);
  if (input.form) assertFormMatches(input.form, dist);
  if (input.expect) assertExpected(input.expect, dist);
  const { name, version, filename } = dist;
  const ref: PackageRef = { repo: input.repo, format: FORMAT, name };
  const sha256 = hash('sha256', input.data, 'hex');

  const existing = await ctx.domain.packages.findFile(ref, filename);
  if (existing) {
    if (existing.sha256 !== sha256) throw new StockadeError('FILE_EXISTS', [filename]);
    return resultOf(dist, { sha256, size: existing.size }, existing.status, { action: existing.status === 'quarantined' ? 'quarantine' : 'allow', reasons: existing.reasons });
  }
  const state = await ctx.domain.packages.versionState(ref, version);
  if (state === 'retired') throw new StockadeError('VERSION_REUSED', [name, version]);
  if (dist.packagetype === 'sdist' && state !== null) {
    const pkg = await ctx.domain.packages.load(ref, { includeQuarantined: true });
    const record = pkg?.versions.find((v) => v.version === version)?.metadata as Partial<PypiVersionRecord> | undefined;
    const other = Object.entries(record?.files ?? {}).find(([, entry]) => entry.packagetype === 'sdist');
    if (other) throw new StockadeError('FILE_EXISTS', [`${filename}: ${name} ${version} already has a source distribution (${other[0]}); a release has only one`]);
  }

  const digests = { sha256, sha512: hash('sha512', input.data, 'hex'), sha1: hash('sha1', input.data, 'hex'), md5: hash('md5', input.data, 'hex') };
  const artifact: ArtifactInfo = { format: FORMAT, ecosystem: ECOSYSTEM, name, version, filename, sha256, digests, size: input.data.length, manifest: dist.manifest };
  const claims = Object.keys(claimedDigests).length > 0 ? { digests: claimedDigests } : undefined;
  const verdict = await ctx.gate.admit(input.actor, input.repo, { artifact, view: dist.view, ...(claims ? { claims } : {}) });
  const gate = gateRecordOf(verdict);

  const stored = await ctx.blobs.put(input.data);
  const entry: PypiFileEntry = { packagetype: dist.packagetype, pythonVersion: dist.pythonVersion, uploadedAt: new Date().toISOString() };
  if (dist.metadata.requiresPython !== undefined) entry.requiresPython = dist.metadata.requiresPython;
  const coreSha = dist.coreMetadataBytes ? hash('sha256', dist.coreMetadataBytes, 'hex') : undefined;
  if (coreSha) entry.coreMetadataSha256 = coreSha;
  const withFile = (record: PypiVersionRecord): PypiVersionRecord => {
    const files = { ...record.files, [filename]: entry };
    const coreMetadata = { ...record.coreMetadata };
    if (coreSha && dist.coreMetadataBytes && !(coreSha in coreMetadata)) coreMetadata[coreSha] = storedCoreMetadata(dist.coreMetadataBytes);
    return { ...record, files, coreMetadata };
  };
  const details = { filename, packagetype: dist.packagetype };
  const addFile = () =>
    ctx.domain.packages.addFile(input.actor, ref, {
      version,
      file: { filename, digests: stored },
      metadata: (current) => withFile(current as unknown as PypiVersionRecord) as unknown as Record<string, unknown>,
      gate,
      compare: comparePypiVersions,
      details,
    });

  let status: VersionStatus;
  if (state === null) {
    const record: PypiVersionRecord = {
      name: dist.metadata.name,
      version,
      requiresDist: dist.metadata.requiresDist,
      files: {},
      coreMetadata: {},
      ...(dist.metadata.summary !== undefined ? { summary: dist.metadata.summary.slice(0, 512) } : {}),
      ...(dist.metadata.requiresPython !== undefined ? { requiresPython: dist.metadata.requiresPython } : {}),
    };
    try {
      await ctx.domain.packages.publish(input.actor, ref, {
        version,
        metadata: withFile(record) as unknown as Record<string, unknown>,
        file: { filename, digests: stored },
        distTags: {},
        details,
        gate,
      });
      status = gate.status;
    } catch (error) {
      // Another file of the same release won the race to create the version: join it.
      if (!(error instanceof StockadeError && error.code === 'VERSION_EXISTS')) throw error;
      status = (await addFile()).status;
    }
  } else {
    status = (await addFile()).status;
  }
  return resultOf(dist, { sha256, size: stored.size }, status, verdict);
}

function resultOf(
  dist: InspectedDist,
  file: { sha256: string; size: number },
  status: VersionStatus,
  verdict: { action: string; reasons: string[] },
): UploadResult {
  let action = verdict.action as UploadResult['verdict'];
  const reasons = [...verdict.reasons];
  if (status === 'quarantined' && action !== 'quarantine') {
    action = 'quarantine';
    reasons.push(`${dist.name} ${dist.version} is held in quarantine until a reviewer approves it`);
  }
  return { format: FORMAT, name: dist.name, version: dist.version, filename: dist.filename, sha256: file.sha256, size: file.size, verdict: action, reasons };
}
