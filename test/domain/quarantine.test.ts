import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import semver from 'semver';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import type { GateRecord, PackageRef, VersionStatus } from '../../src/domain/packages.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

function digestsOf(text: string) {
  const data = Buffer.from(text);
  const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { sha256: hex('sha256'), sha512: hex('sha512'), sha1: hex('sha1'), md5: hex('md5'), size: data.length };
}

const held: GateRecord & { status: VersionStatus } = {
  status: 'quarantined',
  verdict: 'quarantine',
  findings: [{ analyzer: 'install-scripts', rule: 'install-scripts/pipe-to-shell', location: { file: 'package.json', line: 5 }, action: 'quarantine' }],
  reasons: ['install-scripts/pipe-to-shell in package.json:5: postinstall pipes a download into sh'],
};
const clean: GateRecord & { status: VersionStatus } = { status: 'published', verdict: 'allow', findings: [] };

describe('quarantine and review', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  let ref: PackageRef;
  const actor = { name: 'alice', ip: '127.0.0.1' };
  const reviewer = { name: 'root', ip: '127.0.0.1' };

  const publish = (version: string, gate: GateRecord & { status: VersionStatus }, distTags: Record<string, string> = {}) =>
    domain.packages.publish(actor, ref, {
      version,
      metadata: { version },
      file: { filename: `demo-${version}.tgz`, digests: digestsOf(`demo ${version}`) },
      distTags,
      defaultTag: 'latest',
      gate,
    });

  before(async () => {
    ({ domain, close } = await openTestDomain());
    await domain.accounts.createUser(systemActor, { name: 'alice', password: 'correct-horse-battery' });
    const repo = await domain.repos.create(systemActor, { owner: 'alice', name: 'main', visibility: 'public' });
    ref = { repo, format: 'npm', name: 'demo' };
  });
  after(() => close());

  it('keeps a quarantined version out of the package, its tags and listings', async () => {
    await publish('1.0.0', clean);
    await publish('1.1.0', held, { next: '1.1.0' });
    const pkg = await domain.packages.load(ref);
    assert.deepEqual(pkg?.versions.map((v) => v.version), ['1.0.0']);
    assert.deepEqual({ ...pkg?.distTags }, { latest: '1.0.0' });
    const all = await domain.packages.load(ref, { includeQuarantined: true });
    assert.deepEqual(all?.versions.map((v) => [v.version, v.status]), [['1.0.0', 'published'], ['1.1.0', 'quarantined']]);
    assert.equal(await domain.packages.versionState(ref, '1.1.0'), 'quarantined');
    const file = await domain.packages.findFile(ref, 'demo-1.1.0.tgz');
    assert.equal(file?.status, 'quarantined');
    assert.deepEqual(file?.reasons, held.reasons);
    const queue = await domain.packages.listQuarantined(ref.repo);
    assert.deepEqual(queue.map((q) => `${q.name}@${q.version}`), ['demo@1.1.0']);
    assert.equal(queue[0]?.gate.pendingTags?.next, '1.1.0');
    assert.equal(queue[0]?.gate.pendingTags?.latest, '1.1.0');
  });

  it('makes an approved version visible and applies the tags it asked for', async () => {
    await domain.packages.review(reviewer, ref, { version: '1.1.0', decision: 'approve', reason: 'the script fetches our own prebuilt binary', compare: semver.compare });
    const pkg = await domain.packages.load(ref);
    assert.deepEqual(pkg?.versions.map((v) => v.version), ['1.0.0', '1.1.0']);
    assert.deepEqual({ ...pkg?.distTags }, { latest: '1.1.0', next: '1.1.0' });
    assert.equal(pkg?.versions[1]?.gate.review?.by, 'root');
    await assert.rejects(
      domain.packages.review(reviewer, ref, { version: '1.1.0', decision: 'approve', reason: 'again', compare: semver.compare }),
      (e: unknown) => isStockadeError(e) && e.code === 'CONFLICT',
    );
  });

  it('does not move latest back when a newer version was published during review', async () => {
    await publish('1.2.0', held);
    await publish('1.3.0', clean, { latest: '1.3.0' });
    await domain.packages.review(reviewer, ref, { version: '1.2.0', decision: 'approve', reason: 'checked', compare: semver.compare });
    assert.equal((await domain.packages.load(ref))?.distTags.latest, '1.3.0');
  });

  it('deletes a rejected version and records the decision in the audit log', async () => {
    await publish('1.4.0', held);
    await domain.packages.review(reviewer, ref, { version: '1.4.0', decision: 'reject', reason: 'exfiltrates tokens', compare: semver.compare });
    const all = await domain.packages.load(ref, { includeQuarantined: true });
    assert.ok(!all?.versions.some((v) => v.version === '1.4.0'));
    const entries = await domain.db.selectFrom('audit_log').select(['action', 'actor', 'details']).where('target', 'like', '%demo@1.4.0').orderBy('id').execute();
    assert.deepEqual(entries.map((e) => e.action), ['package.quarantine', 'package.review.reject']);
    assert.equal(entries[1]?.actor, 'root');
    assert.match(entries[1]?.details ?? '', /exfiltrates tokens/);
    assert.match(entries[1]?.details ?? '', /install-scripts\/pipe-to-shell/);
  });

  it('hides a published version when a rescan quarantines it, moving latest back', async () => {
    const changed = await domain.packages.regate(systemActor, ref, {
      version: '1.3.0',
      gate: { status: 'quarantined', verdict: 'quarantine', findings: [{ rule: 'vulns/malicious' }], reasons: ['vulns/malicious: MAL-2026-1'] },
      compare: semver.compare,
      why: 'advisory MAL-2026-1 imported',
    });
    assert.equal(changed, true);
    const pkg = await domain.packages.load(ref);
    assert.ok(!pkg?.versions.some((v) => v.version === '1.3.0'));
    assert.equal(pkg?.distTags.latest, '1.2.0');
    const again = await domain.packages.regate(systemActor, ref, {
      version: '1.3.0',
      gate: { status: 'quarantined', verdict: 'quarantine', findings: [{ rule: 'vulns/malicious' }], reasons: ['vulns/malicious: MAL-2026-1'] },
      compare: semver.compare,
      why: 'same again',
    });
    assert.equal(again, false, 'an unchanged decision writes nothing');
    const rescans = await domain.db.selectFrom('audit_log').select('details').where('action', '=', 'package.rescan').execute();
    assert.equal(rescans.length, 1);
    assert.match(rescans[0]?.details ?? '', /MAL-2026-1 imported/);
  });
});
