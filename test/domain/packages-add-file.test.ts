import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
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

const compare = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

describe('adding files to an existing version', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  let ref: PackageRef;
  const actor = { name: 'alice', ip: '127.0.0.1' };

  const addFile = (version: string, filename: string, gate?: { status: 'published' | 'quarantined'; verdict: string; findings: unknown[]; reasons?: string[] }) =>
    domain.packages.addFile(actor, ref, {
      version,
      file: { filename, digests: digestsOf(filename) },
      metadata: (current) => ({ ...current, files: [...((current.files as string[] | undefined) ?? []), filename] }),
      compare,
      ...(gate ? { gate } : {}),
    });

  before(async () => {
    ({ domain, close } = await openTestDomain());
    await domain.accounts.createUser(systemActor, { name: 'alice', password: 'correct-horse-battery' });
    const repo = await domain.repos.create(systemActor, { owner: 'alice', name: 'main', visibility: 'public' });
    ref = { repo, format: 'pypi', name: 'demo' };
    await domain.packages.publish(actor, ref, { version: '1.0', metadata: { files: ['demo-1.0.tar.gz'] }, file: { filename: 'demo-1.0.tar.gz', digests: digestsOf('demo-1.0.tar.gz') }, distTags: {} });
  });
  after(() => close());

  it('keeps every concurrent addition, files and metadata alike', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `demo-1.0-py3-none-plat${i}.whl`);
    await Promise.all(names.map((name) => addFile('1.0', name)));
    const version = (await domain.packages.load(ref))?.versions[0];
    assert.deepEqual(version?.files.map((f) => f.filename).sort(), ['demo-1.0.tar.gz', ...names].sort());
    assert.deepEqual((version?.metadata.files as string[]).sort(), ['demo-1.0.tar.gz', ...names].sort());
  });

  it('refuses a taken file name with FILE_EXISTS and a missing version with NOT_FOUND', async () => {
    await assert.rejects(addFile('1.0', 'demo-1.0.tar.gz'), (e) => isStockadeError(e) && e.code === 'FILE_EXISTS');
    await assert.rejects(addFile('2.0', 'demo-2.0.tar.gz'), (e) => isStockadeError(e) && e.code === 'NOT_FOUND');
    const version = (await domain.packages.load(ref))?.versions[0];
    assert.equal(version?.files.length, 9, 'a refused addition changes nothing');
  });

  it('a quarantined file hides the whole version and keeps the findings of both', async () => {
    await addFile('1.0', 'demo-1.0-py3-none-any.whl', { status: 'published', verdict: 'warn', findings: [{ rule: 'a/first' }], reasons: ['first'] });
    assert.equal((await domain.packages.load(ref))?.versions.length, 1);
    await addFile('1.0', 'demo-1.0-py2-none-any.whl', { status: 'quarantined', verdict: 'quarantine', findings: [{ rule: 'b/second' }], reasons: ['second'] });
    assert.equal((await domain.packages.load(ref))?.versions.length, 0, 'readers no longer see the release');
    const held = await domain.packages.listQuarantined(ref.repo);
    assert.equal(held.length, 1);
    assert.equal(held[0]?.gate.verdict, 'quarantine');
    assert.deepEqual(held[0]?.gate.findings, [{ rule: 'a/first' }, { rule: 'b/second' }]);
    assert.deepEqual(held[0]?.gate.reasons, ['first', 'second']);
    const file = await domain.packages.findFile(ref, 'demo-1.0.tar.gz');
    assert.equal(file?.status, 'quarantined');
    await domain.packages.review(actor, ref, { version: '1.0', decision: 'approve', reason: 'checked', compare });
    assert.equal((await domain.packages.load(ref))?.versions[0]?.files.length, 11);
  });
});
