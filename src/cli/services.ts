import { userInfo } from 'node:os';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Actor } from '../domain/audit.js';
import type { Domain } from '../domain/index.js';
import type { RepoInfo } from '../domain/repos.js';
import { StockadeError } from '../errors.js';
import { parseRepoPath } from './command.js';
import type { BlobStore } from '../store/blobs/blob-store.js';

export interface LocalServices {
  config: Config;
  domain: Domain;
  blobs: BlobStore;
}

/**
 * Runs `fn` against the configured database, opened directly (same config loading as `serve`),
 * and closes it afterwards. Safe while the server runs: SQLite is shared in WAL mode and the
 * server notices our writes (see ChangeBus.poll); PostgreSQL gets a NOTIFY.
 */
export async function withServices<T>(configFile: string | undefined, env: NodeJS.ProcessEnv, fn: (services: LocalServices) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: configFile, env });
  // Logs go to stderr so that stdout stays the command's result.
  const logger = pino({ level: config.log.level }, pino.destination(2));
  // Loaded on demand: help and push need no database driver.
  const { openServices } = await import('../server/services.js');
  const { domain, blobs } = await openServices(config, logger);
  try {
    return await fn({ config, domain, blobs });
  } finally {
    await domain.close();
  }
}

/** Audit actor for local admin commands: who ran them on this machine. `:` keeps it apart from user names. */
export function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
  }
  return { name: `cli:${name}`, ip: null };
}

/** The base URL clients use: `--url`, else `server.publicUrl`, else the listen address. */
export function serverBaseUrl(config: Config, explicit: string | undefined): string {
  if (explicit) return explicit.replace(/\/+$/, '');
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, '');
  let host = config.server.host;
  // A wildcard listen address is no address to connect to; loopback is the honest guess.
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
}

/** Client URL of every format a repository serves, e.g. `{ npm: 'http://…/acme/web/npm/' }`. */
export async function registryUrls(base: string, repo: { owner: string; name: string }): Promise<Record<string, string>> {
  // The format plugins are heavy to load; only the commands that print URLs need their names.
  const { formats } = await import('../formats/list.js');
  const urls: Record<string, string> = {};
  for (const format of formats) urls[format.name] = `${base}/${repo.owner}/${repo.name}/${format.name}/`;
  return urls;
}

/** The repository `owner/name` names, or a NOT_FOUND error saying which one is missing. */
export async function requireRepo(domain: Domain, path: string): Promise<RepoInfo> {
  const { owner, name } = parseRepoPath(path);
  const repo = await domain.repos.get(owner, name);
  if (!repo) throw new StockadeError('NOT_FOUND', [`repository ${owner}/${name}`]);
  return repo;
}
