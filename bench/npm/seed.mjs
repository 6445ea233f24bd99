import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEP_COUNT, DEP_VERSIONS, MANY, TARBALL, TEN, depName, publishBody, tarballFile } from './fixtures.mjs';

const CORGI = 'application/vnd.npm.install-v1+json';

async function publishOne(system, item) {
  const response = await fetch(`${system.registryUrl}${item.name}`, {
    method: 'PUT',
    headers: { authorization: system.auth, 'content-type': 'application/json', accept: 'application/json' },
    body: publishBody(item, system.registryUrl),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${system.label}: publishing ${item.name}@${item.version} failed: HTTP ${response.status} ${text.slice(0, 500)}`);
}

/**
 * Publishes every fixture through the npm protocol, as `npm publish` would: one PUT per version,
 * versions of a package in order (each moves `latest`), a few packages at a time.
 */
export async function seed(system, packages, concurrency = 4) {
  const started = performance.now();
  const queue = [...packages];
  const worker = async () => {
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) {
      for (const item of pkg.versions) await publishOne(system, item);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Math.round(performance.now() - started);
}

async function get(url, headers) {
  const response = await fetch(url, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${body.toString('utf8').slice(0, 300)}`);
  return { body, contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
}

/**
 * Checks that a seeded registry serves what was published: version counts and tarball bytes
 * identical to the fixtures. Both registries must pass, or the comparison means nothing.
 */
export async function verifySeed(system, packages) {
  const sha = (buffer) => createHash('sha256').update(buffer).digest('hex');
  for (const [name, accept] of [
    [TEN, 'application/json'],
    [MANY, CORGI],
  ]) {
    const doc = JSON.parse((await get(`${system.registryUrl}${name}`, { accept })).body.toString('utf8'));
    const expected = packages.find((p) => p.name === name).versions.length;
    const found = Object.keys(doc.versions ?? {}).length;
    if (found !== expected) throw new Error(`${system.label}: ${name} lists ${found} versions, expected ${expected}`);
  }
  const item = packages.find((p) => p.name === TARBALL).versions[0];
  const { body } = await get(`${system.registryUrl}${TARBALL}/-/${tarballFile(TARBALL, item.version)}`, {});
  if (sha(body) !== sha(item.tarball)) throw new Error(`${system.label}: ${TARBALL} tarball differs from the one published`);
}

/**
 * Captures the bytes the static server will serve from `source` (a seeded registry): the three
 * scenario documents, and for the install benchmark the dependencies' abbreviated packuments
 * (tarball links rewritten to the static server) and tarballs. Returns the routes file path.
 */
export async function captureStatic(source, dir) {
  const routes = [];
  let n = 0;
  const add = async ({ path, variant, accept, rewrite = false }) => {
    const { body, contentType } = await get(`${source.registryUrl}${path}`, { accept });
    const file = join(dir, `body-${n++}`);
    // Tarball links are absolute URLs of the source registry: point them at the static server.
    writeFileSync(file, rewrite ? body.toString('utf8').replaceAll(source.registryUrl, '{{BASE}}/') : body);
    routes.push({ path: `/${path}`, variant, contentType, file, rewrite });
  };
  await add({ path: TEN, variant: 'full', accept: 'application/json' });
  await add({ path: MANY, variant: 'corgi', accept: CORGI });
  await add({ path: `${TARBALL}/-/${tarballFile(TARBALL, '1.0.0')}`, variant: 'any', accept: '*/*' });
  for (let i = 0; i < DEP_COUNT; i++) {
    const name = depName(i);
    await add({ path: name, variant: 'corgi', accept: CORGI, rewrite: true });
    for (const version of DEP_VERSIONS) await add({ path: `${name}/-/${tarballFile(name, version)}`, variant: 'any', accept: '*/*' });
  }
  const routesFile = join(dir, 'routes.json');
  writeFileSync(routesFile, JSON.stringify({ routes }, null, 2));
  return routesFile;
}
