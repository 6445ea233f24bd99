import type { PackageRef, StoredPackage } from '../../domain/packages.js';
import { createRemoteSettings, type UpstreamSettings } from '../../domain/remote-settings.js';
import type { RepoInfo } from '../../domain/repos.js';
import { createSecretBox } from '../../domain/secret-box.js';
import { errorCatalog, StockadeError, isStockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { type CachedMetadata, createRemoteEngine, type RemoteEngineOptions } from '../../remote/remote-engine.js';
import { type HiddenReason, hiddenVersions, type RemoteSource } from '../../remote/source.js';
import type { UpstreamClient } from '../../remote/upstream-client.js';
import { loadServerKey } from '../../store/server-key.js';
import { isValidProjectName, normalizeProjectName, sameVersion } from './names.js';
import { comparePypiVersions, FORMAT, ingestDist } from './publish.js';
import { fileUrl, JSON_V1, type ProjectPage, type SimpleFile, storedSimpleFile, uploadTime } from './simple-api.js';
import { parseUpstreamProject, type UpstreamFile, type UpstreamProject, upstreamVersions } from './upstream-page.js';

/**
 * The source for one upstream index URL: the index root (`…/pypi`, under which `simple/` is the
 * Simple API) or the Simple API itself (`…/simple/`, what pip's --index-url names). Project pages
 * are PEP 691 JSON; their file URLs may be relative, so each page is parsed against its own URL.
 */
export function pypiRemoteSource(upstreamUrl: string): RemoteSource<UpstreamProject> {
  const base = upstreamUrl.endsWith('/') ? upstreamUrl : `${upstreamUrl}/`;
  const simple = /\/simple\/$/.test(new URL(base).pathname) ? '' : 'simple/';
  // PEP 503: the project page of a normalized name, with its trailing slash (no redirect to follow).
  const metadataPath = (name: string) => `${simple}${encodeURIComponent(name)}/`;
  return {
    format: FORMAT,
    metadataPath,
    // HTML only at a low q: an index without the JSON API then answers with a page we can name as the problem.
    metadataAccept: `${JSON_V1}, text/html;q=0.01`,
    parseMetadata: (body, name) => parseUpstreamProject(body, name, new URL(metadataPath(name), base).href),
    versions: upstreamVersions,
    locateFile(meta, filename) {
      const file = meta.files.find((f) => f.filename === filename);
      return file ? { version: file.version, url: file.url } : null;
    },
  };
}

/** A remote repository's filtered project page, and how its upstream metadata was obtained. */
export interface RemotePage {
  page: ProjectPage;
  cached: CachedMetadata<UpstreamProject>;
}

/**
 * The cooldown allow-list as hiddenVersions compares it, for one project: entries name projects
 * as PEP 503 does and versions as PEP 440 does, so `Acme_Lib@1.2.0` lets `acme-lib` 1.2 through.
 */
function allowListFor(entries: readonly string[], name: string, versions: readonly string[]): string[] {
  const allow: string[] = [];
  for (const entry of entries) {
    const at = entry.lastIndexOf('@');
    if (normalizeProjectName(at <= 0 ? entry : entry.slice(0, at)) !== name) continue;
    if (at <= 0) allow.push(name);
    else for (const version of versions) if (sameVersion(version, entry.slice(at + 1))) allow.push(`${name}@${version}`);
  }
  return allow;
}

/** The reason inside an error's message, without the catalog's words around it. */
function reasonOf(error: StockadeError): string {
  const [head = '', tail = ''] = errorCatalog[error.code].message.split('%s');
  const { message } = error;
  return message.startsWith(head) && message.endsWith(tail) ? message.slice(head.length, message.length - tail.length) : message;
}

/**
 * PyPI remote repositories: the upstream's project pages, filtered and pointing at this
 * repository, and files fetched on first request through the same ingest and gate as an upload.
 * Core metadata (PEP 658) is served only for files already fetched, from the file itself: the
 * upstream's own `.metadata` is never passed on, so pip never resolves on metadata the gate has
 * not seen in the file.
 */
export function createPypiRemote(
  ctx: ServerContext,
  deps: {
    /** A repository's stored package (the routes' per-node cache may answer). */
    load: (repo: RepoInfo, name: string) => Promise<StoredPackage | null>;
  },
  hooks: {
    /** Runs after metadata came from the upstream (not from the cache): virtual repositories look for collisions here. */
    afterRefresh?: (repo: RepoInfo, name: string, meta: UpstreamProject) => Promise<void>;
  } = {},
  options: RemoteEngineOptions = {},
) {
  const { domain } = ctx;
  const settings = createRemoteSettings({ db: domain.db, audit: domain.audit, changes: domain.changes, box: createSecretBox(loadServerKey(ctx.config)) });
  const engine = createRemoteEngine({ db: domain.db, settings, packages: domain.packages, changes: domain.changes }, options);
  const ref = (repo: RepoInfo, name: string): PackageRef => ({ repo, format: FORMAT, name });

  /** A cooldown check for one file: a file added to an old release is as young as its own upload. */
  function coolingCheck(s: UpstreamSettings, name: string, allow: string[], now: number) {
    return (file: UpstreamFile): HiddenReason | undefined => {
      if (s.cooldownHours <= 0) return undefined;
      const one = hiddenVersions({ versions: [{ version: file.version, publishedAt: file.uploadTime }], verdicts: new Map(), cooldownHours: s.cooldownHours, cooldownAllow: allow, name, now });
      return one.get(file.version);
    };
  }

  /** The upstream page of `name` with what clients may not see: hidden versions, and files still in the cooldown. */
  async function view(repo: RepoInfo, name: string) {
    // Nothing that is not a project name goes upstream.
    if (!isValidProjectName(name)) throw new StockadeError('NOT_FOUND', [`project ${name.slice(0, 100)}`]);
    const s = await settings.get(repo);
    const cached = await engine.metadata(repo, pypiRemoteSource(s.url), name);
    if (hooks.afterRefresh && (cached.state === 'miss' || cached.state === 'revalidated')) await hooks.afterRefresh(repo, name, cached.meta);
    const versions = upstreamVersions(cached.meta);
    const allow = allowListFor(s.cooldownAllow, name, versions.map((v) => v.version));
    const now = Date.now();
    const hidden = hiddenVersions({
      versions,
      verdicts: await engine.verdicts(ref(repo, name), cached.blocked),
      cooldownHours: s.cooldownHours,
      cooldownAllow: allow,
      name,
      now,
    });
    return { cached, hidden, cooling: coolingCheck(s, name, allow, now) };
  }

  /** How the page lists one upstream file: from storage once fetched (the file's own facts), else as the upstream describes it. */
  function pageFile(name: string, file: UpstreamFile, stored: SimpleFile | undefined): SimpleFile {
    const item: SimpleFile = stored ? { ...stored } : { filename: file.filename, url: fileUrl(name, file.filename), yanked: false };
    if (!stored) {
      if (file.sha256 !== null) item.sha256 = file.sha256;
      if (file.size !== undefined) item.size = file.size;
      if (file.requiresPython !== undefined) item.requiresPython = file.requiresPython;
    }
    // The upstream's upload time and yank stand; a local yank of a fetched release adds to them.
    if (file.uploadTime !== null) item.uploadTime = uploadTime(file.uploadTime);
    if (file.yanked !== false) item.yanked = file.yanked;
    return item;
  }

  /** The files already fetched and published, as the page lists stored files. */
  function storedFiles(pkg: StoredPackage | null): Map<string, SimpleFile> {
    const files = new Map<string, SimpleFile>();
    if (!pkg) return files;
    for (const version of pkg.versions) for (const file of version.files) files.set(file.filename, storedSimpleFile(pkg.name, version, file));
    return files;
  }

  /**
   * The project page clients see: upstream files minus hidden versions and files in the cooldown,
   * in PEP 440 order. NOT_FOUND when nothing is left, so a virtual repository asks its next member.
   */
  async function project(repo: RepoInfo, name: string): Promise<RemotePage> {
    const { cached, hidden, cooling } = await view(repo, name);
    const stored = storedFiles(await deps.load(repo, name));
    const held = (f: UpstreamFile) => hidden.get(f.version) ?? cooling(f);
    const shown = cached.meta.files.filter((f) => held(f) === undefined);
    if (shown.length === 0) {
      const why = [...new Set(cached.meta.files.map((f) => held(f)?.kind))].join(', ');
      throw new StockadeError('NOT_FOUND', [`an installable file of ${name} (${why ? `every upstream file is held back: ${why}` : 'the upstream lists none'})`]);
    }
    shown.sort((a, b) => comparePypiVersions(a.version, b.version) || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
    const versions = [...new Set(shown.map((f) => f.version))];
    return { page: { name, versions, files: shown.map((f) => pageFile(name, f, stored.get(f.filename))) }, cached };
  }

  /** Refuses a file clients may not fetch: its release is held or blocked, or it is in the cooldown. */
  function assertOffered(repo: RepoInfo, name: string, file: UpstreamFile, held: HiddenReason | undefined): void {
    if (held?.kind === 'block') throw new StockadeError('PACKAGE_BLOCKED', [held.detail]);
    if (held?.kind === 'quarantine') throw new StockadeError('PACKAGE_QUARANTINED', [`${name} ${file.version}`, held.detail]);
    if (held?.kind === 'cooldown') throw new StockadeError('FORBIDDEN', [`${file.filename} was ${held.detail}, within the cooldown of ${repo.path}`]);
  }

  /** What a refused ingest of an upstream file means for clients; a verdict on the release is remembered. */
  async function refusal(repo: RepoInfo, client: UpstreamClient, name: string, file: UpstreamFile, error: unknown): Promise<unknown> {
    if (!isStockadeError(error)) return error;
    const where = `${repo.path} (${client.host})`;
    switch (error.code) {
      case 'INTEGRITY_MISMATCH':
        return new StockadeError('UPSTREAM_FAILED', [where, `${file.filename} does not match the sha256 on the upstream's project page; nothing was stored`]);
      case 'INVALID_ARCHIVE':
        return new StockadeError('UPSTREAM_FAILED', [where, `${file.filename} is not a distribution Stockade can read (${error.message}); nothing was stored`]);
      case 'PACKAGE_BLOCKED':
        await engine.rememberBlocked(ref(repo, name), file.version, reasonOf(error));
        return error;
      case 'UNSAFE_ARCHIVE':
      case 'VALIDATION_FAILED': {
        // Unsafe content, or a file that is not the release it was listed as: the release is refused for good.
        const reason = `${file.filename}: ${error.message}`;
        await engine.rememberBlocked(ref(repo, name), file.version, reason);
        return new StockadeError('PACKAGE_BLOCKED', [reason]);
      }
      default:
        return error;
    }
  }

  /**
   * Makes sure a file is stored, fetching it from upstream the first time (once across nodes):
   * sha256 against the upstream's page, then the same ingest and gate as an upload, published by
   * `upstream:<host>`. Afterwards the caller serves it from storage like any hosted file (and
   * reports a quarantined one as such).
   */
  async function ensureFile(repo: RepoInfo, name: string, filename: string): Promise<void> {
    const r = ref(repo, name);
    if (await domain.packages.findFile(r, filename)) return;
    const { cached, hidden, cooling } = await view(repo, name);
    const file = cached.meta.files.find((f) => f.filename === filename);
    if (!file) throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
    assertOffered(repo, name, file, hidden.get(file.version) ?? cooling(file));
    const { settings: s, client } = await engine.upstream(repo);
    if (s.offline) throw new StockadeError('NOT_CACHED', [filename, `${repo.path} is offline`]);
    const sha256 = file.sha256;
    if (sha256 === null) {
      throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `${filename} has no sha256 on the upstream's project page, so it cannot be checked and is not fetched`]);
    }
    await engine.fetchOnce(r, { filename, version: file.version, url: file.url }, async (data, actor) => {
      try {
        await ingestDist(ctx, { repo, actor, filename, data, claimedDigests: { sha256 }, expect: { name, version: file.version } });
      } catch (error) {
        throw await refusal(repo, client, name, file, error);
      }
    });
  }

  return { settings, engine, project, ensureFile };
}

export type PypiRemote = ReturnType<typeof createPypiRemote>;
