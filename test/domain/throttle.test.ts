import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Actor, systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import type { Attempt } from '../../src/domain/throttle.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

const THRESHOLD = 3;
const BASE = 10;
const MAX = 100;
const START = Date.parse('2026-01-01T00:00:00Z');

const code = (expected: string) => (error: unknown) => isStockadeError(error) && error.code === expected;

/** The seconds `check` asks to wait, or null when it lets the attempt through. */
async function retryAfter(domain: Domain, attempt: Attempt): Promise<number | null> {
  try {
    await domain.throttle.check(attempt);
    return null;
  } catch (error) {
    if (!isStockadeError(error) || error.code !== 'TOO_MANY_ATTEMPTS') throw error;
    return error.details?.retryAfterSeconds as number;
  }
}

describe('lockout throttle', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  // A fake clock: every lockout is measured against it, never against real time.
  let t = START;
  const actor: Actor = { name: 'tester', ip: '203.0.113.9' };
  let n = 0;
  /** A password attempt on an account nobody has used yet, so tests do not share counts. */
  const fresh = (ip: string | null = null): Attempt => ({ kind: 'password', user: `account-${++n}`, ip });

  before(async () => {
    ({ domain, close } = await openTestDomain({
      now: () => t,
      config: { auth: { lockout: { threshold: THRESHOLD, baseDelaySeconds: BASE, maxDelaySeconds: MAX } } },
    }));
  });
  after(() => close());
  beforeEach(() => {
    t = START;
  });

  it('locks at the threshold, for a delay that doubles with every further failure up to the maximum', async () => {
    const attempt = fresh();
    for (let i = 1; i < THRESHOLD; i++) {
      await domain.throttle.fail(actor, attempt);
      assert.equal(await retryAfter(domain, attempt), null, `no lock after ${i} failure(s)`);
    }
    // Failure n >= threshold locks for min(max, base * 2^(n - threshold)) seconds: 10, 20, 40, 80, 100, 100.
    const expected = [10, 20, 40, 80, 100, 100];
    for (const [i, seconds] of expected.entries()) {
      await domain.throttle.fail(actor, attempt);
      assert.equal(await retryAfter(domain, attempt), seconds, `failure ${THRESHOLD + i}`);
      // The remaining time counts down and is rounded up to whole seconds.
      t += 1500;
      assert.equal(await retryAfter(domain, attempt), seconds - 1);
      t += (seconds - 2) * 1000;
      assert.equal(await retryAfter(domain, attempt), 1, 'half a second left is still one second');
      t += 500;
      assert.equal(await retryAfter(domain, attempt), null, `the lock of ${seconds} s ended by itself`);
    }
  });

  it('refuses with TOO_MANY_ATTEMPTS and the wait in the details', async () => {
    const attempt = fresh();
    for (let i = 0; i < THRESHOLD; i++) await domain.throttle.fail(actor, attempt);
    await assert.rejects(domain.throttle.check(attempt), (error: unknown) => {
      assert.ok(isStockadeError(error));
      assert.equal(error.code, 'TOO_MANY_ATTEMPTS');
      assert.equal(error.status, 429);
      assert.deepEqual(error.details, { retryAfterSeconds: BASE });
      assert.equal(error.message, `too many failed attempts: try again in ${BASE} seconds`);
      return true;
    });
  });

  it('always ends a lockout by itself, however many failures', async () => {
    const attempt = fresh();
    for (let i = 0; i < 60; i++) await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, attempt), MAX);
    t += MAX * 1000;
    assert.equal(await retryAfter(domain, attempt), null);
    const [row] = (await domain.throttle.locked()).filter((r) => r.key === `password:user:${attempt.user}`);
    assert.equal(row, undefined, 'no longer listed as locked');
  });

  it('lists locked keys with their counts', async () => {
    const attempt = fresh();
    for (let i = 0; i < THRESHOLD; i++) await domain.throttle.fail(actor, attempt);
    const rows = (await domain.throttle.locked()).filter((r) => r.key === `password:user:${attempt.user}`);
    assert.deepEqual(rows, [{ key: `password:user:${attempt.user}`, failures: THRESHOLD, lockedUntil: new Date(START + BASE * 1000).toISOString() }]);
  });

  it('forgets failures older than 24 hours: the count restarts at 1', async () => {
    const attempt = fresh();
    for (let i = 0; i < THRESHOLD - 1; i++) await domain.throttle.fail(actor, attempt);
    t += 24 * 3_600_000 + 1000;
    // Were the old failures still counted, this one would reach the threshold and lock.
    await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, attempt), null);
    for (let i = 1; i < THRESHOLD - 1; i++) await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, attempt), null, `${THRESHOLD - 1} recent failures`);
    await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, attempt), BASE, 'the threshold counts from the restart');

    // Exactly 24 hours is not yet older than 24 hours.
    const other = fresh();
    for (let i = 0; i < THRESHOLD - 1; i++) await domain.throttle.fail(actor, other);
    t += 24 * 3_600_000;
    await domain.throttle.fail(actor, other);
    assert.equal(await retryAfter(domain, other), BASE);
  });

  it('counts every one of many concurrent failures', async () => {
    const attempt = fresh();
    await Promise.all(Array.from({ length: 10 }, () => domain.throttle.fail(actor, attempt)));
    const rows = (await domain.throttle.locked()).filter((r) => r.key === `password:user:${attempt.user}`);
    assert.equal(rows[0]?.failures, 10);
    assert.notEqual(await retryAfter(domain, attempt), null);
    // The next failure is number 11, so its delay is the one for 11 failures: min(100, 10 * 2^8).
    await domain.throttle.fail(actor, attempt);
    assert.equal((await domain.throttle.locked()).find((r) => r.key === `password:user:${attempt.user}`)?.failures, 11);
    assert.equal(await retryAfter(domain, attempt), MAX);
  });

  // On PostgreSQL the parallel failures set locked_until in whatever order their transactions
  // commit: a lock must only ever be lengthened, or failure 3's 10 s would overwrite failure 10's 100 s.
  it(
    'a burst of concurrent failures locks for the delay its count calls for',
    async () => {
      // Several bursts, so an out-of-order commit is very likely to show on at least one.
      for (let burst = 0; burst < 5; burst++) {
        const attempt = fresh();
        await Promise.all(Array.from({ length: 10 }, () => domain.throttle.fail(actor, attempt)));
        // 10 failures: min(100, 10 * 2^(10 - 3)) = 100 seconds.
        assert.equal(await retryAfter(domain, attempt), MAX, `burst ${burst}`);
      }
    },
  );

  it('a correct secret clears the account count but not the address count', async () => {
    const ip = '198.51.100.1';
    const attempt = fresh(ip);
    for (let i = 0; i < THRESHOLD - 1; i++) await domain.throttle.fail(actor, attempt);
    await domain.throttle.succeed(attempt);
    // The account starts over: threshold - 1 more failures do not lock it.
    for (let i = 0; i < THRESHOLD - 1; i++) await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, { ...attempt, ip: null }), null);
    // The address kept all 2 * (threshold - 1) failures.
    const addressKey = `password:ip:${ip}`;
    const before = await domain.db.selectFrom('auth_throttle').select('failures').where('key', '=', addressKey).executeTakeFirstOrThrow();
    assert.equal(Number(before.failures), 2 * (THRESHOLD - 1));
    const userRow = await domain.db.selectFrom('auth_throttle').select('failures').where('key', '=', `password:user:${attempt.user}`).executeTakeFirstOrThrow();
    assert.equal(Number(userRow.failures), THRESHOLD - 1);
  });

  it('locks an address that spreads guesses over many accounts, at 4 times the account threshold', async () => {
    const ip = '198.51.100.2';
    const addressThreshold = 4 * THRESHOLD;
    // One failure per account: no account ever reaches its own threshold.
    for (let i = 1; i < addressThreshold; i++) {
      const attempt = fresh(ip);
      await domain.throttle.fail(actor, attempt);
      assert.equal(await retryAfter(domain, attempt), null, `address failure ${i}`);
    }
    await domain.throttle.fail(actor, fresh(ip));
    // Any account, even one never guessed at, is refused from that address; other addresses are not.
    assert.equal(await retryAfter(domain, fresh(ip)), BASE);
    assert.equal(await retryAfter(domain, fresh('198.51.100.3')), null);
    assert.equal(await retryAfter(domain, fresh(null)), null);
    await domain.throttle.fail(actor, fresh(ip));
    assert.equal(await retryAfter(domain, fresh(ip)), 2 * BASE, 'the address delay doubles too');
    const entries = await domain.audit.query(domain.db, { action: 'auth.lockout', target: `address:${ip}` });
    assert.deepEqual(
      entries.map((e) => e.details.failures),
      [addressThreshold, addressThreshold + 1],
    );
  });

  it('keeps password and one-time password counts apart', async () => {
    const attempt = fresh();
    for (let i = 0; i < THRESHOLD; i++) await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, attempt), BASE);
    assert.equal(await retryAfter(domain, { ...attempt, kind: 'otp' }), null);
  });

  it('unlock clears the account, says whether there was anything to clear, and is audited', async () => {
    const attempt = fresh();
    for (let i = 0; i < THRESHOLD + 2; i++) await domain.throttle.fail(actor, attempt);
    await domain.throttle.fail(actor, { ...attempt, kind: 'otp' });
    assert.equal(await retryAfter(domain, attempt), 4 * BASE);
    assert.equal(await domain.throttle.unlock(systemActor, attempt.user), true);
    assert.equal(await retryAfter(domain, attempt), null);
    const left = await domain.db.selectFrom('auth_throttle').select('key').where('key', 'like', `%:user:${attempt.user}`).execute();
    assert.deepEqual(left, [], 'both the password and the one-time password counts are gone');
    // The count starts over: the next failure is number 1.
    await domain.throttle.fail(actor, attempt);
    assert.equal(await retryAfter(domain, attempt), null);

    assert.equal(await domain.throttle.unlock(systemActor, 'never-failed'), false);
    const entries = await domain.audit.query(domain.db, { action: 'user.unlock' });
    const mine = entries.filter((e) => e.target === `user:${attempt.user}` || e.target === 'user:never-failed');
    assert.deepEqual(
      mine.map((e) => [e.actor, e.target, e.details]),
      [
        ['system', `user:${attempt.user}`, { cleared: true }],
        ['system', 'user:never-failed', { cleared: false }],
      ],
    );
  });

  it('records every lockout in the audit log', async () => {
    const attempt = fresh('192.0.2.44');
    for (let i = 0; i < THRESHOLD + 1; i++) await domain.throttle.fail(actor, attempt);
    const entries = await domain.audit.query(domain.db, { action: 'auth.lockout', target: `user:${attempt.user}` });
    assert.deepEqual(
      entries.map((e) => [e.actor, e.actor_ip, e.details]),
      [
        [actor.name, actor.ip, { kind: 'password', failures: THRESHOLD, lockedUntil: new Date(START + BASE * 1000).toISOString() }],
        [actor.name, actor.ip, { kind: 'password', failures: THRESHOLD + 1, lockedUntil: new Date(START + 2 * BASE * 1000).toISOString() }],
      ],
    );
  });

  describe('through authenticate', () => {
    const password = 'correct-horse-battery';

    it('locks out an account after wrong passwords, even for the right one, until the delay passes', async () => {
      await domain.accounts.createUser(systemActor, { name: 'victim', password });
      const from = { ip: '203.0.113.50' };
      for (let i = 0; i < THRESHOLD; i++) {
        await assert.rejects(domain.accounts.authenticate('victim', 'wrong-password-here', from), code('INVALID_CREDENTIALS'));
      }
      // Locked: the right password is not even checked.
      await assert.rejects(domain.accounts.authenticate('victim', password, from), (error: unknown) => {
        assert.ok(isStockadeError(error));
        assert.equal(error.code, 'TOO_MANY_ATTEMPTS');
        assert.deepEqual(error.details, { retryAfterSeconds: BASE });
        return true;
      });
      // From another address too: the account itself is locked.
      await assert.rejects(domain.accounts.authenticate('victim', password, { ip: '203.0.113.51' }), code('TOO_MANY_ATTEMPTS'));
      t += BASE * 1000;
      assert.equal((await domain.accounts.authenticate('victim', password, from)).name, 'victim');
      // The success cleared the account count: threshold - 1 more wrong passwords do not lock it.
      for (let i = 0; i < THRESHOLD - 1; i++) {
        await assert.rejects(domain.accounts.authenticate('victim', 'wrong-password-here', from), code('INVALID_CREDENTIALS'));
      }
      assert.equal((await domain.accounts.authenticate('victim', password, from)).name, 'victim');

      const failed = await domain.audit.query(domain.db, { action: 'auth.failed', target: 'user:victim' });
      assert.equal(failed.length, 2 * THRESHOLD - 1, 'refusals while locked are not counted as failures');
      for (const entry of failed) {
        assert.equal(entry.actor, 'victim');
        assert.equal(entry.actor_ip, from.ip);
        assert.deepEqual(entry.details, { kind: 'password', reason: 'wrong password' });
      }
      const lockouts = await domain.audit.query(domain.db, { action: 'auth.lockout', target: 'user:victim' });
      assert.equal(lockouts.length, 1);
    });

    it('counts unknown users as failures too', async () => {
      for (let i = 0; i < THRESHOLD; i++) {
        await assert.rejects(domain.accounts.authenticate('no-such-user', password), code('INVALID_CREDENTIALS'));
      }
      await assert.rejects(domain.accounts.authenticate('no-such-user', password), code('TOO_MANY_ATTEMPTS'));
      const failed = await domain.audit.query(domain.db, { action: 'auth.failed', target: 'user:no-such-user' });
      assert.deepEqual(
        failed.map((e) => e.details),
        Array.from({ length: THRESHOLD }, () => ({ kind: 'password', reason: 'unknown user' })),
      );
    });
  });
});
