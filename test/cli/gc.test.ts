import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { createBlobStore } from '../../src/store/blobs/index.js';
import type { BlobStore } from '../../src/store/blobs/blob-store.js';
import { type CliFixture, createCliFixture, seed } from './helpers.js';

let cli: CliFixture;
let blobs: BlobStore;
const blobFile = (sha256: string) => path.join(cli.config.blobs.root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
const ageBy = async (sha256: string, hours: number) => {
  const then = new Date(Date.now() - hours * 3_600_000);
  await utimes(blobFile(sha256), then, then);
};

before(async () => {
  cli = await createCliFixture();
  await seed(cli, { users: ['alice'], repos: ['alice/web'] });
  blobs = createBlobStore(cli.config.blobs);
});
after(async () => {
  await cli?.drop();
});

test('gc removes old unreferenced blobs only, and --dry-run only counts', async () => {
  const kept = await blobs.put(Buffer.from('a published tarball'));
  const orphan = await blobs.put(Buffer.from('a blocked upload'));
  const fresh = await blobs.put(Buffer.from('a publish still in flight'));
  await cli.withDomain(async (domain) => {
    const repo = await domain.repos.get('alice', 'web');
    assert.ok(repo);
    await domain.packages.publish(systemActor, { repo, format: 'npm', name: 'lib' }, { version: '1.0.0', metadata: {}, file: { filename: 'lib-1.0.0.tgz', digests: kept }, distTags: {} });
  });
  await ageBy(kept.sha256, 48);
  await ageBy(orphan.sha256, 48);

  const dry = await cli.run(['gc', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout), { scanned: 3, unreferenced: 2, removed: 1, bytesRemoved: orphan.size, spared: 1, dryRun: true });
  assert.ok(await blobs.stat(orphan.sha256), 'a dry run deletes nothing');

  const real = await cli.run(['gc']);
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /removed 1 unreferenced blobs \(16 bytes\) of 3; 1 younger than 24 h kept/);
  assert.equal(await blobs.stat(orphan.sha256), null);
  assert.ok(await blobs.stat(kept.sha256), 'a referenced blob stays however old');
  assert.ok(await blobs.stat(fresh.sha256), 'a young blob stays');
});

test('gc refuses a grace period under an hour', async () => {
  const result = await cli.run(['gc', '--grace-hours', '0']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /--grace-hours must be at least 1/);
});
