/**
 * Builders for fake credentials of the right shape. Values come from a seeded hash stream, so
 * they look random, are the same on every run, and are not anyone's credentials.
 */
import { createHash } from 'node:crypto';
import { crc32Base62, encodeBech32, stockadeChecksum } from '../../../src/security/analyzers/secrets/checksums.js';

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const HEX = '0123456789abcdef';
export const BASE64 = `${BASE62.slice(10, 36)}${BASE62.slice(36)}0123456789+/`;
export const BASE64URL = `${BASE62.slice(10, 36)}${BASE62.slice(36)}0123456789-_`;
export const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const LETTERS = `${BASE62.slice(10)}`;

/** A deterministic byte stream for one seed. */
export function bytesFor(seed: string, length: number): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 32 < length; i++) chunks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(chunks).subarray(0, length);
}

/** `length` characters from `alphabet`, derived from `seed`. */
export function randomString(seed: string, length: number, alphabet = BASE62): string {
  let out = '';
  for (const byte of bytesFor(seed, length)) out += alphabet[byte % alphabet.length];
  return out;
}

/** GitHub / npm shape: prefix + 30 random base62 + 6-character base62 CRC32. */
export function checksumToken(prefix: string, seed: string): string {
  const body = randomString(seed, 30);
  return `${prefix}${body}${crc32Base62(body, 6)}`;
}

/** Stockade shape: stk_ + 32 base62 + base36 CRC32 (7 characters). */
export function stockadeToken(seed: string): string {
  const body = randomString(seed, 32);
  return `stk_${body}${stockadeChecksum(body)}`;
}

/** An age identity: Bech32 over 32 random bytes with the HRP age-secret-key-. */
export function ageSecretKey(seed: string): string {
  const bytes = bytesFor(seed, 32);
  const data5: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      data5.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) data5.push((acc << (5 - bits)) & 31);
  return encodeBech32('age-secret-key-', data5).toUpperCase();
}

/** A JWT with the given header and payload and a random signature. */
export function jwt(header: Record<string, unknown>, payload: Record<string, unknown>, seed: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${randomString(seed, 43, BASE64URL)}`;
}

/** A PEM block of a given label around random base64 (wrapped at 64 columns). */
export function pemBlock(label: string, seed: string, bodyBytes = 600, headers: string[] = []): string {
  const body = bytesFor(seed, bodyBytes).toString('base64');
  const lines = body.match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...headers, ...(headers.length > 0 ? [''] : []), ...lines, `-----END ${label}-----`, ''].join('\n');
}

/** An OpenSSH private key body: the openssh-key-v1 header with a cipher name, then random bytes. */
export function opensshKey(seed: string, cipher = 'none'): string {
  const magic = Buffer.from('openssh-key-v1\0', 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(cipher.length);
  const body = Buffer.concat([magic, len, Buffer.from(cipher, 'latin1'), bytesFor(seed, 300)]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
}

/** A minimal PKCS#12 DER prefix: SEQUENCE, INTEGER 3, ContentInfo with the pkcs7-data OID. */
export function pkcs12Bytes(seed: string): Buffer {
  const oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
  const rest = bytesFor(seed, 200);
  const content = Buffer.from([0x02, 0x01, 0x03, 0x30, 0x82, 0x00, 0xc8, ...oid, 0x00]);
  const total = content.length + rest.length;
  return Buffer.concat([Buffer.from([0x30, 0x82, total >> 8, total & 0xff]), content, rest]);
}

/** An AWS access key id and secret access key of the right shape, for tests that must be blocked. */
export function awsKeyPair(seed: string): { id: string; secret: string } {
  return { id: `AKIA${randomString(`${seed}:id`, 16, BASE32)}`, secret: randomString(`${seed}:secret`, 40, BASE64) };
}
