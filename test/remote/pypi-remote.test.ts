/**
 * PyPI remote repositories against a fixture index on 127.0.0.1: caching and revalidation of
 * project pages, stale and offline answers, the gate on proxied files (quarantine, block,
 * remembered), cooldown per release and per file, coalescing on one and two nodes, and every
 * misbehaving upstream we know of. Every request goes through the real server over HTTP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { awsKeyPair } from '../security/secrets/fake-secrets.js';
import { type BuiltDist, buildSdist, buildWheel, cleanupBuilder } from '../formats/pypi/build-dist.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dropperSdist, startPypiUpstream, type PypiUpstream } from './pypi-upstream.js';

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const PIP_ACCEPT = `${JSON_TYPE}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

interface PageFile {
  filename: string;
  url: string;
  hashes: Record<string, string>;
  'core-metadata': false | { sha256: string };
  yanked: boolean | string;
  'upload-time'?: string;
  'requires-python'?: string;
}

interface Page {
  name: string;
  versions: string[];
  files: PageFile[];
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('PyPI remote repository', () => {
  let server: TestServer;
  let upstream: PypiUpstream;
  let repoCount = 0;
  const dists = new Map<string, BuiltDist>();

  async function call(method: string, url: string, options: { headers?: Record<string, string>; body?: FormData } = {}): Promise<Answer> {
    const headers = { authorization: `Bearer ${server.adminToken}`, ...(options.headers ?? {}) };
    const response = await fetch(url, { method, headers, redirect: 'manual', ...(options.body ? { body: options.body } : {}) });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  /** A fresh public remote repository of the fixture; returns its index URL (`…/pypi`) and path. */
  async function remoteRepo(settings: Record<string, unknown> = {}): Promise<{ index: string; path: string }> {
    const name = `remote-${++repoCount}`;
    const created = await fetch(`${server.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', name, visibility: 'public', kind: 'remote', upstream: { format: 'pypi', url: upstream.url, retries: 0, timeoutMs: 3000, ...settings } }),
    });
    assert.equal(created.status, 201, await created.text());
    return { index: `${server.url}/acme/${name}/pypi`, path: `acme/${name}` };
  }

  async function page(index: string, project: string): Promise<{ answer: Answer; doc: Page }> {
    const answer = await call('GET', `${index}/simple/${project}/`, { headers: { accept: PIP_ACCEPT } });
    assert.equal(answer.status, 200, answer.text);
    return { answer, doc: JSON.parse(answer.text) as Page };
  }

  const fileUrl = (index: string, project: string, filename: string) => `${index}/files/${project}/${filename}`;

  async function stored(path: string, name: string, filename: string) {
    const [owner, repoName] = path.split('/') as [string, string];
    const repo = await server.domain.repos.get(owner, repoName);
    assert.ok(repo);
    return server.domain.packages.findFile({ repo, format: 'pypi', name }, filename);
  }

  /** Builds a wheel once and offers it upstream. */
  function offerWheel(name: string, version: string, options: Parameters<PypiUpstream['add']>[2] = {}, extra: Parameters<typeof buildWheel>[0] = {}): BuiltDist {
    const dist = buildWheel({ name, version, ...extra });
    dists.set(dist.filename, dist);
    upstream.add(name, dist, options);
    return dist;
  }

  before(async () => {
    upstream = await startPypiUpstream();
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    offerWheel('plain', '1.0', { requiresPython: '>=3.7' });
    offerWheel('plain', '1.1', { yanked: 'broken build' });
    offerWheel('plain', '1.2');
    upstream.add('plain', buildSdist({ name: 'plain', version: '1.2' }));
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
    cleanupBuilder();
  });

  it('fetches a project page once, serves it from the cache in JSON and HTML, with file URLs pointing at itself', async () => {
    const { index } = await remoteRepo();
    const first = await page(index, 'plain');
    assert.equal(first.answer.headers.get('content-type'), JSON_TYPE);
    assert.equal(first.answer.headers.get('x-stockade-upstream'), 'miss');
    assert.equal(first.doc.name, 'plain');
    assert.deepEqual(first.doc.versions, ['1.0', '1.1', '1.2']);
    const byName = Object.fromEntries(first.doc.files.map((f) => [f.filename, f]));
    assert.deepEqual(Object.keys(byName), ['plain-1.0-py3-none-any.whl', 'plain-1.1-py3-none-any.whl', 'plain-1.2-py3-none-any.whl', 'plain-1.2.tar.gz']);
    const wheel = byName['plain-1.0-py3-none-any.whl'] as PageFile;
    assert.equal(wheel.url, '../../files/plain/plain-1.0-py3-none-any.whl');
    assert.deepEqual(wheel.hashes, { sha256: sha256(dists.get('plain-1.0-py3-none-any.whl')!.data) });
    assert.equal(wheel['requires-python'], '>=3.7');
    assert.equal(wheel['upload-time'], '2021-01-01T00:00:00.000000Z');
    // The upstream's own .metadata is not passed on: pip reads metadata from files the gate has seen.
    assert.equal(wheel['core-metadata'], false);
    assert.equal(byName['plain-1.1-py3-none-any.whl']?.yanked, 'broken build');
    assert.match(String(upstream.accepts.at(-1)), /^application\/vnd\.pypi\.simple\.v1\+json/);

    const html = await call('GET', `${index}/simple/plain/`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get('x-stockade-upstream'), 'hit');
    assert.match(html.text, /<a href="\.\.\/\.\.\/files\/plain\/plain-1\.1-py3-none-any\.whl#sha256=[0-9a-f]{64}" data-yanked="broken build">/);
    assert.equal(upstream.hits('/simple/plain/'), 1);
    const redirect = await call('GET', `${index}/simple/Plain/`);
    assert.equal(redirect.status, 301);
  });

  it('takes the upstream as its index root or as the Simple API URL pip would be given', async () => {
    const { index } = await remoteRepo({ url: `${upstream.url}/simple/` });
    const hits = upstream.hits('/simple/plain/');
    const { doc } = await page(index, 'plain');
    assert.deepEqual(doc.versions, ['1.0', '1.1', '1.2']);
    assert.equal(upstream.hits('/simple/plain/'), hits + 1);
    assert.equal((await call('GET', fileUrl(index, 'plain', 'plain-1.0-py3-none-any.whl'))).status, 200);
  });

  it('revalidates an expired page with its ETag', async () => {
    const { index } = await remoteRepo({ metadataTtlSeconds: 0 });
    assert.equal((await page(index, 'plain')).answer.headers.get('x-stockade-upstream'), 'miss');
    assert.equal((await page(index, 'plain')).answer.headers.get('x-stockade-upstream'), 'revalidated');
  });

  it('fetches a file once, stores it through the gate, then serves it and its core metadata from storage', async () => {
    const { index, path } = await remoteRepo();
    const filename = 'plain-1.0-py3-none-any.whl';
    const before = upstream.hits(`/packages/${filename}`);
    const first = await call('GET', fileUrl(index, 'plain', filename));
    assert.equal(first.status, 200, first.text);
    assert.equal(sha256(Buffer.from(await (await fetch(fileUrl(index, 'plain', filename))).arrayBuffer())), sha256(dists.get(filename)!.data));
    assert.equal(upstream.hits(`/packages/${filename}`) - before, 1);
    const file = await stored(path, 'plain', filename);
    assert.equal(file?.status, 'published');
    const [owner, name] = path.split('/') as [string, string];
    const pkg = await server.domain.packages.load({ repo: (await server.domain.repos.get(owner, name))!, format: 'pypi', name: 'plain' });
    assert.match(pkg?.versions[0]?.publisher ?? '', /^upstream:127\.0\.0\.1:\d+$/);

    // Once stored, the page declares the METADATA taken from the wheel itself.
    const { doc } = await page(index, 'plain');
    const listed = doc.files.find((f) => f.filename === filename);
    assert.ok(listed && listed['core-metadata'] !== false, JSON.stringify(listed));
    const metadata = await call('GET', `${fileUrl(index, 'plain', filename)}.metadata`);
    assert.equal(metadata.status, 200);
    assert.equal(sha256(Buffer.from(metadata.text)), (listed['core-metadata'] as { sha256: string }).sha256);
    assert.match(metadata.text, /^Name: plain$/m);
    assert.equal(upstream.hits(`/packages/${filename}.metadata`), 0);
    // Not fetched: no metadata file either, and nothing asked upstream for it.
    assert.equal((await call('GET', `${fileUrl(index, 'plain', 'plain-1.2-py3-none-any.whl')}.metadata`)).status, 404);
    assert.equal(upstream.hits('/packages/plain-1.2-py3-none-any.whl'), 0);
  });

  it('fetches files the page lists on a separate file host only once that origin is allowed', async () => {
    const dist = offerWheel('hosted-apart', '1.0', { onFileHost: true });
    const { index, path } = await remoteRepo();
    const upstreamPath = `/packages/${dist.filename}`;
    const fileHost = new URL(upstream.filesUrl).host;
    const refused = await call('GET', fileUrl(index, 'hosted-apart', dist.filename));
    assert.equal(refused.status, 502, refused.text);
    assert.equal(refused.headers.get('x-stockade-error'), 'UPSTREAM_FAILED');
    assert.ok(refused.text.includes(`a file URL points away from the allowed origins (${fileHost})`), refused.text);
    assert.equal(upstream.fileHits(upstreamPath), 0);
    assert.equal(await stored(path, 'hosted-apart', dist.filename), null);

    const patch = (body: unknown) =>
      fetch(`${server.url}/api/v1/repos/${path}/upstream`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const [origin, pattern] of [
      [`${upstream.filesUrl}/packages/`, /must be only a scheme, host and optional port/],
      ['ftp://127.0.0.1', /must start with http:\/\/ or https:\/\//],
      ['http://files:hunter2@127.0.0.1', /must not contain credentials/],
      ['not a url', /entry 1 is not a URL/],
    ] as const) {
      const bad = await patch({ fileOrigins: [origin] });
      const text = await bad.text();
      assert.equal(bad.status, 400, text);
      assert.match(text, pattern);
      assert.doesNotMatch(text, /hunter2/);
    }
    const patched = await patch({ fileOrigins: [`${upstream.filesUrl}/`, upstream.filesUrl] });
    assert.equal(patched.status, 200);
    assert.deepEqual(((await patched.json()) as { fileOrigins: string[] }).fileOrigins, [upstream.filesUrl]);

    const fetched = await call('GET', fileUrl(index, 'hosted-apart', dist.filename));
    assert.equal(fetched.status, 200, fetched.text);
    assert.equal(upstream.fileHits(upstreamPath), 1);
    assert.equal(upstream.hits(upstreamPath), 0);
    const file = await stored(path, 'hosted-apart', dist.filename);
    assert.equal(file?.status, 'published');
    assert.equal(sha256(Buffer.from(await (await fetch(fileUrl(index, 'hosted-apart', dist.filename))).arrayBuffer())), sha256(dist.data));
  });

  it('20 concurrent first requests for one file cause one upstream fetch', async () => {
    const { index } = await remoteRepo();
    await page(index, 'plain');
    const filename = 'plain-1.2.tar.gz';
    const before = upstream.hits(`/packages/${filename}`);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('GET', fileUrl(index, 'plain', filename))));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: 20 }, () => 200),
    );
    assert.equal(upstream.hits(`/packages/${filename}`) - before, 1);
  });

  it('serves a stale page with a warning when the upstream is down, and a clear error when nothing is cached', async () => {
    const { index } = await remoteRepo({ metadataTtlSeconds: 0 });
    await page(index, 'plain');
    upstream.down = true;
    try {
      const stale = await page(index, 'plain');
      assert.equal(stale.answer.headers.get('x-stockade-upstream'), 'stale');
      assert.equal(stale.answer.headers.get('warning'), '110 - "Response is Stale"');
      assert.deepEqual(stale.doc.versions, ['1.0', '1.1', '1.2']);
      const missing = await call('GET', `${index}/simple/never-fetched/`);
      assert.equal(missing.status, 502, missing.text);
      assert.equal(missing.headers.get('x-stockade-error'), 'UPSTREAM_FAILED');
      assert.match(missing.text, /the upstream of acme\/remote-\d+ \(127\.0\.0\.1:\d+\) failed: connection failed/);
    } finally {
      upstream.down = false;
    }
  });

  it('offline mode answers from the cache only', async () => {
    const { index, path } = await remoteRepo({ metadataTtlSeconds: 0 });
    await page(index, 'plain');
    assert.equal((await call('GET', fileUrl(index, 'plain', 'plain-1.2-py3-none-any.whl'))).status, 200);
    const patched = await fetch(`${server.url}/api/v1/repos/${path}/upstream`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ offline: true }),
    });
    assert.equal(patched.status, 200, await patched.text());
    const hits = upstream.hits('/simple/plain/');
    const cached = await page(index, 'plain');
    assert.equal(cached.answer.headers.get('x-stockade-upstream'), 'offline');
    assert.equal(upstream.hits('/simple/plain/'), hits);
    const uncached = await call('GET', `${index}/simple/other/`);
    assert.equal(uncached.status, 504);
    assert.equal(uncached.headers.get('x-stockade-error'), 'NOT_CACHED');
    const file = await call('GET', fileUrl(index, 'plain', 'plain-1.0-py3-none-any.whl'));
    assert.equal(file.status, 504, file.text);
    assert.equal((await call('GET', fileUrl(index, 'plain', 'plain-1.2-py3-none-any.whl'))).status, 200);
  });

  it('answers 404 for a project the upstream does not have, and remembers it', async () => {
    const { index } = await remoteRepo({ negativeTtlSeconds: 600 });
    assert.equal((await call('GET', `${index}/simple/nothing-here/`)).status, 404);
    assert.equal((await call('GET', `${index}/simple/nothing-here/`)).status, 404);
    assert.equal(upstream.hits('/simple/nothing-here/'), 1);
  });

  it('lists the projects it has cached in its root index', async () => {
    const { index } = await remoteRepo();
    const empty = await call('GET', `${index}/simple/`, { headers: { accept: JSON_TYPE } });
    assert.deepEqual((JSON.parse(empty.text) as { projects: unknown[] }).projects, []);
    assert.equal((await call('GET', fileUrl(index, 'plain', 'plain-1.0-py3-none-any.whl'))).status, 200);
    const listed = await call('GET', `${index}/simple/`, { headers: { accept: JSON_TYPE } });
    assert.deepEqual((JSON.parse(listed.text) as { projects: unknown[] }).projects, [{ name: 'plain' }]);
  });

  it('quarantines a malicious upstream release, hides it, and keeps serving the previous one', async () => {
    offerWheel('victim', '1.0.0');
    upstream.add('victim', dropperSdist('victim', '1.0.1'));
    const { index } = await remoteRepo();
    assert.deepEqual((await page(index, 'victim')).doc.versions, ['1.0.0', '1.0.1']);
    const bad = await call('GET', fileUrl(index, 'victim', 'victim-1.0.1.tar.gz'));
    assert.equal(bad.status, 403, bad.text);
    assert.equal(bad.headers.get('x-stockade-error'), 'PACKAGE_QUARANTINED');
    assert.match(bad.text, /victim 1\.0\.1 is quarantined pending review: .*malware\//);
    const afterwards = await page(index, 'victim');
    assert.deepEqual(afterwards.doc.versions, ['1.0.0']);
    assert.equal((await call('GET', fileUrl(index, 'victim', 'victim-1.0.0-py3-none-any.whl'))).status, 200);
  });

  it('blocks an upstream release with a leaked secret, remembers it and never fetches it again', async () => {
    const keys = awsKeyPair('pypi-remote');
    offerWheel('leaky', '1.0');
    offerWheel('leaky', '2.0', {}, { name: 'leaky', version: '2.0', files: [{ path: 'leaky/settings.py', body: `AWS_ACCESS_KEY_ID = '${keys.id}'\nAWS_SECRET_ACCESS_KEY = '${keys.secret}'\n` }] });
    const { index, path } = await remoteRepo();
    const filename = 'leaky-2.0-py3-none-any.whl';
    const blocked = await call('GET', fileUrl(index, 'leaky', filename));
    assert.equal(blocked.status, 403, blocked.text);
    assert.equal(blocked.headers.get('x-stockade-error'), 'PACKAGE_BLOCKED');
    assert.match(blocked.text, /secrets\/aws/);
    assert.ok(!blocked.text.includes(keys.secret));
    assert.equal(await stored(path, 'leaky', filename), null);
    assert.deepEqual((await page(index, 'leaky')).doc.versions, ['1.0']);
    const again = await call('GET', fileUrl(index, 'leaky', filename));
    assert.equal(again.status, 403);
    assert.match(again.text, /^blocked by the security gate: secrets\/aws[^]*\. Remove what was found/);
    assert.doesNotMatch(again.text, /gate: blocked by/);
    assert.equal(upstream.hits(`/packages/${filename}`), 1);
  });

  it('blocks a release with an unsafe archive for good, but only refuses a file it cannot read', async () => {
    offerWheel('linked', '1.0');
    offerWheel('linked', '2.0', {}, { name: 'linked', version: '2.0', rawEntries: [{ path: 'linked/secrets', symlinkTo: '/etc/shadow' }] });
    offerWheel('broken', '1.0');
    const garbage = { filename: 'broken-1.1-py3-none-any.whl', data: Buffer.from('this is not a zip file at all') };
    upstream.add('broken', garbage);
    const { index, path } = await remoteRepo();

    const unsafe = await call('GET', fileUrl(index, 'linked', 'linked-2.0-py3-none-any.whl'));
    assert.equal(unsafe.status, 403, unsafe.text);
    assert.equal(unsafe.headers.get('x-stockade-error'), 'PACKAGE_BLOCKED');
    assert.match(unsafe.text, /linked-2\.0-py3-none-any\.whl: unsafe package archive: .*symbolic link/);
    assert.deepEqual((await page(index, 'linked')).doc.versions, ['1.0']);

    const unreadable = await call('GET', fileUrl(index, 'broken', garbage.filename));
    assert.equal(unreadable.status, 502, unreadable.text);
    assert.match(unreadable.text, /broken-1\.1-py3-none-any\.whl is not a distribution Stockade can read \(invalid package archive: .*\); nothing was stored/);
    assert.equal(await stored(path, 'broken', garbage.filename), null);
    // Not a verdict on the release: it stays listed, and another request tries again.
    assert.deepEqual((await page(index, 'broken')).doc.versions, ['1.0', '1.1']);
    assert.equal((await call('GET', fileUrl(index, 'broken', garbage.filename))).status, 502);
    assert.equal(upstream.hits(`/packages/${garbage.filename}`), 2);
  });

  it('hides releases and files younger than the cooldown unless allow-listed', async () => {
    const now = new Date().toISOString();
    offerWheel('fresh', '1.0');
    offerWheel('fresh', '1.1', { uploadTime: now });
    // A wheel added to an old release today, and one the upstream gives no time for: both count as fresh.
    offerWheel('fresh', '1.0', { uploadTime: now }, { name: 'fresh', version: '1.0', filename: 'fresh-1.0-py2.py3-none-any.whl' });
    offerWheel('fresh', '1.0', { uploadTime: null }, { name: 'fresh', version: '1.0', filename: 'fresh-1.0-1-py3-none-any.whl' });
    const { index, path } = await remoteRepo({ cooldownHours: 72 });
    const hidden = await page(index, 'fresh');
    assert.deepEqual(hidden.doc.versions, ['1.0']);
    assert.deepEqual(
      hidden.doc.files.map((f) => f.filename),
      ['fresh-1.0-py3-none-any.whl'],
    );
    const refused = await call('GET', fileUrl(index, 'fresh', 'fresh-1.1-py3-none-any.whl'));
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /published upstream less than 72 h ago, within the cooldown of acme\/remote-\d+/);
    assert.equal((await call('GET', fileUrl(index, 'fresh', 'fresh-1.0-py2.py3-none-any.whl'))).status, 403);
    // Allow-list entries are compared as PEP 503 names and PEP 440 versions.
    const patched = await fetch(`${server.url}/api/v1/repos/${path}/upstream`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cooldownAllow: ['Fresh@1.1.0'] }),
    });
    assert.equal(patched.status, 200, await patched.text());
    assert.deepEqual((await page(index, 'fresh')).doc.versions, ['1.0', '1.1']);
    assert.equal((await call('GET', fileUrl(index, 'fresh', 'fresh-1.1-py3-none-any.whl'))).status, 200);
  });

  for (const [mode, expected] of [
    ['wrong-checksum', /does not match the sha256 on the upstream's project page; nothing was stored/],
    ['truncated', /truncated|connection broke/],
    ['endless', /exceeds the limit of 65536 bytes/],
  ] as const) {
    it(`refuses a file with ${mode} and stores nothing`, async () => {
      const name = `bad-${mode}`;
      offerWheel(name, '1.0', { mode });
      const { index, path } = await remoteRepo({ maxFileBytes: 65536 });
      const filename = `${name.replace(/-/g, '_')}-1.0-py3-none-any.whl`;
      const answer = await call('GET', fileUrl(index, name, filename));
      assert.equal(answer.status, 502, answer.text);
      assert.equal(answer.headers.get('x-stockade-error'), 'UPSTREAM_FAILED');
      assert.match(answer.text, expected);
      assert.equal(await stored(path, name, filename), null);
    });
  }

  it('gives up on a stalled file after the timeout and stores nothing', async () => {
    offerWheel('stalls', '1.0', { mode: 'stall' });
    const { index, path } = await remoteRepo({ timeoutMs: 500 });
    const answer = await call('GET', fileUrl(index, 'stalls', 'stalls-1.0-py3-none-any.whl'));
    assert.equal(answer.status, 504, answer.text);
    assert.equal(answer.headers.get('x-stockade-error'), 'UPSTREAM_TIMEOUT');
    assert.equal(await stored(path, 'stalls', 'stalls-1.0-py3-none-any.whl'), null);
  });

  it('refuses to fetch a file the upstream gives no sha256 for', async () => {
    offerWheel('unhashed', '1.0', { noHash: true });
    const { index, path } = await remoteRepo();
    const listed = await page(index, 'unhashed');
    assert.deepEqual(listed.doc.files[0]?.hashes, {});
    const answer = await call('GET', fileUrl(index, 'unhashed', 'unhashed-1.0-py3-none-any.whl'));
    assert.equal(answer.status, 502, answer.text);
    assert.match(answer.text, /unhashed-1\.0-py3-none-any\.whl has no sha256 on the upstream's project page/);
    assert.equal(upstream.hits('/packages/unhashed-1.0-py3-none-any.whl'), 0);
    assert.equal(await stored(path, 'unhashed', 'unhashed-1.0-py3-none-any.whl'), null);
  });

  it('refuses a page over the metadata limit and caches nothing', async () => {
    offerWheel('huge', '1.0');
    upstream.bloat('huge', 300_000);
    const { index } = await remoteRepo({ maxMetadataBytes: 100_000 });
    const answer = await call('GET', `${index}/simple/huge/`);
    assert.equal(answer.status, 502, answer.text);
    assert.match(answer.text, /over the limit of 100000/);
    const rows = await server.domain.db.selectFrom('remote_metadata').select('name').where('name', '=', 'huge').execute();
    assert.deepEqual(rows, []);
  });

  it('names the problem when the upstream serves only HTML pages', async () => {
    offerWheel('html-only', '1.0');
    const { index } = await remoteRepo();
    upstream.htmlOnly = true;
    try {
      const answer = await call('GET', `${index}/simple/html-only/`);
      assert.equal(answer.status, 502, answer.text);
      assert.match(answer.text, /invalid metadata for html-only: .*answered an HTML page; a remote PyPI repository needs an index that serves the JSON Simple API \(PEP 691/);
    } finally {
      upstream.htmlOnly = false;
    }
  });

  it('reads a hostile page strictly: foreign, legacy and malformed entries are left out, a wrong name or API version fails', async () => {
    const good = offerWheel('mixed', '1.0');
    for (const entry of [
      { filename: 'other-9.0-py3-none-any.whl', url: '../../packages/other-9.0-py3-none-any.whl', hashes: { sha256: '1'.repeat(64) } },
      { filename: 'mixed-0.1.egg', url: '../../packages/mixed-0.1.egg', hashes: { sha256: '1'.repeat(64) } },
      { filename: '../../etc/passwd', url: '../../packages/x', hashes: {} },
      { filename: 'mixed-0.2.tar.gz', url: 'file:///etc/passwd', hashes: { sha256: '1'.repeat(64) } },
      { filename: 'mixed-0.3.tar.gz', hashes: { sha256: '1'.repeat(64) } },
      { filename: good.filename, url: 'http://203.0.113.9/elsewhere.whl', hashes: { sha256: '2'.repeat(64) } },
      'not an object',
    ]) {
      upstream.addRaw('mixed', entry);
    }
    const { index } = await remoteRepo();
    const listed = await page(index, 'mixed');
    assert.deepEqual(
      listed.doc.files.map((f) => [f.filename, f.hashes.sha256]),
      [[good.filename, sha256(good.data)]],
    );

    upstream.setPage('renamed', JSON.stringify({ meta: { 'api-version': '1.0' }, name: 'something-else', files: [] }));
    upstream.setPage('future', JSON.stringify({ meta: { 'api-version': '2.0' }, name: 'future', files: [] }));
    upstream.setPage('garbage', '{"meta": ');
    for (const [project, pattern] of [
      ['renamed', /the page for renamed names the project something-else/],
      ['future', /api-version 2\.0; only 1\.x is understood/],
      ['garbage', /not JSON/],
    ] as const) {
      const answer = await call('GET', `${index}/simple/${project}/`);
      assert.equal(answer.status, 502, answer.text);
      assert.match(answer.text, pattern);
    }
  });

  it('refuses uploads with twine clearly', async () => {
    const { index, path } = await remoteRepo();
    const form = new FormData();
    form.append(':action', 'file_upload');
    form.append('content', new Blob([Buffer.from('not read')]), 'plain-9.0-py3-none-any.whl');
    const answer = await call('POST', `${index}/legacy/`, { body: form });
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.get('x-stockade-error'), 'REMOTE_READ_ONLY');
    assert.equal(answer.text.trim(), `${path} is a remote repository that mirrors its upstream: publish to a hosted repository instead`);
  });
});

describe('PyPI remote repository on two nodes', () => {
  let first: TestServer;
  let second: TestServer;
  let upstream: PypiUpstream;

  before(async () => {
    upstream = await startPypiUpstream();
    first = await startTestServer();
    second = await startTestServer({}, { sameStorageAs: first });
    const admin = await first.domain.accounts.getUser('admin');
    assert.ok(admin);
    await first.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    upstream.add('shared', buildWheel({ name: 'shared', version: '1.0' }));
  });

  after(async () => {
    await second?.close();
    await first?.close();
    await upstream?.close();
    cleanupBuilder();
  });

  it('concurrent first requests on both nodes cause one upstream fetch', async () => {
    const created = await fetch(`${first.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', name: 'mirror', visibility: 'public', kind: 'remote', upstream: { format: 'pypi', url: upstream.url, retries: 0 } }),
    });
    assert.equal(created.status, 201, await created.text());
    const file = '/files/shared/shared-1.0-py3-none-any.whl';
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${(i % 2 ? second : first).url}/acme/mirror/pypi${file}`).then(async (r) => ({ status: r.status, size: (await r.arrayBuffer()).byteLength }))),
    );
    assert.ok(
      answers.every((a) => a.status === 200 && a.size > 0),
      JSON.stringify(answers),
    );
    assert.equal(upstream.hits('/packages/shared-1.0-py3-none-any.whl'), 1);
  });
});
