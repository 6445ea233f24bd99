import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { http, packageTgz, packageUrl, publishBody } from '../../e2e/registry.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const CORGI = 'application/vnd.npm.install-v1+json';

async function publish(server: TestServer, registry: string, token: string, name: string, version: string, extra: Record<string, unknown> = {}) {
  const pkgJson = { name, version, description: `${name} package`, ...extra };
  const tarball = packageTgz(pkgJson);
  const answer = await http('PUT', packageUrl(registry, name), { token, body: publishBody({ registry, pkgJson, tarball }) });
  assert.equal(answer.status, 201, answer.text);
  return tarball;
}

describe('npm protocol details', () => {
  let server: TestServer;
  let registry: string;

  before(async () => {
    server = await startTestServer({ server: { publicUrl: null, trustProxy: false } });
    registry = await server.createRepo('admin', 'web', 'public');
    for (let i = 0; i < 3; i++) await publish(server, registry, server.adminToken, '@acme/widget', `1.${i}.0`, { dependencies: { lodash: '^4' }, scripts: { postinstall: 'node x.js' } });
  });
  after(() => server.close());

  it('serves the abbreviated document to clients that ask for it', async () => {
    const answer = await http('GET', packageUrl(registry, '@acme/widget'), { headers: { accept: `${CORGI}; q=1.0, application/json; q=0.8, */*` } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), CORGI);
    const doc = answer.json!;
    assert.deepEqual(Object.keys(doc).sort(), ['dist-tags', 'modified', 'name', 'versions']);
    const version = (doc.versions as Record<string, Record<string, unknown>>)['1.2.0']!;
    assert.equal(version.hasInstallScript, true);
    assert.deepEqual(version.dependencies, { lodash: '^4' });
    assert.equal(version.scripts, undefined, 'scripts are not part of the abbreviated document');
    assert.equal(version.description, undefined);
  });

  it('serves the full document otherwise, with tarball URLs on this server', async () => {
    const answer = await http('GET', `${registry}@acme/widget`, { headers: { accept: 'application/json' } });
    assert.equal(answer.status, 200);
    const doc = answer.json!;
    assert.equal(doc._id, '@acme/widget');
    assert.match(String(doc._rev), /^\d+-[0-9a-f]{16}$/);
    assert.equal((doc['dist-tags'] as Record<string, string>).latest, '1.2.0');
    const v = (doc.versions as Record<string, Record<string, Record<string, unknown>>>)['1.0.0']!;
    assert.equal(v.dist!.tarball, `${registry}@acme/widget/-/widget-1.0.0.tgz`);
    assert.match(String(v.dist!.integrity), /^sha512-/);
    assert.ok((doc.time as Record<string, string>)['1.1.0']);
  });

  it('answers If-None-Match with 304 and compresses large documents with brotli or gzip', async () => {
    const first = await http('GET', packageUrl(registry, '@acme/widget'));
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    const again = await http('GET', packageUrl(registry, '@acme/widget'), { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    // A small document fits in one initial congestion window: it goes as it is.
    assert.ok(first.text.length < 14_600);
    const small = await fetch(packageUrl(registry, '@acme/widget'), { headers: { 'accept-encoding': 'br, gzip' } });
    assert.equal(small.headers.get('content-encoding'), null);
    assert.equal(await small.text(), first.text);

    // Fifty versions with their keywords make a document well over that.
    for (let i = 0; i < 50; i++) await publish(server, registry, server.adminToken, 'big-doc', `1.0.${i}`, { keywords: Array.from({ length: 30 }, (_, k) => `keyword-${k}`) });
    const large = await http('GET', packageUrl(registry, 'big-doc'));
    assert.ok(large.text.length > 14_600, `${large.text.length} bytes`);
    for (const encoding of ['br', 'gzip'] as const) {
      const response = await fetch(packageUrl(registry, 'big-doc'), { headers: { 'accept-encoding': encoding } });
      assert.equal(response.headers.get('content-encoding'), encoding);
      const raw = Buffer.from(await response.arrayBuffer());
      // fetch decodes transparently; compare with the identity body either way.
      const text = raw[0] === 0x7b ? raw.toString() : (encoding === 'br' ? brotliDecompressSync(raw) : gunzipSync(raw)).toString();
      assert.equal(text, large.text);
    }
  });

  it('drops the cached document when a version is published', async () => {
    const before = await http('GET', packageUrl(registry, '@acme/widget'));
    await publish(server, registry, server.adminToken, '@acme/widget', '2.0.0');
    const after = await http('GET', packageUrl(registry, '@acme/widget'));
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    assert.ok((after.json!.versions as Record<string, unknown>)['2.0.0']);
  });

  it('serves tarballs with length, checksum and immutable caching', async () => {
    const tarball = await publish(server, registry, server.adminToken, 'plain', '0.1.0');
    const response = await fetch(`${registry}plain/-/plain-0.1.0.tgz`);
    assert.equal(response.status, 200);
    assert.equal(Number(response.headers.get('content-length')), tarball.length);
    assert.match(response.headers.get('cache-control')!, /immutable/);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), tarball);
    const head = await fetch(`${registry}plain/-/plain-0.1.0.tgz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`${registry}plain/-/plain-9.9.9.tgz`)).status, 404);
  });

  it('serves one version by number or tag', async () => {
    const byTag = await http('GET', `${registry}plain/latest`);
    assert.equal(byTag.json?.version, '0.1.0');
    const byNumber = await http('GET', `${registry}plain/0.1.0`);
    assert.equal(byNumber.json?._id, 'plain@0.1.0');
    assert.equal((await http('GET', `${registry}plain/7.0.0`)).status, 404);
  });

  it('ignores X-Forwarded-* unless a trusted proxy is configured', async () => {
    const answer = await http('GET', `${registry}plain`, { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    const v = (answer.json!.versions as Record<string, Record<string, Record<string, string>>>)['0.1.0']!;
    assert.ok(v.dist!.tarball!.startsWith(server.url), v.dist!.tarball);
  });
});

describe('npm behind a reverse proxy', () => {
  it('uses the configured public URL, or trusted forwarded headers', async () => {
    const proxied = await startTestServer({ server: { trustProxy: true } });
    const fixed = await startTestServer({ server: { publicUrl: 'https://packages.example.test/' } });
    try {
      for (const s of [proxied, fixed]) {
        const registry = await s.createRepo('admin', 'web', 'public');
        await publish(s, registry, s.adminToken, 'thing', '1.0.0');
      }
      const viaProxy = await http('GET', `${proxied.url}/admin/web/npm/thing`, { headers: { 'x-forwarded-host': 'mirror.example.test', 'x-forwarded-proto': 'https' } });
      const v1 = (viaProxy.json!.versions as Record<string, Record<string, Record<string, string>>>)['1.0.0']!;
      assert.equal(v1.dist!.tarball, 'https://mirror.example.test/admin/web/npm/thing/-/thing-1.0.0.tgz');
      const viaConfig = await http('GET', `${fixed.url}/admin/web/npm/thing`);
      const v2 = (viaConfig.json!.versions as Record<string, Record<string, Record<string, string>>>)['1.0.0']!;
      assert.equal(v2.dist!.tarball, 'https://packages.example.test/admin/web/npm/thing/-/thing-1.0.0.tgz');
    } finally {
      await proxied.close();
      await fixed.close();
    }
  });
});

describe('several nodes on one database', () => {
  it('show each other\'s changes at once, and agree on who won a race', async () => {
    const a = await startTestServer();
    const b = await startTestServer({}, { sameStorageAs: a });
    try {
      const registryA = await a.createRepo('admin', 'shared', 'private');
      const registryB = registryA.replace(a.url, b.url);
      // B caches "no such package" and "no such repo member" before A changes anything.
      assert.equal((await http('GET', `${registryB}cached`, { token: a.adminToken })).status, 404);
      await publish(a, registryA, a.adminToken, 'cached', '1.0.0');
      let seen = await http('GET', `${registryB}cached`, { token: a.adminToken });
      assert.equal(seen.status, 200, 'node B sees the publish made on node A');
      await http('PUT', `${registryA}-/package/cached/dist-tags/next`, { token: a.adminToken, body: '1.0.0' });
      seen = await http('GET', `${registryB}-/package/cached/dist-tags`, { token: a.adminToken });
      assert.deepEqual(seen.json, { latest: '1.0.0', next: '1.0.0' });

      // A token revoked on node A stops working on node B.
      const user = await a.createUser('mover', { scopes: ['read'] });
      await a.domain.accounts.setMember({ name: 'system', ip: null }, { owner: 'admin', user: 'mover', role: 'read' });
      assert.equal((await http('GET', `${registryB}cached`, { token: user.token })).status, 200);
      const [token] = await a.domain.tokens.list(user.id);
      await a.domain.tokens.revoke({ name: 'system', ip: null }, { userId: user.id, isAdmin: false, id: token!.id });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await http('GET', `${registryB}cached`, { token: user.token })).status, 401);

      // The same version published on both nodes at once: exactly one wins.
      const name = 'race';
      const pkgJson = { name, version: '1.0.0' };
      const tarball = packageTgz(pkgJson);
      const body = publishBody({ registry: registryA, pkgJson, tarball });
      const answers = await Promise.all(
        [registryA, registryB, registryA, registryB].map((r) => http('PUT', packageUrl(r, name), { token: a.adminToken, body })),
      );
      assert.deepEqual(answers.map((x) => x.status).sort(), [201, 409, 409, 409]);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
