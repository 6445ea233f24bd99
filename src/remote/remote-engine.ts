import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Actor } from '../domain/audit.js';
import type { RemoteSettings, UpstreamSettings } from '../domain/remote-settings.js';
import type { ChangeBus } from '../domain/changes.js';
import { type PackageRef, type Packages, packageChangeKey } from '../domain/packages.js';
import type { RepoInfo } from '../domain/repos.js';
import { StockadeError, isStockadeError } from '../errors.js';
import { joinReasons } from '../security/policy.js';
import { prepareQuery } from '../store/db/prepared.js';
import type { Db } from '../store/db/schema.js';
import { SizedLru } from '../store/sized-lru.js';
import type { RemoteSource } from './source.js';
import { createUpstreamClient, type MetadataAnswer, type UpstreamClient } from './upstream-client.js';

/** How a metadata answer was obtained; sent to clients as `X-Stockade-Upstream`. */
export type MetadataState = 'hit' | 'miss' | 'revalidated' | 'stale' | 'offline';

export interface CachedMetadata<M> {
  meta: M;
  state: MetadataState;
  fetchedAt: string;
  /** Versions the gate blocked: they were never stored, so the cache remembers them. */
  blocked: Record<string, string>;
  /** Why the upstream could not be asked, when the answer is stale. */
  error?: string;
}

export interface RemoteEngineOptions {
  /** First retry delay; tests shorten it. */
  backoffMs?: number;
  /** How often a node waiting for another node's fetch looks again. */
  pollMs?: number;
  /**
   * After an upstream failure, how long this node answers from a cached copy without asking the
   * upstream again, so a dead or hanging upstream does not cost every request a timeout.
   */
  failureHoldMs?: number;
  /** Bytes of metadata documents whose parsed form a node keeps in memory (default 64 MiB). */
  parsedCacheBytes?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Our copy of an append-only document with the upstream's new tail, when the tail starts with our
 * last byte and the whole matches the upstream's digest: its Repr-Digest (sha-256, RFC 9530) or an
 * ETag that is the MD5 of the whole (as compact-index servers send). Null when it cannot be
 * trusted; the caller then fetches the whole document.
 */
export function appendedDocument(mine: Buffer, tail: { body: Buffer; etag: string | null; digest: string | null }): Buffer | null {
  if (mine.length === 0 || tail.body.length === 0 || tail.body[0] !== mine[mine.length - 1]) return null;
  const whole = Buffer.concat([mine, tail.body.subarray(1)]);
  const sha256 = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]{44}):/.exec(tail.digest ?? '')?.[1];
  if (sha256) return createHash('sha256').update(whole).digest('base64') === sha256 ? whole : null;
  const md5 = /^(?:W\/)?"?([0-9a-f]{32})"?$/.exec(tail.etag ?? '')?.[1];
  if (md5) return createHash('md5').update(whole).digest('hex') === md5 ? whole : null;
  return null;
}

/**
 * The format-independent half of remote repositories: one upstream client per repository and
 * node, the shared metadata cache (TTL, conditional revalidation, negative caching, stale and
 * offline answers), and fetch coalescing of files within this node and, through a lease row,
 * across nodes. Formats plug in through RemoteSource.
 */
export function createRemoteEngine(deps: { db: Db; settings: RemoteSettings; packages: Pick<Packages, 'findFile'>; changes: ChangeBus }, options: RemoteEngineOptions = {}) {
  const { db, settings, packages, changes } = deps;
  const clients = new Map<number, { stamp: string; client: UpstreamClient }>();
  const inFlight = new Map<string, Promise<unknown>>();
  const holder = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  const pollMs = options.pollMs ?? 100;
  const failureHoldMs = options.failureHoldMs ?? 5_000;
  /** Per repository and package: until when the last failure holds, and what it was. */
  const failures = new Map<string, { until: number; message: string }>();
  /**
   * Parsed metadata per repository and package, valid while the stored row keeps its fetch time:
   * a cache hit then costs one small query instead of reading and parsing the whole document.
   */
  const parsedBytes = options.parsedCacheBytes ?? 64 * 1024 * 1024;
  const parsed = new SizedLru<{ stamp: string; fetchedAt: string; meta: unknown }>({ maxBytes: parsedBytes, maxItemBytes: parsedBytes / 4, maxEntries: 10_000 });

  async function upstream(repo: RepoInfo): Promise<{ settings: UpstreamSettings; client: UpstreamClient; stamp: string }> {
    const { settings: s, authorization } = await settings.forClient(repo);
    // A settings change builds a new client (and a fresh concurrency limit) on every node.
    const stamp = `${s.updatedAt}|${s.url}`;
    let entry = clients.get(repo.id);
    if (!entry || entry.stamp !== stamp) {
      // The old client's connections close once its requests in flight have finished.
      entry?.client.close();
      entry = {
        stamp,
        client: createUpstreamClient({
          url: s.url,
          authorization,
          fileOrigins: s.fileOrigins,
          timeoutMs: s.timeoutMs,
          retries: s.retries,
          concurrency: s.concurrency,
          maxMetadataBytes: s.maxMetadataBytes,
          maxFileBytes: s.maxFileBytes,
          ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
        }),
      };
      clients.set(repo.id, entry);
    }
    return { settings: s, client: entry.client, stamp };
  }

  /** Names the repository (and the upstream host) in an upstream error; never credentials. */
  function upstreamError(repo: RepoInfo, client: UpstreamClient, error: unknown): Error {
    if (isStockadeError(error) && (error.code === 'UPSTREAM_FAILED' || error.code === 'UPSTREAM_TIMEOUT')) {
      const why = String(error.details?.why ?? 'unknown error');
      return new StockadeError(error.code, [`${repo.path} (${client.host})`, why]);
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  function coalesce<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const started = run().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  // The statements of every metadata view and file fetch, compiled once (see prepareQuery).
  type ByName = { repoId: number; name: string };
  type Stored = { status: number; body: string | null; etag: string | null; last_modified: string | null; fetched_at: string };
  const q = {
    // Everything but the document, which is read only when the parsed copy is not at hand.
    row: prepareQuery(['repoId', 'name'], (d, p: ByName) =>
      d.selectFrom('remote_metadata').select(['status', 'etag', 'last_modified', 'fetched_at', 'blocked']).where('repo_id', '=', p.repoId).where('name', '=', p.name),
    ),
    body: prepareQuery(['repoId', 'name'], (d, p: ByName) => d.selectFrom('remote_metadata').select('body').where('repo_id', '=', p.repoId).where('name', '=', p.name)),
    blocked: prepareQuery(['repoId', 'name'], (d, p: ByName) => d.selectFrom('remote_metadata').select('blocked').where('repo_id', '=', p.repoId).where('name', '=', p.name)),
    store: prepareQuery(['repoId', 'name', 'status', 'body', 'etag', 'last_modified', 'fetched_at'], (d, p: ByName & Stored) => {
      const values = { status: p.status, body: p.body, etag: p.etag, last_modified: p.last_modified, fetched_at: p.fetched_at, last_error: null };
      return d
        .insertInto('remote_metadata')
        .values({ repo_id: p.repoId, name: p.name, ...values })
        .onConflict((oc) => oc.columns(['repo_id', 'name']).doUpdateSet(values));
    }),
    lease: prepareQuery(['repoId', 'key', 'holder', 'expires', 'now'], (d, p: { repoId: number; key: string; holder: string; expires: string; now: string }) =>
      d
        .insertInto('remote_leases')
        .values({ repo_id: p.repoId, key: p.key, holder: p.holder, expires_at: p.expires })
        .onConflict((oc) => oc.columns(['repo_id', 'key']).doUpdateSet({ holder: p.holder, expires_at: p.expires }).where('remote_leases.expires_at', '<', p.now)),
    ),
    release: prepareQuery(['repoId', 'key', 'holder'], (d, p: { repoId: number; key: string; holder: string }) =>
      d.deleteFrom('remote_leases').where('repo_id', '=', p.repoId).where('key', '=', p.key).where('holder', '=', p.holder),
    ),
    quarantined: prepareQuery(['repoId', 'format', 'name'], (d, p: { repoId: number; format: string; name: string }) =>
      d
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select(['versions.version', 'versions.gate'])
        .where('packages.repo_id', '=', p.repoId)
        .where('packages.format', '=', p.format)
        .where('packages.name', '=', p.name)
        .where('versions.status', '=', 'quarantined'),
    ),
  };
  const selectRow = (repoId: number, name: string) => q.row.first(db, { repoId, name });
  const selectBody = async (repoId: number, name: string) => (await q.body.first(db, { repoId, name }))?.body ?? null;

  async function store(repoId: number, name: string, values: Stored) {
    await q.store.execute(db, { repoId, name, ...values });
  }

  /**
   * A package's upstream metadata: from the cache while fresh, else revalidated or fetched. When
   * the upstream fails, a cached copy is served as `stale`; without one the error is the answer.
   * A 404 is remembered for the negative TTL. Offline repositories answer from the cache only.
   */
  async function metadata<M>(repo: RepoInfo, source: RemoteSource<M>, name: string): Promise<CachedMetadata<M>> {
    const { settings: s, client, stamp } = await upstream(repo);
    const now = Date.now();
    const row = await selectRow(repo.id, name);
    const blocked = row ? (JSON.parse(row.blocked) as Record<string, string>) : {};
    const parsedKey = `${repo.id} ${name}`;
    /** The stored document, parsed: from memory when this node already parsed this very fetch. */
    const storedMeta = async (fetchedAt: string): Promise<M | null> => {
      const hit = parsed.get(parsedKey);
      if (hit && hit.fetchedAt === fetchedAt && hit.stamp === stamp) return hit.meta as M;
      const body = await selectBody(repo.id, name);
      if (body === null) return null;
      const meta = source.parseMetadata(body, name);
      parsed.set(parsedKey, { stamp, fetchedAt, meta }, body.length);
      return meta;
    };
    const cached = async (state: MetadataState, fetchedAt: string, error?: string): Promise<CachedMetadata<M> | null> => {
      const meta = await storedMeta(fetchedAt);
      return meta === null ? null : { meta, state, fetchedAt, blocked, ...(error ? { error } : {}) };
    };
    // A row whose document went missing (never written that way) is treated as no row.
    const hasBody = row?.status === 200;
    if (row) {
      const age = now - Date.parse(row.fetched_at);
      if (hasBody && age < s.metadataTtlSeconds * 1000) {
        const hit = await cached('hit', row.fetched_at);
        if (hit) return hit;
      }
      if (row.status === 404 && age < s.negativeTtlSeconds * 1000) throw new StockadeError('NOT_FOUND', [`package ${name}`]);
    }
    if (s.offline) {
      const answer = hasBody ? await cached('offline', row.fetched_at) : null;
      if (answer) return answer;
      throw new StockadeError('NOT_CACHED', [`package ${name}`, `${repo.path} is offline`]);
    }
    const failureKey = `${repo.id} ${name}`;
    const failure = failures.get(failureKey);
    if (failure && failure.until > now && row && hasBody) {
      const answer = await cached('stale', row.fetched_at, failure.message);
      if (answer) return answer;
    }
    return coalesce(`m ${repo.id} ${name}`, async () => {
      let answer: MetadataAnswer;
      try {
        const conditional = hasBody ? { etag: row.etag, lastModified: row.last_modified } : {};
        const held = source.appendable && hasBody ? await selectBody(repo.id, name) : null;
        if (held) {
          // One byte of overlap: the tail must start where our copy ends.
          const mine = Buffer.from(held, 'utf8');
          answer = await client.metadata(source.metadataPath(name), conditional, source.metadataAccept, mine.length - 1);
          const whole = answer.status === 206 ? appendedDocument(mine, answer) : null;
          if (whole && whole.length > s.maxMetadataBytes) {
            throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `the metadata document exceeds the limit of ${s.maxMetadataBytes} bytes`], { why: `the metadata document exceeds the limit of ${s.maxMetadataBytes} bytes` });
          }
          if (answer.status === 206 && whole) answer = { status: 200, body: whole, etag: answer.etag, lastModified: answer.lastModified };
          else if (answer.status === 206 || answer.status === 416) answer = await client.metadata(source.metadataPath(name), {}, source.metadataAccept);
        } else {
          answer = await client.metadata(source.metadataPath(name), conditional, source.metadataAccept);
        }
      } catch (error) {
        const wrapped = upstreamError(repo, client, error);
        if (isStockadeError(wrapped) && (wrapped.code === 'UPSTREAM_FAILED' || wrapped.code === 'UPSTREAM_TIMEOUT')) {
          if (failures.size >= 10_000) failures.clear();
          failures.set(failureKey, { until: Date.now() + failureHoldMs, message: wrapped.message });
        }
        if (row && hasBody) {
          await db.updateTable('remote_metadata').set({ last_error: wrapped.message.slice(0, 1000) }).where('repo_id', '=', repo.id).where('name', '=', name).execute();
          const stale = await cached('stale', row.fetched_at, wrapped.message);
          if (stale) return stale;
        }
        if (row?.status === 404) throw new StockadeError('NOT_FOUND', [`package ${name}`]);
        throw wrapped;
      }
      failures.delete(failureKey);
      const fetchedAt = new Date().toISOString();
      if (answer.status === 304 && row && hasBody) {
        const meta = await storedMeta(row.fetched_at);
        if (meta !== null) {
          await db
            .updateTable('remote_metadata')
            .set({ fetched_at: fetchedAt, last_error: null, etag: answer.etag ?? row.etag, last_modified: answer.lastModified ?? row.last_modified })
            .where('repo_id', '=', repo.id)
            .where('name', '=', name)
            .execute();
          const entry = parsed.peek(parsedKey);
          if (entry) entry.fetchedAt = fetchedAt;
          return { meta, state: 'revalidated' as const, fetchedAt, blocked };
        }
      }
      if (answer.status === 404) {
        await store(repo.id, name, { status: 404, body: null, etag: null, last_modified: null, fetched_at: fetchedAt });
        parsed.delete(parsedKey);
        throw new StockadeError('NOT_FOUND', [`package ${name}`]);
      }
      if (answer.status !== 200) throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `an HTTP ${answer.status} answer to an unconditional request`]);
      const body = answer.body.toString('utf8');
      let meta: M;
      try {
        meta = source.parseMetadata(body, name);
      } catch (error) {
        // A source may put the bare reason in details.why, without its error code's wording.
        const why = isStockadeError(error) ? String(error.details?.why ?? error.message) : 'unreadable';
        throw new StockadeError('UPSTREAM_FAILED', [`${repo.path} (${client.host})`, `invalid metadata for ${name}: ${why}`]);
      }
      await store(repo.id, name, { status: 200, body, etag: answer.etag, last_modified: answer.lastModified, fetched_at: fetchedAt });
      parsed.set(parsedKey, { stamp, fetchedAt, meta }, body.length);
      return { meta, state: 'miss' as const, fetchedAt, blocked };
    });
  }

  /**
   * Remembers that the gate blocked a version, so it is hidden and never fetched again, and
   * announces it like any package change, so answers cached on nodes drop the version.
   */
  async function rememberBlocked(ref: PackageRef, version: string, reason: string): Promise<void> {
    const { repo, name } = ref;
    await db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('remote_metadata').select('blocked').where('repo_id', '=', repo.id).where('name', '=', name).executeTakeFirst();
      if (!row) return;
      const blocked = JSON.parse(row.blocked) as Record<string, string>;
      blocked[version] = reason.slice(0, 500);
      await tx.updateTable('remote_metadata').set({ blocked: JSON.stringify(blocked) }).where('repo_id', '=', repo.id).where('name', '=', name).execute();
    });
    changes.publish('package', packageChangeKey(ref));
  }

  /** Whether a file is stored (quarantined or not); throws when its version is known to be blocked. */
  async function settled(ref: PackageRef, file: { filename: string; version: string }): Promise<boolean> {
    if (await packages.findFile(ref, file.filename)) return true;
    const reason = await blockedReason(ref.repo, ref.name, file.version);
    if (reason !== undefined) throw new StockadeError('PACKAGE_BLOCKED', [reason]);
    return false;
  }

  /** Takes the lease on `key` unless another holder's lease is still running: one statement. */
  async function tryLease(repoId: number, key: string, ttlMs: number): Promise<boolean> {
    const now = new Date().toISOString();
    const expires = new Date(Date.now() + ttlMs).toISOString();
    const result = await q.lease.execute(db, { repoId, key, holder, expires, now });
    return Number(result.numAffectedRows ?? 0n) > 0;
  }

  /**
   * Brings one file in from upstream at most once, across every node, for a caller that has just
   * found it neither stored nor blocked: downloads `file.url` (an upstream failure names the
   * repository) and hands the bytes to `store`, which checks and stores them as `actor`, the
   * upstream. Callers on this node share one attempt; other nodes wait on the lease row until
   * the holder finishes (or its lease expires), then look at storage again. Under the lease,
   * storage is looked at once more.
   */
  async function fetchOnce(ref: PackageRef, file: { filename: string; version: string; url: string }, store: (data: Buffer, actor: Actor) => Promise<void>): Promise<void> {
    const { repo } = ref;
    const key = `${ref.format}:${ref.name}/${file.filename}`;
    const { settings: s, client } = await upstream(repo);
    const leaseMs = Math.max(60_000, s.timeoutMs * (s.retries + 2));
    return coalesce(`f ${repo.id} ${key}`, async () => {
      const deadline = Date.now() + leaseMs * 2;
      for (let first = true; ; first = false) {
        if (!first && (await settled(ref, file))) return;
        if (await tryLease(repo.id, key, leaseMs)) {
          try {
            if (await settled(ref, file)) return;
            let data: Buffer;
            try {
              data = await client.file(file.url);
            } catch (error) {
              throw upstreamError(repo, client, error);
            }
            await store(data, { name: `upstream:${client.host}`, ip: null });
            return;
          } finally {
            await q.release.execute(db, { repoId: repo.id, key, holder });
          }
        }
        if (Date.now() > deadline) throw new StockadeError('UPSTREAM_TIMEOUT', [repo.path, 'another node is still fetching this file']);
        await sleep(pollMs);
      }
    });
  }

  /** Why a version was blocked, when the gate blocked it (it is then never fetched again). */
  async function blockedReason(repo: RepoInfo, name: string, version: string): Promise<string | undefined> {
    const row = await q.blocked.first(db, { repoId: repo.id, name });
    const blocked = row ? (JSON.parse(row.blocked) as Record<string, string>) : {};
    return Object.hasOwn(blocked, version) ? blocked[version] : undefined;
  }

  /**
   * The gate's decisions on versions already fetched, which clients must not see: blocked ones
   * from the metadata cache, quarantined ones from storage (one query on every metadata view).
   */
  async function verdicts(ref: { repo: RepoInfo; format: string; name: string }, blocked: Record<string, string>): Promise<Map<string, { verdict: 'quarantine' | 'block'; reason: string }>> {
    const found = new Map<string, { verdict: 'quarantine' | 'block'; reason: string }>();
    for (const [version, reason] of Object.entries(blocked)) found.set(version, { verdict: 'block', reason });
    const held = await q.quarantined.rows(db, { repoId: ref.repo.id, format: ref.format, name: ref.name });
    for (const row of held) {
      const reasons = row.gate ? ((JSON.parse(row.gate) as { reasons?: string[] }).reasons ?? []) : [];
      found.set(row.version, { verdict: 'quarantine', reason: joinReasons(reasons) || 'awaiting review' });
    }
    return found;
  }

  return { upstream, metadata, rememberBlocked, fetchOnce, verdicts };
}

/** Tells clients how a metadata answer was obtained (`X-Stockade-Upstream`), and marks a stale one. */
export function upstreamHeaders(reply: { header(name: string, value: string): unknown }, cached: { state: MetadataState }): void {
  reply.header('x-stockade-upstream', cached.state);
  // RFC 7234 §5.5.1: 110 marks a response served while stale.
  if (cached.state === 'stale') reply.header('warning', '110 - "Response is Stale"');
}

export type RemoteEngine = ReturnType<typeof createRemoteEngine>;
