/**
 * RubyGems virtual repositories over hosted members and remote members whose upstreams are
 * fixture gem sources on 127.0.0.1: dependency-confusion protection (private names, claims) with
 * the upstream's request log as proof that private names never left the server, member order,
 * gems and quick specs through the virtual URL, merged indexes, collision alerts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { systemActor } from '../../src/domain/audit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { type GemFixture, type GemUpstream, packGem, startGemUpstream } from './rubygems-upstream.js';

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
}

describe('RubyGems virtual repository', () => {
  let server: TestServer;
  let upstream: GemUpstream;
  let second: GemUpstream;
  let count = 0;

  async function call(method: string, url: string, options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? server.adminToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, bytes, text: bytes.toString('utf8') };
  }

  const api = (path: string) => `${server.url}/api/v1${path}`;
  const gemUrl = (path: string) => `${server.url}/${path}/rubygems`;
  const infoKeys = (text: string) =>
    text
      .split('\n')
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => l.split(/[ |]/)[0]);

  async function create(body: Record<string, unknown>): Promise<Answer> {
    return call('POST', api('/repos'), { body: { owner: 'acme', visibility: 'public', ...body } });
  }

  async function hosted(): Promise<string> {
    const name = `hosted-${++count}`;
    assert.equal((await create({ name })).status, 201);
    return `acme/${name}`;
  }

  async function remote(of: GemUpstream): Promise<string> {
    const name = `remote-${++count}`;
    const created = await create({ name, kind: 'remote', upstream: { format: 'rubygems', url: of.url, retries: 0, timeoutMs: 3000 } });
    assert.equal(created.status, 201, created.text);
    return `acme/${name}`;
  }

  async function virtual(members: string[], claims: string[] = []): Promise<string> {
    const name = `virtual-${++count}`;
    const created = await create({ name, kind: 'virtual', virtual: { format: 'rubygems', members, claims } });
    assert.equal(created.status, 201, created.text);
    return `acme/${name}`;
  }

  async function push(repo: string, gem: GemFixture): Promise<void> {
    const response = await fetch(`${gemUrl(repo)}/api/v1/gems`, { method: 'POST', headers: { authorization: server.adminToken, 'content-type': 'application/octet-stream' }, body: packGem(gem) });
    assert.equal(response.status, 200, await response.text());
  }

  const upstreamAsked = (of: GemUpstream, name: string) => of.paths.filter((p) => p.includes(name));

  before(async () => {
    upstream = await startGemUpstream();
    second = await startGemUpstream();
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    // What an attacker publishes upstream: higher versions of names used privately.
    upstream.add({ name: 'private-gem', version: '9.9.9' });
    upstream.add({ name: 'acme-tools', version: '2.0.0' });
    upstream.add({ name: 'late-gem', version: '4.0.0' });
    upstream.add({ name: 'public-gem', version: '1.0.0' });
    upstream.add({ name: 'public-gem', version: '1.1.0', dependencies: { 'public-leaf': ['~> 1.0'] } });
    upstream.add({ name: 'public-leaf', version: '1.0.5' });
    second.add({ name: 'public-gem', version: '7.0.0' });
    second.add({ name: 'only-second', version: '1.0.0' });
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
    await second?.close();
  });

  it('resolves a private name from the hosted member although the upstream has a higher version, and never asks the upstream for it', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r]);
    await push(h, { name: 'private-gem', version: '1.0.0' });
    const source = gemUrl(v);
    assert.equal((await call('HEAD', `${source}/`)).status, 200);
    const info = await call('GET', `${source}/info/private-gem`);
    assert.equal(info.status, 200, info.text);
    assert.deepEqual(infoKeys(info.text), ['1.0.0']);
    const versions = await call('GET', `${source}/versions`);
    assert.equal(versions.status, 200, versions.text);
    const md5 = (await call('GET', `${gemUrl(h)}/info/private-gem`)).headers.get('etag')?.replaceAll('"', '');
    assert.deepEqual(versions.text.split('\n').filter((l) => l.startsWith('private-gem ')), [`private-gem 1.0.0 ${md5}`], 'only the hosted line, with the MD5 of the info served');
    assert.match(versions.text, /^public-gem 1\.0\.0,1\.1\.0 0{32}$/m);
    const gem = await call('GET', `${source}/gems/private-gem-1.0.0.gem`);
    assert.equal(gem.status, 200);
    assert.deepEqual(gem.bytes, (await call('GET', `${gemUrl(h)}/gems/private-gem-1.0.0.gem`)).bytes);
    assert.equal((await call('GET', `${source}/quick/Marshal.4.8/private-gem-1.0.0.gemspec.rz`)).status, 200);
    assert.equal((await call('GET', `${source}/gems/private-gem-9.9.9.gem`)).status, 404);
    assert.equal((await call('GET', `${source}/quick/Marshal.4.8/private-gem-9.9.9.gemspec.rz`)).status, 404);
    assert.deepEqual(upstreamAsked(upstream, 'private-gem'), []);
    // The upstream's /versions named it: a collision, recorded without asking about the name.
    const listed = await call('GET', api(`/repos/${v}/collisions`));
    const found = JSON.parse(listed.text) as { name: string; remote: string; reason: string; upstream: { newest: string } }[];
    assert.deepEqual(
      found.map((c) => [c.name, c.remote, c.reason, c.upstream.newest]),
      [['private-gem', r, 'hosted', '9.9.9']],
    );
  });

  it('never forwards a claimed name upstream', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r], ['ACME-*']);
    const source = gemUrl(v);
    const claimed = await call('GET', `${source}/info/acme-tools`);
    assert.equal(claimed.status, 404);
    assert.match(claimed.text, /reserved for the hosted members/);
    assert.equal((await call('GET', `${source}/gems/acme-tools-2.0.0.gem`)).status, 404);
    assert.equal((await call('GET', `${source}/quick/Marshal.4.8/acme-tools-2.0.0.gemspec.rz`)).status, 404);
    assert.doesNotMatch((await call('GET', `${source}/versions`)).text, /acme-tools/);
    assert.doesNotMatch((await call('GET', `${source}/names`)).text, /acme-tools/);
    assert.deepEqual(upstreamAsked(upstream, 'acme-tools'), []);
    // Through the remote repository itself the name does reach the upstream: the protection is the virtual repository's.
    assert.equal((await call('GET', `${gemUrl(r)}/info/acme-tools`)).status, 200);
    assert.equal(upstream.hits('/info/acme-tools'), 1);
  });

  it('resolves public names from the first remote member that has them; gems through the virtual URL are stored in that member', async () => {
    const h = await hosted();
    const r1 = await remote(upstream);
    const r2 = await remote(second);
    const first = gemUrl(await virtual([h, r1, r2]));
    const reversed = gemUrl(await virtual([r2, h, r1]));
    assert.deepEqual(infoKeys((await call('GET', `${first}/info/public-gem`)).text), ['1.0.0', '1.1.0']);
    assert.deepEqual(infoKeys((await call('GET', `${reversed}/info/public-gem`)).text), ['7.0.0']);
    assert.deepEqual(infoKeys((await call('GET', `${first}/info/only-second`)).text), ['1.0.0']);
    assert.equal((await call('GET', `${first}/info/nowhere`)).status, 404);
    const gem = await call('GET', `${first}/gems/public-gem-1.1.0.gem`);
    assert.equal(gem.status, 200, gem.text);
    const [owner, name] = r1.split('/') as [string, string];
    const member = await server.domain.repos.get(owner, name);
    assert.ok(await server.domain.packages.findFile({ repo: member!, format: 'rubygems', name: 'public-gem' }, 'public-gem-1.1.0.gem'));
    const spec = await call('GET', `${first}/quick/Marshal.4.8/public-leaf-1.0.5.gemspec.rz`);
    assert.equal(spec.status, 200, spec.text);
    // The Marshal index lists what the members hold: hosted gems and gems fetched so far.
    const specs = gunzipSync((await call('GET', `${first}/specs.4.8.gz`)).bytes).toString('latin1');
    assert.match(specs, /public-gem/);
    assert.match(specs, /public-leaf/);
    const names = (await call('GET', `${first}/names`)).text;
    assert.match(names, /^only-second$/m);
    assert.match(names, /^public-gem$/m);
  });

  it('merges hosted members in order: the first member wins for a version', async () => {
    const h1 = await hosted();
    const h2 = await hosted();
    await push(h1, { name: 'dual', version: '1.0.0', files: { 'lib/dual.rb': '# first\n' } });
    await push(h2, { name: 'dual', version: '1.0.0', files: { 'lib/dual.rb': '# second\n' } });
    await push(h2, { name: 'dual', version: '2.0.0' });
    const source = gemUrl(await virtual([h1, h2]));
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/dual`)).text), ['1.0.0', '2.0.0']);
    const one = await call('GET', `${source}/gems/dual-1.0.0.gem`);
    assert.deepEqual(one.bytes, (await call('GET', `${gemUrl(h1)}/gems/dual-1.0.0.gem`)).bytes);
    assert.equal((await call('GET', `${source}/gems/dual-2.0.0.gem`)).status, 200);
    const versions = (await call('GET', `${source}/versions`)).text;
    const md5 = (await call('GET', `${source}/info/dual`)).headers.get('etag')?.replaceAll('"', '');
    assert.match(versions, new RegExp(`^dual 1\\.0\\.0,2\\.0\\.0 ${md5}$`, 'm'));
  });

  it('records a collision from cached upstream info when a name becomes private, and audits it', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r]);
    const source = gemUrl(v);
    // Before the name is private, it comes from upstream and is cached in the remote member.
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/late-gem`)).text), ['4.0.0']);
    const hits = upstream.hits('/info/late-gem');
    await push(h, { name: 'late-gem', version: '0.1.0' });
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/late-gem`)).text), ['0.1.0']);
    assert.equal(upstream.hits('/info/late-gem'), hits);
    const listed = JSON.parse((await call('GET', api(`/repos/${v}/collisions`))).text) as { name: string; reason: string }[];
    assert.deepEqual(
      listed.map((c) => [c.name, c.reason]),
      [['late-gem', 'hosted']],
    );
    const audit = await server.domain.db.selectFrom('audit_log').select(['target', 'details']).where('action', '=', 'repo.collision').where('target', '=', `repo:${v}`).execute();
    assert.equal(audit.length, 1);
    assert.match(audit[0]?.details ?? '', /"name":"late-gem","remote":"acme\/remote-\d+","reason":"hosted"/);
  });

  it('refuses gem push to a virtual repository, naming its hosted members', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([r, h]);
    const answer = await fetch(`${gemUrl(v)}/api/v1/gems`, { method: 'POST', headers: { authorization: server.adminToken, 'content-type': 'application/octet-stream' }, body: packGem({ name: 'pushed', version: '1.0.0' }) });
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.get('x-stockade-error'), 'VIRTUAL_READ_ONLY');
    assert.match(await answer.text(), new RegExp(`${v} is a virtual repository that only merges its members: publish to a hosted repository \\(its hosted members: ${h}\\)`));
  });
});
