import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';

const KEY_FILE = 'secret.key';

/**
 * The key that seals secrets at rest: `auth.secretKey` when configured, else `<dataDir>/secret.key`,
 * created on first start with mode 0600. The exclusive create makes two processes starting on the
 * same folder agree on one key.
 */
export function loadServerKey(config: Pick<Config, 'auth' | 'dataDir'>): Buffer {
  if (config.auth.secretKey) return Buffer.from(config.auth.secretKey, 'hex');
  const file = path.join(config.dataDir, KEY_FILE);
  try {
    return parseKeyFile(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(config.dataDir, { recursive: true });
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return parseKeyFile(readFileSync(file, 'utf8'), file);
}

function parseKeyFile(text: string, file: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${file} must hold 64 hex characters (the server key); restore it or set auth.secretKey`);
  return Buffer.from(hex, 'hex');
}
