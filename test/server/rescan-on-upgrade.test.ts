import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { http, packageTgz, packageUrl, publishBody } from '../e2e/registry.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('rescan after an analyzer upgrade', () => {
  let first: TestServer;
  let second: TestServer | undefined;
  let registry: string;

  before(async () => {
    first = await startTestServer();
    registry = await first.createRepo('admin', 'upgrade');
  });
  after(async () => {
    await second?.close();
    await first?.close();
  });

  it('has nothing to do on a fresh installation', async () => {
    assert.equal(await first.gateRescan, null);
  });

  it('re-evaluates stored versions once when the analyzer set changed, on exactly one node', async () => {
    const pkgJson = { name: 'expresss', version: '1.0.0' };
    const put = await http('PUT', packageUrl(registry, 'expresss'), { token: first.adminToken, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.equal(put.status, 201, put.text);
    const repo = await first.domain.repos.get('admin', 'upgrade');
    assert.ok(repo);
    // A stricter policy alone changes nothing stored; an upgrade's rescan applies it.
    await first.domain.policies.set(systemActor, repo, { version: 1, rules: [{ match: { analyzer: 'typosquat' }, action: 'quarantine' }] });
    assert.equal((await http('GET', packageUrl(registry, 'expresss'))).status, 200);
    // As if the previous release had other analyzer versions.
    await first.domain.db.updateTable('gate_state').set({ value: 'malware@0' }).where('key', '=', 'analyzers').execute();

    second = await startTestServer({}, { sameStorageAs: first });
    const tally = await second.gateRescan;
    assert.deepEqual(tally, { checked: 1, changed: 1, quarantined: 1, failed: 0 });
    assert.equal((await http('GET', packageUrl(registry, 'expresss'))).status, 404);
    const audit = await first.domain.db.selectFrom('audit_log').select('details').where('action', '=', 'package.rescan').execute();
    assert.equal(audit.length, 1);
    assert.match(audit[0]?.details ?? '', /analyzers changed: /);

    const third = await startTestServer({}, { sameStorageAs: first });
    try {
      assert.equal(await third.gateRescan, null, 'the analyzer set is recorded: no second rescan');
    } finally {
      await third.close();
    }
  });

  it('runs no analyzer and no rescan on a node with the gate turned off', async () => {
    // The analyzer set differs again, yet a node without analyzers must not judge anything clean.
    await first.domain.db.updateTable('gate_state').set({ value: 'malware@0' }).where('key', '=', 'analyzers').execute();
    const ungated = await startTestServer({ gate: { enabled: false } }, { sameStorageAs: first });
    try {
      assert.equal(await ungated.gateRescan, null);
      assert.equal((await http('GET', packageUrl(registry, 'expresss'))).status, 404, 'still quarantined');
      const pkgJson = { name: 'expressss', version: '1.0.0' };
      const put = await http('PUT', packageUrl(`${ungated.url}/admin/upgrade/npm/`, 'expressss'), {
        token: first.adminToken,
        body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }),
      });
      assert.equal(put.status, 201, put.text);
      const stored = await first.domain.packages.load({ repo: (await first.domain.repos.get('admin', 'upgrade'))!, format: 'npm', name: 'expressss' });
      assert.deepEqual(stored?.versions.map((v) => [v.status, v.gate.findings.length]), [['published', 0]]);
      assert.equal((await first.domain.db.selectFrom('gate_state').select('value').where('key', '=', 'analyzers').executeTakeFirst())?.value, 'malware@0');
    } finally {
      await ungated.close();
    }
  });
});
