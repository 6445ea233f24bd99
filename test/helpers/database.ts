import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../../src/config/schema.js';

/** Which database the suite runs on: `npm test` runs everything once per dialect. */
export const testDialect: 'sqlite' | 'postgres' = process.env.STOCKADE_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

export interface TestDatabase {
  config: Config['database'];
  dataDir: string;
  drop(): Promise<void>;
}

/** A fresh, empty database (and data folder) for one test file or server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'stockade-test-'));
  if (testDialect === 'sqlite') {
    return {
      config: { dialect: 'sqlite', path: path.join(dataDir, 'stockade.db') },
      dataDir,
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const adminUrl = process.env.STOCKADE_TEST_PG_URL;
  if (!adminUrl) throw new Error('STOCKADE_TEST_DB=postgres needs STOCKADE_TEST_PG_URL (npm test sets it)');
  const name = `stockade_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    config: { dialect: 'postgres', url: url.toString(), poolSize: 10 },
    dataDir,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
