/**
 * Bad input over real HTTP: each rejected publish must answer with the right status, our error
 * code and a message naming the problem, and must leave nothing behind: no package, no version,
 * no new file in the blob store. Cases npm itself can send are driven through npm and checked
 * on its stderr; the rest are raw PUTs shaped like npm 11's publish body.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { type Sandbox, assertFailed, assertOk, createSandbox, describeRun, writePackage } from './clients.js';
import { blobFiles, http, packageUrl, publishBody, rawRequest } from './registry.js';
import { type TarEntry, buildTgz, integrityOf, packageTgz } from './tarballs.js';

type PkgJson = Record<string, unknown> & { name: string; version: string };

const pkg = (name: string, version = '1.0.0', extra: Record<string, unknown> = {}): PkgJson => ({
  name,
  version,
  description: `fixture ${name}`,
  main: 'index.js',
  license: 'MIT',
  ...extra,
});

/** A tarball with a valid package.json plus `extra` entries. */
const tgzWith = (pkgJson: PkgJson, extra: TarEntry[]) => packageTgz(pkgJson, extra);

interface Expected {
  status: number;
  code: string;
  message: RegExp;
}

interface PutCase extends Expected {
  title: string;
  /** The name in the URL (and the one that must stay absent). */
  name: string;
  /** The JSON body, or a raw string. */
  body: () => unknown;
}

describe('rejected npm requests store nothing', () => {
  let server: TestServer;
  let registry: string;
  let blobRoot: string;
  let publisher: Sandbox;

  before(async () => {
    server = await startTestServer();
    registry = await server.createRepo('admin', 'errors');
    blobRoot = server.config.blobs.root;
    publisher = await createSandbox({ label: 'errors', registry, token: server.adminToken });
  });

  after(async () => {
    await publisher?.remove();
    await server?.close();
  });

  const put = (name: string, body: unknown, token: string | null = server.adminToken) =>
    http('PUT', packageUrl(registry, name), typeof body === 'string' ? { token, rawBody: body } : { token, body });

  /** The package is absent (or lacks `version`) and the blob folder is exactly as before. */
  async function assertNothingStored(name: string, blobsBefore: string[], version?: string): Promise<void> {
    const doc = await http('GET', packageUrl(registry, name), { token: server.adminToken });
    if (version === undefined) {
      assert.equal(doc.status, 404, `${name} must not exist: ${doc.text.slice(0, 300)}`);
    } else {
      assert.equal(doc.status, 200, doc.text);
      assert.ok(!Object.hasOwn(doc.json?.versions as object, version), `${name}@${version} must not exist`);
    }
    assert.deepEqual(await blobFiles(blobRoot), blobsBefore, 'no new file in the blob store');
  }

  function assertError(answer: { status: number; json: Record<string, unknown> | undefined; text: string }, expected: Expected): void {
    assert.equal(answer.status, expected.status, answer.text);
    assert.equal(answer.json?.code, expected.code, answer.text);
    assert.match(String(answer.json?.error), expected.message);
  }

  const body = (pkgJson: PkgJson, tarball: Buffer, options: Partial<Parameters<typeof publishBody>[0]> = {}) =>
    publishBody({ registry, pkgJson, tarball, ...options });

  const cases: PutCase[] = [
    {
      title: 'malformed JSON',
      name: 'bad-json',
      body: () => '{"name":"bad-json","versions":{',
      status: 400,
      code: 'INVALID_JSON',
      message: /request body is not valid JSON/,
    },
    {
      title: 'attachment data that is not base64',
      name: 'bad-base64',
      body: () => body(pkg('bad-base64'), packageTgz(pkg('bad-base64')), { attachmentData: 'H4sI!!not*base64$$' }),
      status: 400,
      code: 'INVALID_ATTACHMENT',
      message: /not valid base64.*"!" at offset 4/,
    },
    {
      title: 'attachment length that differs from the data',
      name: 'bad-length',
      body: () => {
        const doc = body(pkg('bad-length'), packageTgz(pkg('bad-length')));
        for (const att of Object.values(doc._attachments as Record<string, { length: number }>)) att.length += 10;
        return doc;
      },
      status: 400,
      code: 'INVALID_ATTACHMENT',
      message: /declared length \d+ differs from the \d+ decoded bytes/,
    },
    {
      title: 'a tarball that is not gzip',
      name: 'not-gzip',
      body: () => body(pkg('not-gzip'), Buffer.from('this is plain text, not a tarball at all\n')),
      status: 400,
      code: 'INVALID_ARCHIVE',
      message: /not gzip-compressed/,
    },
    {
      title: 'gzip that is not a tar archive',
      name: 'not-tar',
      body: () => body(pkg('not-tar'), gzipSync(Buffer.from('just some text, no tar headers here\n'.repeat(40)))),
      status: 400,
      code: 'INVALID_ARCHIVE',
      message: /not a tar archive/,
    },
    {
      title: 'a tarball without package.json',
      name: 'no-manifest',
      body: () => body(pkg('no-manifest'), buildTgz([{ path: 'package/index.js', content: 'module.exports = 1;\n' }])),
      status: 400,
      code: 'INVALID_ARCHIVE',
      message: /no package\.json in the top-level folder/,
    },
    {
      title: 'a tar entry with ".." in its path',
      name: 'dotdot-entry',
      body: () => body(pkg('dotdot-entry'), tgzWith(pkg('dotdot-entry'), [{ path: 'package/../../evil.js', content: 'pwned' }])),
      status: 400,
      code: 'UNSAFE_ARCHIVE',
      message: /"package\/\.\.\/\.\.\/evil\.js" has a "\.\." path segment/,
    },
    {
      title: 'a tar entry with an absolute path',
      name: 'absolute-entry',
      body: () => body(pkg('absolute-entry'), tgzWith(pkg('absolute-entry'), [{ path: '/etc/cron.d/evil', content: 'pwned' }])),
      status: 400,
      code: 'UNSAFE_ARCHIVE',
      message: /"\/etc\/cron\.d\/evil" has an absolute path/,
    },
    {
      title: 'a symlink pointing outside the package',
      name: 'symlink-out',
      body: () => body(pkg('symlink-out'), tgzWith(pkg('symlink-out'), [{ path: 'package/lib/link', type: 'symlink', linkname: '../../../etc/passwd' }])),
      status: 400,
      code: 'UNSAFE_ARCHIVE',
      message: /symlink "package\/lib\/link" -> "\.\.\/\.\.\/\.\.\/etc\/passwd" resolves outside the package/,
    },
    {
      title: 'a symlink to an absolute path',
      name: 'symlink-abs',
      body: () => body(pkg('symlink-abs'), tgzWith(pkg('symlink-abs'), [{ path: 'package/passwd', type: 'symlink', linkname: '/etc/passwd' }])),
      status: 400,
      code: 'UNSAFE_ARCHIVE',
      message: /points to the absolute path "\/etc\/passwd"/,
    },
    {
      title: 'a hard link out of the archive',
      name: 'hardlink-out',
      body: () => body(pkg('hardlink-out'), tgzWith(pkg('hardlink-out'), [{ path: 'package/hl', type: 'hardlink', linkname: '../../etc/shadow' }])),
      status: 400,
      code: 'UNSAFE_ARCHIVE',
      message: /link "package\/hl" -> "\.\.\/\.\.\/etc\/shadow" has a "\.\." path segment/,
    },
    {
      title: 'a name with a space',
      name: 'has space',
      body: () => body(pkg('has space'), packageTgz(pkg('has space'))),
      status: 400,
      code: 'INVALID_NAME',
      message: /invalid package name "has space"/,
    },
    {
      title: 'a scoped name with an uppercase scope',
      name: '@Acme/upper',
      body: () => body(pkg('@Acme/upper'), packageTgz(pkg('@Acme/upper'))),
      status: 400,
      code: 'INVALID_NAME',
      message: /invalid package name "@Acme\/upper": name can no longer contain capital letters/,
    },
    {
      title: 'an invalid version ("1.0")',
      name: 'bad-version',
      body: () => body(pkg('bad-version', '1.0'), packageTgz(pkg('bad-version', '1.0'))),
      status: 400,
      code: 'INVALID_VERSION',
      message: /invalid version "1\.0"/,
    },
    {
      title: 'a body name that differs from the URL',
      name: 'url-name',
      body: () => body(pkg('body-name'), packageTgz(pkg('body-name'))),
      status: 400,
      code: 'NAME_MISMATCH',
      message: /package name in the body \("body-name"\) differs from the URL \("url-name"\)/,
    },
    {
      title: 'a tarball whose package.json names another package',
      name: 'claimed-name',
      body: () => body(pkg('claimed-name'), packageTgz(pkg('other-name'))),
      status: 400,
      code: 'NAME_MISMATCH',
      message: /"other-name".*"claimed-name"/,
    },
    {
      title: 'manifest confusion: dependencies hidden from the metadata',
      name: 'confused-deps',
      body: () => {
        const real = pkg('confused-deps', '1.0.0', { dependencies: { 'evil-dep': '^6.6.6' } });
        return body(pkg('confused-deps'), packageTgz(real));
      },
      status: 400,
      code: 'MANIFEST_MISMATCH',
      message: /manifest confusion: "dependencies\.evil-dep" in the published metadata differs from the package\.json inside the tarball/,
    },
    {
      title: 'manifest confusion: an install script hidden from the metadata',
      name: 'confused-scripts',
      body: () => {
        const real = pkg('confused-scripts', '1.0.0', { scripts: { test: 'node test.js', postinstall: 'node steal-tokens.js' } });
        return body(pkg('confused-scripts', '1.0.0', { scripts: { test: 'node test.js' } }), packageTgz(real));
      },
      status: 400,
      code: 'MANIFEST_MISMATCH',
      message: /"scripts\.postinstall"/,
    },
    {
      title: 'manifest confusion: a version document claiming other dependencies than the tarball',
      name: 'confused-override',
      body: () => {
        const real = pkg('confused-override', '1.0.0', { dependencies: { lodash: '^4.0.0' } });
        return body(real, packageTgz(real), { versionOverrides: { dependencies: { lodash: '^4.0.0', 'left-pad': '*' } } });
      },
      status: 400,
      code: 'MANIFEST_MISMATCH',
      message: /"dependencies\.left-pad"/,
    },
    {
      title: 'a wrong dist.integrity',
      name: 'bad-integrity',
      body: () => body(pkg('bad-integrity'), packageTgz(pkg('bad-integrity')), { distOverrides: { integrity: integrityOf(Buffer.from('other')).integrity } }),
      status: 400,
      code: 'INTEGRITY_MISMATCH',
      message: /integrity check failed: dist\.integrity "sha512-.*" does not match the uploaded tarball/,
    },
    {
      title: 'a wrong dist.shasum',
      name: 'bad-shasum',
      body: () => body(pkg('bad-shasum'), packageTgz(pkg('bad-shasum')), { distOverrides: { shasum: integrityOf(Buffer.from('other')).shasum } }),
      status: 400,
      code: 'INTEGRITY_MISMATCH',
      message: /dist\.shasum "[0-9a-f]{40}" does not match the uploaded tarball/,
    },
  ];

  for (const c of cases) {
    it(`PUT with ${c.title} → ${c.status} ${c.code}`, async () => {
      const blobsBefore = await blobFiles(blobRoot);
      assertError(await put(c.name, c.body()), c);
      await assertNothingStored(c.name, blobsBefore);
    });
  }

  it('PUT to the path ".." → 400 INVALID_NAME', async () => {
    const blobsBefore = await blobFiles(blobRoot);
    const data = packageTgz(pkg('..'));
    const answer = await rawRequest(server.url, {
      method: 'PUT',
      path: '/admin/errors/npm/..',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body(pkg('..'), data)),
    });
    assertError(answer, { status: 400, code: 'INVALID_NAME', message: /invalid package name "\.\."/ });
    assert.deepEqual(await blobFiles(blobRoot), blobsBefore);
  });

  it('npm publish of an uppercase name: npm shows E400 and our message', async () => {
    const blobsBefore = await blobFiles(blobRoot);
    const dir = await writePackage(path.join(publisher.root, 'upper'), { name: 'Bad-Name', version: '1.0.0' });
    const result = assertFailed(await publisher.npm(['publish'], { cwd: dir }));
    assert.match(result.stderr, /E400/, describeRun(result));
    assert.match(result.stderr, /invalid package name "Bad-Name": name can no longer contain capital letters/, describeRun(result));
    await assertNothingStored('Bad-Name', blobsBefore);
  });

  it('publishing an existing version: npm shows 409 and the message; nothing new is stored', async () => {
    const dir = await writePackage(path.join(publisher.root, 'dup'), { name: 'e2e-dup', version: '1.0.0' });
    assertOk(await publisher.npm(['publish'], { cwd: dir }));
    const blobsBefore = await blobFiles(blobRoot);
    // Without --force npm 11 reads the packument and refuses by itself, sending nothing.
    const local = assertFailed(await publisher.npm(['publish'], { cwd: dir }));
    assert.match(local.stderr, /You cannot publish over the previously published versions: 1\.0\.0/, describeRun(local));
    const again = assertFailed(await publisher.npm(['publish', '--force'], { cwd: dir }));
    assert.match(again.stderr, /E409/, describeRun(again));
    assert.match(again.stderr, /409 Conflict - PUT .*e2e-dup - cannot publish e2e-dup@1\.0\.0: that version already exists/, describeRun(again));
    assert.deepEqual(await blobFiles(blobRoot), blobsBefore);
  });

  it('publishing an existing version with different content → 409 and no orphan blob', async () => {
    const blobsBefore = await blobFiles(blobRoot);
    const other = packageTgz(pkg('e2e-dup', '1.0.0'), [{ path: 'package/extra.js', content: 'module.exports = "different content";\n' }]);
    const answer = await put('e2e-dup', body(pkg('e2e-dup'), other));
    assertError(answer, { status: 409, code: 'VERSION_EXISTS', message: /cannot publish e2e-dup@1\.0\.0: that version already exists/ });
    const served = await fetch(`${registry}e2e-dup/-/e2e-dup-1.0.0.tgz`);
    assert.notEqual(integrityOf(Buffer.from(await served.arrayBuffer())).integrity, integrityOf(other).integrity, 'the first upload stays');
    assert.deepEqual(await blobFiles(blobRoot), blobsBefore, 'a rejected upload must not leave its tarball in the blob store');
  });

  it('npm dist-tag rm of an unknown tag: npm refuses; the raw DELETE is 404 UNKNOWN_DIST_TAG', async () => {
    const result = assertFailed(await publisher.npm(['dist-tag', 'rm', 'e2e-dup', 'nope'], { cwd: publisher.root }));
    // npm 11 reads the tags first and stops before sending the DELETE.
    assert.match(result.stderr, /nope is not a dist-tag on e2e-dup/, describeRun(result));
    const answer = await http('DELETE', `${registry}-/package/e2e-dup/dist-tags/nope`, { token: server.adminToken });
    assertError(answer, { status: 404, code: 'UNKNOWN_DIST_TAG', message: /dist-tag "nope" does not exist on e2e-dup/ });
    const tags = await http('GET', `${registry}-/package/e2e-dup/dist-tags`);
    assert.deepEqual(tags.json, { latest: '1.0.0' });
  });

  it('oversized request headers → 431 HEADERS_TOO_LARGE; the server keeps serving', async () => {
    const answer = await rawRequest(server.url, {
      method: 'GET',
      path: '/admin/errors/npm/e2e-dup',
      headers: { 'x-filler': 'a'.repeat(32 * 1024) },
    });
    assert.equal(answer.status, 431, answer.text);
    assert.equal(answer.json?.code, 'HEADERS_TOO_LARGE', `431 body: ${JSON.stringify(answer.text)}`);
    assert.match(String(answer.json?.error), /request headers are too large/);
    assert.equal((await http('GET', `${registry}e2e-dup`)).status, 200);
  });

  it('a client that disconnects mid-upload leaves no package and no blob', async () => {
    const blobsBefore = await blobFiles(blobRoot);
    const total = 5 * 1024 * 1024;
    const url = new URL(server.url);
    const prefix = `{"_id":"half-upload","name":"half-upload","versions":{},"_attachments":{"half-upload-1.0.0.tgz":{"content_type":"application/octet-stream","data":"`;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          [
            'PUT /admin/errors/npm/half-upload HTTP/1.1',
            `Host: ${url.host}`,
            `Authorization: Bearer ${server.adminToken}`,
            'Content-Type: application/json',
            `Content-Length: ${total}`,
            '',
            '',
          ].join('\r\n'),
        );
        socket.write(prefix);
        socket.write('A'.repeat(total / 2 - prefix.length), () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    });
    // Give the server time to notice the reset and clean up.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await http('GET', server.url + '/healthz')).status, 200);
    await assertNothingStored('half-upload', blobsBefore);
  });

  it('8 concurrent PUTs of the same name@version: exactly one 201, the others 409', async () => {
    const blobsBefore = await blobFiles(blobRoot);
    const pkgJson = pkg('e2e-race', '1.0.0');
    const doc = body(pkgJson, packageTgz(pkgJson));
    const answers = await Promise.all(Array.from({ length: 8 }, () => put('e2e-race', doc)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409, 409, 409], answers.map((a) => `${a.status} ${a.text}`).join('\n'));
    for (const a of answers.filter((x) => x.status === 409)) {
      assertError(a, { status: 409, code: 'VERSION_EXISTS', message: /cannot publish e2e-race@1\.0\.0: that version already exists/ });
    }
    const stored = await http('GET', packageUrl(registry, 'e2e-race'));
    assert.deepEqual(Object.keys(stored.json?.versions as object), ['1.0.0']);
    const added = (await blobFiles(blobRoot)).filter((f) => !blobsBefore.includes(f));
    assert.equal(added.length, 1, `one blob for the one tarball: ${added.join(', ')}`);
  });
});

describe('request body limit', () => {
  let server: TestServer;
  let registry: string;
  let publisher: Sandbox;
  const limit = 64 * 1024;

  before(async () => {
    server = await startTestServer({ server: { bodyLimit: limit } });
    registry = await server.createRepo('admin', 'small');
    publisher = await createSandbox({ label: 'errors-limit', registry, token: server.adminToken });
  });

  after(async () => {
    await publisher?.remove();
    await server?.close();
  });

  it('a raw PUT over the limit → 413 BODY_TOO_LARGE naming the limit; nothing stored', async () => {
    const blobsBefore = await blobFiles(server.config.blobs.root);
    const pkgJson = pkg('too-big');
    const big = packageTgz(pkgJson, [{ path: 'package/blob.bin', content: randomText(120 * 1024) }]);
    const answer = await http('PUT', packageUrl(registry, 'too-big'), { token: server.adminToken, body: publishBody({ registry, pkgJson, tarball: big }) });
    assert.equal(answer.status, 413, answer.text);
    assert.equal(answer.json?.code, 'BODY_TOO_LARGE');
    assert.match(String(answer.json?.error), new RegExp(`request body exceeds the limit of ${limit} bytes`));
    assert.equal((await http('GET', packageUrl(registry, 'too-big'))).status, 404);
    assert.deepEqual(await blobFiles(server.config.blobs.root), blobsBefore);
  });

  it('npm publish over the limit: npm shows E413 and our message', async () => {
    const blobsBefore = await blobFiles(server.config.blobs.root);
    const dir = await writePackage(path.join(publisher.root, 'big'), { name: 'too-big-npm', version: '1.0.0', files: { 'data.txt': randomText(120 * 1024) } });
    const result = assertFailed(await publisher.npm(['publish'], { cwd: dir }));
    assert.match(result.stderr, /E413/, describeRun(result));
    assert.match(result.stderr, new RegExp(`request body exceeds the limit of ${limit} bytes`), describeRun(result));
    assert.equal((await http('GET', packageUrl(registry, 'too-big-npm'))).status, 404);
    assert.deepEqual(await blobFiles(server.config.blobs.root), blobsBefore);
  });
});

/** Random base64 text: gzip cannot shrink it much, so the tarball really is large. */
function randomText(length: number): string {
  return randomBytes(length).toString('base64').slice(0, length);
}
