import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { systemActor } from '../../src/domain/audit.js';
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
