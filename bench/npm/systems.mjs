import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, finished, freePort, makeTempDir, spawnTracked, stopChild } from './processes.mjs';

/**
 * Starting, setting up and stopping the three systems under test. Each start returns
 * `{ id, label, registryUrl, auth, child, stop() }`: `registryUrl` ends with `/` and `auth` is
 * the Authorization header value of a user allowed to publish.
 */

export const VERDACCIO_VERSION = '6.8.0';

/** Keeps draining a child's output (a full pipe would block it) and remembers the tail for errors. */
function drain(child) {
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

/** Resolves with `parse(stdoutSoFar)` once it returns a value; rejects if the child exits first. */
function awaitStartup(child, what, parse, timeoutMs = 60_000) {
  const tail = drain(child);
  let stdout = '';
  return new Promise((resolve, reject) => {
    const fail = (message) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${message}\n${tail()}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk) => {
      stdout += chunk.toString('utf8');
      const value = parse(stdout);
      if (value === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve(value);
    };
    const onExit = (code, signal) => fail(`exited during startup (${signal ?? `exit ${code}`})`);
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

async function waitForHttp(url, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function requestJson(method, url, { headers = {}, body } = {}) {
  const response = await fetch(url, {
    method,
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status} ${text.slice(0, 500)}`);
  return text === '' ? null : JSON.parse(text);
}

function basic(user, password) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Stockade from a build (`mainJs` = dist/cli/main.js), as `stockade serve` in its own process, on a fresh SQLite data
 * folder. The first start prints the generated admin password (`--json`); with it we create a
 * public repository `admin/bench` and a read/write token through the REST API.
 */
export async function startStockade({ mainJs, profileDir }) {
  const dir = makeTempDir('stockade-bench-');
  const configPath = join(dir, 'stockade.yaml');
  // JSON is valid YAML.
  const config = { dataDir: join(dir, 'data'), server: { host: '127.0.0.1', port: 0 }, log: { level: 'warn' } };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawnTracked(process.execPath, [...nodeArgs, mainJs, 'serve', '--json', '--config', configPath], {
    cwd: dir,
    env: cleanEnv({ NODE_ENV: 'production', STOCKADE_SERVER_REQUEST_LOGGING: 'false' }),
  });
  // `serve --json` prints one pretty-printed JSON document; warn-level log lines are single-line JSON.
  const started = await awaitStartup(child, 'stockade serve', (text) => {
    const at = text.indexOf('{\n');
    if (at < 0) return undefined;
    try {
      return JSON.parse(text.slice(at));
    } catch {
      return undefined;
    }
  });
  if (!started.initialAdminPassword) throw new Error('stockade serve: no initial admin password on a fresh data folder');
  const admin = basic('admin', started.initialAdminPassword);
  await requestJson('POST', `${started.url}/api/v1/repos`, { headers: { authorization: admin }, body: { owner: 'admin', name: 'bench', visibility: 'public' } });
  const token = await requestJson('POST', `${started.url}/api/v1/tokens`, { headers: { authorization: admin }, body: { name: 'bench', scopes: ['read', 'write'] } });
  return {
    id: 'stockade',
    label: 'Stockade',
    registryUrl: `${started.url}/admin/bench/npm/`,
    auth: `Bearer ${token.token}`,
    child,
    stop: () => stopChild(child),
  };
}

/**
 * Installs Verdaccio once into bench/.cache (gitignored). node-fetch is pinned to 2.7.0 because
 * Verdaccio 6 breaks on Node 20 with the version it would otherwise resolve.
 */
export async function ensureVerdaccio(root) {
  const installDir = join(root, 'bench/.cache', `verdaccio-${VERDACCIO_VERSION}`);
  const pkgFile = join(installDir, 'node_modules/verdaccio/package.json');
  if (existsSync(pkgFile) && JSON.parse(readFileSync(pkgFile, 'utf8')).version === VERDACCIO_VERSION) return installDir;
  mkdirSync(installDir, { recursive: true });
  const manifest = { name: 'verdaccio-bench', private: true, dependencies: { verdaccio: VERDACCIO_VERSION }, overrides: { 'node-fetch': '2.7.0' } };
  writeFileSync(join(installDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`installing verdaccio ${VERDACCIO_VERSION} into ${installDir} …\n`);
  const npm = npmCommand();
  const child = spawnTracked(npm.command, [...npm.args, 'install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel', 'error'], {
    cwd: installDir,
    env: cleanEnv({ npm_config_update_notifier: 'false' }),
  });
  await finished(child, 'npm install verdaccio');
  return installDir;
}

/**
 * Verdaccio with local storage only: no uplinks, so it never proxies anywhere. Everyone may
 * read, logged-in users may publish; users live in an htpasswd file. The bench user signs up
 * the way `npm adduser` does and keeps the token it gets back.
 */
export async function startVerdaccio({ installDir }) {
  const dir = makeTempDir('verdaccio-bench-');
  const port = await freePort();
  const config = {
    storage: join(dir, 'storage'),
    plugins: join(dir, 'plugins'),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: 100 } },
    packages: { '**': { access: '$all', publish: '$authenticated', unpublish: '$authenticated' } },
    // JWT API tokens: the default legacy token carries the password, which the htpasswd plugin
    // then checks with bcrypt on every request (~0.3 s each), an unfair way to run Verdaccio.
    security: { api: { jwt: { sign: { expiresIn: '7d' } } } },
    web: { enable: false },
    max_body_size: '100mb',
    log: { type: 'stdout', format: 'pretty', level: 'warn' },
  };
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const bin = join(installDir, 'node_modules/verdaccio/bin/verdaccio');
  const child = spawnTracked(process.execPath, [bin, '--config', configPath, '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    env: cleanEnv({ NODE_ENV: 'production' }),
  });
  drain(child);
  const exited = new Promise((_resolve, reject) => child.once('exit', (code) => reject(new Error(`verdaccio exited during startup (exit ${code})`))));
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttp(`${url}/-/ping`, 'verdaccio'), exited]);
  exited.catch(() => {});
  const signup = await requestJson('PUT', `${url}/-/user/org.couchdb.user:bench`, {
    body: { _id: 'org.couchdb.user:bench', name: 'bench', password: 'bench-password-1', type: 'user', roles: [], date: new Date().toISOString() },
  });
  if (!signup?.token) throw new Error('verdaccio: adduser returned no token');
  return {
    id: 'verdaccio',
    label: `Verdaccio ${VERDACCIO_VERSION}`,
    registryUrl: `${url}/`,
    auth: `Bearer ${signup.token}`,
    child,
    stop: () => stopChild(child),
  };
}

/** The bare node:http server of static-server.mjs, serving the routes file. */
export async function startStatic({ root, routesFile, delayUs = 0 }) {
  const child = spawnTracked(process.execPath, [join(root, 'bench/npm/static-server.mjs'), routesFile, String(delayUs)], { env: cleanEnv({ NODE_ENV: 'production' }) });
  const { port } = await awaitStartup(child, 'static server', (text) => {
    const line = text.split('\n')[0];
    return text.includes('\n') ? JSON.parse(line) : undefined;
  });
  return {
    id: 'static',
    label: 'static node:http',
    registryUrl: `http://127.0.0.1:${port}/`,
    // Any value: the static server ignores it, but it is sent so the client side does the same work.
    auth: 'Bearer static-server-ignores-this',
    child,
    stop: () => stopChild(child),
  };
}

/** How to run npm: the npm that runs this script (`npm run bench:npm`), else the one on PATH. */
export function npmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath)) return { command: process.execPath, args: [execPath] };
  return { command: 'npm', args: [] };
}
