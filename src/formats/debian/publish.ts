import { hash } from 'node:crypto';
import { compareDpkgVersions } from '../../security/versions/dpkg.js';
import type { Actor } from '../../domain/audit.js';
import type { PackageRef } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { gateRecordOf } from '../../security/service.js';
import type { ArtifactInfo, ContentView } from '../../security/types.js';
import { commitStaged, type InspectedArtifact, type Staged, type StagedUpload, type UploadResult, type UploadTarget } from '../format.js';
import { listInAnotherDistribution, storedResult } from '../os-listing.js';
import { debFilename, packagesStanza, poolPath, sourceOf } from './apt-index.js';
import { parseDeb } from './deb.js';

export const FORMAT = 'debian';

// Distribution and component names become URL segments and index paths.
const PLACE_NAME = /^[a-z0-9][a-z0-9.+-]{0,63}$/;

/** Order of stored version keys: the architecture never decides it. */
export function compareVersionKeys(a: string, b: string): number {
  return compareDpkgVersions(a.replace(/_[^_]*$/, ''), b.replace(/_[^_]*$/, ''));
}

/** The stored version key: Debian versions never contain `_`, so `1.0-1_amd64` is unambiguous. */
export function versionKey(version: string, arch: string): string {
  return `${version}_${arch}`;
}

/**
 * Opens a .deb and derives what it is from its own control file. The manifest is what the gate
 * reads: the control fields, the distribution (which OS advisories apply) and the file list with
 * owners and types, which the content view does not carry.
 */
export async function inspectDeb(data: Buffer, dists: readonly string[] = []): Promise<InspectedArtifact & { arch: string; contents: Awaited<ReturnType<typeof parseDeb>> }> {
  const contents = await parseDeb(data, {}, { view: true });
  const control = contents.control;
  const name = control.get('Package') as string;
  const version = control.get('Version') as string;
  const arch = control.get('Architecture') as string;
  const manifest = {
    ...control.toObject(),
    ...(dists.length === 0 ? {} : { dist: dists[0], dists: [...dists] }),
    files: contents.files.map((f) => ({ path: f.path, type: f.type, uid: f.uid, uname: f.uname, mode: f.mode })),
  };
  return { name, version, arch, filename: debFilename(name, version, arch), manifest, view: contents.view as ContentView, contents };
}

function placeOf(target: UploadTarget | undefined): { dist: string; component: string } {
  const dist = target?.distribution;
  if (!dist) {
    throw new StockadeError('VALIDATION_FAILED', ['a Debian package needs a distribution: stockade push OWNER/REPO/debian/bookworm file.deb, or ?distribution=bookworm']);
  }
  const component = target?.component ?? 'main';
  for (const [what, value] of [
    ['distribution', dist],
    ['component', component],
  ] as const) {
    if (!PLACE_NAME.test(value)) throw new StockadeError('VALIDATION_FAILED', [`${what} "${value}" must be lower-case letters, digits, ".", "+" or "-"`]);
  }
  return { dist, component };
}

/**
 * Stores a .deb in a distribution and component, all or nothing: parse it as hostile input, let
 * the gate judge it, write the file, then one transaction records the version and lists it in the
 * index. The same file may be listed in several distributions; a different file under the same
 * name, version and architecture is refused.
 */
export async function ingestDeb(ctx: ServerContext, input: { repo: RepoInfo; actor: Actor; data: Buffer; target?: UploadTarget }): Promise<UploadResult> {
  const staged = await stageDeb(ctx, input);
  return staged.kind === 'done' ? staged.result : commitStaged(ctx, input.actor, staged.staged);
}

/** Everything ingestDeb does short of storing a new file; see Format.stage. */
export async function stageDeb(ctx: ServerContext, input: { repo: RepoInfo; actor: Actor; data: Buffer; target?: UploadTarget }): Promise<Staged> {
  const { dist, component } = placeOf(input.target);
  const inspected = await inspectDeb(input.data, [dist]);
  const { name, version, arch, filename, contents } = inspected;
  const key = versionKey(version, arch);
  const ref: PackageRef = { repo: input.repo, format: FORMAT, name };
  const sha256 = hash('sha256', input.data, 'hex');
  const pool = poolPath(component, sourceOf(contents.control), filename);

  const digests = { sha256, sha512: hash('sha512', input.data, 'hex'), sha1: hash('sha1', input.data, 'hex'), md5: hash('md5', input.data, 'hex') };
  const artifact: ArtifactInfo = { format: FORMAT, ecosystem: 'Debian', name, version, filename, sha256, digests, size: input.data.length, manifest: inspected.manifest };

  const existing = await ctx.domain.packages.findFile(ref, filename);
  if (existing) {
    if (existing.sha256 !== sha256) throw new StockadeError('VERSION_EXISTS', [name, `${version} (${arch}) with different content`]);
    const base = { format: FORMAT, name, version, filename, sha256, size: existing.size };
    // The same file again: list it here too, if it is not already.
    const versionId = await ctx.domain.apt.versionId(input.repo.id, FORMAT, name, key);
    if (versionId === null || (await ctx.domain.apt.isListed(input.repo.id, versionId, dist, component))) {
      return { kind: 'done', result: storedResult(base, { quarantined: existing.status === 'quarantined', reasons: existing.reasons }) };
    }
    const stanza = packagesStanza(contents.control, { poolPath: pool, size: existing.size, md5: existing.md5, sha1: existing.sha1, sha256: existing.sha256 });
    const listed = await listInAnotherDistribution(ctx, {
      repo: input.repo,
      actor: input.actor,
      ref,
      version: key,
      compare: compareVersionKeys,
      dist,
      dists: [...new Set([...(await ctx.domain.apt.distsOf(versionId)), dist])],
      artifact,
      view: inspected.view,
      addEntry: () => ctx.domain.apt.addEntry(ctx.domain.db, { repoId: input.repo.id, versionId, dist, component, arch, poolPath: pool, stanza }),
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
      const stanza = packagesStanza(contents.control, { poolPath: pool, size: stored.size, md5: stored.md5, sha1: stored.sha1, sha256: stored.sha256 });
      return {
        version: key,
        metadata: { control: contents.control.toObject(), arch, dist, component, poolPath: pool, unpackedSize: contents.unpackedSize },
        file: { filename, digests: stored },
        distTags: {},
        gate: gateRecordOf(verdict),
        within: (tx, ids) => ctx.domain.apt.addEntry(tx, { repoId: input.repo.id, versionId: ids.versionId, dist, component, arch, poolPath: pool, stanza }),
      };
    },
  };
  return { kind: 'new', staged };
}
