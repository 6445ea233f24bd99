import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createDomain } from '../domain/index.js';
import { createBlobStore } from '../store/blobs/index.js';
import { openDatabase } from '../store/db/connect.js';

/**
 * Opens storage, migrates, and returns the services without listening (for the CLI and tests).
 * Kept apart from start.ts so that opening the database does not load the HTTP stack.
 */
export async function openServices(config: Config, logger: Logger) {
  const handle = await openDatabase(config.database);
  const domain = await createDomain(handle, config, { onError: (error) => logger.warn({ err: error }, 'change notifications interrupted') });
  const blobs = createBlobStore(config.blobs);
  return { domain, blobs };
}
