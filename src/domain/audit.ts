import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Dialect } from '../store/db/connect.js';
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
  return {
    /**
     * Appends an entry inside the caller's transaction, so the record and the change commit together.
     * On PostgreSQL an advisory lock orders concurrent writers so the chain never forks; SQLite
     * transactions are already serialized.
     */
    async record(tx: Tx, actor: Actor, entry: AuditEntryInput): Promise<void> {
      if (deps.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7263011)`.execute(tx);
      const head = await tx.selectFrom('audit_log').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst();
      const details = JSON.stringify({ ...(entry.details ?? {}), ...(actor.tokenId ? { tokenId: actor.tokenId } : {}) });
      const row = {
        prev_hash: head?.hash ?? GENESIS_HASH,
        at: nowIso(),
        actor: actor.name,
        actor_ip: actor.ip,
        action: entry.action,
        target: entry.target,
        details,
      };
      await tx.insertInto('audit_log').values({ ...row, hash: auditEntryHash(row) }).execute();
    },

    async query(db: DbOrTx, filter: { target?: string; actor?: string; action?: string; afterId?: number; limit?: number }) {
      let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'asc');
      if (filter.target) q = q.where('target', '=', filter.target);
      if (filter.actor) q = q.where('actor', '=', filter.actor);
      if (filter.action) q = q.where('action', '=', filter.action);
      if (filter.afterId) q = q.where('id', '>', filter.afterId);
      const rows = await q.limit(Math.min(filter.limit ?? 100, 1000)).execute();
      return rows.map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
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
