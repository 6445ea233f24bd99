import type { Db, DbOrTx, RemoteUpstreamsTable } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import type { RepoInfo } from './repos.js';
import type { SecretBox } from './secret-box.js';
import { nowIso } from './time.js';

/** Formats that can be proxied today; the others join as their RemoteSource lands. */
export const REMOTE_FORMATS = ['npm', 'pypi', 'rubygems'] as const;

/** A remote repository's upstream as callers see it: credentials are write-only. */
export interface UpstreamSettings {
  format: string;
  url: string;
  hasCredentials: boolean;
  metadataTtlSeconds: number;
  negativeTtlSeconds: number;
  timeoutMs: number;
  retries: number;
  concurrency: number;
  offline: boolean;
  /**
   * When an install asks for a package's metadata, fetch the tarball of its `latest` version in
   * the background, so it is checked and stored by the time the client asks for it.
   */
  prefetch: boolean;
  cooldownHours: number;
  /** `name` or `name@version` shown even while younger than the cooldown. */
  cooldownAllow: string[];
  /**
   * Origins besides the upstream's (`https://files.example.org`) that files may come from, as
   * listed in metadata or by redirect. Never sent credentials.
   */
  fileOrigins: string[];
  maxMetadataBytes: number;
  maxFileBytes: number;
  updatedAt: string;
}

/** A change (or, at creation, the whole setting); absent fields keep their value or default. */
export interface UpstreamInput {
  format?: string;
  url?: string;
  /** A bearer token for the upstream; null removes stored credentials. */
  token?: string | null;
  username?: string;
  password?: string;
  metadataTtlSeconds?: number;
  negativeTtlSeconds?: number;
  timeoutMs?: number;
  retries?: number;
  concurrency?: number;
  offline?: boolean;
  prefetch?: boolean;
  cooldownHours?: number;
  cooldownAllow?: string[];
  fileOrigins?: string[];
  maxMetadataBytes?: number;
  maxFileBytes?: number;
}

const MIB = 1024 * 1024;

export const UPSTREAM_DEFAULTS = {
  metadataTtlSeconds: 300,
  negativeTtlSeconds: 60,
  timeoutMs: 30_000,
  retries: 2,
  concurrency: 8,
  offline: false,
  prefetch: true,
  cooldownHours: 0,
  cooldownAllow: [] as string[],
  fileOrigins: [] as string[],
  maxMetadataBytes: 64 * MIB,
  maxFileBytes: 512 * MIB,
};

/** Inclusive bounds of every number; the REST schema and the CLI share them. */
export const UPSTREAM_BOUNDS = {
  metadataTtlSeconds: [0, 7 * 86_400],
  negativeTtlSeconds: [0, 86_400],
  timeoutMs: [100, 600_000],
  retries: [0, 10],
  concurrency: [1, 256],
  cooldownHours: [0, 8_760],
  maxMetadataBytes: [1024, 256 * MIB],
  maxFileBytes: [1024, 2 ** 31 - 1],
} as const;

function bounded(field: keyof typeof UPSTREAM_BOUNDS, value: number): number {
  const [min, max] = UPSTREAM_BOUNDS[field];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StockadeError('VALIDATION_FAILED', [`upstream ${field} must be a whole number from ${min} to ${max}`]);
  }
  return value;
}

/** Checks an upstream URL: http(s), a host, no credentials, no query or fragment. */
export function assertUpstreamUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StockadeError('VALIDATION_FAILED', ['the upstream url is not a valid URL']);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StockadeError('VALIDATION_FAILED', ['the upstream url must start with http:// or https://']);
  if (url.username || url.password) throw new StockadeError('VALIDATION_FAILED', ['the upstream url must not contain credentials: give them as token or username/password']);
  if (url.search || url.hash) throw new StockadeError('VALIDATION_FAILED', ['the upstream url must not have a query or fragment']);
  return url.href.replace(/\/+$/, '');
}

export const MAX_FILE_ORIGINS = 16;

/**
 * Checks file origins and returns them as `URL.origin` (scheme, host, port), without duplicates.
 * Error messages name the host at most: an entry may carry credentials.
 */
export function assertFileOrigins(list: string[]): string[] {
  if (list.length > MAX_FILE_ORIGINS) throw new StockadeError('VALIDATION_FAILED', [`upstream fileOrigins holds at most ${MAX_FILE_ORIGINS} origins`]);
  const origins: string[] = [];
  for (const [index, raw] of list.entries()) {
    const url = typeof raw === 'string' && raw.length <= 300 && URL.canParse(raw) ? new URL(raw) : null;
    if (!url) throw new StockadeError('VALIDATION_FAILED', [`upstream fileOrigins entry ${index + 1} is not a URL (an origin such as https://files.example.org)`]);
    const which = `upstream file origin ${url.host || `entry ${index + 1}`}`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StockadeError('VALIDATION_FAILED', [`${which} must start with http:// or https://`]);
    if (url.username || url.password) throw new StockadeError('VALIDATION_FAILED', [`${which} must not contain credentials: files are fetched without them`]);
    if (url.pathname !== '/' || url.search || url.hash || /[?#]/.test(raw)) {
      throw new StockadeError('VALIDATION_FAILED', [`${which} must be only a scheme, host and optional port (such as https://files.example.org), without a path, query or fragment`]);
    }
    origins.push(url.origin);
  }
  return [...new Set(origins)];
}

function assertAllowList(list: string[]): string[] {
  if (list.length > 1000) throw new StockadeError('VALIDATION_FAILED', ['the cooldown allow-list holds at most 1000 entries']);
  for (const entry of list) {
    if (typeof entry !== 'string' || entry.length === 0 || entry.length > 300 || /\s/.test(entry)) {
      throw new StockadeError('VALIDATION_FAILED', ['cooldown allow-list entries are package names or name@version, without spaces']);
    }
  }
  return [...new Set(list)];
}

/** The Authorization header value the input asks for: undefined = unchanged, null = none. */
function authorizationOf(input: UpstreamInput): string | null | undefined {
  if (input.username !== undefined || input.password !== undefined) {
    if (!input.username || input.password === undefined || input.username.includes(':')) {
      throw new StockadeError('VALIDATION_FAILED', ['upstream basic credentials need a username (without ":") and a password']);
    }
    if (input.token) throw new StockadeError('VALIDATION_FAILED', ['give an upstream token or a username and password, not both']);
    return `Basic ${Buffer.from(`${input.username}:${input.password}`).toString('base64')}`;
  }
  if (input.token === null) return null;
  if (input.token !== undefined) {
    if (input.token.length === 0 || input.token.length > 4096 || /[\r\n]/.test(input.token)) throw new StockadeError('VALIDATION_FAILED', ['the upstream token must be 1-4096 characters on one line']);
    return `Bearer ${input.token}`;
  }
  return undefined;
}

type Row = RemoteUpstreamsTable;

function toSettings(row: Row): UpstreamSettings {
  return {
    format: row.format,
    url: row.url,
    hasCredentials: row.credentials_sealed !== null,
    metadataTtlSeconds: row.metadata_ttl_seconds,
    negativeTtlSeconds: row.negative_ttl_seconds,
    timeoutMs: row.timeout_ms,
    retries: row.retries,
    concurrency: row.concurrency,
    offline: row.offline === 1,
    prefetch: row.prefetch === 1,
    cooldownHours: row.cooldown_hours,
    cooldownAllow: JSON.parse(row.cooldown_allow) as string[],
    fileOrigins: JSON.parse(row.file_origins) as string[],
    maxMetadataBytes: row.max_metadata_bytes,
    maxFileBytes: row.max_file_bytes,
    updatedAt: row.updated_at,
  };
}

/** What an audit entry may say about a change: every field but the credentials themselves. */
function auditDetails(input: UpstreamInput): Record<string, unknown> {
  const { token, username, password, ...rest } = input;
  const details: Record<string, unknown> = { ...rest };
  if (token !== undefined || username !== undefined || password !== undefined) details.credentials = token === null ? 'removed' : 'set';
  return details;
}

/**
 * Upstream settings of remote repositories. Credentials are sealed with the server key and only
 * opened for the request that needs them; reads return `hasCredentials` instead.
 */
export function createRemoteSettings(deps: { db: Db; audit: AuditLog; changes: ChangeBus; box: SecretBox }) {
  const { db, audit, changes, box } = deps;
  const cache = new TtlCache<{ settings: UpstreamSettings; authorization: string | null } | null>({ ttlMs: 10_000, max: 5_000 });
  changes.subscribe((topic) => {
    if (topic === 'repo') cache.clear();
  });
  const purpose = (repoId: number) => `upstream:${repoId}`;

  /** Validates a complete setting for a new remote repository. */
  function prepare(input: UpstreamInput): { row: Omit<Row, 'repo_id' | 'updated_at' | 'credentials_sealed'>; authorization: string | null } {
    const format = input.format ?? '';
    if (!(REMOTE_FORMATS as readonly string[]).includes(format)) {
      throw new StockadeError('VALIDATION_FAILED', [`remote repositories support the formats ${REMOTE_FORMATS.join(', ')}; got "${format}"`]);
    }
    if (input.url === undefined) throw new StockadeError('VALIDATION_FAILED', ['a remote repository needs an upstream url']);
    const merged = { ...UPSTREAM_DEFAULTS, ...stripUndefined(input) };
    const authorization = authorizationOf(input);
    return {
      authorization: authorization ?? null,
      row: {
        format,
        url: assertUpstreamUrl(input.url),
        metadata_ttl_seconds: bounded('metadataTtlSeconds', merged.metadataTtlSeconds),
        negative_ttl_seconds: bounded('negativeTtlSeconds', merged.negativeTtlSeconds),
        timeout_ms: bounded('timeoutMs', merged.timeoutMs),
        retries: bounded('retries', merged.retries),
        concurrency: bounded('concurrency', merged.concurrency),
        offline: merged.offline ? 1 : 0,
        prefetch: merged.prefetch ? 1 : 0,
        cooldown_hours: bounded('cooldownHours', merged.cooldownHours),
        cooldown_allow: JSON.stringify(assertAllowList(merged.cooldownAllow)),
        file_origins: JSON.stringify(assertFileOrigins(merged.fileOrigins)),
        max_metadata_bytes: bounded('maxMetadataBytes', merged.maxMetadataBytes),
        max_file_bytes: bounded('maxFileBytes', merged.maxFileBytes),
      },
    };
  }

  /** Writes the upstream of a repository being created, inside its transaction. */
  async function insert(tx: DbOrTx, repoId: number, input: UpstreamInput): Promise<void> {
    const { row, authorization } = prepare(input);
    await tx
      .insertInto('remote_upstreams')
      .values({ ...row, repo_id: repoId, credentials_sealed: authorization ? box.seal(authorization, purpose(repoId)) : null, updated_at: nowIso() })
      .execute();
  }

  async function load(repo: RepoInfo) {
    const hit = cache.get(String(repo.id));
    if (hit !== undefined) return hit;
    const row = await db.selectFrom('remote_upstreams').selectAll().where('repo_id', '=', repo.id).executeTakeFirst();
    const value = row ? { settings: toSettings(row), authorization: row.credentials_sealed ? box.open(row.credentials_sealed, purpose(repo.id)) : null } : null;
    cache.set(String(repo.id), value);
    return value;
  }

  /** The upstream of a remote repository; NOT_FOUND for any other repository. */
  async function get(repo: RepoInfo): Promise<UpstreamSettings> {
    const found = await load(repo);
    if (!found) throw new StockadeError('NOT_FOUND', [`upstream settings of ${repo.path} (a hosted or virtual repo has none)`]);
    return found.settings;
  }

  /** The settings with the opened Authorization header: only for the upstream client. */
  async function forClient(repo: RepoInfo): Promise<{ settings: UpstreamSettings; authorization: string | null }> {
    const found = await load(repo);
    if (!found) throw new StockadeError('NOT_FOUND', [`upstream settings of ${repo.path} (a hosted or virtual repo has none)`]);
    return found;
  }

  async function update(actor: Actor, repo: RepoInfo, input: UpstreamInput): Promise<UpstreamSettings> {
    if (input.format !== undefined) throw new StockadeError('VALIDATION_FAILED', ['the format of a remote repository cannot change']);
    const set: Partial<Row> = {};
    if (input.url !== undefined) set.url = assertUpstreamUrl(input.url);
    for (const [field, column] of [
      ['metadataTtlSeconds', 'metadata_ttl_seconds'],
      ['negativeTtlSeconds', 'negative_ttl_seconds'],
      ['timeoutMs', 'timeout_ms'],
      ['retries', 'retries'],
      ['concurrency', 'concurrency'],
      ['cooldownHours', 'cooldown_hours'],
      ['maxMetadataBytes', 'max_metadata_bytes'],
      ['maxFileBytes', 'max_file_bytes'],
    ] as const) {
      const value = input[field];
      if (value !== undefined) (set as Record<string, number>)[column] = bounded(field, value);
    }
    if (input.offline !== undefined) set.offline = input.offline ? 1 : 0;
    if (input.prefetch !== undefined) set.prefetch = input.prefetch ? 1 : 0;
    if (input.cooldownAllow !== undefined) set.cooldown_allow = JSON.stringify(assertAllowList(input.cooldownAllow));
    if (input.fileOrigins !== undefined) set.file_origins = JSON.stringify(assertFileOrigins(input.fileOrigins));
    const authorization = authorizationOf(input);
    if (authorization !== undefined) set.credentials_sealed = authorization === null ? null : box.seal(authorization, purpose(repo.id));
    await db.transaction().execute(async (tx) => {
      const exists = await tx.selectFrom('remote_upstreams').select('repo_id').where('repo_id', '=', repo.id).executeTakeFirst();
      if (!exists) throw new StockadeError('NOT_FOUND', [`upstream settings of ${repo.path} (a hosted or virtual repo has none)`]);
      if (Object.keys(set).length === 0) return;
      await tx
        .updateTable('remote_upstreams')
        .set({ ...set, updated_at: nowIso() })
        .where('repo_id', '=', repo.id)
        .execute();
      await audit.record(tx, actor, { action: 'repo.upstream.update', target: `repo:${repo.path}`, details: auditDetails(input) });
    });
    changes.publish('repo', repo.path);
    cache.clear();
    return get(repo);
  }

  return { prepare, insert, get, forClient, update, auditDetails };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type RemoteSettings = ReturnType<typeof createRemoteSettings>;
