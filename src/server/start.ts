import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Domain } from '../domain/index.js';
import { systemActor } from '../domain/audit.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import { buildServer } from './app.js';
import { openServices } from './services.js';

export { openServices } from './services.js';

export interface RunningServer {
  app: FastifyInstance;
  domain: Domain;
  blobs: BlobStore;
  /** `http://host:port` actually bound (the port may have been 0). */
  url: string;
  /** Set on the first start of an empty installation: the generated admin password, shown once. */
  initialAdminPassword: string | null;
  close(): Promise<void>;
}

/**
 * Creates the first administrator on an empty installation, so a fresh `npm start` is usable
 * at once. The password is random and only ever printed, never stored in clear.
 */
export async function bootstrapAdmin(domain: Domain): Promise<string | null> {
  if ((await domain.accounts.countUsers()) > 0) return null;
  const password = randomBytes(18).toString('base64url');
  await domain.accounts.createUser(systemActor, { name: 'admin', password, isAdmin: true });
  return password;
}

export async function startServer(config: Config, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.log.level, base: { service: 'stockade' } });
  const { domain, blobs } = await openServices(config, logger);
  const initialAdminPassword = await bootstrapAdmin(domain);
  const app = await buildServer({ config, domain, blobs, logger });
  await app.listen({ host: config.server.host, port: config.server.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    app,
    domain,
    blobs,
    url: `http://${host}:${port}`,
    initialAdminPassword,
    async close() {
      await app.close();
      await domain.close();
    },
  };
}
