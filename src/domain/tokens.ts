import { hash, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Selectable } from 'kysely';
import type { Db, TokensTable } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import { nowIso } from './time.js';

/** read: install; write: publish; delete: unpublish and yank; admin: settings (implies the others). */
export type Scope = 'read' | 'write' | 'delete' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'delete', 'admin'];

/** What a verified token lets its bearer act as. */
/**
 * personal: acts as the user (writes need a one-time password when the user has MFA);
 * automation: for CI, no one-time password, but restricted to one repository, without admin, and
 * always expiring; master: a repository's enrolment key, reads and mints read tokens for machines;
 * read: a machine's read-only token, minted by a master token and revoked with it.
 */
export type TokenKind = 'personal' | 'automation' | 'master' | 'read';
export const TOKEN_KINDS: readonly TokenKind[] = ['personal', 'automation', 'master', 'read'];

export interface TokenGrant {
  tokenId: number;
  kind: TokenKind;
  userId: number;
  userName: string;
  isAdmin: boolean;
  scopes: ReadonlySet<Scope>;
  repoId: number | null;
  expiresAt: string | null;
  /** Addresses the token may be used from; null = anywhere. */
  allowed: BlockList | null;
}

export interface TokenInfo {
  id: number;
  kind: TokenKind;
  name: string;
  display: string;
  scopes: Scope[];
  repo: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  cidrs: string[] | null;
  parentId: number | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
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
  // admin implies everything; write and delete each imply read, but not each other.
  if (set.has('admin')) {
    set.add('write');
    set.add('delete');
  }
  if (set.has('write') || set.has('delete')) set.add('read');
  return set;
}

/** Validates and normalizes CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, or a bare address). */
export function parseCidrs(raw: readonly string[]): string[] {
  if (raw.length > 20) throw new StockadeError('VALIDATION_FAILED', ['at most 20 address ranges per token']);
  return raw.map((entry) => {
    const text = entry.trim();
    const [address = '', prefixText] = text.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (family === 0 || !/^\d{0,3}$/.test(prefixText ?? '') || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new StockadeError('VALIDATION_FAILED', [`"${text}" is not an address range like 10.0.0.0/8 or 2001:db8::/32`]);
    }
    return `${address}/${prefix}`;
  });
}

function blockListOf(cidrs: string | null): BlockList | null {
  if (!cidrs) return null;
  const list = new BlockList();
  for (const cidr of cidrs.split(',')) {
    const [address = '', prefix] = cidr.split('/');
    list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether `ip` (as Node reports it, IPv4 possibly mapped into IPv6) is inside `list`. */
function addressAllowed(list: BlockList, ip: string | null): boolean {
  if (!ip) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? (mapped[1] as string) : ip;
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export function parseScopes(raw: string | readonly string[]): Scope[] {
  const list = (typeof raw === 'string' ? raw.split(',') : raw).map((s) => s.trim()).filter(Boolean);
  for (const scope of list) {
    if (!SCOPES.includes(scope as Scope)) throw new StockadeError('VALIDATION_FAILED', [`unknown scope "${scope}" (use read, write, delete or admin)`]);
  }
  if (list.length === 0) throw new StockadeError('VALIDATION_FAILED', ['a token needs at least one scope']);
  return [...new Set(list as Scope[])];
}

export interface TokenInput {
  userId: number;
  name: string;
  scopes: Scope[];
  kind?: TokenKind;
  repoId?: number | null;
  expiresAt?: string | null;
  cidrs?: readonly string[] | null;
  /** For a read token: the master token that mints it. */
  parentId?: number | null;
}

export function createTokens(deps: { db: Db; audit: AuditLog; changes: ChangeBus }, options: { maxLifetimeDays: number; maxAutomationLifetimeDays: number; onError?: (error: Error) => void }) {
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

  async function create(actor: Actor, input: TokenInput): Promise<{ secret: string; token: TokenInfo }> {
    if (!input.name || input.name.length > 200) throw new StockadeError('VALIDATION_FAILED', ['token name must be 1-200 characters']);
    const kind = input.kind ?? 'personal';
    if (!TOKEN_KINDS.includes(kind)) throw new StockadeError('VALIDATION_FAILED', [`unknown token kind "${kind}" (use ${TOKEN_KINDS.join(', ')})`]);
    // Master and read tokens only ever read: whatever was asked, that is what they get.
    const scopes = kind === 'master' || kind === 'read' ? (['read'] as Scope[]) : parseScopes(input.scopes);
    const repoId = input.repoId ?? null;
    let expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null) {
      const ms = Date.parse(expiresAt);
      if (Number.isNaN(ms)) throw new StockadeError('VALIDATION_FAILED', [`expiry "${expiresAt}" is not a date`]);
      if (ms <= Date.now()) throw new StockadeError('VALIDATION_FAILED', ['expiry must be in the future']);
      expiresAt = new Date(ms).toISOString();
    }
    if (kind !== 'personal' && repoId === null) throw new StockadeError('VALIDATION_FAILED', [`a ${kind} token must be restricted to one repository`]);
    if (kind === 'read' && !input.parentId) throw new StockadeError('VALIDATION_FAILED', ['read tokens are minted by a repository master token']);
    if (kind === 'automation') {
      // Automation tokens skip one-time passwords, so they stay narrow and short-lived.
      if (scopes.includes('admin')) throw new StockadeError('VALIDATION_FAILED', ['automation tokens cannot have the admin scope']);
      const days = options.maxAutomationLifetimeDays;
      if (expiresAt === null || Date.parse(expiresAt) > Date.now() + days * 86_400_000) {
        throw new StockadeError('VALIDATION_FAILED', [`automation tokens must expire within ${days} days`]);
      }
    }
    if (options.maxLifetimeDays > 0) {
      const limit = Date.now() + options.maxLifetimeDays * 86_400_000;
      if (expiresAt === null || Date.parse(expiresAt) > limit) {
        throw new StockadeError('VALIDATION_FAILED', [`tokens must expire within ${options.maxLifetimeDays} days`]);
      }
    }
    const cidrs = input.cidrs && input.cidrs.length > 0 ? parseCidrs(input.cidrs) : null;
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
          repo_id: repoId,
          expires_at: expiresAt,
          revoked_at: null,
          created_at: createdAt,
          kind,
          parent_id: input.parentId ?? null,
          cidrs: cidrs ? cidrs.join(',') : null,
          last_used_at: null,
          last_used_ip: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit.record(tx, actor, {
        action: 'token.create',
        target: `token:${inserted.id}`,
        details: { name: input.name, kind, scopes, repoId, expiresAt, cidrs, parentId: input.parentId ?? null },
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

  function toInfo(row: Selectable<TokensTable>, repo: string | null): TokenInfo {
    return {
      id: row.id,
      kind: row.kind,
      name: row.name,
      display: row.display,
      scopes: row.scopes.split(',') as Scope[],
      repo,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      createdAt: row.created_at,
      cidrs: row.cidrs ? row.cidrs.split(',') : null,
      parentId: row.parent_id,
      lastUsedAt: row.last_used_at,
      lastUsedIp: row.last_used_ip,
    };
  }

  /**
   * The grant of a valid token answered from this node's cache, without a promise: undefined when
   * the token is not cached, or is invalid (the caller then takes `verify` for the real answer).
   */
  function peek(secret: string, ip: string | null): TokenGrant | undefined {
    let key = recentHashes.get(secret);
    if (key === undefined) {
      key = hashToken(secret);
      if (recentHashes.size >= 10_000) recentHashes.clear();
      recentHashes.set(secret, key);
    }
    const grant = grants.get(key);
    if (!grant || (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= Date.now())) return undefined;
    if (grant.allowed && !addressAllowed(grant.allowed, ip)) return undefined;
    noteUse(grant, ip);
    return grant;
  }

  /**
   * Returns the grant of a valid token, or null for unknown, revoked or expired ones. A token used
   * from outside its address ranges is refused with ADDRESS_NOT_ALLOWED.
   */
  async function verify(secret: string, ip: string | null = null): Promise<TokenGrant | null> {
    const key = hashToken(secret);
    let grant = grants.get(key);
    if (grant === undefined) {
      // The checksum turns away typos and guesses before they cost a query.
      if (!looksLikeToken(secret)) return null;
      const row = await db
        .selectFrom('tokens')
        .innerJoin('users', 'users.id', 'tokens.user_id')
        .select([
          'tokens.id',
          'tokens.kind',
          'tokens.scopes',
          'tokens.repo_id',
          'tokens.expires_at',
          'tokens.revoked_at',
          'tokens.cidrs',
          'users.id as user_id',
          'users.name as user_name',
          'users.is_admin',
          'users.disabled',
        ])
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
              allowed: blockListOf(row.cidrs),
            }
          : null;
      grants.set(key, grant);
    }
    if (grant && grant.expiresAt !== null && Date.parse(grant.expiresAt) <= Date.now()) return null;
    if (grant?.allowed && !addressAllowed(grant.allowed, ip)) throw new StockadeError('ADDRESS_NOT_ALLOWED', [ip ?? 'an unknown address']);
    if (grant) noteUse(grant, ip);
    return grant;
  }

  // Last use (time and address) is written off the request path, at most once a minute per token
  // and address; a use from another address than the last one is audited.
  const lastNoted = new Map<number, { ip: string | null; at: number }>();
  function noteUse(grant: TokenGrant, ip: string | null): void {
    const at = Date.now();
    const seen = lastNoted.get(grant.tokenId);
    if (seen && seen.ip === ip && at - seen.at < 60_000) return;
    if (lastNoted.size >= 100_000) lastNoted.clear();
    lastNoted.set(grant.tokenId, { ip, at });
    recordUse(grant, ip, new Date(at).toISOString()).catch((error: Error) => options.onError?.(error));
  }

  async function recordUse(grant: TokenGrant, ip: string | null, at: string): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('tokens').select('last_used_ip').where('id', '=', grant.tokenId).executeTakeFirst();
      if (!row) return;
      await tx.updateTable('tokens').set({ last_used_at: at, last_used_ip: ip }).where('id', '=', grant.tokenId).execute();
      if (row.last_used_ip !== ip) {
        await audit.record(tx, { name: grant.userName, ip, tokenId: grant.tokenId }, { action: 'token.use.new-address', target: `token:${grant.tokenId}`, details: { previous: row.last_used_ip } });
      }
    });
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
      const at = nowIso();
      await tx.updateTable('tokens').set({ revoked_at: at }).where('id', '=', row.id).execute();
      // Read tokens minted by a master token fall with it.
      const children = await tx.updateTable('tokens').set({ revoked_at: at }).where('parent_id', '=', row.id).where('revoked_at', 'is', null).executeTakeFirst();
      await audit.record(tx, actor, { action: 'token.revoke', target: `token:${row.id}`, details: { childrenRevoked: Number(children.numUpdatedRows) } });
    });
    changes.publish('token', '*');
  }

  return { create, peek, verify, list, revoke };
}

export type Tokens = ReturnType<typeof createTokens>;
