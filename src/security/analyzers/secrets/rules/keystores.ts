import type { AnalyzerFinding, ViewEntry } from '../../../types.js';
import type { RuleInfo } from '../detector.js';

export const keystoreRules: readonly RuleInfo[] = [
  { id: 'pkcs12-file', severity: 'high', confidence: 'high', summary: 'PKCS#12 (.p12/.pfx) bundle, by DER magic or extension' },
  { id: 'java-keystore', severity: 'medium', confidence: 'high', summary: 'Java keystore (JKS/JCEKS), by magic or extension' },
];

const PKCS12_EXTENSIONS = /\.(?:p12|pfx)$/i;
const KEYSTORE_EXTENSIONS = /\.(?:jks|jceks|keystore|bks)$/i;
// The pkcs7-data OID (1.2.840.113549.1.7.1) that wraps a PKCS#12 authSafe.
const PKCS7_DATA_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]);

/** PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, … } (RFC 7292 §4). */
export function isPkcs12(bytes: Buffer): boolean {
  if (bytes.length < 32 || bytes[0] !== 0x30) return false;
  const first = bytes[1] ?? 0;
  // DER/BER length: short form, indefinite (0x80) or 1-4 length bytes.
  const contentAt = first <= 0x80 ? 2 : first <= 0x84 ? 2 + (first & 0x7f) : -1;
  if (contentAt < 0) return false;
  const version = bytes.subarray(contentAt, contentAt + 3);
  if (!version.equals(Buffer.from([0x02, 0x01, 0x03]))) return false;
  return bytes.subarray(contentAt + 3, contentAt + 48).includes(PKCS7_DATA_OID);
}

/** JKS files start with 0xFEEDFEED, JCEKS files with 0xCECECECE. */
export function keystoreMagic(bytes: Buffer): 'JKS' | 'JCEKS' | undefined {
  if (bytes.length < 8) return undefined;
  const magic = bytes.readUInt32BE(0);
  return magic === 0xfeedfeed ? 'JKS' : magic === 0xcececece ? 'JCEKS' : undefined;
}

/**
 * Key stores are binary, so they are judged by name and magic bytes rather than text. A store
 * is password-protected, but the password often sits next to it, and trust stores (public
 * certificates only) look the same from outside: hence high and medium, not critical.
 */
export function detectKeystore(entry: ViewEntry, bytes: Buffer | undefined): AnalyzerFinding | undefined {
  const location = { file: entry.path };
  const byName = PKCS12_EXTENSIONS.test(entry.path);
  const pkcs12 = bytes !== undefined && isPkcs12(bytes);
  if (byName || pkcs12) {
    return {
      rule: 'secrets/pkcs12-file',
      severity: 'high',
      confidence: pkcs12 ? 'high' : 'medium',
      message: `Found a PKCS#12 certificate and private key bundle in ${entry.path}.`,
      location,
      evidence: pkcs12 ? 'PKCS#12 DER header (version 3, pkcs7-data)' : 'PKCS#12 file extension',
      details: { magic: pkcs12 },
    };
  }
  const magic = bytes === undefined ? undefined : keystoreMagic(bytes);
  if (magic !== undefined || KEYSTORE_EXTENSIONS.test(entry.path)) {
    return {
      rule: 'secrets/java-keystore',
      severity: 'medium',
      confidence: magic !== undefined ? 'high' : 'medium',
      message: `Found a Java keystore in ${entry.path}.`,
      location,
      evidence: magic !== undefined ? `${magic} magic bytes` : 'keystore file extension',
      details: { magic: magic ?? null },
    };
  }
  return undefined;
}
