import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('browser sessions', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  // The injectable clock: every test moves it forward explicitly, never waits.
  let clock = Date.now();
  let userCount = 0;

  before(async () => {
    ({ domain, close } = await openTestDomain({ now: () => clock, config: { auth: { sessions: { idleMinutes: 60, absoluteHours: 12 } } } }));
  });
  after(() => close());

  async function newUser(): Promise<{ id: number; name: string }> {
    const name = `user${++userCount}`;
    const user = await domain.accounts.createUser(systemActor, { name, password: 'correct-horse-battery' });
    return { id: user.id, name };
  }

  const lastSeen = async (sessionId: number) =>
    (await domain.db.selectFrom('sessions').select('last_seen_at').where('id', '=', sessionId).executeTakeFirstOrThrow()).last_seen_at;

  it('creates a session that resolves to its user, storing only hashes', async () => {
    const user = await newUser();
    const created = await domain.sessions.create({ name: user.name, ip: '192.0.2.1' }, user, '192.0.2.1');
    assert.equal(Buffer.from(created.cookieValue, 'base64url').length, 32);
    assert.equal(created.expiresAt, new Date(clock + 12 * HOUR).toISOString());

    const row = await domain.db.selectFrom('sessions').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    assert.equal(row.hash, sha256(created.cookieValue));
    assert.equal(row.csrf, sha256(created.csrfToken));
    assert.equal(row.ip, '192.0.2.1');
    assert.ok(!JSON.stringify(row).includes(created.cookieValue) && !JSON.stringify(row).includes(created.csrfToken));

    const session = await domain.sessions.resolve(created.cookieValue);
    assert.ok(session);
    assert.equal(session.sessionId, created.id);
    assert.equal(session.userId, user.id);
    assert.equal(session.userName, user.name);
    assert.equal(session.isAdmin, false);
    assert.equal(session.expiresAt, created.expiresAt);

    const audit = await domain.audit.query(domain.db, { action: 'auth.login', target: `user:${user.name}` });
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.details.via, 'session');
  });

  it('resolves unknown, empty and altered cookie values to null', async () => {
    const user = await newUser();
    const created = await domain.sessions.create(systemActor, user, null);
    assert.equal(await domain.sessions.resolve(''), null);
    assert.equal(await domain.sessions.resolve('not-a-session'), null);
    assert.equal(await domain.sessions.resolve(created.cookieValue.slice(0, -1)), null);
  });

  it('checks the CSRF token against the stored hash only', async () => {
    const user = await newUser();
    const created = await domain.sessions.create(systemActor, user, null);
    const session = await domain.sessions.resolve(created.cookieValue);
    assert.ok(session);
    assert.equal(domain.sessions.checkCsrf(session, created.csrfToken), true);
    assert.equal(domain.sessions.checkCsrf(session, `${created.csrfToken}x`), false);
    assert.equal(domain.sessions.checkCsrf(session, created.cookieValue), false);
    assert.equal(domain.sessions.checkCsrf(session, ''), false);
    assert.equal(domain.sessions.checkCsrf(session, undefined), false);
    assert.equal(domain.sessions.checkCsrf(session, [created.csrfToken, created.csrfToken]), false);
  });

  it('ends a session that was idle for longer than the idle limit', async () => {
    const user = await newUser();
    const created = await domain.sessions.create(systemActor, user, null);
    clock += 59 * MINUTE;
    assert.ok(await domain.sessions.resolve(created.cookieValue), 'still inside the idle limit');
    // The request above counted as activity: another 59 minutes are fine again.
    clock += 59 * MINUTE;
    assert.ok(await domain.sessions.resolve(created.cookieValue), 'activity extends the idle window');
    clock += 61 * MINUTE;
    assert.equal(await domain.sessions.resolve(created.cookieValue), null);
    clock += MINUTE;
    assert.equal(await domain.sessions.resolve(created.cookieValue), null, 'an idle session stays ended');
  });

  it('ends a session at its absolute expiry however active it is', async () => {
    const user = await newUser();
    const created = await domain.sessions.create(systemActor, user, null);
    const end = Date.parse(created.expiresAt);
    while (clock + 30 * MINUTE < end) {
      clock += 30 * MINUTE;
      assert.ok(await domain.sessions.resolve(created.cookieValue), `active at ${new Date(clock).toISOString()}`);
    }
    clock = end;
    assert.equal(await domain.sessions.resolve(created.cookieValue), null);
  });

  it('writes last_seen_at at most once a minute', async () => {
    const user = await newUser();
    const created = await domain.sessions.create(systemActor, user, null);
    const start = await lastSeen(created.id);
    assert.equal(start, new Date(clock).toISOString());

    clock += 30_000;
    assert.ok(await domain.sessions.resolve(created.cookieValue));
    clock += 29_000;
    assert.ok(await domain.sessions.resolve(created.cookieValue));
    assert.equal(await lastSeen(created.id), start, 'no write within the first minute');

    clock += 2_000;
    assert.ok(await domain.sessions.resolve(created.cookieValue));
    const refreshed = await lastSeen(created.id);
    assert.equal(refreshed, new Date(clock).toISOString());

    clock += 10_000;
    assert.ok(await domain.sessions.resolve(created.cookieValue));
    assert.equal(await lastSeen(created.id), refreshed, 'again no write until a minute after the refresh');
  });

  it('revokes one session and leaves the others', async () => {
    const user = await newUser();
    const first = await domain.sessions.create(systemActor, user, null);
    const second = await domain.sessions.create(systemActor, user, null);
    assert.ok(await domain.sessions.resolve(first.cookieValue), 'cached before the revocation');
    await domain.sessions.revoke({ name: user.name, ip: null }, first.id);
    assert.equal(await domain.sessions.resolve(first.cookieValue), null);
    assert.ok(await domain.sessions.resolve(second.cookieValue));
    // Revoking again is a no-op, not an error, and not a second audit entry.
    await domain.sessions.revoke({ name: user.name, ip: null }, first.id);
    const logouts = await domain.audit.query(domain.db, { action: 'auth.logout', target: `user:${user.name}` });
    assert.equal(logouts.length, 1);
  });

  it('logs a user out everywhere without touching other users', async () => {
    const user = await newUser();
    const other = await newUser();
    const mine = [await domain.sessions.create(systemActor, user, null), await domain.sessions.create(systemActor, user, null)];
    const theirs = await domain.sessions.create(systemActor, other, null);
    for (const s of mine) assert.ok(await domain.sessions.resolve(s.cookieValue));

    assert.equal(await domain.sessions.revokeAll({ name: user.name, ip: null }, user.id), 2);
    for (const s of mine) assert.equal(await domain.sessions.resolve(s.cookieValue), null);
    assert.ok(await domain.sessions.resolve(theirs.cookieValue));

    const logouts = await domain.audit.query(domain.db, { action: 'auth.logout', target: `user:${user.name}` });
    assert.equal(logouts.length, 1);
    assert.equal(logouts[0]!.details.all, true);
    assert.equal(logouts[0]!.details.sessions, 2);
  });

  it('ends the sessions of a disabled user and refuses new ones', async () => {
    const user = await newUser();
    const created = await domain.sessions.create(systemActor, user, null);
    assert.ok(await domain.sessions.resolve(created.cookieValue));
    // Accounts has no disable operation yet: flip the column and announce it as one would.
    await domain.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
    domain.changes.publish('user', user.name);
    assert.equal(await domain.sessions.resolve(created.cookieValue), null);
    await assert.rejects(domain.sessions.create(systemActor, user, null), (e) => isStockadeError(e) && e.code === 'NOT_FOUND');
  });

  it('prunes a user’s expired sessions at the next login', async () => {
    const user = await newUser();
    const old = await domain.sessions.create(systemActor, user, null);
    clock += 13 * HOUR;
    const fresh = await domain.sessions.create(systemActor, user, null);
    const ids = (await domain.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).map((r) => r.id);
    assert.deepEqual(ids, [fresh.id]);
    assert.equal(await domain.sessions.resolve(old.cookieValue), null);
  });
});
