import { hash } from 'node:crypto';
import { compareEvr, parseRpmEvr } from '../../security/versions/rpm.js';
import type { Actor } from '../../domain/audit.js';
import type { PackageRef } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { gateRecordOf } from '../../security/service.js';
import type { ArtifactInfo } from '../../security/types.js';
import { commitStaged, type InspectedArtifact, type Staged, type StagedUpload, type UploadResult, type UploadTarget } from '../format.js';
import { listInAnotherDistribution, storedResult } from '../os-listing.js';
import { evrText, rpmGateManifest } from './gate-manifest.js';
import { parseRpm, readRpmPayload, type RpmPackage } from './package.js';
import { filelistsEntry, otherEntry, primaryEntry } from './repodata.js';

export const FORMAT = 'rpm';
/** The OSV ecosystem family; the vulns analyzer maps each distribution to its own ecosystems. */
export const ECOSYSTEM = 'Red Hat';

/** `el/9`, `fedora/40`, `opensuse/15.5`: distribution and release, both URL segments. */
const DIST = /^[a-z0-9][a-z0-9._+-]{0,31}\/[a-z0-9][a-z0-9._+-]{0,31}$/;
/** What rpm allows in names, versions, releases and architectures that also end up in URLs. */
const NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,199}$/;
const EVR_PART = /^[A-Za-z0-9._+~^]{1,128}$/;
const ARCH = /^[A-Za-z0-9_]{1,32}$/;

/** Order of stored version keys: the architecture never decides it. */
export function compareVersionKeys(a: string, b: string): number {
  return compareEvr(parseRpmEvr(a.replace(/\.[^.]*$/, '')), parseRpmEvr(b.replace(/\.[^.]*$/, '')));
}

/** The stored version key: EVR plus architecture, since one EVR is built for several. */
export function versionKey(pkg: Pick<RpmPackage, 'epoch' | 'version' | 'release' | 'arch'>): string {
  return `${evrText(pkg.epoch, pkg.version, pkg.release)}.${pkg.arch}`;
}

/** rpm's own file name, whatever the upload was called. */
export function rpmFilename(pkg: Pick<RpmPackage, 'name' | 'version' | 'release' | 'arch'>): string {
  return `${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}.rpm`;
}

/** `Packages/h/hello-1.0-1.x86_64.rpm`, below the distribution's base URL. */
export function rpmLocation(pkg: Pick<RpmPackage, 'name' | 'version' | 'release' | 'arch'>): string {
  return `Packages/${pkg.name.slice(0, 1).toLowerCase()}/${rpmFilename(pkg)}`;
}

function checkIdentity(pkg: RpmPackage): void {
  if (pkg.isSource) throw new StockadeError('VALIDATION_FAILED', ['source RPMs are not served; upload the binary packages built from it']);
  const problems: string[] = [];
  if (!NAME.test(pkg.name)) problems.push(`name "${pkg.name.slice(0, 100)}" has characters rpm package names do not use`);
  if (!EVR_PART.test(pkg.version)) problems.push(`version "${pkg.version.slice(0, 100)}" has characters rpm versions do not use`);
  if (!EVR_PART.test(pkg.release)) problems.push(`release "${pkg.release.slice(0, 100)}" has characters rpm releases do not use`);
  if (!ARCH.test(pkg.arch)) problems.push(`architecture "${pkg.arch.slice(0, 40)}" is not an rpm architecture`);
  if (problems.length > 0) throw new StockadeError('INVALID_ARCHIVE', problems);
}

/** Opens an .rpm as hostile input: header digests checked, payload read within budget. */
export async function inspectRpm(data: Buffer, dists: readonly string[] = []): Promise<InspectedArtifact & { pkg: RpmPackage }> {
  const pkg = parseRpm(data);
  checkIdentity(pkg);
  const payload = await readRpmPayload(data, pkg);
  return {
    name: pkg.name,
    version: evrText(pkg.epoch, pkg.version, pkg.release),
    filename: rpmFilename(pkg),
    manifest: { ...rpmGateManifest(pkg, dists[0] === undefined ? {} : { dist: dists[0] }), ...(dists.length === 0 ? {} : { dists: [...dists] }) },
    view: payload.view,
    pkg,
  };
}

function distOf(target: UploadTarget | undefined): string {
  const dist = target?.distribution;
  if (!dist) throw new StockadeError('VALIDATION_FAILED', ['an RPM needs a distribution and release: stockade push OWNER/REPO/el/9 file.rpm, or ?distribution=el/9']);
  if (!DIST.test(dist)) throw new StockadeError('VALIDATION_FAILED', [`distribution "${dist.slice(0, 80)}" must be DISTRO/RELEASE in lower case, e.g. el/9 or fedora/40`]);
  if (target?.component !== undefined) throw new StockadeError('VALIDATION_FAILED', ['RPM repositories have no components; leave component out']);
  return dist;
}

/**
 * Stores an .rpm in a distribution, all or nothing: parse it as hostile input, let the gate
 * judge it, write the file, then one transaction records the version with its rpm-md elements.
 * The same file may be listed in several distributions; a different file under the same name,
 * EVR and architecture is refused.
 */
export async function ingestRpm(ctx: ServerContext, input: { repo: RepoInfo; actor: Actor; data: Buffer; target?: UploadTarget }): Promise<UploadResult> {
  const staged = await stageRpm(ctx, input);
  return staged.kind === 'done' ? staged.result : commitStaged(ctx, input.actor, staged.staged);
}

/** Everything ingestRpm does short of storing a new file; see Format.stage. */
export async function stageRpm(ctx: ServerContext, input: { repo: RepoInfo; actor: Actor; data: Buffer; target?: UploadTarget }): Promise<Staged> {
  const dist = distOf(input.target);
  const inspected = await inspectRpm(input.data, [dist]);
  const { pkg, name, version, filename } = inspected;
  const key = versionKey(pkg);
  const ref: PackageRef = { repo: input.repo, format: FORMAT, name };
  const sha256 = pkg.checksums.sha256;
  const location = rpmLocation(pkg);
  const entryOf = (file: { sha256: string; size: number }) => ({
    repoId: input.repo.id,
    dist,
    arch: pkg.arch,
    location,
    primaryXml: primaryEntry(pkg, { location, sha256: file.sha256, size: file.size, time: Math.floor(Date.now() / 1000) }),
    filelistsXml: filelistsEntry(pkg, file.sha256),
    otherXml: otherEntry(pkg, file.sha256),
  });

  const digests = { sha256, sha512: hash('sha512', input.data, 'hex'), sha1: hash('sha1', input.data, 'hex'), md5: hash('md5', input.data, 'hex') };
  const artifact: ArtifactInfo = { format: FORMAT, ecosystem: ECOSYSTEM, name, version, filename, sha256, digests, size: input.data.length, manifest: inspected.manifest };

  const existing = await ctx.domain.packages.findFile(ref, filename);
  if (existing) {
    if (existing.sha256 !== sha256) throw new StockadeError('VERSION_EXISTS', [name, `${version} (${pkg.arch}) with different content`]);
    const base = { format: FORMAT, name, version, filename, sha256, size: existing.size };
    // The same file again: list it in this distribution too, if it is not already.
    const versionId = await ctx.domain.apt.versionId(input.repo.id, FORMAT, name, key);
    if (versionId === null || (await ctx.domain.rpm.isListed(input.repo.id, versionId, dist))) {
      return { kind: 'done', result: storedResult(base, { quarantined: existing.status === 'quarantined', reasons: existing.reasons }) };
    }
    const listed = await listInAnotherDistribution(ctx, {
      repo: input.repo,
      actor: input.actor,
      ref,
      version: key,
      compare: compareVersionKeys,
      dist,
      dists: [...new Set([...(await ctx.domain.rpm.distsOf(versionId)), dist])],
      artifact,
      view: inspected.view,
      addEntry: () => ctx.domain.rpm.addEntry(ctx.domain.db, { ...entryOf(existing), versionId }),
    });
    return { kind: 'done', result: storedResult(base, listed) };
  }

  const verdict = await ctx.gate.admit(input.actor, input.repo, { artifact, view: inspected.view });
  const staged: StagedUpload = {
    ref,
    data: input.data,
    verdict,
    result: { format: FORMAT, name, version, filename },
    publication: (stored) => {
      const entry = entryOf(stored);
      return {
        version: key,
        metadata: {
          epoch: pkg.epoch,
          version: pkg.version,
          release: pkg.release,
          arch: pkg.arch,
          dist,
          location,
          summary: pkg.summary,
          license: pkg.license,
          sourceRpm: pkg.sourceRpm,
          signed: pkg.signed,
        },
        file: { filename, digests: stored },
        distTags: {},
        gate: gateRecordOf(verdict),
        within: (tx, ids) => ctx.domain.rpm.addEntry(tx, { ...entry, versionId: ids.versionId }),
      };
    },
  };
  return { kind: 'new', staged };
}
