import { isUniqueViolation } from '../store/db/connect.js';
import type { Db } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import { assertPasswordStrength, decoyHash, hashPassword, verifyPassword } from './passwords.js';
import type { Throttle } from './throttle.js';
import { nowIso } from './time.js';

export type Role = 'admin' | 'write' | 'read';
export const ROLE_RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

export interface UserInfo {
  id: number;
  name: string;
  email: string | null;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: string;
}

// Owner names become URL segments and npm registry paths: keep them plain and lower-case.
const OWNER_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,37}[a-z0-9])?$/;

export function assertOwnerName(name: string): void {
  if (!OWNER_NAME.test(name) || name.includes('..')) {
    throw new StockadeError('VALIDATION_FAILED', [
      `name "${name}" must be 1-39 lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit`,
    ]);
  }
}

function toUser(row: { id: number; name: string; email: string | null; is_admin: number; disabled: number; created_at: string }): UserInfo {
  return { id: row.id, name: row.name, email: row.email, isAdmin: row.is_admin === 1, disabled: row.disabled === 1, createdAt: row.created_at };
}

export interface AccountsOptions {
  passwordMinLength: number;
}

export function createAccounts(deps: { db: Db; audit: AuditLog; changes: ChangeBus; throttle: Throttle }, options: AccountsOptions) {
  const { db, audit, changes, throttle } = deps;
  const roles = new TtlCache<Role | null>({ ttlMs: 30_000, max: 50_000 });
  changes.subscribe((topic) => {
    if (topic === 'member' || topic === 'user') roles.clear();
  });

  async function createUser(actor: Actor, input: { name: string; password: string; email?: string | null; isAdmin?: boolean }): Promise<UserInfo> {
    assertOwnerName(input.name);
    assertPasswordStrength(input.password, { minLength: options.passwordMinLength, userName: input.name });
    const passwordHash = await hashPassword(input.password);
    const at = nowIso();
    try {
      const user = await db.transaction().execute(async (tx) => {
        const taken = await tx.selectFrom('owners').select('id').where('name', '=', input.name).executeTakeFirst();
        if (taken) throw new StockadeError('USER_EXISTS', [input.name]);
        const row = await tx
          .insertInto('users')
          .values({ name: input.name, email: input.email ?? null, password_hash: passwordHash, is_admin: input.isAdmin ? 1 : 0, disabled: 0, created_at: at })
          .returningAll()
          .executeTakeFirstOrThrow();
        const owner = await tx.insertInto('owners').values({ name: input.name, kind: 'user', user_id: row.id, created_at: at }).returning('id').executeTakeFirstOrThrow();
        await tx.insertInto('members').values({ owner_id: owner.id, user_id: row.id, role: 'admin', created_at: at }).execute();
        await audit.record(tx, actor, { action: 'user.create', target: `user:${input.name}`, details: { isAdmin: Boolean(input.isAdmin) } });
        return row;
      });
      return toUser(user);
    } catch (error) {
      if (isUniqueViolation(error)) throw new StockadeError('USER_EXISTS', [input.name]);
      throw error;
    }
  }

  /**
   * Checks a password in constant-ish time whether or not the user exists. Failures count toward
   * the lockout of the account and of the address; while either is locked nothing is checked.
   */
  async function authenticate(name: string, password: string, from: { ip: string | null } = { ip: null }): Promise<UserInfo> {
    const attempt = { kind: 'password' as const, user: name.slice(0, 100), ip: from.ip };
    const actor = { name: attempt.user, ip: from.ip };
    await throttle.check(attempt);
    const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
    if (!row || !ok || row.disabled === 1) {
      await throttle.fail(actor, attempt);
      const reason = !row ? 'unknown user' : row.disabled === 1 ? 'disabled' : 'wrong password';
      await db.transaction().execute((tx) => audit.record(tx, actor, { action: 'auth.failed', target: `user:${attempt.user}`, details: { kind: 'password', reason } }));
      throw new StockadeError('INVALID_CREDENTIALS');
    }
    await throttle.succeed(attempt);
    return toUser(row);
  }

  /** Audits a login that opened something lasting (a login token, a session). */
  async function recordLogin(actor: Actor, user: string, details: Record<string, unknown>): Promise<void> {
    await db.transaction().execute((tx) => audit.record(tx, actor, { action: 'auth.login', target: `user:${user}`, details }));
  }

  async function getUser(name: string): Promise<UserInfo | null> {
    const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async function getUserById(id: number): Promise<UserInfo | null> {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async function listUsers(): Promise<UserInfo[]> {
    const rows = await db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  async function setPassword(actor: Actor, name: string, password: string): Promise<void> {
    assertPasswordStrength(password, { minLength: options.passwordMinLength, userName: name });
    const passwordHash = await hashPassword(password);
    await db.transaction().execute(async (tx) => {
      const result = await tx.updateTable('users').set({ password_hash: passwordHash }).where('name', '=', name).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new StockadeError('NOT_FOUND', [`user ${name}`]);
      await audit.record(tx, actor, { action: 'user.password', target: `user:${name}` });
    });
    changes.publish('user', name);
  }

  async function createOrg(actor: Actor, input: { name: string; adminUserId: number }): Promise<{ id: number; name: string }> {
    assertOwnerName(input.name);
    const at = nowIso();
    try {
      return await db.transaction().execute(async (tx) => {
        const taken = await tx.selectFrom('owners').select('id').where('name', '=', input.name).executeTakeFirst();
        if (taken) throw new StockadeError('OWNER_EXISTS', [input.name]);
        const owner = await tx.insertInto('owners').values({ name: input.name, kind: 'org', user_id: null, created_at: at }).returning(['id', 'name']).executeTakeFirstOrThrow();
        await tx.insertInto('members').values({ owner_id: owner.id, user_id: input.adminUserId, role: 'admin', created_at: at }).execute();
        await audit.record(tx, actor, { action: 'org.create', target: `org:${input.name}` });
        return owner;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new StockadeError('OWNER_EXISTS', [input.name]);
      throw error;
    }
  }

  async function getOwner(name: string) {
    return (await db.selectFrom('owners').selectAll().where('name', '=', name).executeTakeFirst()) ?? null;
  }

  async function setMember(actor: Actor, input: { owner: string; user: string; role: Role | null }): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const owner = await tx.selectFrom('owners').select(['id', 'kind']).where('name', '=', input.owner).executeTakeFirst();
      const user = await tx.selectFrom('users').select('id').where('name', '=', input.user).executeTakeFirst();
      if (!owner) throw new StockadeError('NOT_FOUND', [`owner ${input.owner}`]);
      if (!user) throw new StockadeError('NOT_FOUND', [`user ${input.user}`]);
      await tx.deleteFrom('members').where('owner_id', '=', owner.id).where('user_id', '=', user.id).execute();
      if (input.role) {
        await tx.insertInto('members').values({ owner_id: owner.id, user_id: user.id, role: input.role, created_at: nowIso() }).execute();
      }
      await audit.record(tx, actor, { action: input.role ? 'member.set' : 'member.remove', target: `owner:${input.owner}`, details: { user: input.user, role: input.role } });
    });
    changes.publish('member', input.owner);
  }

  async function listMembers(owner: string) {
    return db
      .selectFrom('members')
      .innerJoin('owners', 'owners.id', 'members.owner_id')
      .innerJoin('users', 'users.id', 'members.user_id')
      .select(['users.name as user', 'members.role'])
      .where('owners.name', '=', owner)
      .orderBy('users.name')
      .execute();
  }

  /** The user's role on an owner, cached per node; site admins are handled by the caller. */
  async function roleOf(userId: number, ownerId: number): Promise<Role | null> {
    const key = `${userId}:${ownerId}`;
    const cached = roles.get(key);
    if (cached !== undefined) return cached;
    const row = await db.selectFrom('members').select('role').where('owner_id', '=', ownerId).where('user_id', '=', userId).executeTakeFirst();
    const role = row?.role ?? null;
    roles.set(key, role);
    return role;
  }

  /** The cached role, or undefined when it would take a query. */
  function peekRole(userId: number, ownerId: number): Role | null | undefined {
    return roles.get(`${userId}:${ownerId}`);
  }

  async function countUsers(): Promise<number> {
    const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  return { createUser, authenticate, recordLogin, getUser, getUserById, listUsers, setPassword, createOrg, getOwner, setMember, listMembers, roleOf, peekRole, countUsers };
}

export type Accounts = ReturnType<typeof createAccounts>;
