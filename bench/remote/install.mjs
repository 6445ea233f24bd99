import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, finished, makeTempDir, removeTempDir, spawnTracked } from '../npm/processes.mjs';
import { npmCommand } from '../npm/systems.mjs';

/**
 * One `npm install` of a project, timed from spawning npm to its exit. Every run starts from
 * nothing on npm's side: a new project folder (no node_modules, no package-lock.json), an empty
 * cache and npmrc files of its own, so npm fetches every packument and every tarball from the
 * registry. npm logs at the `http` level so each request's time can be read back afterwards.
 */

// npm 11 at --loglevel http: `npm http fetch GET 200 http://…/name 12ms (cache miss)`.
const HTTP_LINE = /^npm http fetch (\w+) (\d{3}) (\S+) (\d+)ms/;

function requestsOf(stderr, registryUrl) {
  const requests = [];
  for (const line of stderr.split('\n')) {
    const match = HTTP_LINE.exec(line);
    if (!match) continue;
    const [, method, status, url, ms] = match;
    const path = url.startsWith(registryUrl) ? url.slice(registryUrl.length) : url;
    requests.push({ method, status: Number(status), kind: path.includes('/-/') ? 'tarball' : 'packument', path, ms: Number(ms) });
  }
  return requests;
}

/**
 * What npm installed, from the lock file it wrote: `name@version` of every package, and where
 * each came from. A mismatch with `expected` (or anything resolved elsewhere than from
 * `registryUrl`) fails the run: a faster wrong install measures nothing.
 */
function checkInstall(project, registryUrl, expected, integrity) {
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const found = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '') continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const key = `${name}@${entry.version}`;
    if (!entry.resolved?.startsWith(registryUrl)) throw new Error(`${key} was resolved from ${entry.resolved}, not from ${registryUrl}`);
    if (integrity.get(key) !== entry.integrity) throw new Error(`${key} has integrity ${entry.integrity}, the fixture's is ${integrity.get(key)}`);
    const installed = JSON.parse(readFileSync(join(project, path, 'package.json'), 'utf8'));
    if (installed.version !== entry.version) throw new Error(`${path} holds ${installed.version}, the lock file says ${entry.version}`);
    found.push(key);
  }
  const unique = [...new Set(found)].sort();
  const missing = expected.filter((k) => !unique.includes(k));
  const extra = unique.filter((k) => !expected.includes(k));
  if (missing.length || extra.length) throw new Error(`install differs from the fixture tree: missing ${missing.join(', ') || 'none'}; unexpected ${extra.join(', ') || 'none'}`);
  return { packages: found.length, unique: unique.length };
}

/**
 * Installs `dependencies` from `registryUrl`. `check` = { expected, integrity } verifies the
 * result (left out for warm-up installs). Returns { ms, requests, installed }.
 */
export async function npmInstall(registryUrl, dependencies, { check = null, name = 'remote-bench-project' } = {}) {
  const dir = makeTempDir('stockade-bench-remote-install-');
  try {
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', private: true, dependencies }, null, 2)}\n`);
    writeFileSync(join(dir, 'npmrc'), `registry=${registryUrl}\n`);
    writeFileSync(join(dir, 'global-npmrc'), '');
    const npm = npmCommand();
    const args = [
      ...npm.args,
      'install',
      '--registry',
      registryUrl,
      '--cache',
      join(dir, 'cache'),
      '--userconfig',
      join(dir, 'npmrc'),
      '--globalconfig',
      join(dir, 'global-npmrc'),
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      '--ignore-scripts',
      '--loglevel',
      'http',
    ];
    const started = performance.now();
    const child = spawnTracked(npm.command, args, { cwd: project, env: cleanEnv({ npm_config_update_notifier: 'false' }) });
    const { stderr } = await finished(child, `npm install from ${registryUrl}`);
    const ms = Math.round(performance.now() - started);
    const requests = requestsOf(stderr, registryUrl);
    const failed = requests.filter((r) => r.status >= 400);
    if (failed.length) throw new Error(`npm install from ${registryUrl}: ${failed.length} requests failed, e.g. ${failed[0].status} ${failed[0].path}`);
    const installed = check ? checkInstall(project, registryUrl, check.expected, check.integrity) : null;
    return { ms, requests, installed };
  } finally {
    removeTempDir(dir);
  }
}

const median = (xs) => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const percentile = (xs, p) => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** Per request kind: how many, and the latency npm saw (median, p90, max, sum) in ms. */
export function requestStats(requests) {
  const out = {};
  for (const kind of ['packument', 'tarball']) {
    const times = requests.filter((r) => r.kind === kind).map((r) => r.ms);
    out[kind] = { count: times.length, medianMs: median(times), p90Ms: percentile(times, 90), maxMs: times.length ? Math.max(...times) : null, sumMs: times.reduce((a, b) => a + b, 0) };
  }
  return out;
}

export { median };
