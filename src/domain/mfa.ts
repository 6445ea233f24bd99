import { hash, randomInt } from 'node:crypto';
import { generateSecret, verify as verifyTotp } from 'otplib';
import QRCode from 'qrcode';
import type { Db, Tx } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import type { Role } from './accounts.js';
import type { SecretBox } from './secret-box.js';
import type { Attempt, Throttle } from './throttle.js';

/** The user a second factor belongs to; the name keys the throttle and the authenticator label. */
export interface MfaUser {
  id: number;
  name: string;
}

export interface MfaStatus {
  enabled: boolean;
  /** An enrollment was started and waits for its first code. */
  pending: boolean;
  confirmedAt: string | null;
  recoveryCodesLeft: number;
}

export interface Enrollment {
  /** Base32, for typing into an authenticator by hand. */
  secret: string;
  /** The otpauth:// URI the QR code encodes. */
  uri: string;
  qrSvg: string;
}

export interface MfaOptions {
  issuer: string;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

const PERIOD_SECONDS = 30;
const DIGITS = 6;
// 20 bytes = 160 bits, the key size RFC 4226 recommends for HMAC-SHA1.
const SECRET_BYTES = 20;
const RECOVERY_CODE_COUNT = 10;
// Crockford's base32 alphabet: no i, l, o, u, so codes read aloud or copied by hand stay unambiguous.
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
// 3 groups of 4 characters of 5 bits each: 60 bits of entropy per code.
const RECOVERY_GROUPS = 3;
const RECOVERY_GROUP_LENGTH = 4;
const TOTP_CODE = /^\d{6}$/;

function generateRecoveryCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < RECOVERY_GROUPS; g++) {
    let group = '';
    for (let i = 0; i < RECOVERY_GROUP_LENGTH; i++) group += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** Accepts a recovery code however it was typed: any case, with or without dashes and spaces. */
function normalizeRecoveryCode(input: string): string | null {
  const compact = input.toLowerCase().replace(/[\s-]/g, '');
  if (compact.length !== RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH) return null;
  for (const ch of compact) if (!RECOVERY_ALPHABET.includes(ch)) return null;
  return compact;
}

/**
 * sha256, not scrypt: a recovery code carries 60 random bits, so even a fast hash leaves an
 * attacker with a stolen database ~2^59 guesses per code, and verifying costs no CPU time a
 * guesser could use to slow the server down. The user id salts the hash so one table of
 * precomputed hashes cannot serve every user.
 */
function hashRecoveryCode(userId: number, normalized: string): string {
  return hash('sha256', `stockade-recovery:${userId}:${normalized}`, 'hex');
}

function totpUri(issuer: string, account: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = `secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${DIGITS}&period=${PERIOD_SECONDS}`;
  return `otpauth://totp/${label}?${query}`;
}

/**
 * TOTP second factor (RFC 6238) and the owners' requirement of it. The secret is sealed with the
 * server key; every accepted code moves `last_step` forward in one conditional update, so a code
 * is good once across every node, except for the credential that presented it (one npm command
 * sends several requests with the same --otp).
 */
export function createMfa(deps: { db: Db; audit: AuditLog; changes: ChangeBus; box: SecretBox; throttle: Throttle }, options: MfaOptions) {
  const { db, audit, changes, box, throttle } = deps;
  const now = options.now ?? Date.now;
  const enabledCache = new TtlCache<boolean>({ ttlMs: 30_000, max: 100_000 });
  const ownerCache = new TtlCache<boolean>({ ttlMs: 30_000, max: 100_000 });
  changes.subscribe((topic) => {
    // Changes are rare (enrollments, policy switches): dropping both caches keeps this simple.
    if (topic === 'mfa') {
      enabledCache.clear();
      ownerCache.clear();
    }
  });

  const isoNow = () => new Date(now()).toISOString();
  const purposeOf = (userId: number) => `totp:${userId}`;

  async function credentialOf(userId: number) {
    return db.selectFrom('totp_credentials').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async function insertRecoveryCodes(tx: Tx, userId: number): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(generateRecoveryCode());
    const at = isoNow();
    await tx
      .insertInto('recovery_codes')
      .values([...codes].map((code) => ({ user_id: userId, code_hash: hashRecoveryCode(userId, normalizeRecoveryCode(code) as string), used_at: null, created_at: at })))
      .execute();
    return [...codes];
  }

  /** The time step a TOTP code belongs to (current, one back or one ahead), or null when it matches none. */
  async function totpStep(secret: string, code: string): Promise<number | null> {
    if (!TOTP_CODE.test(code)) return null;
    const result = await verifyTotp({ secret, token: code, epoch: Math.floor(now() / 1000), epochTolerance: PERIOD_SECONDS, period: PERIOD_SECONDS, digits: DIGITS });
    // The functional API types the answer for HOTP as well; a TOTP match always carries its step.
    return result.valid && 'timeStep' in result && typeof result.timeStep === 'number' ? result.timeStep : null;
  }

  async function rejectCode(actor: Actor, attempt: Attempt, reason: string): Promise<never> {
    await throttle.fail(actor, attempt);
    await db.transaction().execute((tx) => audit.record(tx, actor, { action: 'auth.failed', target: `user:${attempt.user}`, details: { kind: 'otp', reason } }));
    throw new StockadeError('INVALID_OTP');
  }

  async function status(userId: number): Promise<MfaStatus> {
    const row = await credentialOf(userId);
    const left = await db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    const enabled = Boolean(row?.confirmed_at);
    return { enabled, pending: Boolean(row) && !enabled, confirmedAt: row?.confirmed_at ?? null, recoveryCodesLeft: enabled ? Number(left.n) : 0 };
  }

  /** Whether the user has a confirmed second factor, cached per node. */
  async function isEnabled(userId: number): Promise<boolean> {
    const cached = enabledCache.get(String(userId));
    if (cached !== undefined) return cached;
    const row = await db.selectFrom('totp_credentials').select('confirmed_at').where('user_id', '=', userId).executeTakeFirst();
    const enabled = Boolean(row?.confirmed_at);
    enabledCache.set(String(userId), enabled);
    return enabled;
  }

  /** The cached answer of isEnabled, or undefined when it would take a query. */
  function peekEnabled(userId: number): boolean | undefined {
    return enabledCache.get(String(userId));
  }

  async function startEnrollment(actor: Actor, user: MfaUser): Promise<Enrollment> {
    const secret = generateSecret({ length: SECRET_BYTES });
    const sealed = box.seal(secret, purposeOf(user.id));
    await db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('totp_credentials').select('confirmed_at').where('user_id', '=', user.id).executeTakeFirst();
      if (existing?.confirmed_at) throw new StockadeError('MFA_ALREADY_ENABLED', [user.name]);
      // A started but unconfirmed enrollment is replaced: the user may have lost that QR code.
      await tx.deleteFrom('totp_credentials').where('user_id', '=', user.id).execute();
      await tx.insertInto('totp_credentials').values({ user_id: user.id, secret_sealed: sealed, confirmed_at: null, last_step: 0, last_binding: null, created_at: isoNow() }).execute();
      await audit.record(tx, actor, { action: 'mfa.enroll.start', target: `user:${user.name}` });
    });
    changes.publish('mfa', String(user.id));
    const uri = totpUri(options.issuer, user.name, secret);
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret, uri, qrSvg };
  }

  /** The first valid code proves the authenticator works and turns the second factor on. */
  async function confirmEnrollment(actor: Actor, user: MfaUser, code: string): Promise<{ recoveryCodes: string[] }> {
    const attempt: Attempt = { kind: 'otp', user: user.name, ip: actor.ip };
    await throttle.check(attempt);
    const row = await credentialOf(user.id);
    if (!row) throw new StockadeError('MFA_NOT_ENABLED', [user.name]);
    if (row.confirmed_at) throw new StockadeError('MFA_ALREADY_ENABLED', [user.name]);
    const step = await totpStep(box.open(row.secret_sealed, purposeOf(user.id)), code.trim());
    if (step === null) return rejectCode(actor, attempt, 'wrong enrollment code');
    const recoveryCodes = await db.transaction().execute(async (tx) => {
      const result = await tx
        .updateTable('totp_credentials')
        .set({ confirmed_at: isoNow(), last_step: step, last_binding: null })
        .where('user_id', '=', user.id)
        .where('confirmed_at', 'is', null)
        // The enrollment confirmed must be the one whose secret checked the code, not a newer one.
        .where('secret_sealed', '=', row.secret_sealed)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new StockadeError('CONFLICT', ['the enrollment changed meanwhile: start it again']);
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      const codes = await insertRecoveryCodes(tx, user.id);
      await audit.record(tx, actor, { action: 'mfa.enroll', target: `user:${user.name}` });
      return codes;
    });
    await throttle.succeed(attempt);
    changes.publish('mfa', String(user.id));
    return { recoveryCodes };
  }

  /**
   * Checks a fresh second factor: a TOTP code (current step, one back or one ahead) or an unused
   * recovery code. Throws INVALID_OTP when it is wrong or already used, TOO_MANY_ATTEMPTS while
   * locked out, MFA_NOT_ENABLED when the user has no confirmed authenticator. `binding` names the
   * credential presenting the code (e.g. `token:12`): it may present the code of the last accepted
   * step again, nobody else may.
   */
  async function verify(actor: Actor, user: MfaUser, code: string, ip: string | null, binding: string | null): Promise<void> {
    const attempt: Attempt = { kind: 'otp', user: user.name, ip };
    await throttle.check(attempt);
    const row = await credentialOf(user.id);
    if (!row?.confirmed_at) throw new StockadeError('MFA_NOT_ENABLED', [user.name]);
    const input = code.trim();

    if (TOTP_CODE.test(input)) {
      const step = await totpStep(box.open(row.secret_sealed, purposeOf(user.id)), input);
      if (step === null) return rejectCode(actor, attempt, 'wrong code');
      // Conditional on last_step < step: of two nodes racing with the same code, one updates a row.
      const result = await db
        .updateTable('totp_credentials')
        .set({ last_step: step, last_binding: binding })
        .where('user_id', '=', user.id)
        .where('last_step', '<', step)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) return throttle.succeed(attempt);
      if (binding !== null) {
        const reuse = await db
          .selectFrom('totp_credentials')
          .select('user_id')
          .where('user_id', '=', user.id)
          .where('last_step', '=', step)
          .where('last_binding', '=', binding)
          .executeTakeFirst();
        if (reuse) return throttle.succeed(attempt);
      }
      return rejectCode(actor, attempt, 'code already used');
    }

    const normalized = normalizeRecoveryCode(input);
    if (normalized === null) return rejectCode(actor, attempt, 'malformed code');
    const used = await db.transaction().execute(async (tx) => {
      const result = await tx
        .updateTable('recovery_codes')
        .set({ used_at: isoNow() })
        .where('user_id', '=', user.id)
        .where('code_hash', '=', hashRecoveryCode(user.id, normalized))
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      const left = await tx
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', user.id)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      await audit.record(tx, actor, { action: 'mfa.recovery-code.used', target: `user:${user.name}`, details: { left: Number(left.n) } });
      return true;
    });
    if (!used) return rejectCode(actor, attempt, 'wrong or used recovery code');
    await throttle.succeed(attempt);
    changes.publish('mfa', String(user.id));
  }

  async function removeCredential(tx: Tx, userId: number): Promise<boolean> {
    const result = await tx.deleteFrom('totp_credentials').where('user_id', '=', userId).executeTakeFirst();
    await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    return Number(result.numDeletedRows) > 0;
  }

  /** The user turns the second factor off, proving it one last time. */
  async function disable(actor: Actor, user: MfaUser, code: string): Promise<void> {
    await verify(actor, user, code, actor.ip, null);
    await db.transaction().execute(async (tx) => {
      await removeCredential(tx, user.id);
      await audit.record(tx, actor, { action: 'mfa.disable', target: `user:${user.name}` });
    });
    changes.publish('mfa', String(user.id));
  }

  /** A site admin removes a user's second factor without a code (lost device). */
  async function reset(actor: Actor, userName: string): Promise<void> {
    const user = await db.selectFrom('users').select('id').where('name', '=', userName).executeTakeFirst();
    if (!user) throw new StockadeError('NOT_FOUND', [`user ${userName}`]);
    await db.transaction().execute(async (tx) => {
      if (!(await removeCredential(tx, user.id))) throw new StockadeError('MFA_NOT_ENABLED', [userName]);
      await audit.record(tx, actor, { action: 'mfa.reset', target: `user:${userName}` });
    });
    changes.publish('mfa', String(user.id));
  }

  /** Replaces every recovery code, used or not, with 10 new ones. */
  async function regenerateRecoveryCodes(actor: Actor, user: MfaUser, code: string): Promise<{ recoveryCodes: string[] }> {
    await verify(actor, user, code, actor.ip, null);
    const recoveryCodes = await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      const codes = await insertRecoveryCodes(tx, user.id);
      await audit.record(tx, actor, { action: 'mfa.recovery-codes', target: `user:${user.name}` });
      return codes;
    });
    changes.publish('mfa', String(user.id));
    return { recoveryCodes };
  }

  async function setOwnerRequirement(actor: Actor, ownerName: string, required: boolean): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const result = await tx.updateTable('owners').set({ mfa_required: required ? 1 : 0 }).where('name', '=', ownerName).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new StockadeError('NOT_FOUND', [`owner ${ownerName}`]);
      await audit.record(tx, actor, { action: 'owner.mfa', target: `owner:${ownerName}`, details: { required } });
    });
    changes.publish('mfa', `owner:${ownerName}`);
  }

  /** Whether the owner requires a second factor of everyone acting on it, cached per node. */
  async function ownerRequires(ownerId: number): Promise<boolean> {
    const cached = ownerCache.get(String(ownerId));
    if (cached !== undefined) return cached;
    const row = await db.selectFrom('owners').select('mfa_required').where('id', '=', ownerId).executeTakeFirst();
    const required = Number(row?.mfa_required ?? 0) === 1;
    ownerCache.set(String(ownerId), required);
    return required;
  }

  function peekOwnerRequires(ownerId: number): boolean | undefined {
    return ownerCache.get(String(ownerId));
  }

  async function getOwnerRequirement(ownerName: string): Promise<boolean> {
    const row = await db.selectFrom('owners').select('mfa_required').where('name', '=', ownerName).executeTakeFirst();
    if (!row) throw new StockadeError('NOT_FOUND', [`owner ${ownerName}`]);
    return Number(row.mfa_required) === 1;
  }

  /** Members of the owner without a confirmed authenticator: who the requirement would lock out. */
  async function nonCompliant(ownerName: string): Promise<{ user: string; role: Role }[]> {
    const owner = await db.selectFrom('owners').select('id').where('name', '=', ownerName).executeTakeFirst();
    if (!owner) throw new StockadeError('NOT_FOUND', [`owner ${ownerName}`]);
    return db
      .selectFrom('members')
      .innerJoin('users', 'users.id', 'members.user_id')
      .leftJoin('totp_credentials', 'totp_credentials.user_id', 'members.user_id')
      .select(['users.name as user', 'members.role'])
      .where('members.owner_id', '=', owner.id)
      .where('totp_credentials.confirmed_at', 'is', null)
      .orderBy('users.name')
      .execute();
  }

  return {
    status,
    isEnabled,
    peekEnabled,
    startEnrollment,
    confirmEnrollment,
    verify,
    disable,
    reset,
    regenerateRecoveryCodes,
    setOwnerRequirement,
    getOwnerRequirement,
    ownerRequires,
    peekOwnerRequires,
    nonCompliant,
  };
}

export type Mfa = ReturnType<typeof createMfa>;
