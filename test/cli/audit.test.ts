import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auditEntryHash, GENESIS_HASH } from '../../src/domain/audit.js';
import { type CliFixture, createCliFixture, errorLine, seed } from './helpers.js';

interface Exported {
  id: number;
  at: string;
  actor: string;
  actorIp: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

function jsonLines(stdout: string): Exported[] {
  assert.ok(stdout === '' || stdout.endsWith('\n'), 'every line ends with a newline');
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Exported);
}

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

test('audit export writes every entry as one JSON line whose chain checks out offline', async () => {
  const result = await cli.run(['audit', 'export']);
  assert.equal(result.code, 0, result.stderr);
  const entries = jsonLines(result.stdout);
  assert.deepEqual(
    entries.map((e) => e.action),
    ['user.create', 'repo.create', 'token.create'],
  );
  let prev = GENESIS_HASH;
  for (const entry of entries) {
    assert.deepEqual(Object.keys(entry).sort(), ['action', 'actor', 'actorIp', 'at', 'details', 'hash', 'id', 'prevHash', 'target']);
    assert.equal(entry.prevHash, prev, `entry ${entry.id} links to the line before`);
    // The details were stored as JSON.stringify's output, so stringifying them again gives the hashed text.
    const recomputed = auditEntryHash({
      prev_hash: entry.prevHash,
      at: entry.at,
      actor: entry.actor,
      actor_ip: entry.actorIp,
      action: entry.action,
      target: entry.target,
      details: JSON.stringify(entry.details),
    });
    assert.equal(recomputed, entry.hash, `entry ${entry.id} matches its hash`);
    prev = entry.hash;
  }
  assert.match(result.stderr, /exported 3 audit entries/);
});

test('audit export --format json writes the same entries as one JSON array', async () => {
  const lines = jsonLines((await cli.run(['audit', 'export'])).stdout);
  const result = await cli.run(['audit', 'export', '--format', 'json']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), lines);
  const none = await cli.run(['audit', 'export', '--format', 'json', '--since', '2999-01-01']);
  assert.equal(none.code, 0, none.stderr);
  assert.deepEqual(JSON.parse(none.stdout), []);
});

test('audit export filters by actor, action prefix, repository and time', async () => {
  const all = jsonLines((await cli.run(['audit', 'export'])).stdout);
  const byAction = jsonLines((await cli.run(['audit', 'export', '--action', 'token.*'])).stdout);
  assert.deepEqual(
    byAction.map((e) => e.action),
    ['token.create'],
  );
  const byRepo = jsonLines((await cli.run(['audit', 'export', '--repo', 'alice/web'])).stdout);
  assert.deepEqual(
    byRepo.map((e) => e.target),
    ['repo:alice/web'],
  );
  // The CLI's own change is recorded as cli:<login>; the seeded ones as system.
  const bySystem = jsonLines((await cli.run(['audit', 'export', '--actor', 'system'])).stdout);
  assert.deepEqual(
    bySystem.map((e) => e.id),
    all.filter((e) => e.actor === 'system').map((e) => e.id),
  );
  const pivot = all[1]!.at;
  const since = jsonLines((await cli.run(['audit', 'export', '--since', pivot])).stdout);
  assert.deepEqual(
    since.map((e) => e.id),
    all.filter((e) => e.at >= pivot).map((e) => e.id),
  );
  const until = jsonLines((await cli.run(['audit', 'export', '--until', pivot])).stdout);
  assert.deepEqual(
    until.map((e) => e.id),
    all.filter((e) => e.at < pivot).map((e) => e.id),
  );
  assert.equal((await cli.run(['audit', 'export', '--until', '2000-01-01'])).stdout, '');
});

test('audit export refuses a bad time, format or repository with exit 2', async () => {
  const since = await cli.run(['audit', 'export', '--since', 'last-tuesday']);
  assert.equal(since.code, 2);
  assert.match(errorLine(since), /--since "last-tuesday" is not an ISO 8601 date or time/);
  assert.equal(since.stdout, '');
  const format = await cli.run(['audit', 'export', '--format', 'csv']);
  assert.equal(format.code, 2);
  assert.match(errorLine(format), /--format must be jsonl or json/);
  const repo = await cli.run(['audit', 'export', '--repo', 'alice']);
  assert.equal(repo.code, 2);
  const json = await cli.run(['audit', 'export', '--json']);
  assert.equal(json.code, 2);
  assert.match(json.stderr, /--format json/);
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
