/**
 * The format-independent upstream client against a real HTTP server on 127.0.0.1, and the
 * version filtering every format shares.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { repointTags } from '../../src/formats/npm/remote.js';
import { hiddenVersions } from '../../src/remote/source.js';
import { appendedDocument } from '../../src/remote/remote-engine.js';
import { createUpstreamClient, retryAfterMs } from '../../src/remote/upstream-client.js';
import { expectCode } from '../helpers/expect-code.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

describe('upstream client', () => {
  /** A loopback server that counts each request per path, keeps its Authorization header and socket, and answers from `handlers`. */
  function recordingServer(onRequest: (response: ServerResponse) => void = () => undefined) {
    const recorded = { handlers: new Map<string, Handler>(), hits: new Map<string, number>(), auth: [] as (string | undefined)[], socketOf: new Map<string, Socket>() };
    const server = createServer((request, response) => {
      const path = request.url ?? '/';
      recorded.hits.set(path, (recorded.hits.get(path) ?? 0) + 1);
      recorded.auth.push(request.headers.authorization);
      recorded.socketOf.set(path, request.socket);
      onRequest(response);
      const handler = recorded.handlers.get(path);
      if (!handler) return response.writeHead(404).end();
      handler(request, response);
    });
    return { server, ...recorded };
  }

  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let url = '';
  const { server, handlers, hits, auth, socketOf } = recordingServer((response) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.on('close', () => inFlight--);
  });
  server.on('connection', () => connections++);
  // Another port is another origin: the file host of an index, or a CDN a redirect points at.
  const { server: files, handlers: fileHandlers, hits: fileHits, auth: fileAuth, socketOf: fileSocketOf } = recordingServer();
  let filesUrl = '';
  const closed = (socket: Socket | undefined) => new Promise<void>((resolve) => (socket?.destroyed ? resolve() : socket?.once('close', () => resolve())));

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    files.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => files.close(() => resolve()));
  });

  const client = (overrides: Partial<Parameters<typeof createUpstreamClient>[0]> = {}) =>
    createUpstreamClient({ url, timeoutMs: 2000, retries: 2, concurrency: 4, maxMetadataBytes: 1000, maxFileBytes: 1000, backoffMs: 1, ...overrides });

  it('asks for the tail of an append-only document and reads 206 and 416 answers', async () => {
    const whole = 'created_at: x\n---\na 1 0\nb 1 0\n';
    const seen: { range?: string; encoding?: string }[] = [];
    handlers.set('/base/versions', (request, response) => {
      seen.push({ range: request.headers.range, encoding: request.headers['accept-encoding'] });
      const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? NaN);
      if (from >= whole.length) return response.writeHead(416).end();
      if (from === 3) return response.writeHead(206, { 'content-range': 'bytes 0-3/40' }).end('abcd');
      response.writeHead(206, { 'content-range': `bytes ${from}-${whole.length - 1}/${whole.length}`, 'repr-digest': 'sha-256=:x:', etag: '"e"' }).end(whole.slice(from));
    });
    const tail = await client({ maxMetadataBytes: 100_000 }).metadata('versions', {}, 'text/plain', 19);
    assert.equal(tail.status, 206);
    assert.equal(tail.status === 206 && tail.body.toString(), whole.slice(19));
    assert.equal(tail.status === 206 && tail.digest, 'sha-256=:x:');
    assert.deepEqual(seen[0], { range: 'bytes=19-', encoding: 'identity' });
    assert.equal((await client({ maxMetadataBytes: 100_000 }).metadata('versions', {}, 'text/plain', 500)).status, 416);
    await expectCode(() => client({ maxMetadataBytes: 100_000 }).metadata('versions', {}, 'text/plain', 3), 'UPSTREAM_FAILED', 'another range than asked');
  });

  it('trusts an appended tail only when the whole matches the upstream digest', () => {
    const mine = Buffer.from('---\na 1 0\n');
    const grown = Buffer.from('---\na 1 0\nb 1 0\n');
    const tail = grown.subarray(mine.length - 1);
    const sha = `sha-256=:${createHash('sha256').update(grown).digest('base64')}:`;
    const md5 = `"${createHash('md5').update(grown).digest('hex')}"`;
    assert.deepEqual(appendedDocument(mine, { body: tail, etag: null, digest: sha }), grown);
    assert.deepEqual(appendedDocument(mine, { body: tail, etag: md5, digest: null }), grown);
    assert.equal(appendedDocument(mine, { body: tail, etag: null, digest: null }), null, 'nothing to check it against');
    assert.equal(appendedDocument(mine, { body: Buffer.from('xb 1 0\n'), etag: md5, digest: null }), null, 'does not start where ours ends');
    assert.equal(appendedDocument(mine, { body: tail, etag: null, digest: `sha-256=:${createHash('sha256').update('other').digest('base64')}:` }), null);
    assert.equal(appendedDocument(mine, { body: tail, etag: '"0123456789abcdef0123456789abcdef"', digest: null }), null);
  });

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
    await expectCode(() => c.file('http://127.0.0.2:9/file.tgz'), 'UPSTREAM_FAILED', 'a file URL points away from the allowed origins (127.0.0.2:9)');
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

  const json = Buffer.from(JSON.stringify({ name: 'encoded', versions: { '1.0.0': {} } }));
  const encodings: { name: string; header: string; encode: (data: Buffer) => Buffer }[] = [
    { name: 'gzip', header: 'gzip', encode: gzipSync },
    { name: 'brotli', header: 'br', encode: brotliCompressSync },
    { name: 'zlib-deflate', header: 'deflate', encode: deflateSync },
    { name: 'raw-deflate', header: 'deflate', encode: deflateRawSync },
  ];
  for (const e of encodings) {
    it(`asks for compressed answers and decodes ${e.name}`, async () => {
      let asked: string | undefined;
      handlers.set(`/base/encoded-${e.name}`, (request, response) => {
        asked = request.headers['accept-encoding'];
        const body = e.encode(json);
        response.writeHead(200, { 'content-encoding': e.header, 'content-length': body.length }).end(body);
      });
      const answer = await client().metadata(`encoded-${e.name}`);
      assert.equal(asked, 'gzip, deflate, br');
      assert.equal(answer.status === 200 && answer.body.toString(), json.toString());
    });
  }

  it('cuts a compression bomb at the limit of decoded bytes', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    handlers.set('/base/bomb', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb));
    // The compressed bomb (about 10 KB) is well within the limit: only its decoded size is not.
    await expectCode(() => client({ maxMetadataBytes: 100_000 }).metadata('bomb'), 'UPSTREAM_FAILED', 'metadata document exceeds the limit of 100000 bytes');
    const empties = Buffer.concat(Array.from({ length: 500 }, () => gzipSync(Buffer.alloc(0))));
    handlers.set('/base/empties', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip' }).end(empties));
    await expectCode(() => client().metadata('empties'), 'UPSTREAM_FAILED', 'exceeds the limit of 1000 bytes');
  });

  it('tells a truncated compressed body from a whole one', async () => {
    const whole = gzipSync(Buffer.from('{"padding":"' + 'ab'.repeat(300) + '"}'));
    const half = whole.subarray(0, whole.length >> 1);
    // The message ends cleanly, but the gzip stream inside it does not.
    handlers.set('/base/half-gzip', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip' }).end(half));
    await expectCode(() => client().metadata('half-gzip'), 'UPSTREAM_FAILED', 'metadata document was truncated (the gzip stream ended early)');
    // The connection closes before the declared length of the encoded body.
    handlers.set('/base/cut-gzip', (request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': whole.length });
      response.write(half, () => request.socket.destroy());
    });
    await expectCode(() => client({ retries: 0 }).metadata('cut-gzip'), 'UPSTREAM_FAILED', `metadata document was truncated (${half.length} of ${whole.length} bytes)`);
    handlers.set('/base/garbage-gzip', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip at all'));
    await expectCode(() => client().metadata('garbage-gzip'), 'UPSTREAM_FAILED', 'metadata document could not be decoded (gzip: ');
  });

  it('refuses a content-encoding it cannot decode', async () => {
    handlers.set('/base/compress', (_request, response) => response.writeHead(200, { 'content-encoding': 'compress' }).end('whatever'));
    handlers.set('/base/stacked', (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip, br' }).end('whatever'));
    await expectCode(() => client().metadata('compress'), 'UPSTREAM_FAILED', 'metadata document has an unsupported content-encoding (compress)');
    await expectCode(() => client().file(`${url}/stacked`), 'UPSTREAM_FAILED', 'file has an unsupported content-encoding (gzip, br)');
  });

  it('keeps connections alive across requests, whatever they answer', async () => {
    handlers.set('/base/alive', (_request, response) => response.writeHead(200).end('{}'));
    handlers.set('/base/alive-304', (_request, response) => response.writeHead(304).end());
    handlers.set('/base/alive-404', (_request, response) => response.writeHead(404).end('{"error":"not found"}'));
    const c = client({ concurrency: 1 });
    const before = connections;
    const used = new Set<Socket | undefined>();
    const paths = ['alive', 'alive-404', 'alive', 'alive-304', 'alive', 'alive'];
    for (const path of paths) {
      await c.metadata(path, path === 'alive-304' ? { etag: '"x"' } : {});
      used.add(socketOf.get(`/base/${path}`));
    }
    assert.ok(connections - before < paths.length, `${connections - before} connections for ${paths.length} requests`);
    assert.equal(used.size, 1);
    c.close();
    await closed([...used][0]);
  });

  it('closes a connection whose body was cut or timed out, and opens a fresh one', async () => {
    handlers.set('/base/fresh', (_request, response) => response.writeHead(200).end('{}'));
    handlers.set('/base/endless', (_request, response) => {
      response.writeHead(200);
      const pump = () => {
        while (!response.destroyed && response.write(Buffer.alloc(16 * 1024, 0x20)));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    handlers.set('/base/stalled', (_request, response) => {
      response.writeHead(200, { 'content-length': 100 });
      response.write('{');
    });
    const c = client({ concurrency: 1, retries: 0, timeoutMs: 300 });
    await c.metadata('fresh');
    await expectCode(() => c.metadata('endless'), 'UPSTREAM_FAILED', 'exceeds the limit of 1000 bytes');
    const cut = socketOf.get('/base/endless');
    await closed(cut);
    await c.metadata('fresh');
    assert.notEqual(socketOf.get('/base/fresh'), cut);
    await expectCode(() => c.metadata('stalled'), 'UPSTREAM_TIMEOUT', 'the body did not arrive within 300 ms');
    const stalled = socketOf.get('/base/stalled');
    await closed(stalled);
    await c.metadata('fresh');
    assert.notEqual(socketOf.get('/base/fresh'), stalled);
    c.close();
  });

  it('does not follow metadata redirects', async () => {
    handlers.set('/base/moved', (_request, response) => response.writeHead(301, { location: `${url}/target` }).end());
    handlers.set('/base/target', (_request, response) => response.writeHead(200).end('{}'));
    await expectCode(() => client().metadata('moved'), 'UPSTREAM_FAILED', 'HTTP 301 for metadata');
    assert.equal(hits.get('/base/target') ?? 0, 0);
  });

  it('fetches files from an allowed file origin, without credentials', async () => {
    fileHandlers.set('/packages/direct.tgz', (_request, response) => response.writeHead(200).end('elsewhere'));
    fileAuth.length = 0;
    const c = client({ authorization: 'Bearer t0k', fileOrigins: [`${filesUrl}/`] });
    assert.equal((await c.file(`${filesUrl}/packages/direct.tgz`)).toString(), 'elsewhere');
    assert.deepEqual(fileAuth, [undefined]);
    // The file origin's pooled connection closes with the client.
    c.close();
    await closed(fileSocketOf.get('/packages/direct.tgz'));
  });

  it('refuses files from an origin that is not allowed', async () => {
    const before = fileHits.get('/packages/direct.tgz') ?? 0;
    const port = new URL(filesUrl).port;
    await expectCode(() => client().file(`${filesUrl}/packages/direct.tgz`), 'UPSTREAM_FAILED', `a file URL points away from the allowed origins (127.0.0.1:${port})`);
    await expectCode(() => client({ fileOrigins: ['http://127.0.0.1:9'] }).file(`${filesUrl}/packages/direct.tgz`), 'UPSTREAM_FAILED', 'points away from the allowed origins');
    assert.equal(fileHits.get('/packages/direct.tgz') ?? 0, before);
  });

  it('follows file redirects among the allowed origins, with credentials for the upstream only', async () => {
    // A relative Location first (resolved against the URL asked), then another origin.
    handlers.set('/base/gems/first.gem', (_request, response) => response.writeHead(302, { location: 'hop.gem' }).end('moved'));
    // Userinfo in a Location is dropped, not sent as credentials.
    handlers.set('/base/gems/hop.gem', (_request, response) => response.writeHead(307, { location: `${filesUrl.replace('//', '//intruder:pw@')}/cdn/first.gem` }).end());
    fileHandlers.set('/cdn/first.gem', (_request, response) => response.writeHead(200).end('gem bytes'));
    auth.length = 0;
    fileAuth.length = 0;
    const c = client({ authorization: 'Bearer t0k', fileOrigins: [filesUrl] });
    // Identical requests in flight share every hop.
    const answers = await Promise.all([c.file(`${url}/gems/first.gem`), c.file(`${url}/gems/first.gem`)]);
    assert.deepEqual(
      answers.map((a) => a.toString()),
      ['gem bytes', 'gem bytes'],
    );
    assert.equal(hits.get('/base/gems/first.gem'), 1);
    assert.equal(fileHits.get('/cdn/first.gem'), 1);
    assert.deepEqual(auth, ['Bearer t0k', 'Bearer t0k']);
    assert.deepEqual(fileAuth, [undefined]);
    c.close();
  });

  it('refuses a file redirect to an origin that is not allowed, without contacting it', async () => {
    handlers.set('/base/away.gem', (_request, response) => response.writeHead(302, { location: `${filesUrl}/cdn/away.gem` }).end());
    handlers.set('/base/scheme.gem', (_request, response) => response.writeHead(301, { location: 'file:///etc/passwd' }).end());
    fileHandlers.set('/cdn/away.gem', (_request, response) => response.writeHead(200).end('gem bytes'));
    const port = new URL(filesUrl).port;
    await expectCode(() => client().file(`${url}/away.gem`), 'UPSTREAM_FAILED', `a file redirect points away from the allowed origins (127.0.0.1:${port})`);
    await expectCode(() => client({ fileOrigins: [filesUrl] }).file(`${url}/scheme.gem`), 'UPSTREAM_FAILED', 'a file redirect points away from the allowed origins (file:)');
    assert.equal(fileHits.get('/cdn/away.gem') ?? 0, 0);
  });

  it('gives up on a redirect loop and on a redirect without a Location', async () => {
    handlers.set('/base/loop.gem', (_request, response) => response.writeHead(302, { location: `${filesUrl}/loop.gem` }).end());
    fileHandlers.set('/loop.gem', (_request, response) => response.writeHead(308, { location: `${url}/loop.gem` }).end());
    handlers.set('/base/nowhere.gem', (_request, response) => response.writeHead(302).end());
    const before = (hits.get('/base/loop.gem') ?? 0) + (fileHits.get('/loop.gem') ?? 0);
    await expectCode(() => client({ fileOrigins: [filesUrl] }).file(`${url}/loop.gem`), 'UPSTREAM_FAILED', 'a file took more than 5 redirects');
    assert.equal((hits.get('/base/loop.gem') ?? 0) + (fileHits.get('/loop.gem') ?? 0) - before, 6);
    await expectCode(() => client().file(`${url}/nowhere.gem`), 'UPSTREAM_FAILED', 'HTTP 302 for a file without a Location header');
  });

  it('keeps the size limit at a file origin and says where it failed', async () => {
    handlers.set('/base/big.gem', (_request, response) => response.writeHead(302, { location: `${filesUrl}/big.gem` }).end());
    fileHandlers.set('/big.gem', (_request, response) => response.writeHead(200).end('x'.repeat(5000)));
    const port = new URL(filesUrl).port;
    await expectCode(() => client({ fileOrigins: [filesUrl] }).file(`${url}/big.gem`), 'UPSTREAM_FAILED', `the file exceeds the limit of 1000 bytes at 127.0.0.1:${port}`);
  });

  it('refuses file origins that are not http(s)', () => {
    assert.throws(() => client({ fileOrigins: ['ftp://127.0.0.1'] }), /http or https origin/);
  });

  it('names the code of a connection that failed', async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    await expectCode(() => client({ url: `http://127.0.0.1:${port}/`, retries: 0 }).metadata('x'), 'UPSTREAM_FAILED', 'connection failed (ECONNREFUSED) after 1 attempt');
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
