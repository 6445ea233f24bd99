import { hasLongRun } from '../placeholders.js';

export interface PemBlock {
  /** `RSA PRIVATE KEY`, `OPENSSH PRIVATE KEY`, `PGP PRIVATE KEY BLOCK`, … */
  kind: string;
  /** Offset of `-----BEGIN`. */
  start: number;
  /** Offset just past the closing `-----END …-----`. */
  end: number;
  /** The key body with line breaks, escapes and armor headers removed. */
  body: string;
  /** True for passphrase-protected keys, undefined when the format does not say. */
  encrypted: boolean | undefined;
}

const HEADER = /-----BEGIN ((?:[A-Z0-9]{1,20} ){0,3})PRIVATE KEY( BLOCK)?-----/y;
// Certificate bundles hold hundreds of BEGIN lines; past this many the file is not a key file.
const MAX_BEGINS = 2000;
// Enough for an 8192-bit RSA key with armor; a body longer than this is not a single key.
const MAX_BODY = 16 * 1024;
// The shortest real private key body is an Ed25519 PKCS#8 key: 64 base64 characters.
const MIN_BODY = 60;
const BASE64 = /^[A-Za-z0-9+/=]+$/;

/**
 * Private-key PEM blocks with a real body. Parser code mentions the BEGIN line on its own and
 * documentation shortens bodies to `MIIE...`; neither has a base64 body and both are skipped.
 * Bodies may sit in a text file, or in a source string with `\n` escapes and concatenation.
 */
export function findPemBlocks(text: string, limit = 50): PemBlock[] {
  const blocks: PemBlock[] = [];
  let begins = 0;
  for (let at = text.indexOf('-----BEGIN '); at >= 0 && blocks.length < limit && begins++ < MAX_BEGINS; at = text.indexOf('-----BEGIN ', at + 11)) {
    HEADER.lastIndex = at;
    const m = HEADER.exec(text);
    if (!m) continue;
    const kind = `${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}`;
    const bodyStart = at + m[0].length;
    // Looked for within one key's length, so a file of lone headers stays linear.
    const window = text.slice(bodyStart, bodyStart + MAX_BODY + 9);
    const endIn = window.indexOf('-----END ');
    if (endIn < 0) continue;
    const endAt = bodyStart + endIn;
    const closeAt = text.indexOf('-----', endAt + 9);
    const raw = text.slice(bodyStart, endAt);
    const armor = raw.replace(/\\r\\n|\\n|\\r/g, '\n');
    const headerLines = armor.split(/\r?\n/).filter((line) => line.includes(':'));
    const body = armor
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('')
      .replace(/[\s"'`+,\\]/g, '');
    if (body.length < MIN_BODY || !BASE64.test(body) || hasLongRun(body, 8) || new Set(body).size < 20) continue;
    blocks.push({ kind, start: at, end: closeAt < 0 ? endAt + 9 : closeAt + 5, body, encrypted: isEncrypted(kind, headerLines, body) });
    at = endAt;
  }
  return blocks;
}

function isEncrypted(kind: string, headerLines: string[], body: string): boolean | undefined {
  if (kind.startsWith('ENCRYPTED')) return true;
  if (headerLines.some((line) => /Proc-Type:\s*4,\s*ENCRYPTED/i.test(line))) return true;
  if (kind.startsWith('OPENSSH')) {
    const cipher = opensshCipher(body);
    return cipher === undefined ? undefined : cipher !== 'none';
  }
  // PGP secret keys carry their protection inside packets; assume the usual passphrase.
  if (kind.startsWith('PGP')) return undefined;
  return false;
}

/** The cipher name from an `openssh-key-v1` body: `none` for an unprotected key. */
function opensshCipher(body: string): string | undefined {
  const bytes = Buffer.from(body.slice(0, 128), 'base64');
  const magic = 'openssh-key-v1\0';
  if (bytes.subarray(0, magic.length).toString('latin1') !== magic || bytes.length < magic.length + 4) return undefined;
  const length = bytes.readUInt32BE(magic.length);
  if (length > 64) return undefined;
  return bytes.subarray(magic.length + 4, magic.length + 4 + length).toString('latin1');
}
