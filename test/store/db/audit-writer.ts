// A second process for concurrent-writers.test.ts: appends audit entries (each a read of the
// chain's head, then an insert) to the database named in argv[2], once the parent says go.
import { createInterface } from 'node:readline';
import type { Config } from '../../../src/config/schema.js';
import { createAuditLog } from '../../../src/domain/audit.js';
import { openDatabase } from '../../../src/store/db/connect.js';

const [configJson, countText, name] = process.argv.slice(2);
const handle = await openDatabase(JSON.parse(configJson ?? '') as Config['database']);
const audit = createAuditLog({ dialect: handle.dialect });
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
let failure: string | null = null;
for (let i = 0; i < Number(countText); i++) {
  try {
    await handle.db.transaction().execute(async (tx) => {
      // A read before the write, as most write transactions make.
      await tx.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      await audit.record(tx, { name: name ?? 'writer', ip: null }, { action: 'test.write', target: `writer:${name}:${i}` });
    });
  } catch (error) {
    failure = `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`;
    break;
  }
}
await handle.close();
process.stdout.write(`${JSON.stringify({ failure })}\n`);
