import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../../src/store/db/connect.js';
import { prepareQuery } from '../../../src/store/db/prepared.js';
import { createTestDatabase, testDialect, type TestDatabase } from '../../helpers/database.js';

describe(`prepared queries (${testDialect})`, () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  before(async () => {
    database = await createTestDatabase();
    handle = await openDatabase(database.config);
  });
  after(async () => {
    await handle.close();
    await database.drop();
  });

  const put = prepareQuery(['key', 'value', 'at'], (d, p: { key: string; value: string; at: string }) =>
    d
      .insertInto('gate_state')
      .values({ key: p.key, value: p.value, updated_at: p.at })
      // The same parameter twice: every place it appears takes the value.
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: p.value, updated_at: p.at }))
      .returning(['key', 'value']),
  );
  const get = prepareQuery(['key'], (d, p: { key: string }) => d.selectFrom('gate_state').select(['key', 'value', 'updated_at']).where('key', '=', p.key));
  // A constant in the query stays a constant; only the named parameters change per call.
  const getUnlessValue = prepareQuery(['key'], (d, p: { key: string }) => d.selectFrom('gate_state').select('value').where('key', '=', p.key).where('value', '!=', 'hidden'));

  it('binds each call its own values and answers like the query builder', async () => {
    assert.deepEqual(await put.first(handle.db, { key: 'a', value: 'one', at: '2026-01-01T00:00:00.000Z' }), { key: 'a', value: 'one' });
    assert.deepEqual(await put.first(handle.db, { key: 'b', value: 'two', at: '2026-01-02T00:00:00.000Z' }), { key: 'b', value: 'two' });
    assert.deepEqual(await put.first(handle.db, { key: 'a', value: 'three', at: '2026-01-03T00:00:00.000Z' }), { key: 'a', value: 'three' });
    const built = await handle.db.selectFrom('gate_state').select(['key', 'value', 'updated_at']).where('key', '=', 'a').execute();
    assert.deepEqual(await get.rows(handle.db, { key: 'a' }), built);
    assert.deepEqual(built, [{ key: 'a', value: 'three', updated_at: '2026-01-03T00:00:00.000Z' }]);
    assert.equal(await get.first(handle.db, { key: 'missing' }), undefined);
  });

  it('keeps constants of the query and treats parameter values as data, never as SQL', async () => {
    await put.execute(handle.db, { key: 'h', value: 'hidden', at: 'x' });
    assert.equal(await getUnlessValue.first(handle.db, { key: 'h' }), undefined);
    assert.deepEqual(await getUnlessValue.first(handle.db, { key: 'b' }), { value: 'two' });
    const hostile = "x' or '1'='1";
    await put.execute(handle.db, { key: hostile, value: "'); drop table gate_state; --", at: 'y' });
    assert.deepEqual(await get.first(handle.db, { key: hostile }), { key: hostile, value: "'); drop table gate_state; --", updated_at: 'y' });
    assert.equal((await get.rows(handle.db, { key: "a' or '1'='1" })).length, 0);
  });

  it('runs inside a transaction, whose rollback undoes it', async () => {
    await assert.rejects(
      handle.db.transaction().execute(async (tx) => {
        await put.execute(tx, { key: 'tx', value: 'inside', at: 'z' });
        assert.deepEqual(await get.first(tx, { key: 'tx' }), { key: 'tx', value: 'inside', updated_at: 'z' });
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await get.first(handle.db, { key: 'tx' }), undefined);
  });

  it('reports affected rows of writes', async () => {
    const touch = prepareQuery(['value'], (d, p: { value: string }) => d.updateTable('gate_state').set({ value: p.value }).where('key', 'in', ['a', 'b']));
    const result = await touch.execute(handle.db, { value: 'touched' });
    assert.equal(Number(result.numAffectedRows), 2);
  });

  it('refuses a parameter the query does not bind, on first use', async () => {
    const unbound = prepareQuery(['key', 'other'], (d, p: { key: string; other: string }) => d.selectFrom('gate_state').select('value').where('key', '=', p.key));
    await assert.rejects(unbound.first(handle.db, { key: 'a', other: 'b' }), /parameters other are not bound/);
  });

  it('refuses a parameter the builder altered instead of binding it', async () => {
    const altered = prepareQuery(['key'], (d, p: { key: string }) => d.selectFrom('gate_state').select('value').where('key', '=', sql<string>`${p.key + '-suffix'}`));
    await assert.rejects(altered.first(handle.db, { key: 'a' }), /altered by the query builder/);
  });
});
