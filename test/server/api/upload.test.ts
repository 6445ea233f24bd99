import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus, npmTarball, sha256 } from './api-client.js';

interface UploadBody {
  format: string;
  name: string;
  version: string;
  filename: string;
  sha256: string;
  size: number;
}

interface PackageBody {
  name: string;
  format: string;
  distTags: Record<string, string>;
  versions: { version: string; publisher: string; deprecated: string | null; createdAt: string; files: { filename: string; size: number; sha256: string; sha512: string; sha1: string; md5: string }[] }[];
}

describe('REST API: upload', () => {
  let server: TestServer;
  let api: ApiClient;
  let writer: string;
  let reader: string;
  let outsider: string;

  const upload = (repo: string, filename: string | null, data: Buffer, auth: string | null, extra = '') =>
    api.request<UploadBody>('PUT', `/repos/${repo}/upload${filename === null ? '' : `?filename=${encodeURIComponent(filename)}`}${extra}`, { auth, body: data });

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    writer = (await server.createUser('wendy', { scopes: ['write'] })).token;
    const readerUser = await server.createUser('rita', { scopes: ['read'] });
    reader = readerUser.token;
    outsider = (await server.createUser('oscar')).token;
    assertStatus(await api.post('/orgs', { name: 'acme' }, server.adminToken), 201);
    assertStatus(await api.put('/orgs/acme/members/wendy', { role: 'write' }, server.adminToken), 200);
    assertStatus(await api.put('/orgs/acme/members/rita', { role: 'write' }, server.adminToken), 200);
    await server.createRepo('acme', 'main', 'private');
    await server.createRepo('acme', 'open', 'public');
  });
  after(() => server.close());

  it('stores an npm tarball and lists it with the right digest', async () => {
    const tarball = await npmTarball({ name: 'left-pad', version: '1.0.0', description: 'pads' }, { 'index.js': 'module.exports = 1;\n' });
    const answer = await upload('acme/main', 'left-pad-1.0.0.tgz', tarball, writer);
    assertStatus(answer, 201);
    assert.equal(answer.body.format, 'npm');
    assert.equal(answer.body.name, 'left-pad');
    assert.equal(answer.body.version, '1.0.0');
    assert.equal(answer.body.sha256, sha256(tarball));
    assert.equal(answer.body.size, tarball.length);

    const list = await api.get<{ format: string; name: string; updatedAt: string }[]>('/repos/acme/main/packages', writer);
    assertStatus(list, 200);
    assert.deepEqual(
      list.body.map((p) => [p.format, p.name]),
      [['npm', 'left-pad']],
    );
    assert.ok(!Number.isNaN(Date.parse(list.body[0]!.updatedAt)));

    const detail = await api.get<PackageBody>('/repos/acme/main/packages/npm/left-pad', writer);
    assertStatus(detail, 200);
    assert.equal(detail.body.name, 'left-pad');
    assert.equal(detail.body.format, 'npm');
    assert.equal(detail.body.distTags.latest, '1.0.0');
    assert.equal(detail.body.versions.length, 1);
    const version = detail.body.versions[0]!;
    assert.equal(version.version, '1.0.0');
    assert.equal(version.publisher, 'wendy');
    assert.equal(version.deprecated, null);
    assert.equal(version.files.length, 1);
    assert.equal(version.files[0]!.sha256, sha256(tarball));
    assert.equal(version.files[0]!.size, tarball.length);
    assert.match(version.files[0]!.sha512, /^[0-9a-f]{128}$/);
    assert.match(version.files[0]!.sha1, /^[0-9a-f]{40}$/);
    assert.match(version.files[0]!.md5, /^[0-9a-f]{32}$/);
  });

  it('points the requested tag at the uploaded version', async () => {
    const tarball = await npmTarball({ name: 'left-pad', version: '2.0.0-beta.1' });
    const answer = await upload('acme/main', 'left-pad-2.0.0-beta.1.tgz', tarball, writer, '&tag=next');
    assertStatus(answer, 201);
    const detail = await api.get<PackageBody>('/repos/acme/main/packages/npm/left-pad', writer);
    assert.deepEqual({ ...detail.body.distTags }, { latest: '1.0.0', next: '2.0.0-beta.1' });
    assert.deepEqual(
      detail.body.versions.map((v) => v.version),
      ['1.0.0', '2.0.0-beta.1'],
    );
  });

  it('answers 409 VERSION_EXISTS for a version that is already there', async () => {
    const tarball = await npmTarball({ name: 'left-pad', version: '1.0.0', description: 'different bytes' });
    assertError(await upload('acme/main', 'left-pad-1.0.0.tgz', tarball, writer), 409, 'VERSION_EXISTS');
  });

  it('answers 415 UNSUPPORTED_FORMAT when no format claims the file', async () => {
    assertError(await upload('acme/main', 'notes.txt', Buffer.from('hello'), writer), 415, 'UNSUPPORTED_FORMAT');
    // The right name is not enough: npm also checks the gzip magic number.
    assertError(await upload('acme/main', 'fake-1.0.0.tgz', Buffer.from('not gzip at all'), writer), 415, 'UNSUPPORTED_FORMAT');
  });

  it('answers 400 for a missing or unsafe filename, an empty body or the wrong content type', async () => {
    const tarball = await npmTarball({ name: 'x', version: '1.0.0' });
    assertError(await upload('acme/main', null, tarball, writer), 400, 'VALIDATION_FAILED');
    assertError(await upload('acme/main', '../x-1.0.0.tgz', tarball, writer), 400, 'VALIDATION_FAILED');
    assertError(await upload('acme/main', 'x-1.0.0.tgz', Buffer.alloc(0), writer), 400, 'VALIDATION_FAILED');
    const asJson = await api.request('PUT', '/repos/acme/main/upload?filename=x-1.0.0.tgz', { auth: writer, body: { not: 'a file' } });
    assert.equal(asJson.status, 400, asJson.text);
  });

  it('answers 400 for a broken archive that claims to be npm', async () => {
    const tarball = await npmTarball({ version: '1.0.0' });
    const answer = await upload('acme/main', 'noname-1.0.0.tgz', tarball, writer);
    assert.equal(answer.status, 400, answer.text);
  });

  describe('authorization', () => {
    let tarball: Buffer;
    before(async () => {
      tarball = await npmTarball({ name: 'guarded', version: '1.0.0' });
    });

    it('answers 401 to anonymous callers, for private, public and missing repositories', async () => {
      assertError(await upload('acme/main', 'guarded-1.0.0.tgz', tarball, null), 401, 'AUTH_REQUIRED');
      assertError(await upload('acme/open', 'guarded-1.0.0.tgz', tarball, null), 401, 'AUTH_REQUIRED');
      assertError(await upload('acme/nothing', 'guarded-1.0.0.tgz', tarball, null), 401, 'AUTH_REQUIRED');
    });

    it('answers outsiders of a private repository exactly as for a missing one', async () => {
      const hidden = await upload('acme/main', 'guarded-1.0.0.tgz', tarball, outsider);
      const missing = await upload('acme/nothing', 'guarded-1.0.0.tgz', tarball, outsider);
      assertError(hidden, 404, 'NOT_FOUND');
      assert.equal(hidden.text.replace('acme/main', 'X'), missing.text.replace('acme/nothing', 'X'));
    });

    it('answers 403 to outsiders of a public repository and to a read-only token', async () => {
      assertError(await upload('acme/open', 'guarded-1.0.0.tgz', tarball, outsider), 403, 'FORBIDDEN');
      // rita has the write role but her token only has the read scope.
      assertError(await upload('acme/main', 'guarded-1.0.0.tgz', tarball, reader), 403, 'FORBIDDEN');
    });

    it('stored nothing for any refused upload', async () => {
      const answer = await api.get('/repos/acme/main/packages/npm/guarded', server.adminToken);
      assertError(answer, 404, 'NOT_FOUND');
    });
  });
});

describe('REST API: upload size limit', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ server: { bodyLimit: 4096 } });
    await server.createRepo('admin', 'main', 'private');
  });
  after(() => server.close());

  it('answers 413 BODY_TOO_LARGE above the server body limit', async () => {
    const api = apiClient(server);
    const answer = await api.request('PUT', '/repos/admin/main/upload?filename=big-1.0.0.tgz', { auth: server.adminToken, body: Buffer.alloc(8192, 1) });
    assertError(answer, 413, 'BODY_TOO_LARGE');
  });

  it('accepts a file within the limit', async () => {
    const api = apiClient(server);
    const tarball = await npmTarball({ name: 'small', version: '1.0.0' });
    assert.ok(tarball.length < 4096);
    assertStatus(await api.request('PUT', '/repos/admin/main/upload?filename=small-1.0.0.tgz', { auth: server.adminToken, body: tarball }), 201);
  });
});
