/**
 * The change bus on an SQLite file: a write by another connection (another process, such as the
 * CLI, in production) reaches every listener at the next poll, after the event loop has had one
 * turn to hear of it; our own writes and no writes at all announce nothing. The bus is built on a
 * file of its own, so these run the same in the SQLite and the PostgreSQL pass of the suite.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { type ChangeBus, type ChangeTopic, createChangeBus } from '../../src/domain/changes.js';

/** Lets the event loop poll for I/O at least once (two check phases have a poll phase between them). */
const turn = async () => {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('change bus on SQLite', () => {
  let dir: string;
  let ours: BetterSqlite3.Database;
  let theirs: BetterSqlite3.Database;
  let bus: ChangeBus;
  const heard: [ChangeTopic, string][] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stockade-changes-'));
    const file = path.join(dir, 'stockade.db');
    ours = new BetterSqlite3(file);
    ours.pragma('journal_mode = WAL');
    ours.exec('CREATE TABLE t (v INTEGER)');
    theirs = new BetterSqlite3(file);
    bus = await createChangeBus({ pgPool: null, sqlite: ours });
    bus.subscribe((topic, key) => heard.push([topic, key]));
  });
  after(async () => {
    await bus.close();
    ours.close();
    theirs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('announces nothing while nobody writes', async () => {
    bus.poll();
    await turn();
    bus.poll();
    assert.deepEqual(heard, []);
  });

  it('drops everything at the next poll after another connection commits', async () => {
    theirs.prepare('INSERT INTO t (v) VALUES (1)').run();
    await turn();
    bus.poll();
    assert.ok(heard.length > 0, 'the other connection’s write must be heard');
    assert.ok(heard.every(([, key]) => key === '*'));
    assert.ok(heard.some(([topic]) => topic === 'token'), 'token caches are dropped too (a revoked token)');
    heard.length = 0;
    bus.poll();
    assert.deepEqual(heard, [], 'once per write');
  });

  it('hears every later write, including one right after a checkpoint', async () => {
    for (let round = 0; round < 3; round++) {
      theirs.prepare('INSERT INTO t (v) VALUES (?)').run(round);
      if (round === 1) theirs.pragma('wal_checkpoint(TRUNCATE)');
      await turn();
      bus.poll();
      assert.ok(heard.length > 0, `write ${round} must be heard`);
      heard.length = 0;
    }
  });

  it('does not announce our own writes, which publish their own changes', async () => {
    ours.prepare('INSERT INTO t (v) VALUES (2)').run();
    await turn();
    bus.poll();
    assert.deepEqual(heard, []);
  });
});
