import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine, seed } from './helpers.js';

let cli: CliFixture;
before(async () => {
  cli = await createCliFixture();
  // Entries to chain: user.create, repo.create, and the CLI's own token.create.
  await seed(cli, { users: ['alice'], repos: ['alice/web'] });
  const token = await cli.run(['token', 'create', '--user', 'alice']);
  assert.equal(token.code, 0, token.stderr);
});
after(async () => {
  await cli?.drop();
});

test('audit verify passes on an intact chain', async () => {
  const result = await cli.run(['audit', 'verify']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'audit log intact: 3 entries checked\n');
  const json = await cli.run(['audit', 'verify', '--json']);
  assert.deepEqual(JSON.parse(json.stdout), { ok: true, checked: 3 });
});

test('audit verify names the first tampered entry and exits 1', async () => {
  const ids = await cli.withDomain(async (domain) => {
    const rows = await domain.db.selectFrom('audit_log').select('id').orderBy('id').execute();
    // Rewrite history: the public repository was "created" private.
    await domain.db.updateTable('audit_log').set({ details: '{"visibility":"private"}' }).where('id', '=', rows[1]?.id ?? -1).execute();
    return rows.map((r) => r.id);
  });
  const tampered = ids[1];
  const result = await cli.run(['audit', 'verify']);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(errorLine(result), `stockade: audit log broken at entry ${tampered}: entry content does not match its hash`);

  const json = await cli.run(['audit', 'verify', '--json']);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), { ok: false, checked: 1, firstBroken: { id: tampered, reason: 'entry content does not match its hash' } });
});
