/**
 * PyPI virtual repositories over hosted members and remote members whose upstreams are fixture
 * indexes on 127.0.0.1: dependency-confusion protection (private names, claims, PEP 503
 * spellings) with the upstream's request log as proof that protected names never left the
 * server, member order, files through the virtual URL, the merged root index, collision alerts
 * and refused uploads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { type BuiltDist, buildWheel, cleanupBuilder } from '../formats/pypi/build-dist.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startPypiUpstream, type PypiUpstream } from './pypi-upstream.js';

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

interface Page {
  versions: string[];
  files: { filename: string; url: string; hashes: { sha256?: string }; 'core-metadata': unknown }[];
}

describe('PyPI virtual repository', () => {
  let server: TestServer;
  let upstream: PypiUpstream;
  let second: PypiUpstream;
  let count = 0;

  async function call(method: string, url: string, options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? server.adminToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | FormData | Buffer | undefined;
    if (options.body instanceof FormData || Buffer.isBuffer(options.body)) body = options.body;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(url, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  const api = (path: string) => `${server.url}/api/v1${path}`;
  const index = (repo: string) => `${server.url}/${repo}/pypi`;

  async function create(body: Record<string, unknown>): Promise<Answer> {
    return call('POST', api('/repos'), { body: { owner: 'acme', visibility: 'public', ...body } });
  }

  async function hosted(): Promise<string> {
    const name = `hosted-${++count}`;
    assert.equal((await create({ name })).status, 201);
    return `acme/${name}`;
  }

  async function remote(of: PypiUpstream): Promise<string> {
    const name = `remote-${++count}`;
    const created = await create({ name, kind: 'remote', upstream: { format: 'pypi', url: of.url, retries: 0, timeoutMs: 3000 } });
    assert.equal(created.status, 201, created.text);
    return `acme/${name}`;
  }

  async function virtual(members: string[], claims: string[] = []): Promise<string> {
    const name = `virtual-${++count}`;
    const created = await create({ name, kind: 'virtual', virtual: { format: 'pypi', members, claims } });
    assert.equal(created.status, 201, created.text);
    return `acme/${name}`;
  }

  async function publish(repo: string, dist: BuiltDist): Promise<void> {
    const answer = await call('PUT', api(`/repos/${repo}/upload?filename=${dist.filename}`), { body: dist.data, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(answer.status, 201, answer.text);
  }

  async function page(repo: string, project: string): Promise<Page> {
    const answer = await call('GET', `${index(repo)}/simple/${project}/`, { headers: { accept: JSON_TYPE } });
    assert.equal(answer.status, 200, answer.text);
    return JSON.parse(answer.text) as Page;
  }

  /** Upstream requests that named `project` in any spelling. */
  const askedFor = (of: PypiUpstream, project: string) => of.paths.filter((p) => p.toLowerCase().replace(/[-_.]+/g, '-').includes(project)).length;

  before(async () => {
    upstream = await startPypiUpstream();
    second = await startPypiUpstream();
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    // What an attacker publishes upstream: higher versions of names used privately.
    for (const [name, version] of [
      ['private-lib', '9.9.9'],
      ['acme-tools', '2.0'],
      ['late-lib', '4.0'],
      ['refresh-lib', '6.0'],
      ['public-lib', '1.0'],
      ['public-lib', '1.1'],
      ['shadow-lib', '5.0'],
      ['claimed-lib', '3.0'],
    ] as const) {
      upstream.add(name, buildWheel({ name, version }));
    }
    second.add('public-lib', buildWheel({ name: 'public-lib', version: '7.0' }));
    second.add('only-second', buildWheel({ name: 'only-second', version: '1.0' }));
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
    await second?.close();
    cleanupBuilder();
  });

  it('serves a private project from the hosted member although the upstream has a higher version, and never asks the upstream', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r]);
    const ours = buildWheel({ name: 'Private_Lib', version: '1.0' });
    await publish(h, ours);
    const doc = await page(v, 'private-lib');
    assert.deepEqual(doc.versions, ['1.0']);
    assert.deepEqual(
      doc.files.map((f) => f.url),
      ['../../files/private-lib/private_lib-1.0-py3-none-any.whl'],
    );
    // The hosted member's PEP 658 metadata comes through the virtual URL too.
    assert.notEqual(doc.files[0]?.['core-metadata'], false);
    const file = await call('GET', `${index(v)}/files/private-lib/private_lib-1.0-py3-none-any.whl`);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('etag'), `"${doc.files[0]?.hashes.sha256}"`);
    assert.equal((await call('GET', `${index(v)}/files/private-lib/private_lib-1.0-py3-none-any.whl.metadata`)).status, 200);
    assert.equal((await call('GET', `${index(v)}/files/private-lib/private_lib-9.9.9-py3-none-any.whl`)).status, 404);
    // Another spelling is the same project (PEP 503): redirected, then protected alike.
    const spelled = await call('GET', `${index(v)}/simple/PRIVATE.lib/`);
    assert.equal(spelled.status, 301);
    assert.equal(spelled.headers.get('location'), `/${v}/pypi/simple/private-lib/`);
    assert.equal(askedFor(upstream, 'private-lib'), 0);
  });

  it('never forwards a claimed name upstream, in any spelling', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r], ['Acme_*']);
    const claimed = await call('GET', `${index(v)}/simple/acme-tools/`);
    assert.equal(claimed.status, 404, claimed.text);
    assert.match(claimed.text, /reserved for the hosted members of acme\/virtual-\d+/);
    assert.equal((await call('GET', `${index(v)}/files/acme-tools/acme_tools-2.0-py3-none-any.whl`)).status, 404);
    assert.equal((await call('GET', `${index(v)}/simple/acme-anything/`)).status, 404);
    assert.equal(askedFor(upstream, 'acme-'), 0);
    // The same name reaches the upstream through the remote repository itself: the protection is the virtual repository's.
    assert.deepEqual((await page(r, 'acme-tools')).versions, ['2.0']);
    assert.equal(upstream.hits('/simple/acme-tools/'), 1);
    const members = await call('GET', api(`/repos/${v}/members`));
    assert.deepEqual((JSON.parse(members.text) as { claims: string[] }).claims, ['acme-*']);
  });

  it('serves public projects from the first remote member that has them, files through the virtual URL', async () => {
    const h = await hosted();
    const r1 = await remote(upstream);
    const r2 = await remote(second);
    const first = await virtual([h, r1, r2]);
    const reversed = await virtual([r2, h, r1]);
    const doc = await page(first, 'public-lib');
    assert.deepEqual(doc.versions, ['1.0', '1.1']);
    const url = doc.files.find((f) => f.filename === 'public_lib-1.1-py3-none-any.whl')?.url;
    assert.equal(url, '../../files/public-lib/public_lib-1.1-py3-none-any.whl');
    const file = await call('GET', new URL(url as string, `${index(first)}/simple/public-lib/`).href);
    assert.equal(file.status, 200, file.text);
    // Stored in the remote member, through its gate.
    const [owner, name] = r1.split('/') as [string, string];
    const member = await server.domain.repos.get(owner, name);
    assert.ok(await server.domain.packages.findFile({ repo: member!, format: 'pypi', name: 'public-lib' }, 'public_lib-1.1-py3-none-any.whl'));
    assert.deepEqual((await page(reversed, 'public-lib')).versions, ['7.0']);
    assert.equal((await call('GET', `${index(reversed)}/files/public-lib/public_lib-7.0-py3-none-any.whl`)).status, 200);
    assert.equal((await call('GET', `${index(first)}/files/public-lib/public_lib-7.0-py3-none-any.whl`)).status, 404);
    assert.deepEqual((await page(first, 'only-second')).versions, ['1.0']);
    assert.equal((await call('GET', `${index(first)}/simple/nowhere/`)).status, 404);
  });

  it('merges hosted members in order: the first member wins for a file name', async () => {
    const h1 = await hosted();
    const h2 = await hosted();
    await publish(h1, buildWheel({ name: 'dual', version: '1.0', description: 'first\n' }));
    await publish(h2, buildWheel({ name: 'dual', version: '1.0', description: 'second\n' }));
    await publish(h2, buildWheel({ name: 'dual', version: '2.0' }));
    const v = await virtual([h1, h2]);
    const doc = await page(v, 'dual');
    assert.deepEqual(doc.versions, ['1.0', '2.0']);
    const one = await call('GET', `${index(v)}/files/dual/dual-1.0-py3-none-any.whl`);
    assert.equal(one.text, (await call('GET', `${index(h1)}/files/dual/dual-1.0-py3-none-any.whl`)).text);
    assert.equal(doc.files.find((f) => f.filename === 'dual-1.0-py3-none-any.whl')?.hashes.sha256, one.headers.get('etag')?.replaceAll('"', ''));
    assert.equal((await call('GET', `${index(v)}/files/dual/dual-2.0-py3-none-any.whl`)).status, 200);
  });

  it('records a collision once, from the cached upstream page and from a refresh, lists it and audits it', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([h, r]);
    // Before the name is private, it comes from upstream and is cached in the remote member.
    assert.deepEqual((await page(v, 'late-lib')).versions, ['4.0']);
    const hits = upstream.hits('/simple/late-lib/');
    await publish(h, buildWheel({ name: 'late-lib', version: '0.1' }));
    assert.deepEqual((await page(v, 'late-lib')).versions, ['0.1']);
    await page(v, 'late-lib');
    assert.equal(upstream.hits('/simple/late-lib/'), hits);

    // A refresh through the remote repository itself sees another protected name.
    await publish(h, buildWheel({ name: 'refresh-lib', version: '1.0' }));
    assert.deepEqual((await page(r, 'refresh-lib')).versions, ['6.0']);

    const listed = await call('GET', api(`/repos/${v}/collisions`));
    assert.equal(listed.status, 200, listed.text);
    const found = JSON.parse(listed.text) as { name: string; remote: string; reason: string; upstream: Record<string, unknown> }[];
    assert.deepEqual(
      found.map((c) => [c.name, c.remote, c.reason]).sort(),
      [
        ['late-lib', r, 'hosted'],
        ['refresh-lib', r, 'hosted'],
      ],
    );
    assert.deepEqual(found.find((c) => c.name === 'late-lib')?.upstream, { count: 1, newest: '4.0', latest: null });
    const audit = await server.domain.db.selectFrom('audit_log').select(['target', 'details']).where('action', '=', 'repo.collision').where('target', '=', `repo:${v}`).execute();
    assert.equal(audit.length, 2);
  });

  it('merges the root index: hosted projects, and cached remote ones the virtual repository does not keep private', async () => {
    const h = await hosted();
    const r = await remote(upstream);
    const v = await virtual([r, h], ['claimed-*']);
    // Cached in the remote member while the names were still free.
    assert.equal((await call('GET', `${index(r)}/files/shadow-lib/shadow_lib-5.0-py3-none-any.whl`)).status, 200);
    assert.equal((await call('GET', `${index(r)}/files/public-lib/public_lib-1.0-py3-none-any.whl`)).status, 200);
    assert.equal((await call('GET', `${index(r)}/files/claimed-lib/claimed_lib-3.0-py3-none-any.whl`)).status, 200);
    await publish(h, buildWheel({ name: 'shadow-lib', version: '0.1' }));
    await publish(h, buildWheel({ name: 'own-lib', version: '1.0' }));
    const json = await call('GET', `${index(v)}/simple/`, { headers: { accept: JSON_TYPE } });
    assert.equal(json.status, 200, json.text);
    assert.deepEqual((JSON.parse(json.text) as { projects: { name: string }[] }).projects.map((p) => p.name), ['own-lib', 'public-lib', 'shadow-lib']);
    assert.deepEqual((await page(v, 'shadow-lib')).versions, ['0.1']);
    const html = await call('GET', `${index(v)}/simple/`);
    assert.match(html.text, /<a href="own-lib\/">own-lib<\/a>/);
  });

  it('refuses uploads, naming its hosted members', async () => {
    const h = await hosted();
    const v = await virtual([h]);
    const form = new FormData();
    form.append(':action', 'file_upload');
    form.append('content', new Blob([Buffer.from('not read')]), 'pushed-1.0-py3-none-any.whl');
    const answer = await call('POST', `${index(v)}/legacy/`, { body: form });
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.get('x-stockade-error'), 'VIRTUAL_READ_ONLY');
    assert.equal(answer.text.trim(), `${v} is a virtual repository that only merges its members: publish to a hosted repository (its hosted members: ${h})`);
  });
});
