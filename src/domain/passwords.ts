import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { StockadeError } from '../errors.js';

// scrypt with N=2^15, r=8 needs 32 MiB per hash: memory-hard, yet ~60 ms on a small server.
const COST = { N: 1 << 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, cost: typeof COST): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...cost, maxmem: 128 * cost.N * cost.r * 2 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password, so that unknown users take as long to reject as known ones. */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

const COMMON = new Set([
  'password', 'password1', 'password12', 'password123', 'passw0rd', '1234567890', '12345678910', 'qwertyuiop',
  'qwerty1234', '1q2w3e4r5t', 'iloveyou12', 'administrator', 'letmein123', 'welcome123', 'changeme123', 'abc1234567',
  'football12', 'baseball12', 'sunshine12', 'princess12', 'trustno1234', 'superman12', 'q1w2e3r4t5', 'aaaaaaaaaa',
  '0123456789', '1111111111', 'zaq12wsxcde', 'qazwsxedc123', 'p@ssw0rd12', 'admin12345', 'stockade123',
]);

/** Rejects short, common or name-derived passwords with a reason the user can act on. */
export function assertPasswordStrength(password: string, options: { minLength: number; userName?: string }): void {
  if (password.length < options.minLength) {
    throw new StockadeError('WEAK_PASSWORD', [`use at least ${options.minLength} characters`]);
  }
  if (password.length > 1024) throw new StockadeError('WEAK_PASSWORD', ['use at most 1024 characters']);
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) throw new StockadeError('WEAK_PASSWORD', ['it is on the list of common passwords']);
  if (new Set(password).size < 4) throw new StockadeError('WEAK_PASSWORD', ['it repeats too few characters']);
  if (options.userName && lower.includes(options.userName.toLowerCase())) {
    throw new StockadeError('WEAK_PASSWORD', ['it contains the user name']);
  }
}
