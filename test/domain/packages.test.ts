import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import semver from 'semver';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import type { PackageRef } from '../../src/domain/packages.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

function digestsOf(text: string) {
  const data = Buffer.from(text);
  const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { sha256: hex('sha256'), sha512: hex('sha512'), sha1: hex('sha1'), md5: hex('md5'), size: data.length };
}

describe('package storage', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  let ref: PackageRef;
  const actor = { name: 'alice', ip: '127.0.0.1' };

  const publish = (version: string, distTags: Record<string, string> = {}) =>
    domain.packages.publish(actor, ref, {
      version,
      metadata: { version },
      file: { filename: `demo-${version}.tgz`, digests: digestsOf(version) },
      distTags,
      defaultTag: 'latest',
    });

  before(async () => {
    ({ domain, close } = await openTestDomain());
    await domain.accounts.createUser(systemActor, { name: 'alice', password: 'correct-horse-battery' });
    const repo = await domain.repos.create(systemActor, { owner: 'alice', name: 'main', visibility: 'public' });
    ref = { repo, format: 'npm', name: 'demo' };
  });
  after(() => close());

  it('lets exactly one of many concurrent publishes of the same version win', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => publish('1.0.0')));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 7);
    for (const r of lost) assert.ok(isStockadeError(r.reason) && r.reason.code === 'VERSION_EXISTS', String(r.reason));
    const pkg = await domain.packages.load(ref);
    assert.equal(pkg?.versions.length, 1);
    assert.equal(pkg?.distTags.latest, '1.0.0');
  });

  it('publishes different versions concurrently without losing any', async () => {
    const versions = ['1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0', '2.0.0-beta.1'];
    await Promise.all(versions.map((v) => publish(v, v.includes('beta') ? { beta: v } : {})));
    const pkg = await domain.packages.load(ref);
    assert.deepEqual(pkg?.versions.map((v) => v.version).sort(semver.compare), ['1.0.0', ...versions].sort(semver.compare));
    assert.equal(pkg?.distTags.beta, '2.0.0-beta.1');
    // `latest` stays where the first publish put it: later publishes did not ask for it.
    assert.equal(pkg?.distTags.latest, '1.0.0');
  });

  it('does not lose concurrent dist-tag updates on different tags', async () => {
    const tags = ['a', 'b', 'c', 'd', 'e', 'f'];
    await Promise.all(tags.map((t, i) => domain.packages.setDistTag(actor, ref, t, `1.${i % 5 + 1}.0`)));
    const pkg = await domain.packages.load(ref);
    for (const [i, t] of tags.entries()) assert.equal(pkg?.distTags[t], `1.${i % 5 + 1}.0`);
  });

  it('refuses to tag a version that does not exist', async () => {
    await assert.rejects(domain.packages.setDistTag(actor, ref, 'x', '9.9.9'), (e) => isStockadeError(e) && e.code === 'NOT_FOUND');
  });

  it('moves latest to the highest remaining version on unpublish and forbids reuse', async () => {
    await domain.packages.setDistTag(actor, ref, 'latest', '1.5.0');
    await domain.packages.unpublish(actor, ref, ['1.5.0'], semver.compare);
    let pkg = await domain.packages.load(ref);
    assert.equal(pkg?.distTags.latest, '2.0.0-beta.1');
    assert.equal(pkg?.versions.some((v) => v.version === '1.5.0'), false);
    assert.equal(await domain.packages.findFile(ref, 'demo-1.5.0.tgz'), null);
    await assert.rejects(publish('1.5.0'), (e) => isStockadeError(e) && e.code === 'VERSION_REUSED');
    await domain.packages.unpublish(actor, ref, null, semver.compare);
    pkg = await domain.packages.load(ref);
    assert.equal(pkg?.versions.length, 0);
    assert.deepEqual({ ...pkg?.distTags }, {});
  });

  it('records deprecations and clears them', async () => {
    await publish('3.0.0');
    await domain.packages.deprecate(actor, ref, { '3.0.0': 'use 4' });
    assert.equal((await domain.packages.load(ref))?.versions.find((v) => v.version === '3.0.0')?.deprecated, 'use 4');
    await domain.packages.deprecate(actor, ref, { '3.0.0': null });
    assert.equal((await domain.packages.load(ref))?.versions.find((v) => v.version === '3.0.0')?.deprecated, null);
    const actions = (await domain.audit.query(domain.db, { limit: 1000 })).map((e) => e.action);
    for (const action of ['package.publish', 'package.dist-tag.set', 'package.unpublish-version', 'package.unpublish', 'package.deprecate', 'package.undeprecate']) {
      assert.ok(actions.includes(action), `audit has ${action}`);
    }
    assert.equal((await domain.audit.verify(domain.db)).ok, true);
  });

  it('yanks a version with or without a reason, keeps its files, and takes the yank back', async () => {
    await publish('5.0.0');
    await publish('5.0.1');
    const rev = await domain.packages.currentRev(ref);
    await domain.packages.yank(actor, ref, '5.0.0', 'broken build');
    let version = (await domain.packages.load(ref))?.versions.find((v) => v.version === '5.0.0');
    assert.equal(version?.yanked?.reason, 'broken build');
    assert.match(version?.yanked?.at ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(version?.files.length, 1);
    assert.ok((await domain.packages.currentRev(ref))! > rev!, 'a yank is a change readers see');
    await domain.packages.yank(actor, ref, '5.0.1', '');
    assert.deepEqual((await domain.packages.load(ref))?.versions.find((v) => v.version === '5.0.1')?.yanked?.reason, '');
    await domain.packages.yank(actor, ref, '5.0.0', null);
    version = (await domain.packages.load(ref))?.versions.find((v) => v.version === '5.0.0');
    assert.equal(version?.yanked, null);
    await assert.rejects(domain.packages.yank(actor, ref, '9.9.9', 'nope'), (e) => isStockadeError(e) && e.code === 'NOT_FOUND');
    const audit = await domain.audit.query(domain.db, { limit: 1000 });
    const yank = audit.find((e) => e.action === 'package.yank');
    assert.equal(yank?.target, 'package:alice/main/npm/demo@5.0.0');
    assert.ok(audit.some((e) => e.action === 'package.unyank'));
    assert.equal((await domain.audit.verify(domain.db)).ok, true);
  });
});
