import { isValidBech32 } from '../checksums.js';
import { PRIORITY, type Detector, type Hit } from '../detector.js';
import { createPrefixDetector, type Verdict } from '../token-detector.js';
import { findPemBlocks } from './pem.js';

const MASK = `${'*'.repeat(16)}…`;

export const privateKeyDetector: Detector = {
  rules: [{ id: 'private-key', severity: 'critical', confidence: 'high', summary: 'PEM private key block (RSA, EC, DSA, OPENSSH, PKCS#8, PGP) with a real body; high when passphrase-protected' }],
  priority: PRIORITY.provider,
  keywords: ['PRIVATE KEY'],
  detect(file) {
    return findPemBlocks(file.text).map(
      (block): Hit => ({
        rule: 'private-key',
        start: block.start,
        end: block.end,
        secret: block.body,
        // A passphrase still protects an encrypted key; PGP keys usually have one.
        severity: block.encrypted === false ? 'critical' : 'high',
        confidence: 'high',
        label: block.encrypted ? `an encrypted private key (${block.kind})` : `a private key (${block.kind})`,
        evidence: `-----BEGIN ${block.kind}----- ${MASK}`,
        shown: 0,
        details: { kind: block.kind, encrypted: block.encrypted ?? 'unknown' },
      }),
    );
  },
};

// PuTTY .ppk: a `PuTTY-User-Key-File-<2|3>: <algorithm>` header, `Encryption: <cipher|none>`,
// then `Private-Lines: <n>` and n lines of base64.
const PPK_HEADER = /PuTTY-User-Key-File-[23]:\s*([\w@.-]{1,64})/y;

export const puttyKeyDetector: Detector = {
  rules: [{ id: 'putty-private-key', severity: 'critical', confidence: 'high', summary: 'PuTTY .ppk private key with its Private-Lines; high when encrypted' }],
  priority: PRIORITY.provider,
  keywords: ['PuTTY-User-Key-File-'],
  detect(file) {
    const { text } = file;
    const hits: Hit[] = [];
    // A .ppk file holds one key; a file with hundreds of headers is not a key file.
    let headers = 0;
    for (let at = text.indexOf('PuTTY-User-Key-File-'); at >= 0 && headers++ < 50; at = text.indexOf('PuTTY-User-Key-File-', at + 20)) {
      PPK_HEADER.lastIndex = at;
      const header = PPK_HEADER.exec(text);
      if (!header) continue;
      const window = text.slice(at, at + 8 * 1024);
      const encryption = /\nEncryption:\s*([\w-]+)/.exec(window)?.[1];
      const lines = /\nPrivate-Lines:\s*(\d{1,3})\r?\n/.exec(window);
      if (encryption === undefined || !lines) continue;
      const bodyStart = lines.index + lines[0].length;
      const body = window
        .slice(bodyStart)
        .split(/\r?\n/)
        .slice(0, Number(lines[1]))
        .join('');
      if (body.length < 40 || !/^[A-Za-z0-9+/=]+$/.test(body) || new Set(body).size < 16) continue;
      const encrypted = encryption !== 'none';
      hits.push({
        rule: 'putty-private-key',
        start: at,
        end: at + bodyStart + body.length,
        secret: body,
        severity: encrypted ? 'high' : 'critical',
        confidence: 'high',
        label: encrypted ? 'an encrypted PuTTY private key' : 'a PuTTY private key',
        evidence: `${header[0]} Encryption: ${encryption} Private-Lines: ${MASK}`,
        shown: 0,
        details: { algorithm: header[1], encrypted },
      });
    }
    return hits;
  },
};

// age X25519 identities: Bech32 with the HRP AGE-SECRET-KEY-, 32 bytes of key (52 characters)
// and a 6-character checksum, all upper case.
export const ageKeyDetector = createPrefixDetector({
  id: 'age-secret-key',
  label: 'an age secret key',
  summary: 'AGE-SECRET-KEY-1 + 58 Bech32 characters, checksum verified',
  severity: 'critical',
  confidence: 'high',
  prefixes: ['AGE-SECRET-KEY-1'],
  pattern: /AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9])/y,
  minEntropy: 3.5,
  // Every key age writes passes its Bech32 checksum; one that fails was made up or mangled.
  verify: (key) =>
    isValidBech32(key)
      ? { details: { checksum: 'valid' } }
      : { severity: 'low', confidence: 'low', label: 'an age secret key with a wrong checksum', details: { checksum: 'invalid' } },
});

function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function judgeJwt(token: string): Verdict | null {
  const [headerPart = '', payloadPart = '', signature = ''] = token.split('.');
  const header = decodeJsonPart(headerPart);
  const payload = decodeJsonPart(payloadPart);
  if (!header || !payload || typeof header.alg !== 'string') return null;
  // The jwt.io sample token fills countless READMEs.
  if (payload.name === 'John Doe' || payload.sub === '1234567890') return null;
  const details = { alg: header.alg };
  if (header.alg.toLowerCase() === 'none') return { severity: 'low', label: 'an unsigned JSON Web Token', details };
  if (signature.length < 16) return null;
  // Supabase-style anon keys are public by design; a service role bypasses row security.
  if (payload.role === 'anon') return { severity: 'low', details: { ...details, role: 'anon' } };
  if (payload.role === 'service_role') return { severity: 'high', details: { ...details, role: 'service_role' } };
  return { details };
}

export const jwtDetector = createPrefixDetector({
  id: 'jwt',
  label: 'a JSON Web Token',
  summary: 'three base64url parts whose header decodes to JSON with alg',
  severity: 'medium',
  confidence: 'high',
  prefixes: ['eyJ'],
  pattern: /eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,2048}(?![A-Za-z0-9_.-])/y,
  fixedPrefix: 0,
  shown: 6,
  verify: judgeJwt,
});

export const keyMaterialDetectors: Detector[] = [privateKeyDetector, puttyKeyDetector, ageKeyDetector, jwtDetector];
