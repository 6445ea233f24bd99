import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createDomain, type Domain } from '../../src/domain/index.js';
import { openDatabase } from '../../src/store/db/connect.js';
import { createTestDatabase } from '../helpers/database.js';

/** Domain services on a fresh database of the dialect under test, without HTTP. */
export async function openTestDomain(
  options: { now?: () => number; config?: Omit<ConfigInput, 'dataDir' | 'database'> } = {},
): Promise<{ domain: Domain; close: () => Promise<void> }> {
  const database = await createTestDatabase();
  const config = parseConfig({ ...options.config, dataDir: database.dataDir, database: database.config });
  const handle = await openDatabase(database.config);
  const domain = await createDomain(handle, config, options.now ? { now: options.now } : {});
  return {
    domain,
    async close() {
      await domain.close();
      await database.drop();
    },
  };
}
