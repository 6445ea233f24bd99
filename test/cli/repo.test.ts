import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine, seed } from './helpers.js';

let cli: CliFixture;
before(async () => {
  cli = await createCliFixture();
  await seed(cli, { users: ['alice'], orgs: [['acme', 'alice']] });
});
after(async () => {
  await cli?.drop();
});

test('repo create makes a public repository and shows its npm URL', async () => {
  const result = await cli.run(['repo', 'create', 'acme/web', '--public', '--description', 'web team packages']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^created public repository acme\/web\n/);
  assert.match(result.stdout, /npm registry +http:\/\/127\.0\.0\.1:8080\/acme\/web\/npm\/$/m);
});

test('repositories are private unless --public', async () => {
  const result = await cli.run(['repo', 'create', 'alice/secret', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const repo = JSON.parse(result.stdout) as { path: string; visibility: string };
  assert.equal(repo.path, 'alice/secret');
  assert.equal(repo.visibility, 'private');
});

test('repo create refuses duplicates, unknown owners and bad paths', async () => {
  const duplicate = await cli.run(['repo', 'create', 'acme/web']);
  assert.equal(duplicate.code, 1);
  assert.equal(errorLine(duplicate), 'stockade: repository acme/web already exists');
  const noOwner = await cli.run(['repo', 'create', 'nobody/web']);
  assert.equal(noOwner.code, 1);
  assert.equal(errorLine(noOwner), 'stockade: owner nobody not found');
  const badPath = await cli.run(['repo', 'create', 'acme']);
  assert.equal(badPath.code, 2);
  assert.match(errorLine(badPath), /not a repository path of the form owner\/name/);
  const both = await cli.run(['repo', 'create', 'acme/x', '--public', '--private']);
  assert.equal(both.code, 2);
});

test('repo list, filtered by owner', async () => {
  const all = await cli.run(['repo', 'list', '--json']);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(
    (JSON.parse(all.stdout) as { path: string }[]).map((r) => r.path),
    ['acme/web', 'alice/secret'],
  );
  const acme = await cli.run(['repo', 'list', '--owner', 'acme']);
  assert.equal(acme.code, 0, acme.stderr);
  const lines = acme.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[1] ?? '', /^acme\/web\s+public\s+\S+\s+web team packages$/);
});

test('repo show names the registry URL from --url, else the config', async () => {
  const shown = await cli.run(['repo', 'show', 'acme/web', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const repo = JSON.parse(shown.stdout) as { visibility: string; description: string; registries: Record<string, string> };
  assert.equal(repo.visibility, 'public');
  assert.equal(repo.description, 'web team packages');
  assert.deepEqual(repo.registries, {
    npm: 'http://127.0.0.1:8080/acme/web/npm/',
    debian: 'http://127.0.0.1:8080/acme/web/debian/',
    rpm: 'http://127.0.0.1:8080/acme/web/rpm/',
    pypi: 'http://127.0.0.1:8080/acme/web/pypi/',
    rubygems: 'http://127.0.0.1:8080/acme/web/rubygems/',
  });

  const withUrl = await cli.run(['repo', 'show', 'acme/web', '--url', 'https://packages.example.com/']);
  assert.match(withUrl.stdout, /^npm registry +https:\/\/packages\.example\.com\/acme\/web\/npm\/$/m);

  const fromEnv = await cli.run(['repo', 'show', 'acme/web', '--json'], { env: { STOCKADE_SERVER_PUBLIC_URL: 'https://pkg.example.org' } });
  assert.equal((JSON.parse(fromEnv.stdout) as { registries: Record<string, string> }).registries.npm, 'https://pkg.example.org/acme/web/npm/');
});

test('repo show of a missing repository fails', async () => {
  const result = await cli.run(['repo', 'show', 'acme/nope']);
  assert.equal(result.code, 1);
  assert.equal(errorLine(result), 'stockade: repository acme/nope not found');
});

test('repo keys, rotate-key and retire-key manage the signing keys', async () => {
  // Smaller keys keep the test fast; production keys are RSA 4096.
  const env = { STOCKADE_SIGNING_RSA_BITS: '2048' };
  const listed = await cli.run(['repo', 'keys', 'acme/web', '--json'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  const [first] = JSON.parse(listed.stdout) as { fingerprint: string; retiredAt: string | null }[];
  assert.match(first?.fingerprint ?? '', /^[0-9A-F]{40}$/);

  const rotated = await cli.run(['repo', 'rotate-key', 'acme/web', '--json'], { env });
  assert.equal(rotated.code, 0, rotated.stderr);
  const second = (JSON.parse(rotated.stdout) as { fingerprint: string }).fingerprint;
  assert.notEqual(second, first?.fingerprint);

  const lastKey = await cli.run(['repo', 'retire-key', 'acme/web', second], { env });
  assert.equal(lastKey.code, 0, lastKey.stderr);
  const refused = await cli.run(['repo', 'retire-key', 'acme/web', first?.fingerprint ?? ''], { env });
  assert.notEqual(refused.code, 0);
  assert.match(errorLine(refused), /last active key/);

  const table = await cli.run(['repo', 'keys', 'acme/web'], { env });
  assert.match(table.stdout, new RegExp(`^${first?.fingerprint}\\s+\\S+\\s+active$`, 'm'));
  assert.match(table.stdout, new RegExp(`^${second}\\s+\\S+\\s+\\S+Z$`, 'm'));
});

test('repo create --remote makes a remote repository with upstream settings', async () => {
  const created = await cli.run(
    ['repo', 'create', 'acme/npm-remote', '--public', '--remote', 'npm', '--upstream', 'http://127.0.0.1:9/registry/', '--ttl', '10m', '--cooldown', '3d', '--offline', '--file-origins', 'http://127.0.0.1:10/, http://127.0.0.1:10', '--token-env', 'UPSTREAM_TOKEN', '--json'],
    { env: { UPSTREAM_TOKEN: 'cli-upstream-secret' } },
  );
  assert.equal(created.code, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as { kind: string }).kind, 'remote');
  const shown = await cli.run(['repo', 'upstream', 'acme/npm-remote', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const settings = JSON.parse(shown.stdout) as Record<string, unknown>;
  assert.equal(settings.url, 'http://127.0.0.1:9/registry');
  assert.equal(settings.metadataTtlSeconds, 600);
  assert.equal(settings.cooldownHours, 72);
  assert.equal(settings.offline, true);
  assert.deepEqual(settings.fileOrigins, ['http://127.0.0.1:10']);
  assert.equal(settings.hasCredentials, true);
  assert.doesNotMatch(created.stdout + shown.stdout + created.stderr, /cli-upstream-secret/);
});

test('repo upstream changes settings and audits the change without the credentials', async () => {
  const changed = await cli.run(['repo', 'upstream', 'acme/npm-remote', '--online', '--cooldown-allow', 'left-pad,lodash@4.17.21', '--no-credentials']);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /^offline +no$/m);
  assert.match(changed.stdout, /^credentials +none$/m);
  assert.match(changed.stdout, /allowed: left-pad, lodash@4\.17\.21/);
  assert.match(changed.stdout, /^file origins +http:\/\/127\.0\.0\.1:10$/m);
  const moved = await cli.run(['repo', 'upstream', 'acme/npm-remote', '--file-origins', 'https://files.example.org,http://127.0.0.1:11']);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /^file origins +https:\/\/files\.example\.org, http:\/\/127\.0\.0\.1:11$/m);
  const cleared = await cli.run(['repo', 'upstream', 'acme/npm-remote', '--file-origins', '']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, /^file origins +none: files only from the upstream itself$/m);
  const pathful = await cli.run(['repo', 'upstream', 'acme/npm-remote', '--file-origins', 'https://files.example.org/packages']);
  assert.equal(pathful.code, 1);
  assert.match(errorLine(pathful), /file origin files\.example\.org must be only a scheme, host and optional port/);
  const audit = await cli.withDomain((domain) => domain.db.selectFrom('audit_log').select(['action', 'details']).execute());
  assert.ok(audit.some((row) => row.action === 'repo.upstream.update' && row.details.includes('"credentials":"removed"')));
  assert.ok(audit.every((row) => !row.details.includes('cli-upstream-secret')));
});

test('repo create --remote refuses bad upstreams and half-given options', async () => {
  const ftp = await cli.run(['repo', 'create', 'acme/bad-remote', '--remote', 'npm', '--upstream', 'ftp://127.0.0.1/']);
  assert.equal(ftp.code, 1);
  assert.match(errorLine(ftp), /upstream url must start with http/);
  const half = await cli.run(['repo', 'create', 'acme/bad-remote', '--remote', 'npm']);
  assert.equal(half.code, 2);
  const duration = await cli.run(['repo', 'create', 'acme/bad-remote', '--remote', 'npm', '--upstream', 'http://127.0.0.1:9/', '--cooldown', 'soon']);
  assert.equal(duration.code, 2);
  const hosted = await cli.run(['repo', 'upstream', 'acme/web']);
  assert.equal(hosted.code, 1);
  assert.match(errorLine(hosted), /upstream settings of acme\/web/);
});

test('repo create --virtual merges members in order with claims; repo members shows and changes them', async () => {
  const created = await cli.run(['repo', 'create', 'acme/npm-all', '--public', '--virtual', 'npm', '--member', 'acme/web', '--member', 'acme/npm-remote', '--claim', '@acme/*', '--claim', 'Acme-*']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^created public virtual repository acme\/npm-all\n/);
  const shown = await cli.run(['repo', 'members', 'acme/npm-all']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^members +1\. acme\/web \(hosted, public\)$/m);
  assert.match(shown.stdout, /^ +2\. acme\/npm-remote \(remote, public\)$/m);
  assert.match(shown.stdout, /^claims +@acme\/\*, acme-\*$/m);
  const changed = await cli.run(['repo', 'members', 'acme/npm-all', '--member', 'acme/npm-remote', '--member', 'acme/web', '--no-claims', '--json']);
  assert.equal(changed.code, 0, changed.stderr);
  const settings = JSON.parse(changed.stdout) as { members: { path: string }[]; claims: string[] };
  assert.deepEqual(settings.members.map((m) => m.path), ['acme/npm-remote', 'acme/web']);
  assert.deepEqual(settings.claims, []);
  const audit = await cli.withDomain((domain) => domain.db.selectFrom('audit_log').select(['action', 'target']).execute());
  assert.ok(audit.some((row) => row.action === 'repo.create' && row.target === 'repo:acme/npm-all'));
  assert.ok(audit.some((row) => row.action === 'repo.members.update' && row.target === 'repo:acme/npm-all'));
  const none = await cli.run(['repo', 'collisions', 'acme/npm-all']);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout.trim(), 'no collisions');
});

test('repo create --virtual refuses members of another owner, bad claims and half-given options', async () => {
  const privateMember = await cli.run(['repo', 'create', 'acme/bad-virtual', '--public', '--virtual', 'npm', '--member', 'alice/secret']);
  assert.equal(privateMember.code, 1);
  assert.match(errorLine(privateMember), /another owner/);
  const noMember = await cli.run(['repo', 'create', 'acme/bad-virtual', '--virtual', 'npm']);
  assert.equal(noMember.code, 2);
  const stray = await cli.run(['repo', 'create', 'acme/bad-virtual', '--member', 'acme/web']);
  assert.equal(stray.code, 2);
  const badClaim = await cli.run(['repo', 'create', 'acme/bad-virtual', '--virtual', 'npm', '--member', 'acme/web', '--claim', '*']);
  assert.equal(badClaim.code, 1);
  assert.match(errorLine(badClaim), /claim "\*"/);
  const hosted = await cli.run(['repo', 'collisions', 'acme/web']);
  assert.equal(hosted.code, 1);
  assert.match(errorLine(hosted), /only a virtual repo has members/);
});
