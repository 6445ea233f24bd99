import type { Db } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import type { RepoInfo } from './repos.js';
import { nowIso } from './time.js';

export interface StoredException {
  id: number;
  package: string;
  version: string | null;
  rule: string | null;
  reason: string;
  expiresAt: string | null;
  createdBy: string;
  createdAt: string;
}

export interface RepoPolicyRecord {
  /** The repository's own document, or null when it uses the default policy. */
  document: unknown;
  exceptions: StoredException[];
}

/**
 * Per-repository policy documents and exceptions. Documents are validated by the security layer
 * before they get here; this layer stores them and records who changed what.
 */
export function createPolicies(deps: { db: Db; audit: AuditLog; changes: ChangeBus }) {
  const { db, audit, changes } = deps;
  const cache = new TtlCache<RepoPolicyRecord>({ ttlMs: 30_000, max: 10_000 });
  changes.subscribe((topic) => {
    if (topic === 'policy') cache.clear();
  });

  async function get(repo: RepoInfo): Promise<RepoPolicyRecord> {
    const key = String(repo.id);
    const hit = cache.get(key);
    if (hit) return hit;
    const [policy, exceptions] = await Promise.all([
      db.selectFrom('repo_policies').select('document').where('repo_id', '=', repo.id).executeTakeFirst(),
      db.selectFrom('policy_exceptions').selectAll().where('repo_id', '=', repo.id).orderBy('id').execute(),
    ]);
    const record: RepoPolicyRecord = {
      document: policy ? (JSON.parse(policy.document) as unknown) : null,
      exceptions: exceptions.map((e) => ({
        id: e.id,
        package: e.package,
        version: e.version,
        rule: e.rule,
        reason: e.reason,
        expiresAt: e.expires_at,
        createdBy: e.created_by,
        createdAt: e.created_at,
      })),
    };
    cache.set(key, record);
    return record;
  }

  /** Replaces the policy document; null returns the repository to the default policy. */
  async function set(actor: Actor, repo: RepoInfo, document: unknown): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('repo_policies').where('repo_id', '=', repo.id).execute();
      if (document !== null) {
        await tx.insertInto('repo_policies').values({ repo_id: repo.id, document: JSON.stringify(document), updated_at: nowIso() }).execute();
      }
      await audit.record(tx, actor, { action: document === null ? 'policy.reset' : 'policy.set', target: `repo:${repo.path}`, details: document === null ? {} : { document } });
    });
    changes.publish('policy', String(repo.id));
  }

  async function addException(
    actor: Actor,
    repo: RepoInfo,
    input: { package: string; version?: string | null; rule?: string | null; reason: string; expiresAt?: string | null },
  ): Promise<StoredException> {
    if (input.reason.trim() === '') throw new StockadeError('VALIDATION_FAILED', ['an exception needs a reason']);
    const at = nowIso();
    const row = await db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('policy_exceptions')
        .values({
          repo_id: repo.id,
          package: input.package,
          version: input.version ?? null,
          rule: input.rule ?? null,
          reason: input.reason,
          expires_at: input.expiresAt ?? null,
          created_by: actor.name,
          created_at: at,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit.record(tx, actor, {
        action: 'policy.exception.add',
        target: `repo:${repo.path}`,
        details: { id: inserted.id, package: input.package, version: input.version ?? null, rule: input.rule ?? null, reason: input.reason, expiresAt: input.expiresAt ?? null },
      });
      return inserted;
    });
    changes.publish('policy', String(repo.id));
    return {
      id: row.id,
      package: input.package,
      version: input.version ?? null,
      rule: input.rule ?? null,
      reason: input.reason,
      expiresAt: input.expiresAt ?? null,
      createdBy: actor.name,
      createdAt: at,
    };
  }

  async function removeException(actor: Actor, repo: RepoInfo, id: number): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('policy_exceptions').where('repo_id', '=', repo.id).where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw new StockadeError('NOT_FOUND', [`exception ${id}`]);
      await audit.record(tx, actor, { action: 'policy.exception.remove', target: `repo:${repo.path}`, details: { id } });
    });
    changes.publish('policy', String(repo.id));
  }

  return { get, set, addException, removeException };
}

export type Policies = ReturnType<typeof createPolicies>;
