import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
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

/**
 * Starts one server. `bootstrap: false` (a worker of a cluster) leaves creating the first admin
 * to whoever started it.
 */
export async function startServer(config: Config, options: { logger?: Logger; bootstrap?: boolean } = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.log.level, base: { service: 'stockade' } });
  const { domain, blobs } = await openServices(config, logger);
  const initialAdminPassword = options.bootstrap === false ? null : await bootstrapAdmin(domain);
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

/** How many server processes `server.workers` asks for. */
export function workerCount(config: Config): number {
  return config.server.workers === 'auto' ? availableParallelism() : config.server.workers;
}

export interface RunningCluster {
  /** `http://host:port` the workers share. */
  url: string;
  initialAdminPassword: string | null;
  workers: number;
  /** Stops every worker (SIGTERM, so each closes cleanly) and waits for them. */
  close(): Promise<void>;
}

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  stockade: 'ready';
  url: string;
}

const isWorkerReady = (message: unknown): message is WorkerReady => (message as WorkerReady | null)?.stockade === 'ready';

/** A worker that dies sooner than this after its start is restarted only after a pause, so a crash loop cannot spin. */
const QUICK_DEATH_MS = 10_000;
const RESTART_PAUSE_MS = 1_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * The primary of `server.workers` > 1: migrates the database and creates the first admin once,
 * then forks the workers (node:cluster; they run `stockade serve` again, see cli/serve.ts) which
 * share the port, and replaces any worker that dies. The workers are stateless nodes on one
 * database, as several machines would be. Resolves once every worker listens; rejects, stopping
 * the others, when one fails before that.
 */
export async function startCluster(config: Config, options: { logger?: Logger } = {}): Promise<RunningCluster> {
  const logger = options.logger ?? pino({ level: config.log.level, base: { service: 'stockade' } });
  const count = workerCount(config);
  const { domain } = await openServices(config, logger);
  let initialAdminPassword: string | null;
  try {
    initialAdminPassword = await bootstrapAdmin(domain);
  } finally {
    await domain.close();
  }

  const workers = new Set<Worker>();
  let stopping = false;
  const stopWorker = (worker: Worker) =>
    new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.process.kill('SIGTERM');
    });
  const close = async () => {
    stopping = true;
    await Promise.all([...workers].map(stopWorker));
  };

  const fork = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const startedAt = Date.now();
      const worker = cluster.fork();
      workers.add(worker);
      let ready = false;
      worker.on('message', (message: unknown) => {
        if (ready || !isWorkerReady(message)) return;
        ready = true;
        resolve(message.url);
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        if (!ready) {
          reject(new Error(`a server worker exited during startup (${signal ?? `exit code ${code}`})`));
          return;
        }
        if (stopping) return;
        const quick = Date.now() - startedAt < QUICK_DEATH_MS;
        logger.error({ pid: worker.process.pid, code, signal }, 'a server worker died; starting another');
        setTimeout(
          () => {
            if (stopping) return;
            fork().catch((error: unknown) => logger.error({ err: error }, 'a replacement server worker did not start'));
          },
          quick ? RESTART_PAUSE_MS : 0,
        );
      });
    });

  let urls: string[];
  try {
    urls = await Promise.all(Array.from({ length: count }, fork));
  } catch (error) {
    await close();
    throw error;
  }
  return { url: urls[0] as string, initialAdminPassword, workers: count, close };
}
