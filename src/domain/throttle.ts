import { sql } from 'kysely';
import type { Db } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';

export type SecretKind = 'password' | 'otp';

/** Who a guess was against: the account, and the address it came from. */
export interface Attempt {
  kind: SecretKind;
  user: string;
  ip: string | null;
}

export interface ThrottleOptions {
  threshold: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

// Many people can share one address (NAT, CI runners): an address gets more failures than an account.
const ADDRESS_FACTOR = 4;
// Failures older than this are forgotten, so one typo a month never adds up to a lockout.
const FORGET_AFTER_MS = 24 * 3_600_000;

/**
 * Slows down password and one-time-password guessing, per account and per client address, in the
 * database so every node sees the same counts. Past the threshold each failure locks the key for
 * a delay that doubles, up to a maximum: a lockout always ends by itself, and an admin can end
 * it sooner. While a key is locked, attempts are refused before the secret is even checked.
 */
export function createThrottle(deps: { db: Db; audit: AuditLog }, options: ThrottleOptions) {
  const { db, audit } = deps;
  const now = options.now ?? Date.now;

  function keysOf(attempt: Attempt): { key: string; threshold: number }[] {
    const keys = [{ key: `${attempt.kind}:user:${attempt.user}`, threshold: options.threshold }];
    if (attempt.ip) keys.push({ key: `${attempt.kind}:ip:${attempt.ip}`, threshold: options.threshold * ADDRESS_FACTOR });
    return keys;
  }

  function delayMs(failures: number, threshold: number): number {
    const doublings = Math.min(failures - threshold, 30);
    return Math.min(options.maxDelaySeconds, options.baseDelaySeconds * 2 ** doublings) * 1000;
  }

  /** Throws TOO_MANY_ATTEMPTS (with `retryAfterSeconds`) while the account or the address is locked. */
  async function check(attempt: Attempt): Promise<void> {
    const keys = keysOf(attempt).map((k) => k.key);
    const rows = await db.selectFrom('auth_throttle').select(['locked_until']).where('key', 'in', keys).where('locked_until', 'is not', null).execute();
    const until = Math.max(0, ...rows.map((r) => Date.parse(r.locked_until as string)));
    const wait = until - now();
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new StockadeError('TOO_MANY_ATTEMPTS', [seconds], { retryAfterSeconds: seconds });
    }
  }

  /** Counts a failed guess; the count is an atomic increment, so parallel guesses all count. */
  async function fail(actor: Actor, attempt: Attempt): Promise<void> {
    const at = new Date(now()).toISOString();
    const forgetBefore = new Date(now() - FORGET_AFTER_MS).toISOString();
    for (const { key, threshold } of keysOf(attempt)) {
      const row = await db
        .insertInto('auth_throttle')
        .values({ key, failures: 1, locked_until: null, updated_at: at })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            failures: sql<number>`case when auth_throttle.updated_at < ${forgetBefore} then 1 else auth_throttle.failures + 1 end`,
            updated_at: at,
          }),
        )
        .returning('failures')
        .executeTakeFirstOrThrow();
      const failures = Number(row.failures);
      if (failures < threshold) continue;
      const lockedUntil = new Date(now() + delayMs(failures, threshold)).toISOString();
      await db.transaction().execute(async (tx) => {
        // Only ever lengthen a lock: parallel failures may commit out of order (ISO times sort in time order).
        await tx
          .updateTable('auth_throttle')
          .set({ locked_until: lockedUntil })
          .where('key', '=', key)
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', lockedUntil)]))
          .execute();
        await audit.record(tx, actor, { action: 'auth.lockout', target: key.includes(':user:') ? `user:${attempt.user}` : `address:${attempt.ip}`, details: { kind: attempt.kind, failures, lockedUntil } });
      });
    }
  }

  /** A correct secret clears the account's count; the address keeps its count until it is forgotten. */
  async function succeed(attempt: Attempt): Promise<void> {
    await db.deleteFrom('auth_throttle').where('key', '=', `${attempt.kind}:user:${attempt.user}`).execute();
  }

  /** Ends every lockout and count of an account. */
  async function unlock(actor: Actor, user: string): Promise<boolean> {
    return db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('auth_throttle').where('key', 'in', [`password:user:${user}`, `otp:user:${user}`]).executeTakeFirst();
      const cleared = Number(result.numDeletedRows) > 0;
      await audit.record(tx, actor, { action: 'user.unlock', target: `user:${user}`, details: { cleared } });
      return cleared;
    });
  }

  /** Keys locked right now, for admins. */
  async function locked(): Promise<{ key: string; failures: number; lockedUntil: string }[]> {
    const rows = await db.selectFrom('auth_throttle').selectAll().where('locked_until', '>', new Date(now()).toISOString()).orderBy('key').execute();
    return rows.map((r) => ({ key: r.key, failures: Number(r.failures), lockedUntil: r.locked_until as string }));
  }

  return { check, fail, succeed, unlock, locked };
}

export type Throttle = ReturnType<typeof createThrottle>;
