import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { create as createTar } from 'tar';
import { gunzipSync } from 'node:zlib';
import { cleanEnv, makeTempDir, removeTempDir, spawnTracked, stopChild } from '../npm/processes.mjs';

/**
 * Stockade from a build (dist/cli/main.js) as `stockade serve` in its own process, on a fresh
 * data folder and database, with a read/write token, plus the few REST and repository requests
 * the benchmark makes. Timing is left to the caller.
 */

/** An HTTP answer that was not 2xx, with the API's error code when the body carried one. */
export class HttpError extends Error {
  constructor(method, url, status, body) {
    let code = null;
    let message = body.slice(0, 300).trim();
    try {
      const parsed = JSON.parse(body);
      code = typeof parsed?.error?.code === 'string' ? parsed.error.code : null;
      if (typeof parsed?.error?.message === 'string') message = parsed.error.message;
    } catch {
      // Plain text (APT and RPM routes answer errors as text).
    }
    super(`${method} ${new URL(url).pathname}: HTTP ${status}${code ? ` ${code}` : ''}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

async function request(method, url, { headers = {}, body } = {}) {
  // A stream body needs half-duplex fetch.
  const streaming = body instanceof Readable;
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: streaming ? Readable.toWeb(body) : body }), ...(streaming ? { duplex: 'half' } : {}) });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new HttpError(method, url, response.status, bytes.toString('utf8'));
  return bytes;
}

const json = (bytes) => JSON.parse(bytes.toString('utf8'));

/** Keeps draining the child's output (a full pipe blocks it) and keeps the tail for errors. */
function watch(child) {
  let tail = '';
  let stdout = '';
  const listeners = new Set();
  child.stdout.on('data', (chunk) => {
    stdout += chunk.toString('utf8');
    tail = (tail + chunk.toString('utf8')).slice(-8000);
    for (const listener of listeners) listener(stdout);
  });
  child.stderr.on('data', (chunk) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  });
  return { tail: () => tail, onStdout: (fn) => listeners.add(fn), off: (fn) => listeners.delete(fn) };
}

/** `serve --json` prints one pretty-printed JSON document; warn-level log lines are single-line JSON. */
function startupDocument(text) {
  const at = text.indexOf('{\n');
  if (at < 0) return undefined;
  try {
    return JSON.parse(text.slice(at));
  } catch {
    return undefined;
  }
}

/**
 * Starts a server. `gate: false` sets `gate: { enabled: false }`; `databaseUrl` selects
 * PostgreSQL, else SQLite in the data folder. Rejects with the server's output when it does not
 * start (for example a config key this build does not know). `nodeArgs` go to node (--cpu-prof),
 * `workers` to `server.workers` (left out when 1, so older builds still start).
 */
export async function startStockade({ mainJs, gate = true, databaseUrl = null, nodeArgs = [], workers = 1, timeoutMs = 60_000 }) {
  const dir = makeTempDir('os-repos-stockade-');
  const config = {
    dataDir: join(dir, 'data'),
    server: { host: '127.0.0.1', port: 0, requestLogging: false, ...(workers === 1 ? {} : { workers }) },
    log: { level: 'warn' },
    ...(databaseUrl ? { database: { dialect: 'postgres', url: databaseUrl } } : {}),
    ...(gate ? {} : { gate: { enabled: false } }),
  };
  const configPath = join(dir, 'stockade.yaml');
  // JSON is valid YAML.
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawnTracked(process.execPath, [...nodeArgs, mainJs, 'serve', '--json', '--config', configPath], { cwd: dir, env: cleanEnv({ NODE_ENV: 'production' }) });
  const output = watch(child);
  let started;
  try {
    started = await new Promise((resolve, reject) => {
      const fail = (message) => {
        clearTimeout(timer);
        reject(new Error(`stockade serve ${message}\n${output.tail().trim()}`));
      };
      const timer = setTimeout(() => fail(`was not ready after ${timeoutMs} ms`), timeoutMs);
      const onStdout = (text) => {
        const doc = startupDocument(text);
        if (doc === undefined) return;
        clearTimeout(timer);
        output.off(onStdout);
        child.off('exit', onExit);
        resolve(doc);
      };
      const onExit = (code, signal) => fail(`exited during startup (${signal ?? `exit ${code}`})`);
      output.onStdout(onStdout);
      child.once('exit', onExit);
    });
  } catch (error) {
    await stopChild(child);
    removeTempDir(dir);
    throw error;
  }
  if (!started.initialAdminPassword) throw new Error('stockade serve: no initial admin password on a fresh data folder');
  const base = started.url;
  const admin = `Basic ${Buffer.from(`admin:${started.initialAdminPassword}`).toString('base64')}`;
  const jsonHeaders = { authorization: admin, 'content-type': 'application/json', accept: 'application/json' };
  const token = json(await request('POST', `${base}/api/v1/tokens`, { headers: jsonHeaders, body: JSON.stringify({ name: 'bench', scopes: ['read', 'write'] }) })).token;
  const auth = { authorization: `Bearer ${token}` };

  return {
    url: base,
    pid: child.pid,
    /** The read/write token, for clients that bring their own protocol (twine, gem push). */
    token,
    /** Output so far, for error messages. */
    tail: output.tail,
    async stop() {
      await stopChild(child);
      removeTempDir(dir);
    },
    /**
     * A new public repository `admin/<name>`, with its signing key made now so no timed request
     * pays for it (`signingKey: false` skips that for formats that sign nothing).
     */
    async createRepo(name, { signingKey = true } = {}) {
      await request('POST', `${base}/api/v1/repos`, { headers: jsonHeaders, body: JSON.stringify({ owner: 'admin', name, visibility: 'public' }) });
      if (signingKey) await request('GET', `${base}/admin/${name}/debian/gpg.key`, { headers: auth });
    },
    /** The upload contract of `stockade push`: the raw file, format detected by the server. */
    async upload(repo, filename, data, distribution) {
      const url = new URL(`${base}/api/v1/repos/admin/${repo}/upload`);
      url.searchParams.set('filename', filename);
      url.searchParams.set('distribution', distribution);
      return json(await request('PUT', url.href, { headers: { ...auth, 'content-type': 'application/octet-stream' }, body: data }));
    },
    /**
     * The bulk contract (`stockade push` with several files): one POST of an uncompressed tar
     * stream of the files, which all sit in one folder. Returns the per-file results.
     */
    async importFiles(repo, files, distribution) {
      const url = new URL(`${base}/api/v1/repos/admin/${repo}/import`);
      url.searchParams.set('distribution', distribution);
      const cwd = dirname(files[0]);
      const body = Readable.from(createTar({ cwd, portable: true }, files.map((file) => basename(file))));
      return json(await request('POST', url.href, { headers: { ...auth, 'content-type': 'application/x-tar' }, body }));
    },
    /** What `apt update` reads for one architecture: InRelease, then the Packages.gz it lists. */
    async fetchApt(repo, dist, arch = 'amd64') {
      const root = `${base}/admin/${repo}/debian/dists/${dist}`;
      const inRelease = (await request('GET', `${root}/InRelease`, { headers: auth })).toString('utf8');
      const path = `main/binary-${arch}/Packages.gz`;
      if (!new RegExp(` ${path.replace(/[.]/g, '\\.')}$`, 'm').test(inRelease)) throw new Error(`InRelease of ${dist} does not list ${path}`);
      const packagesGz = await request('GET', `${root}/${path}`, { headers: auth });
      return { inRelease, packagesGz };
    },
    /** What `dnf makecache` reads: repomd.xml, its signature and the primary.xml.gz it lists. */
    async fetchRpm(repo, dist) {
      const root = `${base}/admin/${repo}/rpm/${dist}`;
      const repomd = (await request('GET', `${root}/repodata/repomd.xml`, { headers: auth })).toString('utf8');
      const signature = (await request('GET', `${root}/repodata/repomd.xml.asc`, { headers: auth })).toString('utf8');
      const href = /<data\s+type="primary">[\s\S]*?<location\s+href="([^"]+)"/.exec(repomd)?.[1];
      if (!href) throw new Error(`repomd.xml of ${dist} lists no primary metadata`);
      const primaryGz = await request('GET', new URL(href, `${root}/`).href, { headers: auth });
      return { repomd, signature, primaryGz };
    },
  };
}

/** Checks an APT fetch outside the timing: signed, and Packages lists `expected` packages. */
export function checkApt({ inRelease, packagesGz }, expected) {
  if (!inRelease.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) throw new Error('InRelease is not clearsigned');
  const listed = (gunzipSync(packagesGz).toString('utf8').match(/^Package: /gm) ?? []).length;
  if (listed !== expected) throw new Error(`Packages.gz lists ${listed} packages, expected ${expected}`);
}

/** Checks an RPM fetch outside the timing: signed, and primary.xml lists `expected` packages. */
export function checkRpm({ signature, primaryGz }, expected) {
  if (!signature.includes('-----BEGIN PGP SIGNATURE-----')) throw new Error('repomd.xml.asc is not an armored signature');
  // Stockade's root element carries no packages="N" (createrepo_c's does): count the elements.
  const count = (gunzipSync(primaryGz).toString('utf8').match(/<package\s/g) ?? []).length;
  if (count !== expected) throw new Error(`primary.xml.gz lists ${count} packages, expected ${expected}`);
}
