/**
 * The memory path answers cached npm reads before the framework routes them. Whatever it answers
 * must be byte for byte what the framework's own route answers (the same status, body and headers,
 * security headers included), and everything it must not answer (a caller it cannot vouch for, a
 * revoked token, a token used from outside its address ranges, a session cookie, a path the router
 * would normalize) goes to the framework untouched. The framework's answer is taken with
 * `inject`, which does not pass through the server's socket handler at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { HSTS_HEADER, SECURITY_HEADERS } from '../../src/http/security-headers.js';
import { http, packageTgz, packageUrl, publishBody, rawRequest, type RawAnswer } from '../e2e/registry.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-upstream.js';
import { testDialect } from '../helpers/database.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CORGI = 'application/vnd.npm.install-v1+json';
/**
 * Nodes sharing a PostgreSQL database check a package's revision before answering, so there the
 * memory path answers nothing and every read below must come out the same through the framework.
 */
const memoryAnswers = testDialect === 'sqlite';
/** Headers that describe the connection or the moment, not the answer. */
const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

describe('memory path', () => {
  let server: TestServer;
  let upstream: NpmUpstream;
  const logLines: string[] = [];

  /** Publishes through `node` (this server unless told otherwise). */
  async function publish(repo: string, pkgJson: { name: string; version: string }, node: TestServer = server): Promise<void> {
    const registry = `${node.url}/${repo}/npm/`;
    const answer = await http('PUT', packageUrl(registry, pkgJson.name), { token: server.adminToken, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(answer.status, 201, answer.text);
  }

  async function createRepo(body: Record<string, unknown>): Promise<void> {
    const answer = await http('POST', `${server.url}/api/v1/repos`, { token: server.adminToken, body: { owner: 'admin', visibility: 'public', ...body } });
    assert.equal(answer.status, 201, answer.text);
  }

  /** The answer through the server's socket, and whether the memory path gave it. */
  async function throughSocket(method: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer & { fromMemory: boolean }> {
    const before = server.app.memoryPath.answered();
    const answer = await rawRequest(server.url, { method, path, headers });
    return { ...answer, fromMemory: server.app.memoryPath.answered() > before };
  }

  /** The framework's own answer to the same request. */
  async function throughFramework(method: string, path: string, headers: Record<string, string> = {}) {
    const answer = await server.app.inject({ method: method as 'GET', url: path, headers: { host: new URL(server.url).host, ...headers } });
    return { status: answer.statusCode, headers: answer.headers, body: answer.rawPayload };
  }

  function comparable(headers: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) if (!PER_CONNECTION.has(name)) out[name] = String(value);
    return out;
  }

  /** Asks twice (the first request may warm the caches), then checks the memory path's answer against the framework's. */
  async function assertSameAnswer(method: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
    await throughSocket(method, path, headers);
    const memory = await throughSocket(method, path, headers);
    assert.equal(memory.fromMemory, memoryAnswers, `${method} ${path} ${memoryAnswers ? 'should' : 'should not'} be answered from memory`);
    const framework = await throughFramework(method, path, headers);
    assert.equal(memory.status, framework.status, `${method} ${path}: status`);
    assert.deepEqual(comparable(memory.headers), comparable(framework.headers), `${method} ${path}: headers`);
    assert.equal(memory.text, framework.body.toString('utf8'), `${method} ${path}: body`);
    return memory;
  }

  before(async () => {
    upstream = await startNpmUpstream();
    upstream.add({ name: 'from-upstream', version: '1.0.0' });
    server = await startTestServer({ server: { trustProxy: true } }, { logLines });
    await createRepo({ name: 'open' });
    await createRepo({ name: 'closed', visibility: 'private' });
    await createRepo({ name: 'mirror', kind: 'remote', upstream: { format: 'npm', url: upstream.url, retries: 0 } });
    await createRepo({ name: 'all', kind: 'virtual', virtual: { format: 'npm', members: ['admin/open', 'admin/mirror'], claims: [] } });
    await publish('admin/open', { name: 'warm', version: '1.0.0' });
    await publish('admin/closed', { name: 'secret', version: '2.0.0' });
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  it('answers packuments (full and abbreviated), HEAD and tarballs exactly as the framework does', async () => {
    const full = await assertSameAnswer('GET', '/admin/open/npm/warm');
    assert.equal(full.status, 200);
    assert.equal(full.headers['content-type'], 'application/json');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(full.headers[name], value, name);
    assert.equal(full.headers[HSTS_HEADER.name], undefined, 'plain http: no HSTS');
    assert.equal(Number(full.headers['content-length']), Buffer.byteLength(full.text));

    const corgi = await assertSameAnswer('GET', '/admin/open/npm/warm', { accept: CORGI });
    assert.equal(corgi.headers['content-type'], CORGI);
    assert.notEqual(corgi.text, full.text);

    const head = await assertSameAnswer('HEAD', '/admin/open/npm/warm');
    assert.equal(head.text, '');
    assert.equal(head.headers['content-length'], full.headers['content-length']);

    const tarball = await assertSameAnswer('GET', '/admin/open/npm/warm/-/warm-1.0.0.tgz');
    assert.equal(tarball.status, 200);
    assert.equal(tarball.headers['content-type'], 'application/octet-stream');
    assert.equal(tarball.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('answers 304 to a client whose copy is current', async () => {
    const first = await throughSocket('GET', '/admin/open/npm/warm');
    const etag = String(first.headers.etag);
    const again = await assertSameAnswer('GET', '/admin/open/npm/warm', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    const tarballPath = '/admin/open/npm/warm/-/warm-1.0.0.tgz';
    const file = await throughSocket('GET', tarballPath);
    assert.equal((await assertSameAnswer('GET', tarballPath, { 'if-none-match': String(file.headers.etag) })).status, 304);
    assert.equal((await assertSameAnswer('GET', tarballPath, { 'if-none-match': '"0000"' })).status, 200, 'an etag that does not match gets the file');
  });

  it('answers a virtual repository from what it remembered of its remote member', async () => {
    const first = await throughSocket('GET', '/admin/all/npm/from-upstream', { accept: CORGI, 'npm-command': 'install' });
    assert.equal(first.status, 200, first.text);
    const answer = await assertSameAnswer('GET', '/admin/all/npm/from-upstream', { accept: CORGI });
    assert.equal(answer.headers['x-stockade-upstream'], 'hit');
    const tarballUrl = (answer.json?.versions as Record<string, { dist: { tarball: string } }>)['1.0.0']!.dist.tarball;
    assert.equal(tarballUrl, `${server.url}/admin/all/npm/from-upstream/-/from-upstream-1.0.0.tgz`);
    const tarball = await assertSameAnswer('GET', new URL(tarballUrl).pathname);
    assert.equal(tarball.status, 200);
    // The remote member answered, and not more than once for each file.
    assert.equal(upstream.hits('/from-upstream/-/from-upstream-1.0.0.tgz'), 1);
  });

  it('answers a private name through a virtual repository, each file from the hosted member that stores it, until a member changes the name', async () => {
    await createRepo({ name: 'open-2' });
    await createRepo({ name: 'both', kind: 'virtual', virtual: { format: 'npm', members: ['admin/open', 'admin/open-2', 'admin/mirror'], claims: [] } });
    await publish('admin/open', { name: 'shared', version: '1.0.0' });
    await publish('admin/open-2', { name: 'shared', version: '2.0.0' });
    const doc = await assertSameAnswer('GET', '/admin/both/npm/shared', { accept: CORGI });
    assert.deepEqual(Object.keys(doc.json?.versions as Record<string, unknown>).sort(), ['1.0.0', '2.0.0']);
    assert.equal(doc.headers['x-stockade-upstream'], undefined, 'a private name never comes from upstream');
    for (const [version, owner] of [['1.0.0', 'admin/open'], ['2.0.0', 'admin/open-2']] as const) {
      const viaVirtual = await assertSameAnswer('GET', `/admin/both/npm/shared/-/shared-${version}.tgz`);
      const direct = await throughSocket('GET', `/${owner}/npm/shared/-/shared-${version}.tgz`);
      assert.equal(viaVirtual.headers['x-checksum-sha256'], direct.headers['x-checksum-sha256'], `shared-${version}.tgz comes from ${owner}`);
    }
    assert.equal(upstream.hits('/shared'), 0, 'a private name is never asked upstream');

    await publish('admin/open-2', { name: 'shared', version: '2.1.0' });
    const changed = await throughSocket('GET', '/admin/both/npm/shared', { accept: CORGI });
    assert.equal(changed.fromMemory, false, 'a change in a hosted member drops the remembered answer');
    assert.deepEqual(Object.keys(changed.json?.versions as Record<string, unknown>).sort(), ['1.0.0', '2.0.0', '2.1.0']);
    assert.equal((await throughSocket('GET', '/admin/both/npm/shared', { accept: CORGI })).fromMemory, memoryAnswers);
  });

  it('builds URLs and HSTS from the forwarded scheme and host behind a trusted proxy', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'packages.example.test', 'x-forwarded-for': '203.0.113.7' };
    const answer = await assertSameAnswer('GET', '/admin/open/npm/warm', forwarded);
    assert.equal(answer.headers[HSTS_HEADER.name], HSTS_HEADER.value);
    const tarballUrl = (answer.json?.versions as Record<string, { dist: { tarball: string } }>)['1.0.0']!.dist.tarball;
    assert.equal(tarballUrl, 'https://packages.example.test/admin/open/npm/warm/-/warm-1.0.0.tgz');
  });

  it('answers a private repository only to a caller this node has verified, and stops when the token is revoked', async () => {
    const anonymous = await throughSocket('GET', '/admin/closed/npm/secret');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.fromMemory, false);

    const reader = await server.createUser('reader', { scopes: ['read'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'admin', user: 'reader', role: 'read' });
    const auth = { authorization: `Bearer ${reader.token}` };
    const answer = await assertSameAnswer('GET', '/admin/closed/npm/secret', auth);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['cache-control'], 'private, max-age=0, must-revalidate');

    const [token] = await server.domain.tokens.list(reader.id);
    await server.domain.tokens.revoke(systemActor, { userId: reader.id, isAdmin: false, id: token!.id });
    const revoked = await throughSocket('GET', '/admin/closed/npm/secret', auth);
    assert.equal(revoked.status, 401, revoked.text);
    assert.equal(revoked.fromMemory, false);

    const wrong = await throughSocket('GET', '/admin/closed/npm/secret', { authorization: 'Bearer stk_not-a-real-token' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.fromMemory, false);
  });

  it('checks a token’s address ranges against the forwarded client address', async () => {
    const user = await server.domain.accounts.getUser('admin');
    const { secret } = await server.domain.tokens.create(systemActor, { userId: user!.id, name: 'ranged', scopes: ['read'], cidrs: ['10.0.0.0/8'] });
    const inside = { authorization: `Bearer ${secret}`, 'x-forwarded-for': '10.1.2.3' };
    assert.equal((await assertSameAnswer('GET', '/admin/closed/npm/secret', inside)).status, 200);
    const outside = await throughSocket('GET', '/admin/closed/npm/secret', { authorization: `Bearer ${secret}`, 'x-forwarded-for': '192.0.2.1, 10.1.2.3' });
    assert.equal(outside.status, 403, outside.text);
    assert.equal(outside.fromMemory, false);
    assert.match(outside.text, /192\.0\.2\.1/);
  });

  it('leaves session cookies, writes and paths the router would normalize to the framework', async () => {
    await throughSocket('GET', '/admin/open/npm/warm');
    for (const [method, path, headers] of [
      ['GET', '/admin/open/npm/warm', { cookie: 'stockade_session=not-a-session' }],
      ['GET', '//admin/open/npm/warm', {}],
      ['GET', '/admin/op%65n/npm/warm', {}],
      ['GET', '/admin/open/npm//warm', {}],
      ['POST', '/admin/open/npm/warm', {}],
      ['GET', '/admin/open/npm/-/ping', {}],
      ['GET', '/admin/open/pypi/simple/', {}],
    ] as const) {
      const answer = await throughSocket(method, path, headers);
      assert.equal(answer.fromMemory, false, `${method} ${path}`);
      assert.ok(answer.status > 0);
    }
    // The same read without the oddity is a memory answer again.
    assert.equal((await throughSocket('GET', '/admin/open/npm/warm')).fromMemory, memoryAnswers);
  });

  it('logs one line per answer, with the caller and without secrets in the path', async () => {
    const before = logLines.length;
    const reader = await server.createUser('logged', { scopes: ['read'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'admin', user: 'logged', role: 'read' });
    const auth = { authorization: `Bearer ${reader.token}` };
    await throughSocket('GET', '/admin/closed/npm/secret', auth);
    const answer = await throughSocket('GET', '/admin/closed/npm/secret', auth);
    assert.equal(answer.fromMemory, memoryAnswers);
    const lines = logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request');
    const last = lines.at(-1)!;
    assert.equal(last.path, '/admin/closed/npm/secret');
    assert.equal(last.status, 200);
    assert.equal(last.user, 'logged');
    assert.equal(typeof last.ms, 'number');
    assert.equal(lines.length, 2, 'one line per request, on either path');
  });

  it('sees a change made by another node on the same database at the next request', async () => {
    const other = await startTestServer({}, { sameStorageAs: server });
    try {
      assert.ok((await assertSameAnswer('GET', '/admin/open/npm/warm')).status === 200);
      await publish('admin/open', { name: 'warm', version: '1.1.0' });
      // This node holds the package with 1.0.0 and 1.1.0 in memory again.
      await throughSocket('GET', '/admin/open/npm/warm');
      assert.equal((await throughSocket('GET', '/admin/open/npm/warm')).fromMemory, memoryAnswers);
      await publish('admin/open', { name: 'warm', version: '1.2.0' }, other);
      // On SQLite the very next request sees it (the write woke the database folder's watch);
      // PostgreSQL nodes check the package's revision before every answer.
      const answer = await throughSocket('GET', '/admin/open/npm/warm');
      assert.deepEqual(Object.keys((answer.json?.versions ?? {}) as Record<string, unknown>).sort(), ['1.0.0', '1.1.0', '1.2.0']);
      assert.equal(answer.fromMemory, false, 'the first read after the change fills the cache again');
      assert.equal((await throughSocket('GET', '/admin/open/npm/warm')).fromMemory, memoryAnswers);
    } finally {
      await other.close();
    }
  });
});
