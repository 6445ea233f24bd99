import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Dialect } from '../store/db/connect.js';
import { prepareQuery } from '../store/db/prepared.js';
import type { Db, DbOrTx, Tx } from '../store/db/schema.js';
import { nowIso } from './time.js';

/** Who did something, from where. Every change carries one into the audit log. */
export interface Actor {
  /** User name, or `system` for the server's own actions. */
  name: string;
  ip: string | null;
  /** Token id when the request was authenticated by a token. */
  tokenId?: number | undefined;
}

export const systemActor: Actor = { name: 'system', ip: null };

export interface AuditEntryInput {
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The hash covers every field of the entry and the previous hash, in a fixed order. */
export function auditEntryHash(entry: {
  prev_hash: string;
  at: string;
  actor: string;
  actor_ip: string | null;
  action: string;
  target: string;
  details: string;
}): string {
  const canonical = JSON.stringify([entry.prev_hash, entry.at, entry.actor, entry.actor_ip, entry.action, entry.target, entry.details]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function createAuditLog(deps: { dialect: Dialect }) {
  // Every change records an entry: its two statements are compiled once (see prepareQuery).
  const head = prepareQuery([], (d) => d.selectFrom('audit_log').select('hash').orderBy('id', 'desc').limit(1));
  const append = prepareQuery(
    ['prev_hash', 'at', 'actor', 'actor_ip', 'action', 'target', 'details', 'hash'],
    (d, p: { prev_hash: string; at: string; actor: string; actor_ip: string | null; action: string; target: string; details: string; hash: string }) => d.insertInto('audit_log').values(p),
  );
  return {
    /**
     * Appends an entry inside the caller's transaction, so the record and the change commit together.
     * On PostgreSQL an advisory lock orders concurrent writers so the chain never forks; SQLite
     * transactions are already serialized.
     */
    async record(tx: Tx, actor: Actor, entry: AuditEntryInput): Promise<void> {
      if (deps.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7263011)`.execute(tx);
      const last = await head.first(tx, {});
      const details = JSON.stringify({ ...(entry.details ?? {}), ...(actor.tokenId ? { tokenId: actor.tokenId } : {}) });
      const row = {
        prev_hash: last?.hash ?? GENESIS_HASH,
        at: nowIso(),
        actor: actor.name,
        actor_ip: actor.ip,
        action: entry.action,
        target: entry.target,
        details,
      };
      await append.execute(tx, { ...row, hash: auditEntryHash(row) });
    },

    /** One page of entries matching `filter`, oldest first (at most 1000). */
    query: queryAuditLog,

    /**
     * Every entry matching `filter`, oldest first, fetched a page at a time so an export of the
     * whole log never holds more than one page in memory.
     */
    async *stream(db: DbOrTx, filter: Omit<AuditFilter, 'limit'> = {}, pageSize = 500): AsyncGenerator<AuditEntry> {
      let afterId = filter.afterId ?? 0;
      for (;;) {
        const page = await queryAuditLog(db, { ...filter, afterId, limit: pageSize });
        yield* page;
        const last = page.at(-1);
        if (!last || page.length < pageSize) return;
        afterId = last.id;
      }
    },

    /** Walks the whole chain and reports the first entry whose link or content does not check out. */
    async verify(db: Db): Promise<{ ok: boolean; checked: number; firstBroken?: { id: number; reason: string } }> {
      let prev = GENESIS_HASH;
      let lastId = 0;
      let checked = 0;
      for (;;) {
        const rows = await db.selectFrom('audit_log').selectAll().where('id', '>', lastId).orderBy('id', 'asc').limit(1000).execute();
        if (rows.length === 0) return { ok: true, checked };
        for (const row of rows) {
          if (row.prev_hash !== prev) {
            return { ok: false, checked, firstBroken: { id: row.id, reason: 'previous-hash link does not match the preceding entry' } };
          }
          if (auditEntryHash(row) !== row.hash) {
            return { ok: false, checked, firstBroken: { id: row.id, reason: 'entry content does not match its hash' } };
          }
          prev = row.hash;
          lastId = row.id;
          checked++;
        }
      }
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;

/** Which entries a query or export selects; every field narrows the selection. */
export interface AuditFilter {
  actor?: string | undefined;
  /** Exact action, or a prefix when it ends with `*` (`auth.*`). */
  action?: string | undefined;
  /** Exact target, e.g. `repo:acme/main` or `user:alice`. */
  target?: string | undefined;
  /** `owner/name`: the repository itself and every package and version in it. */
  repo?: string | undefined;
  /** Inclusive lower bound on `at`; an ISO time as `parseAuditTime` returns it. */
  since?: string | undefined;
  /** Exclusive upper bound on `at`. */
  until?: string | undefined;
  /** Only entries with a larger id (the paging cursor). */
  afterId?: number | undefined;
  /** Page size: default 100, at most 1000. */
  limit?: number | undefined;
}

export const AUDIT_PAGE_MAX = 1000;

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actor_ip: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/**
 * `substr(column, 1, n) = prefix` rather than LIKE: SQLite's LIKE ignores case and both treat
 * `_` and `%` in names as wildcards; a plain equality means the same on both dialects.
 */
function startsWith(column: 'action' | 'target', prefix: string) {
  // Both dialects count characters (code points), not UTF-16 units or bytes.
  return sql<string>`substr(${sql.ref(column)}, 1, ${sql.lit([...prefix].length)})`;
}

async function queryAuditLog(db: DbOrTx, filter: AuditFilter): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'asc');
  if (filter.target) q = q.where('target', '=', filter.target);
  if (filter.actor) q = q.where('actor', '=', filter.actor);
  if (filter.action) {
    const prefix = filter.action.endsWith('*') ? filter.action.slice(0, -1) : null;
    if (prefix === null) q = q.where('action', '=', filter.action);
    else if (prefix !== '') q = q.where(startsWith('action', prefix), '=', prefix);
  }
  if (filter.repo) {
    // Repository changes are recorded as `repo:o/r`, package events as `package:o/r/format/name[@version]`.
    const packagePrefix = `package:${filter.repo}/`;
    const repoTarget = `repo:${filter.repo}`;
    q = q.where((eb) => eb.or([eb('target', '=', repoTarget), eb(startsWith('target', packagePrefix), '=', packagePrefix)]));
  }
  // Every row stores `at` in toISOString's fixed-width form, so text order is time order.
  if (filter.since) q = q.where('at', '>=', filter.since);
  if (filter.until) q = q.where('at', '<', filter.until);
  if (filter.afterId) q = q.where('id', '>', filter.afterId);
  const rows = await q.limit(Math.min(filter.limit ?? 100, AUDIT_PAGE_MAX)).execute();
  return rows.map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads an ISO 8601 date or time given as a query bound and returns it in the stored form
 * (`toISOString`), or null when it is not one. A date alone is midnight UTC, and a time without a
 * zone is UTC too: the log is kept in UTC and the answer must not depend on the server's zone.
 */
export function parseAuditTime(raw: string): string | null {
  const match = ISO_TIME.exec(raw.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second, zone] = match;
  // Date accepts 2024-02-31 and rolls it over into March; a typo must not silently move the bound.
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return null;
  if (Number(hour ?? 0) > 23 || Number(minute ?? 0) > 59 || Number(second ?? 0) > 59) return null;
  let text = raw.trim().replace(' ', 'T');
  if (hour === undefined) text += 'T00:00:00Z';
  else if (zone === undefined) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
