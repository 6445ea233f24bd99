/**
 * OS advisories end to end: stored .deb and .rpm packages are rescanned when `stockade
 * advisories import` brings records for their source package in their distribution's OSV
 * ecosystem (Debian:12 for bookworm, AlmaLinux:9 for el/9), and new uploads are judged by the
 * records of the distribution they go into, not another release's.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliFixture, cliFixtureForServer } from '../cli/helpers.js';
import { buildDeb } from '../formats/debian/build-deb.js';
import { buildRpm } from '../formats/rpm/build-rpm.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const MODIFIED = '2026-10-01T00:00:00Z';
const fixedAt = (fixed: string) => [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }];

/** Records as OSV publishes them for Debian and AlmaLinux: keyed by source package and release. */
const RECORDS: Record<string, unknown>[] = [
  {
    id: 'DSA-9001-1',
    summary: 'openssl: example flaw fixed in a bookworm security update',
    affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: fixedAt('3.0.11-1~deb12u1') }],
  },
  {
    id: 'ALSA-2026:9002',
    summary: 'acme-lib: example flaw fixed in AlmaLinux 9',
    affected: [{ package: { ecosystem: 'AlmaLinux:9', name: 'acme-lib' }, ranges: fixedAt('1:2.0-3.el9') }],
  },
].map((record) => ({ schema_version: '1.6.0', modified: MODIFIED, published: MODIFIED, ...record }));

describe('OS advisories for Debian and RPM packages', () => {
  let server: TestServer;
  let cli: CliFixture;
  let work: string;

  before(async () => {
    server = await startTestServer({ signing: { rsaBits: 2048 } });
    cli = await cliFixtureForServer(server.config);
    await server.createRepo('admin', 'os', 'public');
    work = await mkdtemp(path.join(tmpdir(), 'stockade-os-advisories-'));
  });

  after(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function upload(data: Buffer, filename: string, distribution: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${server.url}/api/v1/repos/admin/os/upload?filename=${filename}&distribution=${encodeURIComponent(distribution)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
      body: data,
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 201, JSON.stringify(body));
    return body;
  }

  it('rescans stored packages by source name and release when advisories arrive', async () => {
    // libssl3 is built from openssl; the advisory names only the source.
    const libssl = await buildDeb({ name: 'libssl3', version: '3.0.9-1', arch: 'amd64', extraFields: { Source: 'openssl' } });
    assert.equal((await upload(libssl.data, 'libssl3.deb', 'bookworm')).verdict, 'allow');
    await libssl.cleanup();
    const lib = await readFile(buildRpm({ name: 'acme-lib', version: '2.0', release: '1.el9', epoch: 1, files: [{ path: '/usr/share/acme-lib/f', content: 'f\n' }] }, work));
    assert.equal((await upload(lib, 'acme-lib.rpm', 'el/9')).verdict, 'allow');

    const dir = path.join(work, 'osv');
    await mkdir(dir);
    for (const record of RECORDS) await writeFile(path.join(dir, `${String(record.id).replace(':', '-')}.json`), JSON.stringify(record));
    const imported = await cli.run(['advisories', 'import', dir, '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    const summary = JSON.parse(imported.stdout) as { added: number; errors: unknown[]; rescan: { checked: number; changed: number } };
    assert.deepEqual(summary.errors, []);
    assert.equal(summary.added, 2);
    assert.equal(summary.rescan.checked, 2, imported.stdout);
    assert.equal(summary.rescan.changed, 2, imported.stdout);

    const audit = await (await fetch(`${server.url}/api/v1/audit?action=package.rescan`, { headers: { authorization: `Bearer ${server.adminToken}` } })).text();
    assert.match(audit, /libssl3@3\.0\.9-1_amd64/);
    assert.match(audit, /acme-lib@1:2\.0-1\.el9\.noarch/);
  });

  it('judges new uploads by the records of the release they go into', async () => {
    const vulnerable = await buildDeb({ name: 'openssl', version: '3.0.10-1', arch: 'amd64' });
    const bookworm = await upload(vulnerable.data, 'openssl.deb', 'bookworm');
    assert.equal(bookworm.verdict, 'warn');
    assert.match(JSON.stringify(bookworm.reasons), /DSA-9001-1/);
    await vulnerable.cleanup();

    // The same source in bullseye is another release: the Debian:12 record does not apply.
    const older = await buildDeb({ name: 'openssl', version: '3.0.10-0+deb11u1', arch: 'amd64' });
    const bullseye = await upload(older.data, 'openssl-11.deb', 'bullseye');
    assert.doesNotMatch(JSON.stringify(bullseye.reasons), /DSA-9001-1/);

    // The bullseye file listed in bookworm too is judged by bookworm's records as well.
    const listedAgain = await upload(older.data, 'openssl-11.deb', 'bookworm');
    assert.equal(listedAgain.verdict, 'warn');
    assert.match(JSON.stringify(listedAgain.reasons), /DSA-9001-1/);
    await older.cleanup();

    const fixed = await buildDeb({ name: 'openssl', version: '3.0.11-1~deb12u1', arch: 'amd64' });
    assert.equal((await upload(fixed.data, 'openssl-fixed.deb', 'bookworm')).verdict, 'allow');
    await fixed.cleanup();

    // rpm's order: epoch 1 beats any version without one; 1:2.0-3.el9 is the fix.
    const patched = await readFile(buildRpm({ name: 'acme-lib', version: '2.0', release: '3.el9', epoch: 1, files: [{ path: '/usr/share/acme-lib/f', content: 'g\n' }] }, work));
    assert.equal((await upload(patched, 'acme-lib-fixed.rpm', 'el/9')).verdict, 'allow');
    const elsewhere = await readFile(buildRpm({ name: 'acme-lib', version: '2.0', release: '2.fc40', epoch: 1, files: [{ path: '/usr/share/acme-lib/f', content: 'h\n' }] }, work));
    const fedora = await upload(elsewhere, 'acme-lib-fc.rpm', 'fedora/40');
    assert.doesNotMatch(JSON.stringify(fedora.reasons), /ALSA-2026:9002/);
  });
});
