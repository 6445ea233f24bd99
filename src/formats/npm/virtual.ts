import type { FastifyRequest } from 'fastify';
import semver from 'semver';
import type { StoredPackage, StoredVersion } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { createVirtualRepos, matchingClaim, type VirtualView } from '../../domain/virtual-repos.js';
import { StockadeError, isStockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { splitScopedName } from './names.js';
import { FORMAT } from './publish.js';
import type { NpmRemote, UpstreamPackument } from './remote.js';

/** Why a name resolves from hosted members only; null when any member may answer. */
type Protection = null | { reason: string };

/**
 * npm virtual repositories: one URL over an ordered list of hosted and remote members.
 *
 * Dependency-confusion protection: a name that any hosted member has, that a namespace claim
 * covers, or whose scope a hosted member uses is resolved from the hosted members only — the
 * remote members are not asked, so the upstream never even learns the name. Other names come
 * from the first member, in order, that has them. Members are read with the virtual
 * repository's authority: reading it takes read access to it alone (see docs/remote.md).
 */
export function createNpmVirtual(
  ctx: ServerContext,
  deps: {
    remote: () => NpmRemote;
    /** A hosted member's package, from the routes' per-node cache. */
    load: (repo: RepoInfo, name: string) => Promise<StoredPackage | null>;
  },
) {
  const { domain } = ctx;
  const virtuals = createVirtualRepos({ db: domain.db, audit: domain.audit, changes: domain.changes, repos: domain.repos });

  async function viewOf(request: FastifyRequest | null, repo: RepoInfo): Promise<VirtualView> {
    const view = await virtuals.view(repo);
    if (!view || view.format !== FORMAT) throw new StockadeError('NOT_FOUND', [`npm registry of ${repo.path}`]);
    if (request && repo.visibility === 'public') {
      // Members are checked to be public when listed; one made private since then stays closed
      // to callers who could not read it directly (fail closed, never fall through upstream).
      for (const member of view.members) {
        if (member.visibility === 'private' && (await domain.access.decide(request.principal, 'read', member)) !== 'ok') {
          throw new StockadeError('FORBIDDEN', [`${repo.path} merges ${member.path}, which is private: ask an admin to make ${repo.path} private or remove the member`]);
        }
      }
    }
    return view;
  }

  const hostedOf = (view: VirtualView) => view.members.filter((m) => m.kind === 'hosted');
  const remotesOf = (view: VirtualView) => view.members.filter((m) => m.kind === 'remote');

  async function protection(view: VirtualView, name: string): Promise<Protection> {
    const hosted = hostedOf(view).map((m) => m.id);
    const lower = name.toLowerCase();
    if (hosted.length > 0) {
      const exact = await domain.db.selectFrom('packages').select('id').where('repo_id', 'in', hosted).where('format', '=', FORMAT).where('name', '=', name).executeTakeFirst();
      if (exact) return { reason: 'hosted' };
    }
    const claim = matchingClaim(view.claims, lower);
    if (claim !== undefined) return { reason: `claim:${claim}` };
    const { scope } = splitScopedName(name);
    if (scope && hosted.length > 0) {
      // Every name in `@scope/…` sorts between `@scope/` and `@scope0` ('0' follows '/').
      const prefix = `${scope.startsWith('@') ? scope : `@${scope}`}/`;
      const used = await domain.db
        .selectFrom('packages')
        .select('id')
        .where('repo_id', 'in', hosted)
        .where('format', '=', FORMAT)
        .where('name', '>=', prefix)
        .where('name', '<', `${prefix.slice(0, -1)}0`)
        .executeTakeFirst();
      if (used) return { reason: 'scope' };
    }
    return null;
  }

  function summary(meta: { versions: Iterable<string>; latest?: string | undefined }): Record<string, unknown> {
    const versions = [...meta.versions].filter((v) => semver.valid(v) !== null).sort(semver.compare);
    return { count: versions.length, newest: versions[versions.length - 1] ?? null, latest: meta.latest ?? null };
  }

  /**
   * A protected name that a remote member has already cached metadata for is a collision:
   * checked from the cache only, never by asking the upstream.
   */
  async function collisionsFromCache(view: VirtualView, name: string, reason: string): Promise<void> {
    const remotes = remotesOf(view);
    if (remotes.length === 0) return;
    const rows = await domain.db
      .selectFrom('remote_metadata')
      .select('repo_id')
      .where('repo_id', 'in', remotes.map((m) => m.id))
      .where('name', '=', name)
      .where('status', '=', 200)
      .execute();
    for (const row of rows) {
      const remote = remotes.find((m) => m.id === row.repo_id) as RepoInfo;
      const recorded = await domain.db
        .selectFrom('virtual_collisions')
        .select('id')
        .where('virtual_repo_id', '=', view.repo.id)
        .where('remote_repo_id', '=', remote.id)
        .where('name', '=', name)
        .executeTakeFirst();
      if (recorded) continue;
      const body = await domain.db.selectFrom('remote_metadata').select('body').where('repo_id', '=', remote.id).where('name', '=', name).executeTakeFirst();
      let upstream: Record<string, unknown> = {};
      try {
        const doc = JSON.parse(body?.body ?? '{}') as { versions?: Record<string, unknown>; 'dist-tags'?: Record<string, unknown> };
        const latest = doc['dist-tags']?.latest;
        upstream = summary({ versions: Object.keys(doc.versions ?? {}), latest: typeof latest === 'string' ? latest : undefined });
      } catch {
        // The cache holds only documents that parsed; a summary is a courtesy.
      }
      await virtuals.recordCollision({ virtual: view.repo, remote, name, reason, upstream });
    }
  }

  /** The remote refresh hook: a name fetched from upstream that a virtual repository protects. */
  async function afterRefresh(remote: RepoInfo, name: string, meta: UpstreamPackument): Promise<void> {
    try {
      await recordRefresh(remote, name, meta);
    } catch (error) {
      // An alert that cannot be written must not fail the read that saw it.
      ctx.log.error({ err: error, repo: remote.path, name }, 'collision check failed');
    }
  }

  async function recordRefresh(remote: RepoInfo, name: string, meta: UpstreamPackument): Promise<void> {
    for (const id of await virtuals.containingIds(remote.id)) {
      const repo = await domain.repos.getById(id);
      const view = repo ? await virtuals.view(repo) : null;
      if (!view || view.format !== FORMAT) continue;
      const found = await protection(view, name);
      if (!found) continue;
      const upstream = summary({ versions: meta.versions.keys(), latest: meta.distTags.get('latest') });
      await virtuals.recordCollision({ virtual: view.repo, remote, name, reason: found.reason, upstream });
    }
  }

  /** The hosted members' packages merged in member order: the first member wins for a version. */
  async function mergeHosted(view: VirtualView, name: string): Promise<StoredPackage | null> {
    let merged: StoredPackage | null = null;
    const seen = new Set<string>();
    for (const member of hostedOf(view)) {
      const pkg = await deps.load(member, name);
      if (!pkg || pkg.versions.length === 0) continue;
      const fresh = pkg.versions.filter((v) => !seen.has(v.version));
      for (const v of fresh) seen.add(v.version);
      if (!merged) {
        merged = { ...pkg, versions: [...fresh], distTags: { ...pkg.distTags } };
        continue;
      }
      merged.versions.push(...fresh);
      merged.rev += pkg.rev;
      if (pkg.updatedAt > merged.updatedAt) merged.updatedAt = pkg.updatedAt;
      for (const [tag, version] of Object.entries(pkg.distTags)) if (!Object.hasOwn(merged.distTags, tag)) merged.distTags[tag] = version;
    }
    if (merged) merged.versions.sort((a: StoredVersion, b: StoredVersion) => semver.compare(a.version, b.version));
    return merged;
  }

  /**
   * Resolves `name`: protected names from the merged hosted members; others through `onRemote`,
   * tried on each remote member in order until one does not answer NOT_FOUND.
   */
  async function resolve<T>(request: FastifyRequest, repo: RepoInfo, name: string, onRemote: (member: RepoInfo) => Promise<T>): Promise<{ kind: 'hosted'; pkg: StoredPackage } | { kind: 'remote'; member: RepoInfo; result: T }> {
    const view = await viewOf(request, repo);
    const found = await protection(view, name);
    if (found) {
      await collisionsFromCache(view, name, found.reason);
      const pkg = await mergeHosted(view, name);
      if (!pkg) throw new StockadeError('NOT_FOUND', [`package ${name} (reserved for the hosted members of ${repo.path})`]);
      return { kind: 'hosted', pkg };
    }
    for (const member of remotesOf(view)) {
      try {
        return { kind: 'remote', member, result: await onRemote(member) };
      } catch (error) {
        // Not there: the next member is asked. Anything else (an upstream failure) is the answer.
        if (isStockadeError(error) && error.code === 'NOT_FOUND') continue;
        throw error;
      }
    }
    throw new StockadeError('NOT_FOUND', [`package ${name}`]);
  }

  /** The hosted member that stores `filename` of a protected name, first in order. */
  async function hostedFileOwner(view: VirtualView, name: string, filename: string): Promise<RepoInfo | null> {
    for (const member of hostedOf(view)) {
      const pkg = await deps.load(member, name);
      if (pkg?.versions.some((v) => v.files.some((f) => f.filename === filename))) return member;
      if (await domain.packages.findFile({ repo: member, format: FORMAT, name }, filename)) return member;
    }
    return null;
  }

  return { virtuals, viewOf, protection, resolve, afterRefresh, hostedFileOwner };
}

export type NpmVirtual = ReturnType<typeof createNpmVirtual>;
