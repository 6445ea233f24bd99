import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { load as loadMarshal } from '@hyrious/marshal';
import { cleanEnv, finished, freePort, makeTempDir, removeTempDir, spawnTracked, stopChild } from '../npm/processes.mjs';

/**
 * The references of bench:language-repos: nginx serving a static PEP 503 tree and the output of
 * `gem generate_index`, the generate_index runs themselves, pip downloading from an index, and
 * real twine as the end-of-run check of the upload protocol.
 */

export const NGINX = '/usr/sbin/nginx';
export const PYTHON = '/usr/bin/python3';

const escapeHtml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Writes a static PEP 503 index below `root`: `simple/index.html`, `simple/{project}/index.html`
 * whose links carry `#sha256=`, `data-requires-python` and the PEP 658/714 metadata attributes,
 * and `files/{project}/{file}` with `{file}.metadata` beside each wheel.
 */
export function writeStaticPypi(root, wheels) {
  const byProject = new Map();
  for (const wheel of wheels) byProject.set(wheel.project, [...(byProject.get(wheel.project) ?? []), wheel]);
  mkdirSync(join(root, 'simple'), { recursive: true });
  const page = (title, links) => `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.0">\n    <title>${title}</title>\n  </head>\n  <body>\n    <h1>${title}</h1>\n${links.join('\n')}\n  </body>\n</html>\n`;
  const names = [...byProject.keys()].sort();
  writeFileSync(join(root, 'simple/index.html'), page('Simple index', names.map((n) => `    <a href="${n}/">${n}</a><br>`)));
  for (const [project, list] of byProject) {
    mkdirSync(join(root, 'simple', project), { recursive: true });
    mkdirSync(join(root, 'files', project), { recursive: true });
    const links = list.map((w) => {
      copyFileSync(w.path, join(root, 'files', project, w.filename));
      copyFileSync(`${w.path}.metadata`, join(root, 'files', project, `${w.filename}.metadata`));
      const meta = `sha256=${w.metadataSha256}`;
      return `    <a href="../../files/${project}/${w.filename}#sha256=${w.sha256}" data-requires-python="${escapeHtml(w.requiresPython)}" data-dist-info-metadata="${meta}" data-core-metadata="${meta}">${w.filename}</a><br>`;
    });
    writeFileSync(join(root, 'simple', project, 'index.html'), page(`Links for ${project}`, links));
  }
}

/** Entries of a Marshal `specs.4.8.gz` ([name, Gem::Version, platform] triples). */
export function countSpecs(gz) {
  const specs = loadMarshal(gunzipSync(gz));
  if (!Array.isArray(specs)) throw new Error('specs.4.8.gz is not a Marshal array');
  return specs.length;
}

/** Times one command in a child process we own, in ms (spawn to exit). */
export async function timed(command, args, what, options = {}) {
  const started = performance.now();
  const result = await finished(spawnTracked(command, args, { env: cleanEnv(), ...options }), what);
  return { ms: performance.now() - started, ...result };
}

/**
 * `gem generate_index -d DIR` over `gems`, then for each of `extras` the file copied in (not
 * timed) and `gem generate_index --update -d DIR`. Every call includes Ruby's start-up, as it
 * does for anyone who runs it; the folder is checked (specs.4.8.gz counted) outside the timing.
 */
export async function runGenerateIndex({ gems, extras, keep = false }) {
  const dir = makeTempDir('language-repos-gem-index-');
  mkdirSync(join(dir, 'gems'));
  for (const gem of gems) copyFileSync(gem.path, join(dir, 'gems', gem.filename));
  const specs = () => countSpecs(readFileSync(join(dir, 'specs.4.8.gz')));
  const full = (await timed('gem', ['generate_index', '--silent', '-d', dir], 'gem generate_index')).ms;
  if (specs() !== gems.length) throw new Error(`gem generate_index: specs.4.8.gz lists ${specs()} gems, expected ${gems.length}`);
  const update = [];
  for (const [i, extra] of extras.entries()) {
    copyFileSync(extra.path, join(dir, 'gems', extra.filename));
    update.push((await timed('gem', ['generate_index', '--silent', '--update', '-d', dir], 'gem generate_index --update')).ms);
    if (specs() !== gems.length + i + 1) throw new Error(`gem generate_index --update: specs.4.8.gz lists ${specs()} gems, expected ${gems.length + i + 1}`);
  }
  if (!keep) removeTempDir(dir);
  return { full, update, dir };
}

/**
 * nginx 1.22 on a free port with one worker (Stockade is one process too), access log off,
 * sendfile and long keep-alive, serving `root`. Its own prefix, config and temp paths in a temp
 * folder; stopped with the handle we started it with.
 */
export async function startNginx(root) {
  const prefix = makeTempDir('language-repos-nginx-');
  const port = await freePort();
  // The worker runs as nobody when we are root: it must be able to read the tree (temp folders are 0700).
  chmodSync(prefix, 0o755);
  await finished(spawnTracked('chmod', ['-R', 'a+rX', root]), 'chmod');
  const temp = (name) => `${name}_temp_path ${join(prefix, name)};`;
  const config = `worker_processes 1;
daemon off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  types { text/html html; text/plain metadata; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    index index.html;
  }
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), config);
  const child = spawnTracked(NGINX, ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', join(prefix, 'nginx.conf')]);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start-up: ${stderr || readLog(prefix)}`);
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url}: ${stderr || readLog(prefix)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      await stopChild(child, { signal: 'SIGQUIT' });
      removeTempDir(prefix);
    },
  };
}

const readLog = (prefix) => (existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8').slice(-2000) : '');

/**
 * One `pip download --no-deps` of every requirement from `indexUrl` into a fresh folder, as one
 * pip process (configuration, cache and version check off). Returns the wall time; checks that
 * every file arrived.
 */
export async function pipDownload(indexUrl, wheels) {
  const dest = makeTempDir('language-repos-pip-');
  try {
    const requirements = wheels.map((w) => `${w.project}==${w.version}`);
    const args = ['-m', 'pip', 'download', '--isolated', '--no-cache-dir', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '--no-deps', '-d', dest, '--index-url', indexUrl, ...requirements];
    const { ms } = await timed(PYTHON, args, `pip download from ${indexUrl}`, { env: cleanEnv({ PIP_CONFIG_FILE: '/dev/null' }) });
    const got = readdirSync(dest).filter((f) => f.endsWith('.whl'));
    if (got.length !== wheels.length) throw new Error(`pip download from ${indexUrl} left ${got.length} wheels, expected ${wheels.length}`);
    return ms;
  } finally {
    removeTempDir(dest);
  }
}

/** Real twine, once: uploads `files` to the legacy URL with a token. Returns the wall time. */
export async function twineUpload(legacyUrl, token, paths) {
  const args = ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', legacyUrl, '-u', '__token__', '-p', token, ...paths];
  const { ms } = await timed('twine', args, 'twine upload', { env: cleanEnv({ TWINE_USERNAME: '', TWINE_PASSWORD: '' }) });
  return ms;
}

/** Versions of the reference tools, for the report. */
export function toolVersions() {
  // nginx -v answers on stderr.
  const first = (command, args) => {
    const r = spawnSync(command, args, { encoding: 'utf8', env: cleanEnv() });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim() || 'missing';
  };
  return {
    nginx: first(NGINX, ['-v']).replace(/^nginx version: /, ''),
    gem: first('gem', ['--version']),
    ruby: first('ruby', ['--version']),
    pip: first(PYTHON, ['-m', 'pip', '--version']).split(' from ')[0],
    twine: first('twine', ['--version']).split(' (')[0].replace(/^twine version /, ''),
  };
}
