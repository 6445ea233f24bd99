import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { StockadeError } from '../errors.js';

/**
 * Seals small secrets for storage with AES-256-GCM under a key derived from the server key. The
 * purpose (e.g. `totp:42`) is authenticated with the ciphertext, so a sealed value copied to
 * another row or another use does not open.
 */
export interface SecretBox {
  seal(plain: string, purpose: string): string;
  open(sealed: string, purpose: string): string;
}

const VERSION = 'v1';

export function createSecretBox(serverKey: Buffer): SecretBox {
  if (serverKey.length !== 32) throw new Error('the server key must be 32 bytes');
  // A key of its own for sealing, so the server key can serve other uses without reuse.
  const key = createHmac('sha256', serverKey).update('stockade secret-box v1').digest();
  return {
    seal(plain, purpose) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(purpose));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, purpose) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== VERSION || !iv || !tag || body === undefined) throw new StockadeError('SECRET_KEY_MISMATCH');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(purpose));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new StockadeError('SECRET_KEY_MISMATCH');
      }
    },
  };
}
