import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAuditLog } from '../../../src/domain/audit.js';
import { openDatabase } from '../../../src/store/db/connect.js';
import { createTestDatabase, testDialect, type TestDatabase } from '../../helpers/database.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const WRITES = 150;

function startWriter(database: TestDatabase, name: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'audit-writer.ts'), JSON.stringify(database.config), String(WRITES), name], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const lines: ((line: string) => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (let at = out.indexOf('\n'); at >= 0; at = out.indexOf('\n')) {
      const line = out.slice(0, at);
      out = out.slice(at + 1);
      lines.shift()?.(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve) => lines.push(resolve));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, nextLine, exited };
}

describe(`two processes writing to one ${testDialect} database`, () => {
  const databases: TestDatabase[] = [];
  after(async () => {
    for (const database of databases) await database.drop();
  });

  it('append to the audit chain at the same time without errors, and the chain stays intact', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    // Migrated here first, so the writers start on a ready schema.
    const handle = await openDatabase(database.config);
    try {
      const writers = [startWriter(database, 'a'), startWriter(database, 'b')];
      const ready = writers.map((w) => w.nextLine());
      assert.deepEqual(await Promise.all(ready), ['ready', 'ready']);
      const results = writers.map((w) => w.nextLine());
      for (const w of writers) w.child.stdin.end('go\n');
      const reports = (await Promise.all(results)).map((line) => JSON.parse(line) as { failure: string | null });
      assert.deepEqual(await Promise.all(writers.map((w) => w.exited)), [0, 0]);
      assert.deepEqual(reports, [{ failure: null }, { failure: null }]);

      const audit = createAuditLog({ dialect: handle.dialect });
      const verified = await audit.verify(handle.db);
      assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
      const rows = await handle.db.selectFrom('audit_log').select('target').where('action', '=', 'test.write').execute();
      assert.equal(rows.length, 2 * WRITES);
      assert.equal(new Set(rows.map((r) => r.target)).size, 2 * WRITES);
    } finally {
      await handle.close();
    }
  });
});
