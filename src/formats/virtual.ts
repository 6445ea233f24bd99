import type { FastifyRequest } from 'fastify';
import type { StoredPackage } from '../domain/packages.js';
import type { RepoInfo } from '../domain/repos.js';
import { createVirtualRepos, matchingClaim, type VirtualView } from '../domain/virtual-repos.js';
import { StockadeError, isStockadeError } from '../errors.js';
import { prepareQuery } from '../store/db/prepared.js';
import type { ServerContext } from '../http/context.js';

/** Why a name resolves from hosted members only; null when any member may answer. */
export type Protection = null | { reason: string };

/** What a collision alert records about the upstream's offer. */
export interface UpstreamSummary {
  versions: Iterable<string>;
  latest?: string | undefined;
}

/**
 * What one format tells the shared virtual-repository machinery. Names handed to the resolver
 * are already in the form the format stores in `packages.name` (npm as published, PyPI
 * normalized per PEP 503, RubyGems as pushed).
 */
export interface VirtualFormat {
  /** `packages.format` and `virtual_repos.format`. */
  format: string;
  /** Human name of the endpoint, for "not found" answers: `npm registry`, `PyPI index`. */
  label: string;
  compareVersions: (a: string, b: string) => number;
  /**
   * For a name inside a namespace that hosted use reserves (an npm scope), the half-open range
   * `[from, to)` of stored names in that namespace; null for formats without namespaces.
   */
  namespaceRange?: (name: string) => { from: string; to: string } | null;
  /** Versions and latest of a cached upstream metadata body, for the collision record; null when unreadable. */
  summarizeCached: (body: string, name: string) => UpstreamSummary | null;
}

/**
 * Virtual repositories of any format: one URL over an ordered list of hosted and remote members.
 *
 * Dependency-confusion protection: a name that any hosted member has, that a namespace claim
 * covers, or whose namespace (npm scope) a hosted member uses is resolved from the hosted members
 * only — the remote members are not asked, so the upstream never even learns the name. Other names
 * come from the first remote member, in order, that has them. Members are read with the virtual
 * repository's authority: reading it takes read access to it alone (see docs/remote.md).
 */
export function createVirtualResolver(
  ctx: ServerContext,
  vf: VirtualFormat,
  deps: {
    /** A hosted member's package (the format's per-node cache may answer). */
    load: (repo: RepoInfo, name: string) => Promise<StoredPackage | null>;
    /**
     * Set when `load` answers from a per-node cache that hears of every change before the next
     * request (a database no other node writes to): protection then asks `load`, which remembers
     * a missing name too, instead of querying on every request.
     */
    cached?: boolean;
  },
) {
  const { domain } = ctx;
  const unrecordedCollision = prepareQuery(['virtualId', 'remoteId', 'name'], (d, p: { virtualId: number; remoteId: number; name: string }) =>
    d
      .selectFrom('remote_metadata')
      .select('repo_id')
      .where('repo_id', '=', p.remoteId)
      .where('name', '=', p.name)
      .where('status', '=', 200)
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('virtual_collisions').select('id').where('virtual_repo_id', '=', p.virtualId).where('remote_repo_id', '=', p.remoteId).where('name', '=', p.name))),
      ),
  );
  const cachedBody = prepareQuery(['remoteId', 'name'], (d, p: { remoteId: number; name: string }) =>
    d.selectFrom('remote_metadata').select('body').where('repo_id', '=', p.remoteId).where('name', '=', p.name).where('status', '=', 200),
  );
  const virtuals = createVirtualRepos({ db: domain.db, audit: domain.audit, changes: domain.changes, repos: domain.repos });

  async function viewOf(request: FastifyRequest | null, repo: RepoInfo): Promise<VirtualView> {
    const view = await virtuals.view(repo);
    if (!view || view.format !== vf.format) throw new StockadeError('NOT_FOUND', [`${vf.label} of ${repo.path}`]);
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
    if (deps.cached) {
      for (const member of hostedOf(view)) if ((await deps.load(member, name)) !== null) return { reason: 'hosted' };
    } else if (hosted.length > 0) {
      const exact = await domain.db.selectFrom('packages').select('id').where('repo_id', 'in', hosted).where('format', '=', vf.format).where('name', '=', name).executeTakeFirst();
      if (exact) return { reason: 'hosted' };
    }
    const claim = matchingClaim(view.claims, name, vf.format);
    if (claim !== undefined) return { reason: `claim:${claim}` };
    const range = vf.namespaceRange?.(name);
    if (range && hosted.length > 0) {
      const used = await domain.db
        .selectFrom('packages')
        .select('id')
        .where('repo_id', 'in', hosted)
        .where('format', '=', vf.format)
        .where('name', '>=', range.from)
        .where('name', '<', range.to)
        .executeTakeFirst();
      if (used) return { reason: 'scope' };
    }
    return null;
  }

  function summary(meta: UpstreamSummary): Record<string, unknown> {
    const versions = [...meta.versions].sort(vf.compareVersions);
    return { count: versions.length, newest: versions[versions.length - 1] ?? null, latest: meta.latest ?? null };
  }

  /**
   * A protected name that a remote member has already cached metadata for is a collision:
   * checked from the cache only, never by asking the upstream.
   */
  async function collisionsFromCache(view: VirtualView, name: string, reason: string): Promise<void> {
    for (const remote of remotesOf(view)) {
      // Every read of a private name asks this: the document is read only for a new collision.
      if (!(await unrecordedCollision.first(domain.db, { virtualId: view.repo.id, remoteId: remote.id, name }))) continue;
      const body = (await cachedBody.first(domain.db, { remoteId: remote.id, name }))?.body ?? null;
      // The cache holds only documents that parsed; the summary is a courtesy.
      const found = body === null ? null : vf.summarizeCached(body, name);
      await virtuals.recordCollision({ virtual: view.repo, remote, name, reason, upstream: found ? summary(found) : {} });
    }
  }

  /** The remote refresh hook: a name fetched from upstream that a virtual repository protects. */
  async function afterRefresh(remote: RepoInfo, name: string, meta: UpstreamSummary): Promise<void> {
    try {
      for (const id of await virtuals.containingIds(remote.id)) {
        const repo = await domain.repos.getById(id);
        const view = repo ? await virtuals.view(repo) : null;
        if (!view || view.format !== vf.format) continue;
        const found = await protection(view, name);
        if (!found) continue;
        await virtuals.recordCollision({ virtual: view.repo, remote, name, reason: found.reason, upstream: summary(meta) });
      }
    } catch (error) {
      // An alert that cannot be written must not fail the read that saw it.
      ctx.log.error({ err: error, repo: remote.path, name }, 'collision check failed');
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
    if (merged) merged.versions.sort((a, b) => vf.compareVersions(a.version, b.version));
    return merged;
  }

  /**
   * Resolves `name`: protected names from the merged hosted members; others through `onRemote`,
   * tried on each remote member in order until one does not answer NOT_FOUND.
   */
  async function resolve<T>(
    request: FastifyRequest | null,
    repo: RepoInfo,
    name: string,
    onRemote: (member: RepoInfo) => Promise<T>,
  ): Promise<{ kind: 'hosted'; pkg: StoredPackage } | { kind: 'remote'; member: RepoInfo; result: T }> {
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
      if (await domain.packages.findFile({ repo: member, format: vf.format, name }, filename)) return member;
    }
    return null;
  }

  return { virtuals, viewOf, protection, resolve, afterRefresh, hostedFileOwner, hostedOf, remotesOf };
}

export type VirtualResolver = ReturnType<typeof createVirtualResolver>;
