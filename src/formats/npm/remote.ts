import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import semver from 'semver';
import type { PackageRef } from '../../domain/packages.js';
import { createRemoteSettings, type UpstreamSettings } from '../../domain/remote-settings.js';
import type { RepoInfo } from '../../domain/repos.js';
import { createSecretBox } from '../../domain/secret-box.js';
import { StockadeError, isStockadeError } from '../../errors.js';
import { baseUrl, type ServerContext } from '../../http/context.js';
import { createLimiter } from '../../remote/limiter.js';
import { type CachedMetadata, createRemoteEngine, type RemoteEngineOptions, upstreamHeaders } from '../../remote/remote-engine.js';
import { type HiddenReason, hiddenVersions, type RemoteSource } from '../../remote/source.js';
import { loadServerKey } from '../../store/server-key.js';
import { SizedLru } from '../../store/sized-lru.js';
import { type RenderedDoc, renderDoc } from './cache.js';
import { assertValidPackageName, splitScopedName, tarballFileName } from './names.js';
import { FORMAT, ingestTarball } from './publish.js';
import { sendDoc } from './send.js';

const CORGI = 'application/vnd.npm.install-v1+json';
/** `npm-command` values of requests that go on to download what they resolve. */
const INSTALL_COMMANDS = new Set(['install', 'ci', 'update']);

// The per-version fields of the abbreviated document (registry API, "corgi" format).
const CORGI_FIELDS = [
  'name', 'version', 'dependencies', 'optionalDependencies', 'devDependencies', 'bundleDependencies',
  'peerDependencies', 'peerDependenciesMeta', 'bin', 'directories', 'engines', 'os', 'cpu', 'funding',
  'deprecated', '_hasShrinkwrap', 'hasInstallScript', 'dist', 'license',
] as const;

type Json = Record<string, unknown>;

/** An upstream packument, checked: only versions with a valid semver key and an object document survive. */
export interface UpstreamPackument {
  name: string;
  raw: Json;
  versions: Map<string, Json>;
  time: Map<string, string>;
  distTags: Map<string, string>;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const npmRemoteSource: RemoteSource<UpstreamPackument> = {
  format: FORMAT,
  metadataPath(name) {
    // The registry API addresses a scoped package as one segment: `@scope%2fname`.
    const { scope, bare } = splitScopedName(name);
    return scope ? `@${encodeURIComponent(scope.replace(/^@/, ''))}%2f${encodeURIComponent(bare)}` : encodeURIComponent(name);
  },
  parseMetadata(body, name) {
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch {
      throw new StockadeError('INVALID_JSON', ['the packument is not JSON']);
    }
    if (!isObject(raw)) throw new StockadeError('VALIDATION_FAILED', ['the packument is not a JSON object']);
    if (raw.name !== undefined && raw.name !== name) throw new StockadeError('NAME_MISMATCH', [String(raw.name).slice(0, 100), name]);
    const versions = new Map<string, Json>();
    for (const [version, doc] of Object.entries(isObject(raw.versions) ? raw.versions : {})) {
      if (semver.valid(version) === version && isObject(doc)) versions.set(version, doc);
    }
    const time = new Map<string, string>();
    for (const [key, value] of Object.entries(isObject(raw.time) ? raw.time : {})) if (typeof value === 'string') time.set(key, value);
    const distTags = new Map<string, string>();
    for (const [tag, value] of Object.entries(isObject(raw['dist-tags']) ? raw['dist-tags'] : {})) {
      if (typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(tag)) distTags.set(tag, value);
    }
    return { name, raw, versions, time, distTags };
  },
  versions(meta) {
    return [...meta.versions.keys()].map((version) => ({ version, publishedAt: meta.time.get(version) ?? null }));
  },
  locateFile(meta, filename) {
    for (const [version, doc] of meta.versions) {
      if (tarballFileName(meta.name, version) !== filename) continue;
      const dist = isObject(doc.dist) ? doc.dist : {};
      return typeof dist.tarball === 'string' ? { version, url: dist.tarball } : null;
    }
    return null;
  },
};

/**
 * Moves each dist-tag that points at a hidden (or unknown) version to the newest visible version
 * not newer than it, so `latest` falls back to the last safe release; for `latest` a stable
 * version is preferred. A tag with no such version is dropped, except `latest`, which then takes
 * the newest visible version.
 */
export function repointTags(tags: Map<string, string>, visible: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const sorted = [...visible].sort(semver.compare);
  const newest = (list: string[]) => list[list.length - 1];
  for (const [tag, target] of tags) {
    if (visible.includes(target)) {
      out[tag] = target;
      continue;
    }
    const older = semver.valid(target) ? sorted.filter((v) => semver.lte(v, target)) : [];
    const stable = (list: string[]) => list.filter((v) => semver.prerelease(v) === null);
    const pick = tag === 'latest' ? (newest(stable(older)) ?? newest(older) ?? newest(stable(sorted)) ?? newest(sorted)) : newest(older);
    if (pick !== undefined) out[tag] = pick;
  }
  if (out.latest === undefined && sorted.length > 0) out.latest = newest(sorted.filter((v) => semver.prerelease(v) === null)) ?? (newest(sorted) as string);
  return out;
}

/** Whether a packument request asks for the abbreviated document. */
export function wantsCorgi(headers: IncomingHttpHeaders, query: URLSearchParams): boolean {
  return (headers.accept ?? '').includes(CORGI) && query.get('write') !== 'true';
}

/**
 * npm remote repositories: the upstream packument, filtered and rewritten for this repository,
 * and tarballs fetched on first request through the same ingest and gate as a publish.
 */
export function createNpmRemote(
  ctx: ServerContext,
  options: RemoteEngineOptions = {},
  hooks: {
    /** Runs after metadata came from the upstream (not from the cache): virtual repositories look for collisions here. */
    afterRefresh?: (repo: RepoInfo, name: string, meta: UpstreamPackument) => Promise<void>;
    /** Whether a file is stored and visible, from the routes' per-node cache (saves a query per download). */
    stored?: (repo: RepoInfo, name: string, filename: string) => Promise<boolean>;
    /** Told before a file is stored; the returned function is told whether it was stored visible. */
    expectStore?: (repo: RepoInfo, name: string) => (published: boolean) => void;
  } = {},
) {
  const { domain } = ctx;
  const settings = createRemoteSettings({ db: domain.db, audit: domain.audit, changes: domain.changes, box: createSecretBox(loadServerKey(ctx.config)) });
  const engine = createRemoteEngine({ db: domain.db, settings, packages: domain.packages, changes: domain.changes }, options);
  const ref = (repo: RepoInfo, name: string): PackageRef => ({ repo, format: FORMAT, name });

  /** The upstream metadata with what clients may not see. */
  async function view(repo: RepoInfo, name: string): Promise<RemoteView> {
    assertValidPackageName(name);
    const cached = await engine.metadata(repo, npmRemoteSource, name);
    if (hooks.afterRefresh && (cached.state === 'miss' || cached.state === 'revalidated')) await hooks.afterRefresh(repo, name, cached.meta);
    const s = await settings.get(repo);
    const hidden = hiddenVersions({
      versions: npmRemoteSource.versions(cached.meta),
      verdicts: await engine.verdicts(ref(repo, name), cached.blocked),
      cooldownHours: s.cooldownHours,
      cooldownAllow: s.cooldownAllow,
      name,
      now: Date.now(),
    });
    return { cached, hidden, settings: s };
  }

  /**
   * Until when a view stays what it is without any event: the cached copy's TTL, or the moment the
   * next version leaves the cooldown. Verdict and settings changes are announced on the change bus.
   */
  function viewStableUntil(cached: CachedMetadata<UpstreamPackument>, hidden: Map<string, HiddenReason>, s: { metadataTtlSeconds: number; cooldownHours: number }): number {
    let until = Date.parse(cached.fetchedAt) + s.metadataTtlSeconds * 1000;
    for (const [version, why] of hidden) {
      if (why.kind !== 'cooldown') continue;
      const at = Date.parse(cached.meta.time.get(version) ?? '') + s.cooldownHours * 3_600_000;
      if (Number.isFinite(at) && at < until) until = at;
    }
    return until;
  }

  /** Why nothing can be installed, when every upstream version is held back. */
  function noneVisible(meta: UpstreamPackument, hidden: Map<string, HiddenReason>): StockadeError {
    const why = [...new Set([...hidden.values()].map((h) => h.kind))].join(', ');
    return new StockadeError('NOT_FOUND', [`an installable version of ${meta.name} (every upstream version is held back: ${why || 'none published'})`]);
  }

  /** The dist-tags clients see: each re-pointed to a visible version. */
  function visibleTags(meta: UpstreamPackument, hidden: Map<string, HiddenReason>): Record<string, string> {
    const visible = [...meta.versions.keys()].filter((v) => !hidden.has(v));
    if (visible.length === 0) throw noneVisible(meta, hidden);
    return repointTags(meta.distTags, visible);
  }

  function render(cached: CachedMetadata<UpstreamPackument>, hidden: Map<string, HiddenReason>, registryUrl: string, corgi: boolean): Json {
    const meta = cached.meta;
    const versions: Record<string, Json> = Object.create(null) as Record<string, Json>;
    const time: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const key of ['created', 'modified']) {
      const at = meta.time.get(key);
      if (at !== undefined) time[key] = at;
    }
    const visible: string[] = [];
    for (const [version, doc] of meta.versions) {
      if (hidden.has(version)) continue;
      visible.push(version);
      const dist = isObject(doc.dist) ? doc.dist : {};
      const rewritten: Json = { ...doc, dist: { ...dist, tarball: `${registryUrl}/${meta.name}/-/${tarballFileName(meta.name, version)}` } };
      if (corgi) {
        const slim: Json = {};
        for (const field of CORGI_FIELDS) if (rewritten[field] !== undefined) slim[field] = rewritten[field];
        versions[version] = slim;
      } else {
        versions[version] = rewritten;
      }
      const at = meta.time.get(version);
      if (at !== undefined) time[version] = at;
    }
    if (visible.length === 0) throw noneVisible(meta, hidden);
    const distTags = repointTags(meta.distTags, visible);
    if (corgi) return { name: meta.name, modified: time.modified ?? cached.fetchedAt, 'dist-tags': distTags, versions };
    const doc: Json = {};
    for (const [key, value] of Object.entries(meta.raw)) {
      if (!['versions', 'time', 'dist-tags', '_attachments', '_rev'].includes(key)) doc[key] = value;
    }
    return { ...doc, _id: meta.name, name: meta.name, 'dist-tags': distTags, versions, time };
  }

  /**
   * Rendered packuments (with their compressed forms) per repository, name, URL and shape, valid
   * while the upstream copy and the hidden versions stay the same: a warm install then neither
   * re-renders nor re-compresses a document.
   */
  const renderedDocs = new SizedLru<{ validity: string; doc: RenderedDoc }>({ maxBytes: 64 * 1024 * 1024, maxItemBytes: 8 * 1024 * 1024, maxEntries: 10_000 });

  function renderCached(cached: CachedMetadata<UpstreamPackument>, hidden: Map<string, HiddenReason>, repo: RepoInfo, registryUrl: string, corgi: boolean): RenderedDoc {
    const key = `${repo.id} ${cached.meta.name} ${corgi ? 'c' : 'f'} ${registryUrl}`;
    let validity = cached.fetchedAt;
    for (const [version, why] of hidden) validity += `\n${version} ${why.kind} ${why.detail}`;
    const hit = renderedDocs.get(key);
    if (hit && hit.validity === validity) return hit.doc;
    const doc = renderDoc(render(cached, hidden, registryUrl, corgi));
    // Counted with room for its compressed forms, which are built on first use.
    renderedDocs.set(key, { validity, doc }, doc.body.length * 2);
    return doc;
  }

  const registryUrl = (request: FastifyRequest, repo: RepoInfo) => `${baseUrl(ctx.config, request)}/${repo.path}/npm`;

  /**
   * `GET /{name}`: the filtered packument, full or abbreviated as the client asks. `servedAs` is
   * the repository the client asked (a virtual one containing `repo`): tarball URLs point there.
   */
  async function packument(
    request: FastifyRequest,
    reply: FastifyReply,
    repo: RepoInfo,
    name: string,
    query: URLSearchParams,
    servedAs: RepoInfo = repo,
    /** Receives a fresh answer (not a stale or offline one) and how long it stays valid. */
    remember?: (answer: { doc: RenderedDoc; contentType: string; until: number }) => void,
  ) {
    const seen = await view(repo, name);
    const { cached, hidden, settings: s } = seen;
    const corgi = wantsCorgi(request.headers, query);
    const doc = renderCached(cached, hidden, repo, registryUrl(request, servedAs), corgi);
    const contentType = corgi ? CORGI : 'application/json';
    if (INSTALL_COMMANDS.has(String(request.headers['npm-command'] ?? '')) && s.prefetch) prefetch(repo, name, visibleTags(cached.meta, hidden).latest, seen);
    if (remember && (cached.state === 'hit' || cached.state === 'miss' || cached.state === 'revalidated')) {
      remember({ doc, contentType, until: viewStableUntil(cached, hidden, s) });
    }
    upstreamHeaders(reply, cached);
    return sendDoc(request, reply, doc, contentType);
  }

  /**
   * Background fetches of the `latest` tarball while an install reads metadata: npm asks for
   * the tarball only after it has resolved the tree, and by then it is checked and stored. Two
   * at a time per node, so prefetching never crowds out what clients are waiting for.
   */
  const prefetchLimiter = createLimiter(2);
  const prefetching = new Set<string>();

  function prefetch(repo: RepoInfo, name: string, version: string | undefined, seen: RemoteView): void {
    if (version === undefined) return;
    const filename = tarballFileName(name, version);
    const key = `${repo.id} ${name} ${filename}`;
    if (prefetching.has(key) || prefetching.size >= 256) return;
    prefetching.add(key);
    prefetchLimiter
      // The view the packument was rendered from; the fetch re-checks storage and blocks under its lease.
      .run(() => ensureTarball(repo, name, filename, seen))
      .catch((error: unknown) => {
        // A refused or unreachable file is reported to whoever asks for it; here it is only noted.
        ctx.log.debug({ err: error, repo: repo.path, name, version }, 'prefetch did not store the file');
      })
      .finally(() => prefetching.delete(key));
  }

  /** `GET /{name}/{version-or-tag}`. */
  async function version(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, spec: string, servedAs: RepoInfo = repo) {
    const { cached, hidden } = await view(repo, name);
    const doc = render(cached, hidden, registryUrl(request, servedAs), false);
    const tags = doc['dist-tags'] as Record<string, string>;
    const resolved = Object.hasOwn(tags, spec) ? tags[spec] : spec;
    const found = (doc.versions as Record<string, Json>)[resolved as string];
    if (!found || !Object.hasOwn(doc.versions as Json, resolved as string)) throw new StockadeError('NOT_FOUND', [`version ${name}@${spec}`]);
    upstreamHeaders(reply, cached);
    return sendDoc(request, reply, renderDoc(found), 'application/json');
  }

  /** `GET /-/package/{name}/dist-tags`: the tags as clients see them, after filtering. */
  async function distTags(repo: RepoInfo, name: string): Promise<Record<string, string>> {
    const { cached, hidden } = await view(repo, name);
    return visibleTags(cached.meta, hidden);
  }

  /** What clients may see of a name, or NOT_FOUND when nothing is installable: a virtual repository's choice of member. */
  async function installableView(repo: RepoInfo, name: string): Promise<RemoteView> {
    const found = await view(repo, name);
    visibleTags(found.cached.meta, found.hidden);
    return found;
  }

  /**
   * Makes sure a tarball is stored, fetching it from upstream the first time: checksum against
   * the upstream metadata, then the same ingest and gate as a publish. Afterwards the caller
   * serves it from storage like any hosted file (and reports a quarantined one as such).
   */
  async function ensureTarball(repo: RepoInfo, name: string, filename: string, known?: RemoteView): Promise<void> {
    const r = ref(repo, name);
    if (hooks.stored && (await hooks.stored(repo, name, filename))) return;
    if (await domain.packages.findFile(r, filename)) return;
    const { cached, hidden } = known ?? (await view(repo, name));
    const located = npmRemoteSource.locateFile(cached.meta, filename);
    if (!located) throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
    const held = hidden.get(located.version);
    if (held?.kind === 'block') throw new StockadeError('PACKAGE_BLOCKED', [held.detail]);
    if (held?.kind === 'cooldown') throw new StockadeError('FORBIDDEN', [`${name}@${located.version} was ${held.detail}, within the cooldown of ${repo.path}`]);
    const { settings: s, client } = await engine.upstream(repo);
    if (s.offline) throw new StockadeError('NOT_CACHED', [`${name}@${located.version}`, `${repo.path} is offline`]);
    const doc = cached.meta.versions.get(located.version) as Json;
    const dist = isObject(doc.dist) ? doc.dist : {};
    const claimedIntegrity: { integrity?: string; shasum?: string } = {};
    if (typeof dist.integrity === 'string') claimedIntegrity.integrity = dist.integrity;
    if (typeof dist.shasum === 'string') claimedIntegrity.shasum = dist.shasum;
    if (!claimedIntegrity.integrity && !claimedIntegrity.shasum) {
      throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `${name}@${located.version} has no checksum in the upstream metadata`]);
    }
    await engine.fetchOnce(r, { filename, version: located.version, url: located.url }, async (data, actor) => {
      try {
        const stored = hooks.expectStore?.(repo, name);
        const { verdict, digests } = await ingestTarball(ctx, { repo, actor, data, expectedName: name, claimed: doc, claimedIntegrity, distTags: {} });
        const visible = verdict.action === 'allow' || verdict.action === 'warn';
        stored?.(visible);
        if (visible) ctx.blobCache.remember(digests.sha256, data);
      } catch (error) {
        if (!isStockadeError(error)) throw error;
        if (error.code === 'VERSION_EXISTS') return;
        if (error.code === 'INTEGRITY_MISMATCH') {
          throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `${filename} does not match the checksum in the upstream metadata; nothing was stored`]);
        }
        if (error.code === 'PACKAGE_BLOCKED' || error.code === 'MANIFEST_MISMATCH' || error.code === 'NAME_MISMATCH') {
          await engine.rememberBlocked(r, located.version, error.message);
          throw error.code === 'PACKAGE_BLOCKED' ? error : new StockadeError('PACKAGE_BLOCKED', [error.message]);
        }
        throw error;
      }
    });
  }

  return { settings, engine, packument, version, distTags, installableView, ensureTarball };
}

export type NpmRemote = ReturnType<typeof createNpmRemote>;
/** A remote repository's view of one name: its upstream metadata and the versions clients may not see. */
export interface RemoteView {
  cached: CachedMetadata<UpstreamPackument>;
  hidden: Map<string, HiddenReason>;
  settings: UpstreamSettings;
}
