/**
 * Real advisories end to end: `stockade advisories import` of the Node.js security WG set hides a
 * stored version that the import marks as malware, blocks new publishes of it, and `npm audit`
 * against the repository reports a real advisory.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliFixture, cliFixtureForServer } from '../cli/helpers.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { type PackageSpec, type Sandbox, assertFailed, assertOk, createSandbox, repoRoot, writePackage, writeProject } from './clients.js';
import { http, packageUrl } from './registry.js';

describe('advisories with npm', () => {
  let server: TestServer;
  let cli: CliFixture;
  let registry: string;
  let admin: Sandbox;

  before(async () => {
    server = await startTestServer();
    cli = await cliFixtureForServer(server.config);
    registry = await server.createRepo('admin', 'advisories');
    admin = await createSandbox({ label: 'advisories', registry, token: server.adminToken });
  });

  after(async () => {
    await admin?.remove();
    await server?.close();
  });

  const publish = async (spec: PackageSpec) => admin.npm(['publish'], { cwd: await writePackage(path.join(admin.root, 'src', `${spec.name}-${spec.version}`), spec) });
  const packument = (name: string) => http('GET', packageUrl(registry, name), { token: server.adminToken });

  it('an import that marks a stored version as malware hides it and records why', async () => {
    assertOk(await publish({ name: 'flatmap-stream', version: '0.1.1' }));
    assertOk(await publish({ name: 'sails', version: '0.12.7' }));
    assertOk(await publish({ name: 'sails', version: '0.12.8' }));
    assert.equal((await packument('flatmap-stream')).status, 200);

    const result = await cli.run(['advisories', 'import', path.join(repoRoot, 'test/data/advisories/nodejs-security-wg.zip'), '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { added: number; errors: unknown[]; rescan: { checked: number; quarantined: number } };
    assert.equal(summary.added, 467);
    assert.deepEqual(summary.errors, []);
    // flatmap-stream@0.1.1 (malware) and both sails versions are named by advisories.
    assert.equal(summary.rescan.checked, 3);
    assert.equal(summary.rescan.quarantined, 1);

    assert.equal((await packument('flatmap-stream')).status, 404, 'the malicious version left the index');
    const tarball = await http('GET', `${registry}flatmap-stream/-/flatmap-stream-0.1.1.tgz`, { token: server.adminToken });
    assert.equal(tarball.status, 403);
    assert.match(tarball.text, /known malware/);
    const audit = await http('GET', `${server.url}/api/v1/audit?action=package.rescan`, { token: server.adminToken });
    assert.match(audit.text, /flatmap-stream@0\.1\.1/);
    assert.match(audit.text, /advisories imported from/);

    const again = await cli.run(['advisories', 'import', path.join(repoRoot, 'test/data/advisories/nodejs-security-wg.zip'), '--json']);
    const second = JSON.parse(again.stdout) as { added: number; unchanged: number; rescan: { checked: number } };
    assert.deepEqual([second.added, second.unchanged, second.rescan.checked], [0, 467, 0], 'an unchanged import rescans nothing');
  });

  it('blocks a new publish of a known-malicious package, naming the advisory', async () => {
    const result = assertFailed(await publish({ name: 'flatmap-stream', version: '0.1.2' }));
    assert.match(result.stderr, /blocked by the security gate: vulns\/malicious/);
    assert.match(result.stderr, /NSWG-ECO-477/);
  });

  it('npm audit lists the real advisory for a vulnerable dependency', async () => {
    const project = await writeProject(await admin.dir('audited'), { sails: '0.12.7' });
    assertOk(await admin.npm(['install', '--ignore-scripts'], { cwd: project }));
    const result = await admin.npm(['audit', '--json'], { cwd: project });
    assert.notEqual(result.code, 0, 'npm audit exits non-zero when it finds a vulnerability');
    const report = JSON.parse(result.stdout) as { vulnerabilities: Record<string, { severity: string; via: { title?: string; range?: string }[] }> };
    const sails = report.vulnerabilities.sails;
    assert.ok(sails, result.stdout);
    assert.ok(sails.via.some((v) => /Broken CORS \(NSWG-ECO-148\)/.test(v.title ?? '')), JSON.stringify(sails.via));
    assert.ok(sails.via.some((v) => v.range === '<0.12.8' || v.range === '<=0.12.7'), JSON.stringify(sails.via));

    const fixed = await writeProject(await admin.dir('audited-fixed'), { sails: '0.12.8' });
    assertOk(await admin.npm(['install', '--ignore-scripts'], { cwd: fixed }));
    assertOk(await admin.npm(['audit'], { cwd: fixed }));
  });

  it('stockade rescan applies a stricter policy to stored versions', async () => {
    assertOk(await publish({ name: 'expresss', version: '1.0.0' }));
    assert.equal((await packument('expresss')).status, 200, 'a typosquat only warns by default');
    const policy = path.join(admin.root, 'strict.yaml');
    await writeFile(policy, 'version: 1\nrules:\n  - match: { analyzer: typosquat }\n    action: quarantine\n');
    const set = await cli.run(['policy', 'set', 'admin/advisories', policy]);
    assert.equal(set.code, 0, set.stderr);
    const result = await cli.run(['rescan', 'admin/advisories', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const tally = JSON.parse(result.stdout) as { checked: number; quarantined: number };
    assert.equal(tally.quarantined, 1);
    assert.equal((await packument('expresss')).status, 404);
    const queue = await cli.run(['quarantine', 'list', 'admin/advisories']);
    assert.match(queue.stdout, /expresss@1\.0\.0/);
    assert.match(queue.stdout, /typosquat\//);
  });
});
