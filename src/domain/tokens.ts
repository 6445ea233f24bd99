import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Db } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import { nowIso } from './time.js';

export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

/** What a verified token lets its bearer act as. */
export type TokenKind = 'personal' | 'automation' | 'read';

export interface TokenGrant {
  tokenId: number;
  kind: TokenKind;
  userId: number;
  userName: string;
  isAdmin: boolean;
  scopes: ReadonlySet<Scope>;
  repoId: number | null;
  expiresAt: string | null;
}

export interface TokenInfo {
  id: number;
  name: string;
  display: string;
  scopes: Scope[];
  repo: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

const PREFIX = 'stk_';
const BODY_LENGTH = 32;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: Buffer, length: number): string {
  let out = '';
  for (const byte of bytes) {
    if (out.length === length) break;
    // 248 = 62 * 4: rejecting the top bytes keeps every character equally likely.
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

function checksum(body: string): string {
  return crc32(body).toString(36).padStart(7, '0');
}

/**
 * `stk_` + 32 random base62 characters + a 7-character CRC32: the prefix and checksum let secret
 * scanners recognise a leaked Stockade token without asking the server.
 */
export function generateTokenSecret(): string {
  let body = '';
  while (body.length < BODY_LENGTH) body += base62(randomBytes(48), BODY_LENGTH - body.length);
  return `${PREFIX}${body}${checksum(body)}`;
}

export function looksLikeToken(secret: string): boolean {
  if (!secret.startsWith(PREFIX) || secret.length !== PREFIX.length + BODY_LENGTH + 7) return false;
  const body = secret.slice(PREFIX.length, PREFIX.length + BODY_LENGTH);
  return checksum(body) === secret.slice(PREFIX.length + BODY_LENGTH);
}

export function hashToken(secret: string): string {
  // crypto.hash is the one-shot form: a third of the cost of createHash() on every request.
  return hash('sha256', secret, 'hex');
}

function expandScopes(scopes: Iterable<Scope>): Set<Scope> {
  const set = new Set(scopes);
  // admin implies write implies read.
  if (set.has('admin')) set.add('write');
  if (set.has('write')) set.add('read');
  return set;
}

export function parseScopes(raw: string | readonly string[]): Scope[] {
  const list = (typeof raw === 'string' ? raw.split(',') : raw).map((s) => s.trim()).filter(Boolean);
  for (const scope of list) {
    if (!SCOPES.includes(scope as Scope)) throw new StockadeError('VALIDATION_FAILED', [`unknown scope "${scope}" (use read, write or admin)`]);
  }
  if (list.length === 0) throw new StockadeError('VALIDATION_FAILED', ['a token needs at least one scope']);
  return [...new Set(list as Scope[])];
}

export function createTokens(deps: { db: Db; audit: AuditLog; changes: ChangeBus }, options: { maxLifetimeDays: number }) {
  const { db, audit, changes } = deps;
  // Verifying a token costs one sha256 and, when cached, no database round trip.
  const grants = new TtlCache<TokenGrant | null>({ ttlMs: 30_000, max: 100_000 });
  // Hashing costs more than the rest of a cached read; the hot path remembers recent secrets' hashes.
  const recentHashes = new Map<string, string>();
  changes.subscribe((topic) => {
    if (topic === 'token' || topic === 'user') {
      grants.clear();
      recentHashes.clear();
    }
  });

  async function create(
    actor: Actor,
    input: { userId: number; name: string; scopes: Scope[]; repoId?: number | null; expiresAt?: string | null },
  ): Promise<{ secret: string; token: TokenInfo }> {
    if (!input.name || input.name.length > 200) throw new StockadeError('VALIDATION_FAILED', ['token name must be 1-200 characters']);
    const scopes = parseScopes(input.scopes);
    let expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null) {
      const ms = Date.parse(expiresAt);
      if (Number.isNaN(ms)) throw new StockadeError('VALIDATION_FAILED', [`expiry "${expiresAt}" is not a date`]);
      if (ms <= Date.now()) throw new StockadeError('VALIDATION_FAILED', ['expiry must be in the future']);
      expiresAt = new Date(ms).toISOString();
    }
    if (options.maxLifetimeDays > 0) {
      const limit = Date.now() + options.maxLifetimeDays * 86_400_000;
      if (expiresAt === null || Date.parse(expiresAt) > limit) {
        throw new StockadeError('VALIDATION_FAILED', [`tokens must expire within ${options.maxLifetimeDays} days`]);
      }
    }
    const secret = generateTokenSecret();
    const createdAt = nowIso();
    const row = await db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('tokens')
        .values({
          user_id: input.userId,
          name: input.name,
          hash: hashToken(secret),
          display: `${secret.slice(0, 8)}…`,
          scopes: scopes.join(','),
          repo_id: input.repoId ?? null,
          expires_at: expiresAt,
          revoked_at: null,
          created_at: createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit.record(tx, actor, {
        action: 'token.create',
        target: `token:${inserted.id}`,
        details: { name: input.name, scopes, repoId: input.repoId ?? null, expiresAt },
      });
      return inserted;
    });
    const repo = row.repo_id ? await repoPath(row.repo_id) : null;
    return { secret, token: toInfo(row, repo) };
  }

  async function repoPath(repoId: number): Promise<string | null> {
    const row = await db
      .selectFrom('repos')
      .innerJoin('owners', 'owners.id', 'repos.owner_id')
      .select(['owners.name as owner', 'repos.name as repo'])
      .where('repos.id', '=', repoId)
      .executeTakeFirst();
    return row ? `${row.owner}/${row.repo}` : null;
  }

  function toInfo(
    row: { id: number; name: string; display: string; scopes: string; expires_at: string | null; revoked_at: string | null; created_at: string },
    repo: string | null,
  ): TokenInfo {
    return { id: row.id, name: row.name, display: row.display, scopes: row.scopes.split(',') as Scope[], repo, expiresAt: row.expires_at, revokedAt: row.revoked_at, createdAt: row.created_at };
  }

  /**
   * The grant of a valid token answered from this node's cache, without a promise: undefined when
   * the token is not cached, or is invalid (the caller then takes `verify` for the real answer).
   */
  function peek(secret: string): TokenGrant | undefined {
    let key = recentHashes.get(secret);
    if (key === undefined) {
      key = hashToken(secret);
      if (recentHashes.size >= 10_000) recentHashes.clear();
      recentHashes.set(secret, key);
    }
    const grant = grants.get(key);
    if (!grant || (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= Date.now())) return undefined;
    return grant;
  }

  /** Returns the grant of a valid token, or null for unknown, revoked or expired ones. */
  async function verify(secret: string): Promise<TokenGrant | null> {
    const key = hashToken(secret);
    let grant = grants.get(key);
    if (grant === undefined) {
      // The checksum turns away typos and guesses before they cost a query.
      if (!looksLikeToken(secret)) return null;
      const row = await db
        .selectFrom('tokens')
        .innerJoin('users', 'users.id', 'tokens.user_id')
        .select(['tokens.id', 'tokens.kind', 'tokens.scopes', 'tokens.repo_id', 'tokens.expires_at', 'tokens.revoked_at', 'users.id as user_id', 'users.name as user_name', 'users.is_admin', 'users.disabled'])
        .where('tokens.hash', '=', key)
        .executeTakeFirst();
      grant =
        row && row.revoked_at === null && row.disabled === 0
          ? {
              tokenId: row.id,
              kind: row.kind,
              userId: row.user_id,
              userName: row.user_name,
              isAdmin: row.is_admin === 1,
              scopes: expandScopes(row.scopes.split(',') as Scope[]),
              repoId: row.repo_id,
              expiresAt: row.expires_at,
            }
          : null;
      grants.set(key, grant);
    }
    if (grant && grant.expiresAt !== null && Date.parse(grant.expiresAt) <= Date.now()) return null;
    return grant;
  }

  async function list(userId: number): Promise<TokenInfo[]> {
    const rows = await db
      .selectFrom('tokens')
      .leftJoin('repos', 'repos.id', 'tokens.repo_id')
      .leftJoin('owners', 'owners.id', 'repos.owner_id')
      .selectAll('tokens')
      .select(['owners.name as owner', 'repos.name as repo'])
      .where('tokens.user_id', '=', userId)
      .where('tokens.revoked_at', 'is', null)
      .orderBy('tokens.id')
      .execute();
    return rows.map((row) => toInfo(row, row.owner && row.repo ? `${row.owner}/${row.repo}` : null));
  }

  /** Revokes by id (or by secret, for `npm logout`); only the owning user or a site admin may. */
  async function revoke(actor: Actor, input: { userId: number; isAdmin: boolean; id?: number; secret?: string }): Promise<void> {
    await db.transaction().execute(async (tx) => {
      let q = tx.selectFrom('tokens').select(['id', 'user_id', 'revoked_at']);
      if (input.id !== undefined) q = q.where('id', '=', input.id);
      else if (input.secret !== undefined) q = q.where('hash', '=', hashToken(input.secret));
      else throw new StockadeError('VALIDATION_FAILED', ['name a token to revoke']);
      const row = await q.executeTakeFirst();
      if (!row || (row.user_id !== input.userId && !input.isAdmin)) throw new StockadeError('NOT_FOUND', ['token']);
      if (row.revoked_at !== null) return;
      await tx.updateTable('tokens').set({ revoked_at: nowIso() }).where('id', '=', row.id).execute();
      await audit.record(tx, actor, { action: 'token.revoke', target: `token:${row.id}` });
    });
    changes.publish('token', '*');
  }

  return { create, peek, verify, list, revoke };
}

export type Tokens = ReturnType<typeof createTokens>;
