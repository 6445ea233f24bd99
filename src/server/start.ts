import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Domain } from '../domain/index.js';
import { systemActor } from '../domain/audit.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { SecurityGate } from '../security/service.js';
import { buildServer, configuredGate } from './app.js';
import { allPackageKeys, analyzerSetOf, type RescanTally, rescanPackages } from './rescan.js';
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
  /**
   * The background rescan this node runs when the analyzer set changed since packages were last
   * evaluated (an upgrade); resolves to null when there was nothing to do or another node took it.
   */
  gateRescan: Promise<RescanTally | null>;
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

/**
 * Re-evaluates every stored package once after the analyzer set changed (new analyzers or rule
 * versions), in the background; exactly one node of a cluster does it.
 */
async function rescanAfterUpgrade(deps: { domain: Domain; blobs: BlobStore; gate: SecurityGate }, signal: AbortSignal): Promise<RescanTally | null> {
  const analyzerSet = analyzerSetOf(deps.gate);
  if (!(await deps.domain.scanResults.claimAnalyzerSet(analyzerSet))) return null;
  try {
    const keys = await allPackageKeys(deps.domain);
    if (keys.size === 0) return null;
    const tally = await rescanPackages(deps, keys, { why: `analyzers changed: ${analyzerSet}`, signal });
    // Interrupted by a shutdown: the next start does it again (cached results make that cheap).
    if (signal.aborted) await deps.domain.scanResults.forgetAnalyzerSet();
    return tally;
  } catch (error) {
    await deps.domain.scanResults.forgetAnalyzerSet().catch(() => undefined);
    throw error;
  }
}

export async function startServer(config: Config, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.log.level, base: { service: 'stockade' } });
  const { domain, blobs } = await openServices(config, logger);
  const initialAdminPassword = await bootstrapAdmin(domain);
  const gate = configuredGate(config, domain, logger);
  const app = await buildServer({ config, domain, blobs, logger, gate });
  await app.listen({ host: config.server.host, port: config.server.port });
  const stopping = new AbortController();
  // Without analyzers a rescan would judge every stored version clean and release quarantined ones.
  const gateRescan = config.gate.enabled
    ? rescanAfterUpgrade({ domain, blobs, gate }, stopping.signal).catch((error: unknown) => {
        logger.error({ err: error }, 'rescan after an analyzer upgrade failed');
        return null;
      })
    : Promise.resolve(null);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    app,
    domain,
    blobs,
    url: `http://${host}:${port}`,
    initialAdminPassword,
    gateRescan,
    async close() {
      stopping.abort();
      await gateRescan;
      await app.close();
      await domain.close();
    },
  };
}
