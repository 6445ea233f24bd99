import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import type { MfaUser } from '../../src/domain/mfa.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

const code = (expected: string) => (error: unknown) => isStockadeError(error) && error.code === expected;
const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;

describe('two-factor authentication (TOTP)', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  // A fixed clock, moved by hand: mid-step, so one step back and one ahead are whole steps.
  let clockMs = 1_700_000_015_000;
  const seconds = () => Math.floor(clockMs / 1000);
  const totpAt = (secret: string, offsetSteps = 0) => generate({ secret, epoch: seconds() + offsetSteps * 30 });
  const users: Record<string, MfaUser> = {};

  async function enroll(user: MfaUser): Promise<{ secret: string; recoveryCodes: string[] }> {
    const { secret } = await domain.mfa.startEnrollment(systemActor, user);
    const { recoveryCodes } = await domain.mfa.confirmEnrollment(systemActor, user, await totpAt(secret));
    return { secret, recoveryCodes };
  }

  /** A six-digit code that is none of the codes valid right now. */
  async function wrongCodeFor(secret: string): Promise<string> {
    const valid = new Set([await totpAt(secret, -1), await totpAt(secret), await totpAt(secret, 1)]);
    for (let n = 123456; ; n++) if (!valid.has(String(n))) return String(n);
  }

  before(async () => {
    ({ domain, close } = await openTestDomain({ now: () => clockMs, config: { auth: { totpIssuer: 'Stockade Test' } } }));
    for (const name of ['alice', 'bob', 'carol', 'dave', 'mallory', 'erin']) {
      const user = await domain.accounts.createUser(systemActor, { name, password: 'correct-horse-battery' });
      users[name] = { id: user.id, name };
    }
  });
  after(() => close());

  it('enrolls with a QR code and confirms with the first code from the authenticator', async () => {
    const alice = users.alice!;
    assert.deepEqual(await domain.mfa.status(alice.id), { enabled: false, pending: false, confirmedAt: null, recoveryCodesLeft: 0 });
    const started = await domain.mfa.startEnrollment(systemActor, alice);
    assert.match(started.secret, /^[A-Z2-7]{32}$/, '20 bytes in base32');
    assert.equal(
      started.uri,
      `otpauth://totp/Stockade%20Test:alice?secret=${started.secret}&issuer=Stockade%20Test&algorithm=SHA1&digits=6&period=30`,
    );
    assert.match(started.qrSvg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.equal((await domain.mfa.status(alice.id)).pending, true);
    assert.equal(await domain.mfa.isEnabled(alice.id), false, 'a pending enrollment does not count');

    const { recoveryCodes } = await domain.mfa.confirmEnrollment(systemActor, alice, await totpAt(started.secret));
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const recovery of recoveryCodes) assert.match(recovery, RECOVERY_CODE);

    const status = await domain.mfa.status(alice.id);
    assert.equal(status.enabled, true);
    assert.equal(status.pending, false);
    assert.equal(status.confirmedAt, new Date(clockMs).toISOString());
    assert.equal(status.recoveryCodesLeft, 10);
    assert.equal(await domain.mfa.isEnabled(alice.id), true);
    assert.equal(domain.mfa.peekEnabled(alice.id), true);
    const audited = await domain.audit.query(domain.db, { action: 'mfa.enroll', target: 'user:alice' });
    assert.equal(audited.length, 1);
  });

  it('stores the secret sealed, never in base32', async () => {
    const dave = users.dave!;
    const { secret } = await domain.mfa.startEnrollment(systemActor, dave);
    const row = await domain.db.selectFrom('totp_credentials').select('secret_sealed').where('user_id', '=', dave.id).executeTakeFirstOrThrow();
    assert.notEqual(row.secret_sealed, secret);
    assert.ok(!row.secret_sealed.includes(secret));
    assert.match(row.secret_sealed, /^v1\./);
    const hashes = await domain.db.selectFrom('recovery_codes').select('code_hash').execute();
    assert.ok(hashes.every((h) => /^[0-9a-f]{64}$/.test(h.code_hash)), 'recovery codes are stored as hashes');
  });

  it('replaces an unconfirmed enrollment and refuses a second one once confirmed', async () => {
    const dave = users.dave!;
    const first = await domain.mfa.startEnrollment(systemActor, dave);
    const second = await domain.mfa.startEnrollment(systemActor, dave);
    assert.notEqual(first.secret, second.secret);
    const firstCode = await totpAt(first.secret);
    if (firstCode !== (await totpAt(second.secret))) {
      await assert.rejects(domain.mfa.confirmEnrollment(systemActor, dave, firstCode), code('INVALID_OTP'));
    }
    await domain.mfa.confirmEnrollment(systemActor, dave, await totpAt(second.secret));
    await assert.rejects(domain.mfa.startEnrollment(systemActor, dave), code('MFA_ALREADY_ENABLED'));
    await assert.rejects(domain.mfa.confirmEnrollment(systemActor, dave, await totpAt(second.secret)), code('MFA_ALREADY_ENABLED'));
  });

  describe('verify', () => {
    let secret: string;
    let recoveryCodes: string[];

    before(async () => {
      ({ secret, recoveryCodes } = await enroll(users.bob!));
    });

    it('accepts a code once; only the credential that presented it may present it again', async () => {
      const bob = users.bob!;
      clockMs += 30_000;
      const totp = await totpAt(secret);
      await domain.mfa.verify(systemActor, bob, totp, null, 'token:1');
      await assert.rejects(domain.mfa.verify(systemActor, bob, totp, null, null), code('INVALID_OTP'));
      await domain.mfa.verify(systemActor, bob, totp, null, 'token:1');
      await assert.rejects(domain.mfa.verify(systemActor, bob, totp, null, 'token:2'), code('INVALID_OTP'));
    });

    it('refuses a code again without a binding, even the first time it was accepted without one', async () => {
      const bob = users.bob!;
      clockMs += 30_000;
      const totp = await totpAt(secret);
      await domain.mfa.verify(systemActor, bob, totp, null, null);
      await assert.rejects(domain.mfa.verify(systemActor, bob, totp, null, null), code('INVALID_OTP'));
    });

    it('accepts one step of clock drift either way, not two, and never a step older than the last', async () => {
      const bob = users.bob!;
      clockMs += 90_000;
      await domain.mfa.verify(systemActor, bob, await totpAt(secret, -1), null, null);
      clockMs += 90_000;
      const twoBack = await totpAt(secret, -2);
      const oneBack = await totpAt(secret, -1);
      const current = await totpAt(secret);
      if (twoBack !== oneBack && twoBack !== current && twoBack !== (await totpAt(secret, 1))) {
        await assert.rejects(domain.mfa.verify(systemActor, bob, twoBack, null, null), code('INVALID_OTP'));
      }
      await domain.mfa.verify(systemActor, bob, await totpAt(secret, 1), null, null);
      // The step ahead was accepted: the current and previous steps are now in the past.
      if (oneBack !== (await totpAt(secret, 1))) await assert.rejects(domain.mfa.verify(systemActor, bob, oneBack, null, null), code('INVALID_OTP'));
      if (current !== (await totpAt(secret, 1))) await assert.rejects(domain.mfa.verify(systemActor, bob, current, null, null), code('INVALID_OTP'));
    });

    it('accepts each recovery code once, however it is typed', async () => {
      const bob = users.bob!;
      const [first, second] = recoveryCodes as [string, string];
      await domain.mfa.verify(systemActor, bob, first, '192.0.2.1', null);
      await assert.rejects(domain.mfa.verify(systemActor, bob, first, null, null), code('INVALID_OTP'));
      await domain.mfa.verify(systemActor, bob, ` ${second.replaceAll('-', '').toUpperCase()} `, null, null);
      assert.equal((await domain.mfa.status(bob.id)).recoveryCodesLeft, 8);
      const used = await domain.audit.query(domain.db, { action: 'mfa.recovery-code.used', target: 'user:bob' });
      assert.equal(used.length, 2);
      assert.equal(used[0]?.actor_ip, null);
    });

    it('regenerates recovery codes, and the old ones stop working', async () => {
      const bob = users.bob!;
      // Two steps on: the drift test above used the step ahead of its time.
      clockMs += 60_000;
      const { recoveryCodes: fresh } = await domain.mfa.regenerateRecoveryCodes(systemActor, bob, await totpAt(secret));
      assert.equal(fresh.length, 10);
      assert.equal((await domain.mfa.status(bob.id)).recoveryCodesLeft, 10);
      await assert.rejects(domain.mfa.verify(systemActor, bob, recoveryCodes[5]!, null, null), code('INVALID_OTP'));
      await domain.mfa.verify(systemActor, bob, fresh[0]!, null, null);
      recoveryCodes = fresh.slice(1);
    });

    it('answers MFA_NOT_ENABLED for a user without a confirmed authenticator', async () => {
      await assert.rejects(domain.mfa.verify(systemActor, users.erin!, '123456', null, null), code('MFA_NOT_ENABLED'));
      await domain.mfa.startEnrollment(systemActor, users.erin!);
      await assert.rejects(domain.mfa.verify(systemActor, users.erin!, '123456', null, null), code('MFA_NOT_ENABLED'));
    });
  });

  it('locks the account out after too many wrong codes, audited, and refuses even a right code meanwhile', async () => {
    const mallory = users.mallory!;
    const { secret } = await enroll(mallory);
    clockMs += 30_000;
    const wrong = await wrongCodeFor(secret);
    // The default threshold is 5 failures: each one is refused as a wrong code.
    for (let i = 0; i < 5; i++) await assert.rejects(domain.mfa.verify(systemActor, mallory, wrong, '198.51.100.7', null), code('INVALID_OTP'));
    await assert.rejects(domain.mfa.verify(systemActor, mallory, await totpAt(secret), '198.51.100.7', null), (error: unknown) => {
      assert.ok(isStockadeError(error) && error.code === 'TOO_MANY_ATTEMPTS', String(error));
      assert.equal(typeof error.details?.retryAfterSeconds, 'number');
      assert.ok((error.details?.retryAfterSeconds as number) > 0);
      return true;
    });
    const failures = await domain.audit.query(domain.db, { action: 'auth.failed', target: 'user:mallory' });
    assert.equal(failures.length, 5);
    assert.equal(failures[0]?.details.kind, 'otp');
    assert.equal((await domain.audit.query(domain.db, { action: 'auth.lockout', target: 'user:mallory' })).length, 1);

    // The lockout ends by itself; then the right code is accepted again.
    clockMs += 3_600_000;
    await domain.mfa.verify(systemActor, mallory, await totpAt(secret), null, null);
  });

  it('disables only with a valid code', async () => {
    const carol = users.carol!;
    const { secret } = await enroll(carol);
    clockMs += 30_000;
    await assert.rejects(domain.mfa.disable(systemActor, carol, await wrongCodeFor(secret)), code('INVALID_OTP'));
    assert.equal(await domain.mfa.isEnabled(carol.id), true);
    await domain.mfa.disable(systemActor, carol, await totpAt(secret));
    assert.equal(await domain.mfa.isEnabled(carol.id), false);
    assert.deepEqual(await domain.mfa.status(carol.id), { enabled: false, pending: false, confirmedAt: null, recoveryCodesLeft: 0 });
    assert.equal((await domain.db.selectFrom('recovery_codes').select('id').where('user_id', '=', carol.id).execute()).length, 0);
    await assert.rejects(domain.mfa.disable(systemActor, carol, await totpAt(secret)), code('MFA_NOT_ENABLED'));
    assert.equal((await domain.audit.query(domain.db, { action: 'mfa.disable', target: 'user:carol' })).length, 1);
  });

  it('lets an admin reset a lost authenticator without a code', async () => {
    const carol = users.carol!;
    await enroll(carol);
    assert.equal(await domain.mfa.isEnabled(carol.id), true);
    await domain.mfa.reset(systemActor, 'carol');
    assert.equal(await domain.mfa.isEnabled(carol.id), false);
    await assert.rejects(domain.mfa.reset(systemActor, 'carol'), code('MFA_NOT_ENABLED'));
    await assert.rejects(domain.mfa.reset(systemActor, 'nobody'), code('NOT_FOUND'));
    assert.equal((await domain.audit.query(domain.db, { action: 'mfa.reset', target: 'user:carol' })).length, 1);
  });

  it('keeps an owner requirement and lists the members who do not meet it', async () => {
    // alice: enrolled; bob: enrolled; carol: none (reset above); erin: pending only.
    const org = await domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: users.alice!.id });
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'bob', role: 'write' });
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'carol', role: 'read' });
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'erin', role: 'write' });

    assert.equal(await domain.mfa.ownerRequires(org.id), false);
    assert.equal(domain.mfa.peekOwnerRequires(org.id), false);
    await domain.mfa.setOwnerRequirement(systemActor, 'acme', true);
    assert.equal(domain.mfa.peekOwnerRequires(org.id), undefined, 'the change dropped the cached answer');
    assert.equal(await domain.mfa.ownerRequires(org.id), true);
    assert.equal(await domain.mfa.getOwnerRequirement('acme'), true);
    assert.deepEqual(await domain.mfa.nonCompliant('acme'), [
      { user: 'carol', role: 'read' },
      { user: 'erin', role: 'write' },
    ]);
    const audited = await domain.audit.query(domain.db, { action: 'owner.mfa', target: 'owner:acme' });
    assert.deepEqual(audited.map((entry) => entry.details.required), [true]);

    await domain.mfa.setOwnerRequirement(systemActor, 'acme', false);
    assert.equal(await domain.mfa.ownerRequires(org.id), false);
    await assert.rejects(domain.mfa.setOwnerRequirement(systemActor, 'no-such-org', true), code('NOT_FOUND'));
    await assert.rejects(domain.mfa.nonCompliant('no-such-org'), code('NOT_FOUND'));
  });
});
