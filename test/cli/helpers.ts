import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import { openServices } from '../../src/server/services.js';
import { createTestDatabase } from '../helpers/database.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (an empty stdin when absent). */
  input?: string;
  env?: Record<string, string>;
}

/** Runs the real CLI from source, as `stockade` would run from dist/. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  // The developer's own STOCKADE_* settings must not leak into the commands under test.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOCKADE_')) env[key] = value;
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface CliFixture {
  config: Config;
  configFile: string;
  /** Runs the CLI with `--config` pointing at this fixture's database. */
  run(args: string[], options?: CliOptions): Promise<CliResult>;
  /** Opens the same database in this process, for checks the CLI cannot make. */
  withDomain<T>(fn: (domain: Domain) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

/** Writes a config file for `config` (a fresh database or a running test server's) next to its data. */
export async function writeCliConfig(config: Pick<Config, 'dataDir' | 'database' | 'server'>): Promise<string> {
  const configFile = path.join(config.dataDir, 'stockade.yaml');
  const yaml = {
    dataDir: config.dataDir,
    database: config.database,
    server: { host: config.server.host, port: config.server.port },
    log: { level: 'warn' },
  };
  await writeFile(configFile, stringify(yaml));
  return configFile;
}

function fixtureFor(configFile: string, drop: () => Promise<void>): CliFixture {
  const config = loadConfig({ file: configFile, env: {} });
  return {
    config,
    configFile,
    run: (args, options) => runCli(['--config', configFile, ...args], options),
    async withDomain(fn) {
      const { domain } = await openServices(config, pino({ level: 'silent' }));
      try {
        return await fn(domain);
      } finally {
        await domain.close();
      }
    },
    drop,
  };
}

/** A fresh database of the dialect under test (STOCKADE_TEST_DB) with a config file for the CLI. */
export async function createCliFixture(): Promise<CliFixture> {
  const database = await createTestDatabase();
  const configFile = await writeCliConfig({ dataDir: database.dataDir, database: database.config, server: { host: '127.0.0.1', port: 8080 } as Config['server'] });
  return fixtureFor(configFile, () => database.drop());
}

/** A CLI config on the database of an already running test server; the server cleans up. */
export async function cliFixtureForServer(config: Config): Promise<CliFixture> {
  const configFile = await writeCliConfig(config);
  return fixtureFor(configFile, async () => undefined);
}

export const SEED_PASSWORD = 'Correct-Horse-42';

/** Creates what a test needs in-process (spawning the CLI for setup would only cost time). */
export async function seed(cli: CliFixture, what: { users?: string[]; orgs?: [name: string, admin: string][]; repos?: string[] }): Promise<void> {
  await cli.withDomain(async (domain) => {
    for (const name of what.users ?? []) await domain.accounts.createUser(systemActor, { name, password: SEED_PASSWORD });
    for (const [name, admin] of what.orgs ?? []) {
      const user = await domain.accounts.getUser(admin);
      if (!user) throw new Error(`seed: no user ${admin}`);
      await domain.accounts.createOrg(systemActor, { name, adminUserId: user.id });
    }
    for (const path of what.repos ?? []) {
      const [owner, name] = path.split('/') as [string, string];
      await domain.repos.create(systemActor, { owner, name, visibility: 'public' });
    }
  });
}

/** stderr must be exactly one `stockade: …` line. */
export function errorLine(result: CliResult): string {
  const lines = result.stderr.split('\n').filter(Boolean);
  if (lines.length !== 1 || !lines[0]?.startsWith('stockade: ')) throw new Error(`expected one "stockade: …" line on stderr, got ${JSON.stringify(result.stderr)}`);
  return lines[0];
}
