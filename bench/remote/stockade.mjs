import { seed } from '../npm/seed.mjs';
import { cleanEnv, finished, spawnTracked } from '../npm/processes.mjs';
import { requestJson, startStockade } from '../npm/systems.mjs';
import { PRIVATE_CLAIM, publishable } from './fixtures.mjs';

/**
 * A fresh Stockade (built dist/, its own process, new SQLite data folder) set up the way a team
 * would use it in front of a registry:
 *
 *   admin/bench     hosted, public: the private packages, published through the npm protocol
 *   admin/upstream  remote, public: upstream = the fixture registry, default settings (gate on)
 *   admin/all       virtual, public: members [admin/bench, admin/upstream], claim `corp-internal-*`
 *
 * npm is pointed at admin/all. Each call makes a new server, so nothing is cached: no metadata,
 * no tarballs, no scan results (the gate caches those by content digest across repositories).
 */

/**
 * startStockade gives a read/write token, and creating repositories takes the admin scope: the
 * CLI mints one against the same data folder (the server's config file is in its command line).
 */
async function adminToken(mainJs, child) {
  const at = child.spawnargs.indexOf('--config');
  if (at < 0) throw new Error('stockade serve was started without --config');
  const configPath = child.spawnargs[at + 1];
  const cli = spawnTracked(process.execPath, [mainJs, 'token', 'create', '--user', 'admin', '--name', 'bench-remote', '--scopes', 'admin', '--json', '--config', configPath], {
    env: cleanEnv({ NODE_ENV: 'production' }),
  });
  const { stdout } = await finished(cli, 'stockade token create');
  const secret = JSON.parse(stdout).secret;
  if (typeof secret !== 'string') throw new Error('stockade token create printed no secret');
  return `Bearer ${secret}`;
}

/** Starts and sets up one server; `upstreamUrl` is the fixture registry. */
export async function startStockadeVirtual({ mainJs, profileDir, upstreamUrl, fixtures }) {
  const system = await startStockade({ mainJs, profileDir });
  const base = system.registryUrl.replace(/admin\/bench\/npm\/$/, '');
  const headers = { authorization: await adminToken(mainJs, system.child) };
  await requestJson('POST', `${base}api/v1/repos`, {
    headers,
    body: { owner: 'admin', name: 'upstream', visibility: 'public', kind: 'remote', upstream: { format: 'npm', url: upstreamUrl } },
  });
  await requestJson('POST', `${base}api/v1/repos`, {
    headers,
    body: { owner: 'admin', name: 'all', visibility: 'public', kind: 'virtual', virtual: { format: 'npm', members: ['admin/bench', 'admin/upstream'], claims: [PRIVATE_CLAIM] } },
  });
  await seed(system, publishable(fixtures, ['private', 'private-warmup']));
  const upstream = await requestJson('GET', `${base}api/v1/repos/admin/upstream/upstream`, { headers });
  return {
    ...system,
    label: 'Stockade (virtual)',
    baseUrl: base,
    hostedUrl: system.registryUrl,
    registryUrl: `${base}admin/all/npm/`,
    /** The remote member's effective settings, recorded with the results. */
    upstreamSettings: upstream,
  };
}
