import { hash } from 'node:crypto';
import type { Actor } from '../../domain/audit.js';
import type { PackageRef } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { gateRecordOf } from '../../security/service.js';
import type { ArtifactInfo } from '../../security/types.js';
import { rubyGemsScheme } from '../../security/versions/rubygems.js';
import type { InspectedArtifact, UploadResult } from '../format.js';
import { storedResult } from '../os-listing.js';
import { rubygemsGateManifest } from './gate-manifest.js';
import { parseGem, type GemContents } from './gem.js';
import type { MarshalSpec } from './marshal.js';

export const FORMAT = 'rubygems';
export const ECOSYSTEM = 'RubyGems';

/** What each stored version keeps for the indexes: the quick spec's fields, from the gem itself. */
export interface GemVersionRecord {
  spec: Omit<MarshalSpec, 'name'> & { prerelease: boolean };
}

/**
 * The stored version key: the version, plus `-platform` for platform gems, since one version is
 * built for several platforms (RubyGems' own `full_name` without the name).
 */
export function versionKey(version: string, platform: string): string {
  return platform === 'ruby' ? version : `${version}-${platform}`;
}

/** RubyGems' file name: `NAME-VERSION[-PLATFORM].gem`. */
export function gemFilename(name: string, key: string): string {
  return `${name}-${key}.gem`;
}

/**
 * The version part of a stored key. A version may itself contain `-` (`1.0-rc1`), so the
 * platform suffix is recognized by the CPU or OS names RubyGems platforms start with.
 */
const PLATFORM_START = /-((?:x86|x64|x86_64|i[3-6]86|amd64|arm|arm64|aarch64|armv\w+|universal|powerpc\w*|ppc\w*|sparc\w*|s390x?|mips\w*|riscv\w*|wasm\w*|loongarch\w*|java|jruby|dalvik\w*|dotnet\w*|mswin\w*|mingw\w*|cygwin|darwin\w*|linux\w*|freebsd\w*|openbsd\w*|netbsd\w*|solaris\w*|aix\w*|hpux\w*)(?:-.*)?)$/;

export function splitVersionKey(key: string): { version: string; platform: string } {
  const match = PLATFORM_START.exec(key);
  if (match && rubyGemsScheme.isValid(key.slice(0, match.index))) return { version: key.slice(0, match.index), platform: match[1] as string };
  return { version: key, platform: 'ruby' };
}

/** Order of stored keys: by Gem::Version, then platform (ruby first) so the order is total. */
export function compareVersionKeys(a: string, b: string): number {
  const left = splitVersionKey(a);
  const right = splitVersionKey(b);
  const validLeft = rubyGemsScheme.isValid(left.version);
  const validRight = rubyGemsScheme.isValid(right.version);
  if (validLeft && validRight) {
    const order = rubyGemsScheme.compare(left.version, right.version);
    if (order !== 0) return order;
  } else if (validLeft !== validRight) {
    return validLeft ? 1 : -1;
  }
  if (left.platform === right.platform) return a < b ? -1 : a > b ? 1 : 0;
  if (left.platform === 'ruby') return -1;
  if (right.platform === 'ruby') return 1;
  return left.platform < right.platform ? -1 : 1;
}

export interface InspectedGem extends InspectedArtifact {
  contents: GemContents;
  platform: string;
}

/** Opens a .gem as hostile input: checksums verified, spec read, data.tar checked entry by entry. */
export async function inspectGem(data: Buffer): Promise<InspectedGem> {
  const contents = await parseGem(data);
  const { spec } = contents;
  const key = versionKey(spec.version, spec.platform);
  return {
    name: spec.name,
    version: key,
    filename: gemFilename(spec.name, key),
    manifest: rubygemsGateManifest(contents),
    view: contents.view,
    contents,
    platform: spec.platform,
  };
}

function recordOf(contents: GemContents): GemVersionRecord {
  const s = contents.spec;
  const spec: GemVersionRecord['spec'] = {
    version: s.version,
    platform: s.platform,
    prerelease: s.prerelease,
    email: s.email,
    authors: s.authors,
    licenses: s.licenses,
    metadata: { ...s.metadata },
    requiredRubyVersion: s.requiredRubyVersion,
    requiredRubygemsVersion: s.requiredRubygemsVersion,
    dependencies: s.dependencies.map((d) => ({ name: d.name, type: d.type, requirements: d.requirements })),
  };
  const optional = ['rubygemsVersion', 'specificationVersion', 'date', 'summary', 'description', 'homepage'] as const;
  for (const field of optional) if (s[field] !== undefined) spec[field] = s[field];
  return { spec };
}

export interface GemUploadResult extends UploadResult {
  /** The same bytes were stored before; nothing changed. */
  existing: boolean;
}

/** What a gem fetched from an upstream must be, per the upstream's index. */
export interface ExpectedGem {
  /** The SHA-256 the upstream's compact index lists (hex); checked before the gem is opened. */
  sha256: string;
  /** Throws when the opened gem is not what the index says it is (name, version, dependencies). */
  check: (gem: InspectedGem) => void;
}

export interface GemIngestInput {
  repo: RepoInfo;
  /** Who pushed it: a user, or `upstream:<host>` for a gem a remote repository fetched. */
  actor: Actor;
  data: Buffer;
  expected?: ExpectedGem;
}

/**
 * Stores a pushed (or upstream-fetched) gem, all or nothing: check it against what the upstream
 * promised (when it came from one), parse it (name, version, platform and dependencies come from
 * its own metadata), let the gate judge it, write the blob, then one transaction records the
 * version. The same bytes again are a no-op; other bytes under the same name, version and
 * platform are refused, as RubyGems refuses a repush.
 */
export async function ingestGem(ctx: ServerContext, input: GemIngestInput): Promise<GemUploadResult> {
  const sha256 = hash('sha256', input.data, 'hex');
  if (input.expected && input.expected.sha256 !== sha256) {
    throw new StockadeError('INTEGRITY_MISMATCH', [`the SHA-256 of the gem is ${sha256}, the index lists ${input.expected.sha256}`]);
  }
  const inspected = await inspectGem(input.data);
  input.expected?.check(inspected);
  const { name, version: key, filename, contents } = inspected;
  const ref: PackageRef = { repo: input.repo, format: FORMAT, name };

  const existing = await ctx.domain.packages.findFile(ref, filename);
  if (existing) {
    if (existing.sha256 !== sha256) throw new StockadeError('VERSION_EXISTS', [name, key]);
    const pkg = await ctx.domain.packages.load(ref, { includeQuarantined: true });
    if (pkg?.versions.find((v) => v.version === key)?.yanked) throw new StockadeError('VERSION_EXISTS', [name, key]);
    const base = { format: FORMAT, name, version: key, filename, sha256, size: existing.size };
    return { ...storedResult(base, { quarantined: existing.status === 'quarantined', reasons: existing.reasons }), existing: true };
  }
  const state = await ctx.domain.packages.versionState(ref, key);
  if (state === 'exists' || state === 'quarantined') throw new StockadeError('VERSION_EXISTS', [name, key]);
  if (state === 'retired') throw new StockadeError('VERSION_REUSED', [name, key]);

  const digests = { sha256, sha512: hash('sha512', input.data, 'hex'), sha1: hash('sha1', input.data, 'hex'), md5: hash('md5', input.data, 'hex') };
  const artifact: ArtifactInfo = { format: FORMAT, ecosystem: ECOSYSTEM, name, version: key, filename, sha256, digests, size: input.data.length, manifest: inspected.manifest };
  const verdict = await ctx.gate.admit(input.actor, input.repo, { artifact, view: inspected.view });

  const stored = await ctx.blobs.put(input.data);
  await ctx.domain.packages.publish(input.actor, ref, {
    version: key,
    metadata: recordOf(contents) as unknown as Record<string, unknown>,
    file: { filename, digests: stored },
    distTags: {},
    details: { platform: inspected.platform, verified: contents.verified },
    gate: gateRecordOf(verdict),
  });
  return { format: FORMAT, name, version: key, filename, sha256, size: stored.size, verdict: verdict.action as UploadResult['verdict'], reasons: verdict.reasons, existing: false };
}
