import type { FastifyRequest } from 'fastify';
import type { RepoInfo } from '../../domain/repos.js';
import { matchingClaim, type VirtualView } from '../../domain/virtual-repos.js';
import { StockadeError, isStockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import type { CachedMetadata } from '../../remote/remote-engine.js';
import { rubyGemsScheme } from '../../security/versions/rubygems.js';
import { createVirtualResolver } from '../virtual.js';
import { indexDoc, type IndexDoc, md5Hex, namesFile, REVALIDATE_MD5, versionsFile } from './compact-index.js';
import { compareVersionKeys, FORMAT, splitVersionKey } from './publish.js';
import type { GemRemote, RemoteDoc } from './remote.js';
import { type GemEntry, type GemIndexes, GemIndexSnapshot, type PackageState } from './repo-index.js';
import { isValidGemName } from './spec-yaml.js';
import { parseInfoFile, type UpstreamGemInfo, type UpstreamVersionsFile, versionsOf } from './upstream-index.js';

/**
 * The ways to read `NAME-VERSION[-PLATFORM]` (a gem file or quick spec name without its
 * extension) as a gem name and a version key, longest name first: names may contain `-` and
 * digits, so `a-1-b-2.0` is gem `a-1-b` 2.0 or, less likely, gem `a` 1-b-2.0.
 */
export function fullNameSplits(fullName: string): { name: string; key: string }[] {
  const splits: { name: string; key: string }[] = [];
  for (let i = fullName.length - 2; i > 0; i--) {
    if (fullName[i] !== '-' || !/[0-9]/.test(fullName[i + 1] as string)) continue;
    const name = fullName.slice(0, i);
    const key = fullName.slice(i + 1);
    if (isValidGemName(name) && rubyGemsScheme.isValid(splitVersionKey(key).version)) splits.push({ name, key });
  }
  return splits;
}

/** Versions of one info file, for collision records. */
function summarize(info: UpstreamGemInfo): { versions: string[] } {
  return { versions: info.lines.map((line) => line.key) };
}

/** Member snapshots merged: a name comes from the first part that has it and `takes` it; versions of hosted members merge. */
function mergeSnapshots(parts: { snapshot: GemIndexSnapshot; merge: boolean; takes: (name: string) => boolean }[]): GemIndexSnapshot {
  const packages = new Map<string, PackageState>();
  const merged = new Set<string>();
  for (const { snapshot, merge, takes } of parts) {
    for (const [name, state] of snapshot.packages) {
      if (!takes(name)) continue;
      const current = packages.get(name);
      if (!current) {
        packages.set(name, state);
        if (merge) merged.add(name);
        continue;
      }
      if (!merge || !merged.has(name)) continue;
      // The first member wins for a version key; the rest add what it lacks.
      const keys = new Set(current.entries.map((e) => e.key));
      const entries = [...current.entries, ...state.entries.filter((e) => !keys.has(e.key))].sort((a, b) => compareVersionKeys(a.key, b.key));
      packages.set(name, { rev: current.rev + state.rev, entries, info: null });
    }
  }
  const byFilename = new Map<string, GemEntry>();
  for (const state of packages.values()) for (const e of state.entries) byFilename.set(e.filename, e);
  const createdAt = parts.map((p) => p.snapshot.createdAt).sort()[0] ?? new Date(0).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return new GemIndexSnapshot(packages, createdAt, byFilename);
}

/** Shallow equality of memo keys: snapshots by identity, strings by value. */
const sameKey = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((part, i) => part === b[i]);

/**
 * RubyGems virtual repositories (see src/formats/virtual.ts): one gem source over hosted and
 * remote members. Names a hosted member has, or a claim covers, come from the hosted members
 * only, merged; other names from the first remote member whose upstream has them. Indexes that
 * list everything (`/versions`, `/names`, the Marshal index) are merged under the same rule.
 */
export function createGemVirtual(ctx: ServerContext, deps: { indexes: GemIndexes; remote: GemRemote }) {
  const { domain } = ctx;
  const { indexes, remote } = deps;
  const resolver = createVirtualResolver(
    ctx,
    {
      format: FORMAT,
      label: 'gem source',
      compareVersions: compareVersionKeys,
      summarizeCached(body, name) {
        try {
          return summarize(parseInfoFile(body, name));
        } catch {
          return null;
        }
      },
    },
    { load: (repo, name) => domain.packages.load({ repo, format: FORMAT, name }) },
  );
  const memos = new Map<string, { key: unknown[]; value: unknown }>();

  function remembered<T>(id: string, key: unknown[]): T | undefined {
    const found = memos.get(id);
    return found && sameKey(found.key, key) ? (found.value as T) : undefined;
  }

  function remember<T>(id: string, key: unknown[], value: T): T {
    if (memos.size > 5000) memos.clear();
    memos.set(id, { key, value });
    return value;
  }

  function memo<T>(id: string, key: unknown[], build: () => T): T {
    return remembered<T>(id, key) ?? remember(id, key, build());
  }

  /** Every gem name any hosted member stores, visible or not: all of them are private. */
  async function hostedNames(view: VirtualView): Promise<Set<string>> {
    const hosted = resolver.hostedOf(view).map((m) => m.id);
    if (hosted.length === 0) return new Set();
    const rows = await domain.db.selectFrom('packages').select('name').distinct().where('repo_id', 'in', hosted).where('format', '=', FORMAT).execute();
    return new Set(rows.map((r) => r.name));
  }

  /** The protection rule of the resolver, for many names at once. */
  async function protectedTest(view: VirtualView): Promise<{ test: (name: string) => boolean; signature: string }> {
    const names = await hostedNames(view);
    const test = (name: string) => names.has(name) || matchingClaim(view.claims, name, FORMAT) !== undefined;
    return { test, signature: `${[...names].sort().join(',')}|${view.claims.join(',')}` };
  }

  async function hostedSnapshot(view: VirtualView): Promise<GemIndexSnapshot> {
    const snapshots = await Promise.all(resolver.hostedOf(view).map((m) => indexes.current(m)));
    return memo(`hosted:${view.repo.id}`, snapshots, () => mergeSnapshots(snapshots.map((snapshot) => ({ snapshot, merge: true, takes: () => true }))));
  }

  /** The Marshal index: the hosted members' gems, and the gems remote members have stored under names not private. */
  async function marshalSnapshot(request: FastifyRequest, repo: RepoInfo): Promise<GemIndexSnapshot> {
    const view = await resolver.viewOf(request, repo);
    const isPrivate = await protectedTest(view);
    const hosted = resolver.hostedOf(view);
    const members = await Promise.all(view.members.map(async (m) => ({ member: m, snapshot: await indexes.current(m) })));
    return memo(`marshal:${repo.id}`, [isPrivate.signature, ...members.map((m) => m.snapshot)], () =>
      mergeSnapshots(members.map(({ member, snapshot }) => ({ snapshot, merge: hosted.includes(member), takes: (name: string) => hosted.includes(member) || !isPrivate.test(name) }))),
    );
  }

  /** `/info/NAME`: merged from the hosted members for a private name, else the first remote member's. */
  async function info(request: FastifyRequest, repo: RepoInfo, name: string): Promise<{ doc: IndexDoc; cached?: CachedMetadata<unknown> }> {
    const source = await resolver.resolve(request, repo, name, (member): Promise<RemoteDoc> => remote.info(member, name));
    if (source.kind === 'remote') return source.result;
    const view = await resolver.viewOf(null, repo);
    await collisionsFromKnownIndexes(view, name);
    const doc = (await hostedSnapshot(view)).info(name);
    if (!doc) throw new StockadeError('NOT_FOUND', [`an installable version of ${name} in the hosted members of ${repo.path}`]);
    return { doc };
  }

  /** The upstream indexes of the remote members; a member whose upstream has none is left out. */
  async function upstreamIndexes(view: VirtualView): Promise<{ member: RepoInfo; index: CachedMetadata<UpstreamVersionsFile> }[]> {
    const found: { member: RepoInfo; index: CachedMetadata<UpstreamVersionsFile> }[] = [];
    for (const member of resolver.remotesOf(view)) {
      try {
        found.push({ member, index: await remote.upstreamIndex(member) });
      } catch (error) {
        if (!(isStockadeError(error) && error.code === 'NOT_FOUND')) throw error;
      }
    }
    return found;
  }

  /**
   * `/versions` and `/names`: the hosted members' gems (with the MD5 of their merged info), then
   * each upstream's gems whose names are not private, a name from the first remote member that
   * lists it. Upstream lines carry REVALIDATE_MD5, as in a remote repository.
   */
  async function indexDocs(request: FastifyRequest, repo: RepoInfo): Promise<{ versions: IndexDoc; names: IndexDoc; cached: CachedMetadata<unknown> | undefined }> {
    const view = await resolver.viewOf(request, repo);
    const hosted = await hostedSnapshot(view);
    const isPrivate = await protectedTest(view);
    const upstreams = await upstreamIndexes(view);
    const key = [hosted, isPrivate.signature, ...upstreams.map((u) => `${u.member.id} ${u.index.fetchedAt}`)];
    const cached = (upstreams.find((u) => u.index.state === 'stale') ?? upstreams[0])?.index;
    const known = remembered<{ versions: IndexDoc; names: IndexDoc }>(`index:${repo.id}`, key);
    if (known) return { ...known, cached };
    const gems: { name: string; keys: string[]; infoMd5: string }[] = [];
    for (const [name, state] of [...hosted.packages].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      gems.push({ name, keys: state.entries.map((e) => e.key), infoMd5: md5Hex((hosted.info(name) as IndexDoc).body) });
    }
    const owner = new Map<string, number>();
    const collisions: { member: RepoInfo; file: UpstreamVersionsFile; name: string }[] = [];
    for (const { member, index } of upstreams) {
      for (const [name, versions] of index.meta.lines) {
        if (isPrivate.test(name)) {
          collisions.push({ member, file: index.meta, name });
          continue;
        }
        if (!owner.has(name)) owner.set(name, member.id);
        if (owner.get(name) === member.id) gems.push({ name, keys: [versions], infoMd5: REVALIDATE_MD5 });
      }
    }
    const names = [...new Set([...hosted.packages.keys(), ...owner.keys()])].sort();
    const docs = remember(`index:${repo.id}`, key, { versions: indexDoc(Buffer.from(versionsFile(hosted.createdAt, gems))), names: indexDoc(Buffer.from(namesFile(names))) });
    // Rebuilt because an index or the private names changed: the upstream offers a private name.
    for (const c of new Map(collisions.map((c) => [`${c.member.id} ${c.name}`, c])).values()) {
      await resolver.afterRefresh(c.member, c.name, { versions: versionsOf(c.file, c.name) });
    }
    return { ...docs, cached };
  }

  /**
   * A private name that a remote member's upstream index (as this node last read it) offers is a
   * collision: checked from memory only, never by asking the upstream.
   */
  async function collisionsFromKnownIndexes(view: VirtualView, name: string): Promise<void> {
    for (const member of resolver.remotesOf(view)) {
      const known = remote.knownIndex(member);
      if (known?.offered.has(name)) await resolver.afterRefresh(member, name, { versions: versionsOf(known.file, name) });
    }
  }

  /**
   * Which member serves `FILENAME` (a gem file, or the gem of a quick spec): for a private name
   * the hosted member that stores it, else the remote member the name resolves to.
   */
  async function fileOwner(request: FastifyRequest, repo: RepoInfo, filename: string): Promise<{ member: RepoInfo; name: string }> {
    for (const { name } of fullNameSplits(filename.replace(/\.gem$/, ''))) {
      try {
        const source = await resolver.resolve(request, repo, name, (member) => remote.offers(member, name));
        if (source.kind === 'remote') return { member: source.member, name };
        const member = await resolver.hostedFileOwner(await resolver.viewOf(null, repo), name, filename);
        if (member) return { member, name };
      } catch (error) {
        if (!(isStockadeError(error) && error.code === 'NOT_FOUND')) throw error;
      }
    }
    throw new StockadeError('NOT_FOUND', [`file gems/${filename}`]);
  }

  /** A gem's upstream info seen by a remote member: its versions, if a virtual repository keeps the name private. */
  const afterRefresh = (member: RepoInfo, name: string, meta: UpstreamGemInfo) => resolver.afterRefresh(member, name, summarize(meta));

  /**
   * The upstream's `/versions` names every gem it offers: each one that a virtual repository
   * containing `member` keeps private is a collision. Nothing is asked of the upstream.
   */
  async function afterIndexRefresh(member: RepoInfo, file: UpstreamVersionsFile): Promise<void> {
    try {
      const candidates = new Set<string>();
      for (const id of await resolver.virtuals.containingIds(member.id)) {
        const repo = await domain.repos.getById(id);
        const view = repo ? await resolver.virtuals.view(repo) : null;
        if (!view || view.format !== FORMAT) continue;
        const isPrivate = await protectedTest(view);
        for (const [name] of file.lines) if (isPrivate.test(name)) candidates.add(name);
      }
      for (const name of candidates) await resolver.afterRefresh(member, name, { versions: versionsOf(file, name) });
    } catch (error) {
      ctx.log.error({ err: error, repo: member.path }, 'collision check of the upstream index failed');
    }
  }

  return { resolver, viewOf: resolver.viewOf, hostedOf: resolver.hostedOf, info, indexDocs, marshalSnapshot, fileOwner, afterRefresh, afterIndexRefresh };
}

export type GemVirtual = ReturnType<typeof createGemVirtual>;
