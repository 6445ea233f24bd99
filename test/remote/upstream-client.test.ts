/**
 * The format-independent upstream client against a real HTTP server on 127.0.0.1, and the
 * version filtering every format shares.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { repointTags } from '../../src/formats/npm/remote.js';
import { hiddenVersions } from '../../src/remote/source.js';
import { createUpstreamClient, retryAfterMs } from '../../src/remote/upstream-client.js';
import { expectCode } from '../helpers/expect-code.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

describe('upstream client', () => {
  const handlers = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const auth: (string | undefined)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let url = '';
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    auth.push(request.headers.authorization);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.on('close', () => inFlight--);
    const handler = handlers.get(path);
    if (!handler) return response.writeHead(404).end();
    handler(request, response);
  });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (overrides: Partial<Parameters<typeof createUpstreamClient>[0]> = {}) =>
    createUpstreamClient({ url, timeoutMs: 2000, retries: 2, concurrency: 4, maxMetadataBytes: 1000, maxFileBytes: 1000, backoffMs: 1, ...overrides });

  it('retries 503 and 429 (honouring Retry-After) and then succeeds', async () => {
    let calls = 0;
    handlers.set('/base/flaky', (_request, response) => {
      calls++;
      if (calls === 1) return response.writeHead(503).end();
      if (calls === 2) return response.writeHead(429, { 'retry-after': '0' }).end();
      response.writeHead(200, { etag: '"v1"' }).end('{"ok":true}');
    });
    const answer = await client().metadata('flaky');
    assert.equal(answer.status, 200);
    assert.equal(answer.status === 200 && answer.body.toString(), '{"ok":true}');
    assert.equal(calls, 3);
  });

  it('gives up after the configured retries with a message that names the host only', async () => {
    handlers.set('/base/broken', (_request, response) => response.writeHead(500).end());
    const before = hits.get('/base/broken') ?? 0;
    await expectCode(() => client({ retries: 1, authorization: 'Bearer very-secret' }).metadata('broken'), 'UPSTREAM_FAILED', 'HTTP 500 after 2 attempts');
    assert.equal((hits.get('/base/broken') ?? 0) - before, 2);
    await assert.rejects(() => client({ retries: 0, authorization: 'Bearer very-secret' }).metadata('broken'), (error: Error) => !error.message.includes('very-secret'));
  });

  it('refuses a Retry-After longer than the cap instead of stalling', async () => {
    handlers.set('/base/later', (_request, response) => response.writeHead(429, { 'retry-after': '3600' }).end());
    await expectCode(() => client().metadata('later'), 'UPSTREAM_FAILED', 'retry after 3600 s');
  });

  it('coalesces identical requests in flight and keeps to the concurrency limit', async () => {
    const release: (() => void)[] = [];
    for (let i = 0; i < 8; i++) {
      handlers.set(`/base/slow-${i}`, (_request, response) => {
        release.push(() => response.writeHead(200).end('{}'));
      });
    }
    maxInFlight = 0;
    const c = client({ concurrency: 2 });
    const same = Array.from({ length: 5 }, () => c.metadata('slow-0'));
    const others = Array.from({ length: 7 }, (_, i) => c.metadata(`slow-${i + 1}`));
    // Answer whatever arrives until every request is done.
    const pending = Promise.all([...same, ...others]);
    let done = false;
    void pending.finally(() => (done = true));
    while (!done) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await pending;
    assert.equal(hits.get('/base/slow-0'), 1);
    assert.ok(maxInFlight <= 2, `max in flight ${maxInFlight}`);
  });

  it('sends credentials to the upstream origin only and refuses files elsewhere', async () => {
    handlers.set('/base/file.tgz', (_request, response) => response.writeHead(200).end('bytes'));
    auth.length = 0;
    const c = client({ authorization: 'Bearer t0k' });
    assert.equal((await c.file(`${url}/file.tgz`)).toString(), 'bytes');
    assert.deepEqual(auth, ['Bearer t0k']);
    await expectCode(() => c.file('http://127.0.0.2:9/file.tgz'), 'UPSTREAM_FAILED', 'points away from the upstream');
    assert.deepEqual(auth, ['Bearer t0k']);
  });

  it('cuts bodies over the limit, declared or streamed', async () => {
    handlers.set('/base/declared', (_request, response) => response.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000)));
    handlers.set('/base/streamed', (_request, response) => {
      response.writeHead(200);
      response.write('x'.repeat(600));
      response.end('x'.repeat(600));
    });
    await expectCode(() => client().metadata('declared'), 'UPSTREAM_FAILED', '5000 bytes, over the limit of 1000');
    await expectCode(() => client().metadata('streamed'), 'UPSTREAM_FAILED', 'exceeds the limit of 1000 bytes');
  });

  it('answers 304 and 404 as such', async () => {
    handlers.set('/base/cached', (request, response) => {
      if (request.headers['if-none-match'] === '"v1"') return response.writeHead(304, { etag: '"v1"' }).end();
      response.writeHead(200, { etag: '"v1"' }).end('{}');
    });
    assert.equal((await client().metadata('cached', { etag: '"v1"' })).status, 304);
    assert.equal((await client().metadata('absent')).status, 404);
  });

  it('rejects URLs that are not http(s) or carry credentials', () => {
    assert.throws(() => createUpstreamClient({ url: 'file:///etc', timeoutMs: 1000, retries: 0, concurrency: 1, maxMetadataBytes: 1, maxFileBytes: 1 }), /http or https/);
    assert.throws(() => createUpstreamClient({ url: 'http://a:b@127.0.0.1/', timeoutMs: 1000, retries: 0, concurrency: 1, maxMetadataBytes: 1, maxFileBytes: 1 }), /must not carry credentials/);
  });

  it('parses Retry-After in seconds and as a date', () => {
    assert.equal(retryAfterMs('5'), 5000);
    assert.equal(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10_000);
    assert.equal(retryAfterMs('soon'), null);
    assert.equal(retryAfterMs(null), null);
  });
});

describe('version visibility', () => {
  const now = Date.parse('2030-01-10T00:00:00Z');
  const versions = [
    { version: '1.0.0', publishedAt: '2030-01-01T00:00:00Z' },
    { version: '1.1.0', publishedAt: '2030-01-09T12:00:00Z' },
    { version: '1.2.0', publishedAt: null },
  ];
  const cases: { name: string; cooldownHours: number; allow: string[]; verdicts: [string, 'quarantine' | 'block'][]; hidden: string[] }[] = [
    { name: 'nothing hidden without verdicts or cooldown', cooldownHours: 0, allow: [], verdicts: [], hidden: [] },
    { name: 'quarantined and blocked versions are hidden', cooldownHours: 0, allow: [], verdicts: [['1.0.0', 'block'], ['1.1.0', 'quarantine']], hidden: ['1.0.0', '1.1.0'] },
    { name: 'cooldown hides fresh versions and those without a time', cooldownHours: 72, allow: [], verdicts: [], hidden: ['1.1.0', '1.2.0'] },
    { name: 'allow-list by version', cooldownHours: 72, allow: ['pkg@1.1.0'], verdicts: [], hidden: ['1.2.0'] },
    { name: 'allow-list by name', cooldownHours: 72, allow: ['pkg'], verdicts: [], hidden: [] },
    { name: 'the allow-list does not lift a verdict', cooldownHours: 72, allow: ['pkg'], verdicts: [['1.1.0', 'quarantine']], hidden: ['1.1.0'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const hidden = hiddenVersions({ versions, verdicts: new Map(c.verdicts.map(([v, verdict]) => [v, { verdict, reason: 'r' }])), cooldownHours: c.cooldownHours, cooldownAllow: c.allow, name: 'pkg', now });
      assert.deepEqual([...hidden.keys()].sort(), c.hidden);
    });
  }

  it('re-points dist-tags at the newest visible version not newer than the old target', () => {
    const tags = new Map([
      ['latest', '2.0.0'],
      ['next', '3.0.0-beta.1'],
      ['old', '0.1.0'],
      ['legacy', '1.0.0'],
    ]);
    assert.deepEqual({ ...repointTags(tags, ['1.0.0', '1.5.0', '2.1.0-rc.1']) }, { latest: '1.5.0', next: '2.1.0-rc.1', legacy: '1.0.0' });
  });
});
