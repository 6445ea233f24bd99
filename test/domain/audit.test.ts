import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { type AuditEntry, type AuditFilter, parseAuditTime, systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import { openTestDomain } from './domain-setup.js';

describe('audit log', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  before(async () => ({ domain, close } = await openTestDomain()));
  after(() => close());

  it('records every change with actor and address in a verifiable chain', async () => {
    const actor = { name: 'system', ip: '127.0.0.9' };
    await domain.accounts.createUser(actor, { name: 'alice', password: 'correct-horse-battery' });
    await domain.accounts.createOrg(actor, { name: 'acme', adminUserId: (await domain.accounts.getUser('alice'))!.id });
    await domain.repos.create(actor, { owner: 'acme', name: 'main' });
    const entries = await domain.audit.query(domain.db, {});
    assert.deepEqual(
      entries.map((e) => e.action),
      ['user.create', 'org.create', 'repo.create'],
    );
    assert.ok(entries.every((e) => e.actor_ip === '127.0.0.9' && e.actor === 'system'));
    assert.equal(entries[0]!.prev_hash, '0'.repeat(64));
    assert.equal(entries[1]!.prev_hash, entries[0]!.hash);
    assert.deepEqual(await domain.audit.verify(domain.db), { ok: true, checked: 3 });
  });

  it('keeps one chain under concurrent writers', async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => domain.repos.create(systemActor, { owner: 'acme', name: `parallel-${i}` })),
    );
    const result = await domain.audit.verify(domain.db);
    assert.equal(result.ok, true);
    assert.equal(result.checked, 15);
  });

  it('reports the first entry whose content was altered', async () => {
    const victim = (await domain.audit.query(domain.db, { action: 'org.create' }))[0]!;
    await sql`update audit_log set details = ${'{"forged":true}'} where id = ${victim.id}`.execute(domain.db);
    const result = await domain.audit.verify(domain.db);
    assert.equal(result.ok, false);
    assert.equal(result.firstBroken?.id, victim.id);
    assert.match(result.firstBroken!.reason, /content/);
  });

  it('reports a removed entry as a broken link', async () => {
    const fresh = await openTestDomain();
    try {
      for (const name of ['r1', 'r2', 'r3']) await fresh.domain.accounts.createUser(systemActor, { name, password: 'correct-horse-battery' });
      const entries = await fresh.domain.audit.query(fresh.domain.db, {});
      await sql`delete from audit_log where id = ${entries[1]!.id}`.execute(fresh.domain.db);
      const result = await fresh.domain.audit.verify(fresh.domain.db);
      assert.equal(result.ok, false);
      assert.equal(result.firstBroken?.id, entries[2]!.id);
      assert.match(result.firstBroken!.reason, /previous-hash/);
    } finally {
      await fresh.close();
    }
  });
});

describe('audit log queries', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  let all: AuditEntry[];

  /** Appends entries with targets exactly as the domain writes them, without building the objects. */
  async function record(actor: string, action: string, target: string): Promise<void> {
    await domain.db.transaction().execute((tx) => domain.audit.record(tx, { name: actor, ip: null }, { action, target }));
  }

  const ids = (entries: { id: number }[]) => entries.map((e) => e.id);
  /** What a filter must select, computed from the whole log in memory. */
  const expected = (keep: (e: AuditEntry) => boolean) => ids(all.filter(keep));

  before(async () => {
    ({ domain, close } = await openTestDomain());
    await record('alice', 'repo.create', 'repo:acme/web');
    await record('alice', 'package.publish', 'package:acme/web/npm/left-pad@1.0.0');
    await record('bob', 'package.dist-tag.set', 'package:acme/web/npm/left-pad');
    // Names that a LIKE or a bare prefix would wrongly take for acme/web.
    await record('bob', 'package.publish', 'package:acme/webby/npm/other@1.0.0');
    await record('bob', 'package.publish', 'package:acme/we_/npm/under@1.0.0');
    await record('bob', 'repo.create', 'repo:acme/webby');
    await record('carol', 'package.publish', 'package:ACME/WEB/npm/shout@1.0.0');
    await record('alice', 'auth.failed', 'user:alice');
    await record('alice', 'auth.lockout', 'user:alice');
    await record('bob', 'authz.denied', 'user:bob');
    await record('bob', 'policy.set', 'repo:acme/web');
    all = await domain.audit.query(domain.db, { limit: 1000 });
    assert.equal(all.length, 11);
  });
  after(() => close());

  it('filters by actor and by exact action', async () => {
    assert.deepEqual(ids(await domain.audit.query(domain.db, { actor: 'bob' })), expected((e) => e.actor === 'bob'));
    assert.deepEqual(ids(await domain.audit.query(domain.db, { action: 'auth.failed' })), expected((e) => e.action === 'auth.failed'));
    // Without the star an action is exact, never a prefix.
    assert.deepEqual(await domain.audit.query(domain.db, { action: 'auth.' }), []);
  });

  it('treats an action ending in * as a prefix', async () => {
    const auth = await domain.audit.query(domain.db, { action: 'auth.*' });
    assert.deepEqual(
      auth.map((e) => e.action),
      ['auth.failed', 'auth.lockout'],
    );
    assert.deepEqual(ids(await domain.audit.query(domain.db, { action: 'auth*' })), expected((e) => e.action.startsWith('auth')));
    assert.deepEqual(ids(await domain.audit.query(domain.db, { action: 'package.*', actor: 'bob' })), expected((e) => e.action.startsWith('package.') && e.actor === 'bob'));
    assert.deepEqual(ids(await domain.audit.query(domain.db, { action: '*' })), ids(all));
  });

  it('selects a repository with its packages and versions, and nothing of similar names', async () => {
    const web = await domain.audit.query(domain.db, { repo: 'acme/web' });
    assert.deepEqual(
      web.map((e) => e.target),
      ['repo:acme/web', 'package:acme/web/npm/left-pad@1.0.0', 'package:acme/web/npm/left-pad', 'repo:acme/web'],
    );
    assert.deepEqual(
      (await domain.audit.query(domain.db, { repo: 'acme/webby' })).map((e) => e.target),
      ['package:acme/webby/npm/other@1.0.0', 'repo:acme/webby'],
    );
    assert.deepEqual(await domain.audit.query(domain.db, { repo: 'acme/w_b' }), []);
    assert.deepEqual(
      (await domain.audit.query(domain.db, { repo: 'acme/we_' })).map((e) => e.target),
      ['package:acme/we_/npm/under@1.0.0'],
    );
    assert.deepEqual(await domain.audit.query(domain.db, { repo: 'acme/nothing' }), []);
  });

  it('bounds by time: since inclusive, until exclusive, in any ISO form', async () => {
    const pivot = all[4]!.at;
    assert.deepEqual(ids(await domain.audit.query(domain.db, { since: pivot })), expected((e) => e.at >= pivot));
    assert.deepEqual(ids(await domain.audit.query(domain.db, { until: pivot })), expected((e) => e.at < pivot));
    const first = all[0]!.at;
    const last = all.at(-1)!.at;
    assert.deepEqual(ids(await domain.audit.query(domain.db, { since: first, until: last })), expected((e) => e.at >= first && e.at < last));
    // The same instant written with an offset selects the same entries.
    const shifted = new Date(Date.parse(pivot) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    assert.deepEqual(ids(await domain.audit.query(domain.db, { since: parseAuditTime(shifted)! })), expected((e) => e.at >= pivot));
    assert.deepEqual(await domain.audit.query(domain.db, { since: parseAuditTime('2999-01-01')! }), []);
    assert.deepEqual(await domain.audit.query(domain.db, { until: parseAuditTime('2000-01-01')! }), []);
  });

  it('reads ISO dates and times into the stored form and refuses anything else', () => {
    assert.equal(parseAuditTime('2025-03-01'), '2025-03-01T00:00:00.000Z');
    assert.equal(parseAuditTime('2025-03-01T10:30'), '2025-03-01T10:30:00.000Z');
    assert.equal(parseAuditTime('2025-03-01T10:30:00+02:00'), '2025-03-01T08:30:00.000Z');
    assert.equal(parseAuditTime('2025-03-01T10:30:00.5Z'), '2025-03-01T10:30:00.500Z');
    for (const bad of ['yesterday', '2025-02-30', '2025-13-01', '2025-03-01T24:00Z', '1741000000', '']) assert.equal(parseAuditTime(bad), null, bad);
  });

  it('pages with afterId and caps a page at 1000', async () => {
    const seen: number[] = [];
    let afterId = 0;
    for (;;) {
      const page = await domain.audit.query(domain.db, { afterId, limit: 3 });
      seen.push(...ids(page));
      if (page.length < 3) break;
      afterId = page.at(-1)!.id;
    }
    assert.deepEqual(seen, ids(all));
    assert.equal((await domain.audit.query(domain.db, { limit: 5000 })).length, all.length);
  });

  it('streams every matching entry in id order across pages', async () => {
    const collect = async (filter: Omit<AuditFilter, 'limit'>, pageSize: number) => {
      const out: AuditEntry[] = [];
      for await (const entry of domain.audit.stream(domain.db, filter, pageSize)) out.push(entry);
      return out;
    };
    assert.deepEqual(await collect({}, 2), all);
    // A page size that divides the count exactly ends with an empty page.
    assert.deepEqual(ids(await collect({}, 11)), ids(all));
    assert.deepEqual(ids(await collect({ actor: 'bob' }, 2)), expected((e) => e.actor === 'bob'));
    assert.deepEqual(ids(await collect({ afterId: all[8]!.id }, 1)), ids(all.slice(9)));
    assert.deepEqual(await collect({ repo: 'nobody/none' }, 2), []);
  });
});
