import type { Actor } from '../../domain/audit.js';
import type { PackageRef } from '../../domain/packages.js';
import { createRemoteSettings, type UpstreamSettings } from '../../domain/remote-settings.js';
import type { RepoInfo } from '../../domain/repos.js';
import { createSecretBox } from '../../domain/secret-box.js';
import { StockadeError, isStockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { type CachedMetadata, createRemoteEngine, type RemoteEngineOptions } from '../../remote/remote-engine.js';
import { type HiddenReason, hiddenVersions, type RemoteSource } from '../../remote/source.js';
import type { UpstreamClient } from '../../remote/upstream-client.js';
import { loadServerKey } from '../../store/server-key.js';
import { indexDoc, type IndexDoc, namesFile, REVALIDATE_MD5, versionsFile } from './compact-index.js';
import { FORMAT, type InspectedGem, ingestGem } from './publish.js';
import { isValidGemName } from './spec-yaml.js';
import { parseInfoFile, parseVersionsFile, parseVersionTimes, type UpstreamGemInfo, type UpstreamInfoLine, type UpstreamVersionsFile } from './upstream-index.js';

/**
 * Keys of the remote metadata cache besides gem names (which never contain `/`): the upstream's
 * `/versions`, and per gem its versions API document (publish times, fetched only for a cooldown).
 */
const VERSIONS_KEY = '/versions';
const timesKey = (name: string) => `/times/${name}`;

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** `/info/NAME` of one upstream; gem files live beside it under `gems/`. */
function infoSource(upstreamUrl: string): RemoteSource<UpstreamGemInfo> {
  return {
    format: FORMAT,
    metadataPath: (name) => `info/${encodeURIComponent(name)}`,
    metadataAccept: 'text/plain',
    parseMetadata: parseInfoFile,
    versions: (meta) => meta.lines.map((line) => ({ version: line.key, publishedAt: null })),
    locateFile(meta, filename) {
      const line = lineOfFile(meta, filename);
      return line ? { version: line.key, url: new URL(`gems/${encodeURIComponent(filename)}`, withSlash(upstreamUrl)).href } : null;
    },
  };
}

const versionsSource: RemoteSource<UpstreamVersionsFile> = {
  format: FORMAT,
  metadataPath: () => 'versions',
  metadataAccept: 'text/plain',
  // Servers append a line per push and rebuild the file now and then: a refresh reads the new lines only.
  appendable: true,
  parseMetadata: (body) => parseVersionsFile(body),
  versions: () => [],
  locateFile: () => null,
};

const timesSource: RemoteSource<Map<string, string>> = {
  format: FORMAT,
  metadataPath: (key) => `api/v1/versions/${encodeURIComponent(key.slice(timesKey('').length))}.json`,
  parseMetadata: (body) => parseVersionTimes(body),
  versions: (meta) => [...meta].map(([version, publishedAt]) => ({ version, publishedAt })),
  locateFile: () => null,
};

function lineOfFile(meta: UpstreamGemInfo, filename: string): UpstreamInfoLine | undefined {
  const prefix = `${meta.name}-`;
  if (!filename.startsWith(prefix) || !filename.endsWith('.gem')) return undefined;
  return meta.byKey.get(filename.slice(prefix.length, -'.gem'.length));
}

/** `op version` strings of each runtime dependency, sorted, so equal lists compare equal. */
function dependencyList(deps: readonly { name: string; requirements: readonly (readonly [string, string])[] }[]): string {
  const requirement = (reqs: readonly (readonly [string, string])[]) => (reqs.length === 0 ? ['>= 0'] : reqs.map(([op, v]) => `${op} ${v}`).sort());
  return deps
    .map((d) => `${d.name} (${requirement(d.requirements).join(', ')})`)
    .sort()
    .join('; ');
}

/**
 * The gem must be what the upstream's index says: the same name and version, and the same
 * runtime dependencies (clients resolve with the index, then install the gem: a gem that
 * depends on more than its index line is refused, like npm's manifest confusion).
 */
function checkAgainstIndex(gem: InspectedGem, name: string, line: UpstreamInfoLine): void {
  if (gem.name !== name || gem.version !== line.key) {
    throw new StockadeError('PACKAGE_BLOCKED', [`the gem calls itself ${gem.name} (${gem.version}) but the upstream index lists it as ${name} (${line.key})`]);
  }
  const own = dependencyList(gem.contents.spec.dependencies.filter((d) => d.type === 'runtime'));
  const listed = dependencyList(line.dependencies);
  if (own !== listed) {
    throw new StockadeError('PACKAGE_BLOCKED', [`the runtime dependencies inside ${name} (${line.key}) [${own.slice(0, 300)}] differ from the upstream index [${listed.slice(0, 300)}]`]);
  }
}

/** The info file of the visible lines, as the upstream wrote them. */
function renderInfo(meta: UpstreamGemInfo, hidden: Map<string, HiddenReason>): IndexDoc {
  const visible = meta.lines.filter((line) => !hidden.has(line.key));
  if (visible.length === 0) {
    const why = [...new Set([...hidden.values()].map((h) => h.kind))].join(', ');
    throw new StockadeError('NOT_FOUND', [`an installable version of ${meta.name} (every upstream version is held back: ${why || 'none published'})`]);
  }
  return indexDoc(Buffer.from(`---\n${visible.map((line) => `${line.raw}\n`).join('')}`));
}

export interface RemoteDoc {
  doc: IndexDoc;
  cached: CachedMetadata<unknown>;
}

/**
 * RubyGems remote repositories: the upstream's compact index, filtered (quarantined, blocked and
 * cooled-down versions left out), and gems fetched on first request through the same checks,
 * gate and storage as `gem push`. What gem and bundler see is described in docs/rubygems.md.
 */
export function createGemRemote(
  ctx: ServerContext,
  options: RemoteEngineOptions = {},
  hooks: {
    /** Runs after a gem's info came from the upstream (not from the cache): virtual repositories look for collisions. */
    afterRefresh?: (repo: RepoInfo, name: string, meta: UpstreamGemInfo) => Promise<void>;
    /** Runs after the upstream's `/versions` came from the upstream: it names every gem the upstream offers. */
    afterIndexRefresh?: (repo: RepoInfo, file: UpstreamVersionsFile) => Promise<void>;
  } = {},
) {
  const { domain } = ctx;
  const settings = createRemoteSettings({ db: domain.db, audit: domain.audit, changes: domain.changes, box: createSecretBox(loadServerKey(ctx.config)) });
  const engine = createRemoteEngine({ db: domain.db, settings, packages: domain.packages, changes: domain.changes }, options);
  const ref = (repo: RepoInfo, name: string): PackageRef => ({ repo, format: FORMAT, name });
  const sources = new Map<string, RemoteSource<UpstreamGemInfo>>();
  /** The last upstream `/versions` per repository on this node, rendered; the upstream's can be large. */
  const renderedIndexes = new Map<number, { fetchedAt: string; doc: IndexDoc; names: IndexDoc; file: UpstreamVersionsFile; offered: Set<string> }>();

  function sourceFor(s: UpstreamSettings): RemoteSource<UpstreamGemInfo> {
    let source = sources.get(s.url);
    if (!source) {
      if (sources.size > 1000) sources.clear();
      source = infoSource(s.url);
      sources.set(s.url, source);
    }
    return source;
  }

  /**
   * The upstream's publish times of a gem's versions, from its versions API, asked only when a
   * cooldown is set. Without an answer no time is known, and every version counts as fresh.
   */
  async function publishTimes(repo: RepoInfo, name: string): Promise<Map<string, string>> {
    try {
      return (await engine.metadata(repo, timesSource, timesKey(name))).meta;
    } catch (error) {
      ctx.log.warn({ err: error, repo: repo.path, name }, 'no upstream publish times');
      return new Map();
    }
  }

  /** A gem's upstream info with what clients may not see. Invalid names never reach the upstream. */
  async function view(repo: RepoInfo, name: string) {
    if (!isValidGemName(name)) throw new StockadeError('NOT_FOUND', [`gem ${name.slice(0, 100)}`]);
    const { settings: s } = await engine.upstream(repo);
    const cached = await engine.metadata(repo, sourceFor(s), name);
    if (hooks.afterRefresh && (cached.state === 'miss' || cached.state === 'revalidated')) await hooks.afterRefresh(repo, name, cached.meta);
    const times = s.cooldownHours > 0 ? await publishTimes(repo, name) : new Map<string, string>();
    const hidden = hiddenVersions({
      versions: cached.meta.lines.map((line) => ({ version: line.key, publishedAt: times.get(line.key) ?? null })),
      verdicts: await engine.verdicts(ref(repo, name), cached.blocked),
      cooldownHours: s.cooldownHours,
      cooldownAllow: s.cooldownAllow,
      name,
      now: Date.now(),
    });
    return { cached, hidden };
  }

  /** `/info/NAME`: the upstream's lines without the hidden versions. */
  async function info(repo: RepoInfo, name: string): Promise<RemoteDoc> {
    const { cached, hidden } = await view(repo, name);
    return { doc: renderInfo(cached.meta, hidden), cached };
  }

  /** The upstream's `/versions`, parsed (from the cache while fresh). */
  async function upstreamIndex(repo: RepoInfo): Promise<CachedMetadata<UpstreamVersionsFile>> {
    let cached: CachedMetadata<UpstreamVersionsFile>;
    try {
      cached = await engine.metadata(repo, versionsSource, VERSIONS_KEY);
    } catch (error) {
      if (isStockadeError(error) && error.code === 'NOT_FOUND') throw new StockadeError('NOT_FOUND', [`the compact index of the upstream of ${repo.path} (it has no /versions)`]);
      throw error;
    }
    if (hooks.afterIndexRefresh && (cached.state === 'miss' || cached.state === 'revalidated')) await hooks.afterIndexRefresh(repo, cached.meta);
    return cached;
  }

  /**
   * `/versions` and `/names` of a remote repository: every gem the upstream lists (bundler asks
   * `/info/NAME` only for names in `/versions`), each with REVALIDATE_MD5, since the info this
   * repository serves is filtered and may change without the upstream's changing.
   */
  async function indexDocs(repo: RepoInfo): Promise<{ versions: IndexDoc; names: IndexDoc; cached: CachedMetadata<unknown> }> {
    const cached = await upstreamIndex(repo);
    const memo = renderedIndexes.get(repo.id);
    if (memo && memo.fetchedAt === cached.fetchedAt) return { versions: memo.doc, names: memo.names, cached };
    const { createdAt, lines } = cached.meta;
    const doc = indexDoc(Buffer.from(versionsFile(createdAt ?? cached.fetchedAt, lines.map(([name, versions]) => ({ name, keys: [versions], infoMd5: REVALIDATE_MD5 })))));
    const offered = new Set(lines.map(([name]) => name));
    const names = indexDoc(Buffer.from(namesFile([...offered].sort())));
    if (renderedIndexes.size > 1000) renderedIndexes.clear();
    renderedIndexes.set(repo.id, { fetchedAt: cached.fetchedAt, doc, names, file: cached.meta, offered });
    return { versions: doc, names, cached };
  }

  /** The upstream `/versions` this node read last for `repo`, if any: never asks the upstream. */
  function knownIndex(repo: RepoInfo): { file: UpstreamVersionsFile; offered: Set<string> } | undefined {
    return renderedIndexes.get(repo.id);
  }

  function refuseHidden(repo: RepoInfo, name: string, key: string, held: HiddenReason | undefined): void {
    if (held?.kind === 'block') throw new StockadeError('PACKAGE_BLOCKED', [held.detail]);
    if (held?.kind === 'cooldown') throw new StockadeError('FORBIDDEN', [`${name} (${key}) was ${held.detail}, within the cooldown of ${repo.path}`]);
  }

  /** Checks a fetched gem against the index line and stores it through the gate. */
  async function store(repo: RepoInfo, client: UpstreamClient, input: { name: string; line: UpstreamInfoLine; filename: string; data: Buffer; actor: Actor }): Promise<void> {
    const { name, line, filename, data, actor } = input;
    try {
      await ingestGem(ctx, { repo, actor, data, expected: { sha256: line.sha256, check: (gem) => checkAgainstIndex(gem, name, line) } });
    } catch (error) {
      if (!isStockadeError(error)) throw error;
      if (error.code === 'VERSION_EXISTS') return;
      if (error.code === 'INTEGRITY_MISMATCH') {
        throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `${filename} does not match the checksum in the upstream index; nothing was stored`]);
      }
      // The bytes are the ones the upstream indexed: asking again would get the same refusal.
      if (error.code === 'PACKAGE_BLOCKED' || error.code === 'INVALID_ARCHIVE' || error.code === 'UNSAFE_ARCHIVE') {
        await engine.rememberBlocked(ref(repo, name), line.key, error.message);
        throw error.code === 'PACKAGE_BLOCKED' ? error : new StockadeError('PACKAGE_BLOCKED', [error.message]);
      }
      throw error;
    }
  }

  /**
   * Makes sure `gems/FILENAME` of `name` is stored, fetching it from upstream the first time
   * (once across nodes). Afterwards the caller serves it from storage like a pushed gem, and
   * reports a quarantined one as such.
   */
  async function ensureGem(repo: RepoInfo, name: string, filename: string): Promise<void> {
    if (await domain.packages.findFile(ref(repo, name), filename)) return;
    const { cached, hidden } = await view(repo, name);
    const { settings: s, client } = await engine.upstream(repo);
    const located = sourceFor(s).locateFile(cached.meta, filename);
    const line = located ? cached.meta.byKey.get(located.version) : undefined;
    if (!located || !line) throw new StockadeError('NOT_FOUND', [`file gems/${filename}`]);
    refuseHidden(repo, name, line.key, hidden.get(line.key));
    if (s.offline) throw new StockadeError('NOT_CACHED', [`${name} (${line.key})`, `${repo.path} is offline`]);
    await engine.fetchOnce(ref(repo, name), { filename, version: line.key, url: located.url }, (data, actor) => store(repo, client, { name, line, filename, data, actor }));
  }

  /** Whether the upstream offers `name` at all (NOT_FOUND when not), for virtual resolution. */
  async function offers(repo: RepoInfo, name: string): Promise<void> {
    await view(repo, name);
  }

  return { settings, engine, info, indexDocs, upstreamIndex, knownIndex, ensureGem, offers };
}

export type GemRemote = ReturnType<typeof createGemRemote>;
