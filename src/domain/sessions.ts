import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';

/** A live browser session, as the HTTP layer needs it for every request. */
export interface ResolvedSession {
  sessionId: number;
  userId: number;
  userName: string;
  isAdmin: boolean;
  /** sha256 (hex) of the CSRF token handed out at login. */
  csrfHash: string;
  createdAt: string;
  /** Absolute end of the session, however active it is. */
  expiresAt: string;
}

export interface CreatedSession {
  id: number;
  /** The cookie value; only its hash is stored. */
  cookieValue: string;
  /** Goes back in the X-CSRF-Token header of unsafe requests; only its hash is stored. */
  csrfToken: string;
  expiresAt: string;
}

export interface SessionsOptions {
  idleMinutes: number;
  absoluteHours: number;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

/** The session row joined with its user, as cached per node; verdicts are computed per call. */
interface SessionRecord {
  id: number;
  userId: number;
  userName: string;
  isAdmin: boolean;
  userDisabled: boolean;
  csrfHash: string;
  createdAt: string;
  lastSeenMs: number;
  expiresMs: number;
  revoked: boolean;
}

const MINUTE_MS = 60_000;

function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

export function createSessions(deps: { db: Db; audit: AuditLog; changes: ChangeBus }, options: SessionsOptions) {
  const { db, audit, changes } = deps;
  const now = options.now ?? Date.now;
  const idleMs = options.idleMinutes * MINUTE_MS;
  const absoluteMs = options.absoluteHours * 60 * MINUTE_MS;
  // Writing last_seen_at on every request would turn every page view into a write. Refreshing it
  // at most once a minute bounds that; with very short idle limits a tenth of the limit keeps a
  // steadily active user from being timed out by the lag.
  const refreshEveryMs = Math.min(MINUTE_MS, Math.floor(idleMs / 10));
  // Short-lived: a few seconds of cache absorb the requests one page load makes, and the 'session'
  // and 'user' topics drop it at once on logout or account changes.
  const records = new TtlCache<SessionRecord | null>({ ttlMs: 5_000, max: 50_000 });
  changes.subscribe((topic) => {
    if (topic === 'session' || topic === 'user') records.clear();
  });

  const iso = (ms: number) => new Date(ms).toISOString();

  async function create(actor: Actor, user: { id: number }, ip: string | null): Promise<CreatedSession> {
    const cookieValue = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const at = now();
    const expiresAt = iso(at + absoluteMs);
    const id = await db.transaction().execute(async (tx) => {
      const owner = await tx.selectFrom('users').select(['name', 'disabled']).where('id', '=', user.id).executeTakeFirst();
      if (!owner || owner.disabled === 1) throw new StockadeError('NOT_FOUND', [`user ${user.id}`]);
      // Ended sessions have no further use (the audit log keeps the history): prune the user's on login.
      await tx.deleteFrom('sessions').where('user_id', '=', user.id).where('expires_at', '<=', iso(at)).execute();
      const row = await tx
        .insertInto('sessions')
        .values({
          hash: sha256Hex(cookieValue),
          user_id: user.id,
          csrf: sha256Hex(csrfToken),
          ip,
          created_at: iso(at),
          last_seen_at: iso(at),
          expires_at: expiresAt,
          revoked_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit.record(tx, actor, { action: 'auth.login', target: `user:${owner.name}`, details: { via: 'session', session: row.id } });
      return row.id;
    });
    return { id, cookieValue, csrfToken, expiresAt };
  }

  async function load(key: string): Promise<SessionRecord | null> {
    const row = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id',
        'sessions.csrf',
        'sessions.created_at',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.revoked_at',
        'users.id as user_id',
        'users.name as user_name',
        'users.is_admin',
        'users.disabled',
      ])
      .where('sessions.hash', '=', key)
      .executeTakeFirst();
    const record: SessionRecord | null = row
      ? {
          id: row.id,
          userId: row.user_id,
          userName: row.user_name,
          isAdmin: row.is_admin === 1,
          userDisabled: row.disabled === 1,
          csrfHash: row.csrf,
          createdAt: row.created_at,
          lastSeenMs: Date.parse(row.last_seen_at),
          expiresMs: Date.parse(row.expires_at),
          revoked: row.revoked_at !== null,
        }
      : null;
    records.set(key, record);
    return record;
  }

  function isIdle(record: SessionRecord, at: number): boolean {
    return at - record.lastSeenMs > idleMs;
  }

  /**
   * The live session a cookie value names, or null when it is unknown, revoked, past its absolute
   * expiry, idle for longer than the limit, or its user is disabled.
   */
  async function resolve(cookieValue: string): Promise<ResolvedSession | null> {
    if (!cookieValue) return null;
    const key = sha256Hex(cookieValue);
    const at = now();
    let record = records.get(key);
    // A cached last_seen_at may be behind a refresh made on another node: look again before
    // ending a session for idleness.
    if (record === undefined || (record && isIdle(record, at))) record = await load(key);
    if (!record || record.revoked || record.userDisabled) return null;
    if (at >= record.expiresMs || isIdle(record, at)) return null;
    if (at - record.lastSeenMs >= refreshEveryMs) {
      await db.updateTable('sessions').set({ last_seen_at: iso(at) }).where('id', '=', record.id).where('revoked_at', 'is', null).execute();
      record.lastSeenMs = at;
    }
    return {
      sessionId: record.id,
      userId: record.userId,
      userName: record.userName,
      isAdmin: record.isAdmin,
      csrfHash: record.csrfHash,
      createdAt: record.createdAt,
      expiresAt: iso(record.expiresMs),
    };
  }

  /** Whether the X-CSRF-Token header matches the session's token, compared in constant time. */
  function checkCsrf(session: Pick<ResolvedSession, 'csrfHash'>, headerValue: string | string[] | undefined): boolean {
    if (typeof headerValue !== 'string' || headerValue.length === 0) return false;
    const given = Buffer.from(sha256Hex(headerValue), 'hex');
    const stored = Buffer.from(session.csrfHash, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored);
  }

  /** Ends one session (logout). Ending an already ended or unknown session is not an error. */
  async function revoke(actor: Actor, sessionId: number): Promise<void> {
    const ended = await db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.id', 'sessions.revoked_at', 'users.name as user_name'])
        .where('sessions.id', '=', sessionId)
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return false;
      await tx.updateTable('sessions').set({ revoked_at: iso(now()) }).where('id', '=', row.id).execute();
      await audit.record(tx, actor, { action: 'auth.logout', target: `user:${row.user_name}`, details: { session: row.id } });
      return true;
    });
    if (ended) changes.publish('session', String(sessionId));
  }

  /** Ends every session of a user ("log out everywhere"); returns how many were live. */
  async function revokeAll(actor: Actor, userId: number): Promise<number> {
    const count = await db.transaction().execute(async (tx) => {
      const user = await tx.selectFrom('users').select('name').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StockadeError('NOT_FOUND', [`user ${userId}`]);
      const result = await tx
        .updateTable('sessions')
        .set({ revoked_at: iso(now()) })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const revoked = Number(result.numUpdatedRows);
      await audit.record(tx, actor, { action: 'auth.logout', target: `user:${user.name}`, details: { all: true, sessions: revoked } });
      return revoked;
    });
    changes.publish('session', '*');
    return count;
  }

  return {
    /** Cookie Max-Age: a session never outlives its absolute limit. */
    lifetimeSeconds: Math.floor(absoluteMs / 1000),
    create,
    resolve,
    checkCsrf,
    revoke,
    revokeAll,
  };
}

export type Sessions = ReturnType<typeof createSessions>;
