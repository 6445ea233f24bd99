import { pino } from 'pino';
import { parseConfig, resolvePaths } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import { systemActor } from '../../src/domain/audit.js';
import { looksLikeToken, type Scope } from '../../src/domain/tokens.js';
import { type RunningServer, startServer } from '../../src/server/start.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestServer extends RunningServer {
  config: Config;
  database: TestDatabase;
  adminPassword: string;
  /** A token with every scope for the site admin. */
  adminToken: string;
  /** Creates a user with a password and returns a token for it. */
  createUser(name: string, options?: { isAdmin?: boolean; scopes?: Scope[]; repo?: string }): Promise<{ name: string; password: string; token: string; id: number }>;
  /** Creates `owner/name` (owner must exist) and returns its npm registry URL. */
  createRepo(owner: string, name: string, visibility?: 'public' | 'private'): Promise<string>;
}

type Overrides = Omit<ConfigInput, 'database' | 'dataDir'>;

export interface TestServerOptions {
  /** Another node on the database of `node` (same database and blob folder) instead of a fresh one. */
  sameStorageAs?: TestServer;
  /**
   * Collects every log line (pino JSON, one entry per line; every test server logs at debug with
   * request logging on) into this array, for tests that check what the server writes to its logs.
   */
  logLines?: string[];
}

/** A real server on 127.0.0.1 with a free port, on a fresh database of the dialect under test. */
export async function startTestServer(overrides: Overrides = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const shared = options.sameStorageAs?.database;
  const database: TestDatabase = shared ?? (await createTestDatabase());
  const logLines = options.logLines;
  const config = resolvePaths(
    parseConfig({
      ...overrides,
      dataDir: database.dataDir,
      database: database.config,
      // Every test server logs everything, so the whole suite checks that no token reaches a log.
      server: { host: '127.0.0.1', port: 0, requestLogging: true, ...(overrides.server ?? {}) },
      log: { level: 'debug' },
    }),
  );
  const leaks: string[] = [];
  const printLog = process.env.STOCKADE_TEST_LOG === '1';
  // pino writes each entry with one write() call, so every call is one line.
  const logger = pino(
    { level: config.log.level },
    {
      write: (line: string) => {
        for (const candidate of line.match(/stk_[0-9A-Za-z]{39}/g) ?? []) if (looksLikeToken(candidate)) leaks.push(line.slice(0, 300));
        logLines?.push(line.replace(/\n$/, ''));
        if (printLog) process.stdout.write(line);
      },
    },
  );
  let server: RunningServer;
  try {
    server = await startServer(config, { logger });
  } catch (error) {
    if (!shared) await database.drop();
    throw error;
  }
  const adminPassword = shared ? options.sameStorageAs!.adminPassword : server.initialAdminPassword;
  if (!adminPassword) throw new Error('a fresh test database must bootstrap an admin');
  const adminUser = await server.domain.accounts.getUser('admin');
  if (!adminUser) throw new Error('admin missing');
  const { secret: adminToken } = await server.domain.tokens.create(systemActor, { userId: adminUser.id, name: 'test admin', scopes: ['admin'] });

  return {
    ...server,
    config,
    database,
    adminPassword,
    adminToken,
    async createUser(name, options = {}) {
      // Only characters a user name cannot contain, so the strength check never sees the name in it.
      const password = '!#%&*+?@^~'.repeat(2);
      const user = await server.domain.accounts.createUser(systemActor, { name, password, isAdmin: options.isAdmin ?? false });
      let repoId: number | null = null;
      if (options.repo) {
        const [owner, repoName] = options.repo.split('/') as [string, string];
        const repo = await server.domain.repos.get(owner, repoName);
        if (!repo) throw new Error(`no repo ${options.repo}`);
        repoId = repo.id;
      }
      const { secret } = await server.domain.tokens.create(systemActor, { userId: user.id, name: 'test', scopes: options.scopes ?? ['write', 'delete'], repoId });
      return { name, password, token: secret, id: user.id };
    },
    async createRepo(owner, name, visibility = 'public') {
      await server.domain.repos.create(systemActor, { owner, name, visibility });
      return `${server.url}/${owner}/${name}/npm/`;
    },
    async close() {
      await server.close();
      // The first node owns the database; later nodes on it leave it alone.
      if (!shared) await database.drop();
      if (leaks.length > 0) throw new Error(`a token reached the server log:\n${leaks.join('\n')}`);
    },
  };
}
