import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** CRC32 of `body` in base62, left-padded with `0` to `width` characters. */
export function crc32Base62(body: string, width: number): string {
  let n = crc32(body);
  let out = '';
  while (n > 0) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(width, '0');
}

/**
 * GitHub's and npm's token format: a prefix, 30 random base62 characters and a 6-character
 * base62 CRC32 of those 30 characters (GitHub engineering blog, April 2021; npm adopted the
 * same format in September 2021).
 */
export function hasBase62Checksum(token: string, prefixLength: number): boolean {
  const body = token.slice(prefixLength, token.length - 6);
  return body.length === 30 && crc32Base62(body, 6) === token.slice(-6);
}

/** Stockade's own token checksum (src/domain/tokens.ts): CRC32 of the body in base36, 7 characters. */
export function stockadeChecksum(body: string): string {
  return crc32(body).toString(36).padStart(7, '0');
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATORS[i] ?? 0;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const ch of hrp) out.push(ch.charCodeAt(0) >>> 5);
  out.push(0);
  for (const ch of hrp) out.push(ch.charCodeAt(0) & 31);
  return out;
}

/** BIP-173 Bech32 checksum check (age keys use it with the HRP `age-secret-key-`). */
export function isValidBech32(value: string): boolean {
  const lower = value.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || sep + 7 > lower.length) return false;
  const data: number[] = [];
  for (const ch of lower.slice(sep + 1)) {
    const v = BECH32.indexOf(ch);
    if (v < 0) return false;
    data.push(v);
  }
  return polymod([...hrpExpand(lower.slice(0, sep)), ...data]) === 1;
}

/** Builds a Bech32 string; tests use it to make well-formed fake keys. */
export function encodeBech32(hrp: string, data5: readonly number[]): string {
  const values = [...hrpExpand(hrp), ...data5, 0, 0, 0, 0, 0, 0];
  const mod = polymod(values) ^ 1;
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data5, ...checksum].map((v) => BECH32[v]).join('')}`;
}
