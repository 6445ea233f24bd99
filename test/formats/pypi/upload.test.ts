/**
 * The PyPI routes over HTTP against a real server: the legacy upload API with every bad input we
 * know of (each must leave nothing behind), the Simple API's negotiation, redirects, PEP 658
 * files, yanks, quarantine and access. The real twine and pip run in test/e2e/pypi.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { systemActor } from '../../../src/domain/audit.js';
import { detectFormat } from '../../../src/formats/list.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { negotiate } from '../../../src/formats/pypi/simple-api.js';
import { rescanPackages } from '../../../src/server/rescan.js';
import { createServerGate } from '../../../src/security/service.js';
import { awsKeyPair } from '../../security/secrets/fake-secrets.js';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type BuiltDist, buildSdist, buildWheel, cleanupBuilder } from './build-dist.js';

const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';

interface Answer {
  status: number;
  reason: string;
  text: string;
  headers: Headers;
}

function digestsOf(data: Buffer) {
  return {
    sha256_digest: createHash('sha256').update(data).digest('hex'),
    md5_digest: createHash('md5').update(data).digest('hex'),
    blake2_256_digest: Buffer.from(blake2b(data, { dkLen: 32 })).toString('hex'),
  };
}

/** The form twine 4 sends, from the distribution itself; `fields` overrides or removes (null) entries. */
function twineForm(dist: BuiltDist, fields: Record<string, string | string[] | null> = {}, options: { filename?: string } = {}): FormData {
  const isWheel = dist.filename.endsWith('.whl');
  const base: Record<string, string | string[] | null> = {
    ':action': 'file_upload',
    protocol_version: '1',
    name: 'demo',
    version: '1.0',
    filetype: isWheel ? 'bdist_wheel' : 'sdist',
    pyversion: isWheel ? 'py3' : 'source',
    metadata_version: '2.1',
    summary: 'A demo project',
    ...digestsOf(dist.data),
    ...fields,
  };
  const form = new FormData();
  for (const [key, value] of Object.entries(base)) {
    if (value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) form.append(key, one);
  }
  form.append('content', new Blob([dist.data]), options.filename ?? dist.filename);
  return form;
}

describe('PyPI upload and Simple API over HTTP', () => {
  let server: TestServer;
  let token = '';
  let readToken = '';
  let mfaToken = '';

  async function call(method: string, path: string, options: { token?: string | null; body?: string | FormData; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const credential = options.token === undefined ? token : options.token;
    if (credential) headers.authorization = `Basic ${Buffer.from(`__token__:${credential}`).toString('base64')}`;
    const response = await fetch(`${server.url}${path}`, { method, headers, redirect: 'manual', ...(options.body !== undefined ? { body: options.body } : {}) });
    return { status: response.status, reason: response.statusText, text: await response.text(), headers: response.headers };
  }

  const upload = (repo: string, form: FormData, credential?: string | null) => call('POST', `/${repo}/pypi/legacy/`, { body: form, ...(credential !== undefined ? { token: credential } : {}) });

  async function projectJson(repo: string, project: string) {
    const answer = await call('GET', `/${repo}/pypi/simple/${project}/`, { headers: { accept: PIP_ACCEPT } });
    return { status: answer.status, doc: answer.status === 200 ? (JSON.parse(answer.text) as { versions: string[]; files: Record<string, unknown>[] }) : null };
  }

  /** A refused upload leaves no trace: the project is still absent (or unchanged). */
  async function assertNothingStored(repo: string, project: string, files: number) {
    const { doc } = await projectJson(repo, project);
    assert.equal(doc?.files.length ?? 0, files);
  }

  before(async () => {
    server = await startTestServer();
    const alice = await server.createUser('alice', { scopes: ['read', 'write'] });
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: alice.id });
    await server.createRepo('acme', 'py', 'public');
    await server.createRepo('acme', 'private', 'private');
    await server.createRepo('acme', 'held', 'public');
    token = alice.token;
    const bob = await server.createUser('bob', { scopes: ['read'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'bob', role: 'write' });
    readToken = bob.token;
    const carol = await server.createUser('carol', { scopes: ['read', 'write'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'carol', role: 'write' });
    const { secret } = await server.domain.mfa.startEnrollment(systemActor, { id: carol.id, name: 'carol' });
    await server.domain.mfa.confirmEnrollment(systemActor, { id: carol.id, name: 'carol' }, await generate({ secret }));
    mfaToken = carol.token;
  });

  after(async () => {
    await server?.close();
    cleanupBuilder();
  });

  it('stores a wheel, another wheel and the sdist of one release, and lists them for pip', async () => {
    const wheel = buildWheel({ metadata: [['Requires-Python', '>=3.8'], ['Requires-Dist', 'requests (>=2)']] });
    const first = await upload('acme/py', twineForm(wheel, { requires_python: '>= 3.8', requires_dist: 'requests (>=2)' }));
    assert.equal(first.status, 200, first.text);
    const other = buildWheel({ filename: 'demo-1.0-py2.py3-none-any.whl', wheelText: 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py2-none-any\nTag: py3-none-any\n' });
    assert.equal((await upload('acme/py', twineForm(other))).status, 200);
    const sdist = buildSdist();
    assert.equal((await upload('acme/py', twineForm(sdist))).status, 200);

    const { doc } = await projectJson('acme/py', 'demo');
    assert.ok(doc);
    assert.deepEqual(doc.versions, ['1.0']);
    const byName = Object.fromEntries(doc.files.map((f) => [f.filename as string, f]));
    assert.deepEqual(Object.keys(byName).sort(), ['demo-1.0-py2.py3-none-any.whl', 'demo-1.0-py3-none-any.whl', 'demo-1.0.tar.gz']);
    const main = byName['demo-1.0-py3-none-any.whl'] as Record<string, unknown>;
    assert.equal(main['requires-python'], '>=3.8');
    assert.deepEqual(main.hashes, { sha256: digestsOf(wheel.data).sha256_digest });
    assert.equal(main.size, wheel.data.length);
    assert.equal(main.yanked, false);
    assert.match(main['upload-time'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal((byName['demo-1.0.tar.gz'] as Record<string, unknown>)['core-metadata'], false);
    const core = main['core-metadata'] as { sha256: string };
    const metadata = await call('GET', `/acme/py/pypi/files/demo/demo-1.0-py3-none-any.whl.metadata`, { token: null });
    assert.equal(metadata.status, 200);
    assert.equal(createHash('sha256').update(metadata.text).digest('hex'), core.sha256);
    const file = await fetch(new URL(main.url as string, `${server.url}/acme/py/pypi/simple/demo/`));
    assert.equal(file.status, 200);
    assert.ok(Buffer.from(await file.arrayBuffer()).equals(wheel.data));
  });

  it('accepts the same file again and refuses other bytes under its name with PyPI\'s wording', async () => {
    // The builder is deterministic: these are the bytes of the first upload.
    const wheel = buildWheel({ metadata: [['Requires-Python', '>=3.8'], ['Requires-Dist', 'requests (>=2)']] });
    assert.equal((await upload('acme/py', twineForm(wheel))).status, 200);
    const changed = buildWheel({ files: [{ path: 'demo/__init__.py', body: 'VALUE = 2\n' }] });
    const answer = await upload('acme/py', twineForm(changed));
    assert.equal(answer.status, 400);
    assert.match(answer.reason, /^File already exists/);
    assert.match(answer.text, /File already exists/);
    const secondSdist = buildSdist({}, 'zip');
    const sdistAgain = await upload('acme/py', twineForm(secondSdist));
    assert.equal(sdistAgain.status, 400);
    assert.match(sdistAgain.text, /already has a source distribution/);
    await assertNothingStored('acme/py', 'demo', 3);
  });

  it('redirects names that are not normalized and slash-less URLs, keeping the query', async () => {
    const answer = await call('GET', '/acme/py/pypi/simple/Demo/?format=text/html');
    assert.equal(answer.status, 301);
    assert.equal(answer.headers.get('location'), '/acme/py/pypi/simple/demo/?format=text/html');
    assert.equal((await call('GET', '/acme/py/pypi/simple/demo')).headers.get('location'), '/acme/py/pypi/simple/demo/');
    assert.equal((await call('GET', '/acme/py/pypi/simple')).headers.get('location'), '/acme/py/pypi/simple/');
  });

  it('negotiates HTML and JSON as PEP 691 says', async () => {
    assert.equal(negotiate(PIP_ACCEPT, undefined), 'application/vnd.pypi.simple.v1+json');
    assert.equal(negotiate(undefined, undefined), 'text/html');
    assert.equal(negotiate('*/*', undefined), 'text/html');
    assert.equal(negotiate('text/html, application/vnd.pypi.simple.v1+json;q=0.5', undefined), 'text/html');
    assert.equal(negotiate('application/vnd.pypi.simple.latest+html', undefined), 'application/vnd.pypi.simple.v1+html');
    assert.equal(negotiate('text/html', 'application/vnd.pypi.simple.v1+json'), 'application/vnd.pypi.simple.v1+json');
    const html = await call('GET', '/acme/py/pypi/simple/demo/');
    assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(html.text, /<a href="\.\.\/\.\.\/files\/demo\/demo-1\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}" data-requires-python="&gt;=3\.8" data-dist-info-metadata="sha256=[0-9a-f]{64}" data-core-metadata="sha256=[0-9a-f]{64}">/);
    const index = await call('GET', '/acme/py/pypi/simple/', { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    assert.deepEqual(JSON.parse(index.text), { meta: { 'api-version': '1.1' }, projects: [{ name: 'demo' }] });
    const etag = html.headers.get('etag');
    assert.ok(etag);
    assert.equal((await call('GET', '/acme/py/pypi/simple/demo/', { headers: { 'if-none-match': etag } })).status, 304);
  });

  it('refuses uploads whose digests, name, version or file type disagree with the file', async () => {
    const dist = buildWheel({ name: 'checked', version: '2.0.0' });
    const base = { name: 'checked', version: '2.0.0' };
    const cases: [string, Record<string, string | null>, RegExp][] = [
      ['sha256', { ...base, sha256_digest: '0'.repeat(64) }, /sha256_digest is 0{64} but the uploaded file's sha256 is/],
      ['md5', { ...base, md5_digest: 'f'.repeat(32) }, /md5_digest is/],
      ['blake2', { ...base, blake2_256_digest: 'a'.repeat(64) }, /blake2_256_digest is/],
      ['no digest', { ...base, sha256_digest: null, md5_digest: null, blake2_256_digest: null }, /declares no digest/],
      ['name', { ...base, name: 'checked-other' }, /the upload form says name "checked-other" but the file's METADATA says "checked"/],
      ['version', { ...base, version: '2.0.1' }, /says version "2\.0\.1"/],
      ['filetype', { ...base, filetype: 'sdist' }, /says filetype "sdist" but the file is a wheel/],
      ['requires_python', { ...base, requires_python: '>=3.12' }, /says requires_python/],
      ['no name', { ...base, name: null }, /has no "name" field/],
    ];
    for (const [label, fields, message] of cases) {
      const answer = await upload('acme/py', twineForm(dist, fields));
      assert.equal(answer.status, 400, `${label}: ${answer.text}`);
      assert.match(answer.text, message, label);
      assert.equal(answer.headers.get('content-type'), 'text/plain; charset=utf-8');
    }
    await assertNothingStored('acme/py', 'checked', 0);
    // PEP 503 and PEP 440 spellings of the same name and version are the same.
    const same = await upload('acme/py', twineForm(dist, { name: 'Checked', version: '2.0' }));
    assert.equal(same.status, 200, same.text);
  });

  it('refuses malformed and hostile archives through the upload route', async () => {
    const cases: [string, BuiltDist, RegExp][] = [
      ['wheel named unlike its METADATA', buildWheel({ name: 'evil', filename: 'other-1.0-py3-none-any.whl', stem: 'other-1.0' }), /says Name "evil"/],
      ['zip slip', buildWheel({ name: 'evil', rawEntries: [{ path: '../escape.py', body: 'x = 1\n' }] }), /unsafe package archive|invalid package archive/],
      ['absolute path', buildWheel({ name: 'evil', rawEntries: [{ path: '/etc/evil.py', body: 'x = 1\n' }] }), /unsafe package archive|invalid package archive/],
      [
        'duplicate names',
        buildWheel({ name: 'evil', rawEntries: [{ path: 'evil/__init__.py', body: 'x = 2\n' }] }),
        /unsafe package archive|invalid package archive/,
      ],
      ['sdist symlink out of the project', buildSdist({ name: 'evil', files: [{ path: 'setup.py', symlinkTo: '../../../etc/passwd' }] }), /unsafe package archive/],
      ['not a zip', { filename: 'evil-1.0-py3-none-any.whl', data: Buffer.from('not a zip at all') }, /invalid package archive/],
      ['not a distribution name', { filename: 'evil.exe', data: Buffer.from('MZ') }, /invalid package archive/],
    ];
    for (const [label, dist, message] of cases) {
      const answer = await upload('acme/py', twineForm(dist, { name: 'evil', version: '1.0' }));
      assert.equal(answer.status, 400, `${label}: ${answer.status} ${answer.text}`);
      assert.match(answer.text, message, label);
    }
    await assertNothingStored('acme/py', 'evil', 0);
  });

  it('refuses requests that are not a twine upload', async () => {
    const dist = buildWheel({ name: 'shape' });
    const json = await call('POST', '/acme/py/pypi/legacy/', { body: JSON.stringify({ name: 'shape' }), headers: { 'content-type': 'application/json' } });
    assert.equal(json.status, 400);
    assert.match(json.text, /multipart\/form-data/);
    const noContent = twineForm(dist, { name: 'shape' });
    noContent.delete('content');
    assert.match((await upload('acme/py', noContent)).text, /has no file/);
    assert.match((await upload('acme/py', twineForm(dist, { ':action': 'remove_pkg' }))).text, /":action" "remove_pkg" is not supported/);
    assert.match((await upload('acme/py', twineForm(dist, { ':action': null }))).text, /no ":action" field/);
    const huge = await upload('acme/py', twineForm(dist, { name: 'shape', description: 'x'.repeat(4 * 1024 * 1024 + 10) }));
    assert.equal(huge.status, 400);
    assert.match(huge.text, /"description" is longer than/);
    assert.equal((await call('PUT', '/acme/py/pypi/legacy/')).status, 404);
    await assertNothingStored('acme/py', 'shape', 0);
  });

  it('asks for credentials, refuses read-only tokens, and tells MFA users to use an automation token', async () => {
    const dist = buildWheel({ name: 'guarded' });
    const anonymous = await upload('acme/py', twineForm(dist, { name: 'guarded' }), null);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/);
    const wrong = await upload('acme/py', twineForm(dist, { name: 'guarded' }), 'stk_not-a-real-token');
    assert.equal(wrong.status, 401);
    const readOnly = await upload('acme/py', twineForm(dist, { name: 'guarded' }), readToken);
    assert.equal(readOnly.status, 403);
    assert.match(readOnly.reason, /may not publish to acme\/py/);
    const mfa = await upload('acme/py', twineForm(dist, { name: 'guarded' }), mfaToken);
    assert.equal(mfa.status, 401);
    assert.match(mfa.text, /twine cannot send one: upload with an automation token as __token__/);
    await assertNothingStored('acme/py', 'guarded', 0);
    // The bare root is an upload URL too, as some ~/.pypirc files have it.
    assert.equal((await call('POST', '/acme/py/pypi/', { body: twineForm(dist, { name: 'guarded' }) })).status, 200);
  });

  it('keeps a private repository from anonymous readers and answers with a Basic challenge', async () => {
    assert.equal((await upload('acme/private', twineForm(buildWheel({ name: 'hidden' }), { name: 'hidden' }))).status, 200);
    for (const path of ['/simple/', '/simple/hidden/', '/files/hidden/hidden-1.0-py3-none-any.whl']) {
      const answer = await call('GET', `/acme/private/pypi${path}`, { token: null });
      assert.equal(answer.status, 401, path);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    }
    assert.equal((await call('GET', '/acme/private/pypi/simple/hidden/', { token: readToken })).status, 200);
  });

  it('yanks and unyanks through the REST API; pip sees the reason', async () => {
    const newer = buildWheel({ version: '1.1' });
    assert.equal((await upload('acme/py', twineForm(newer, { version: '1.1' }))).status, 200);
    const api = `/api/v1/repos/acme/py/packages/pypi/demo/versions`;
    const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const yank = await call('POST', `${api}/1.1.0/yank`, { token: null, headers: bearer, body: JSON.stringify({ reason: 'bad build' }) });
    assert.equal(yank.status, 200, yank.text);
    assert.equal((JSON.parse(yank.text) as { version: string }).version, '1.1', 'the PEP 440 spelling 1.1.0 finds 1.1');
    const { doc } = await projectJson('acme/py', 'demo');
    assert.equal(doc?.files.find((f) => f.filename === 'demo-1.1-py3-none-any.whl')?.yanked, 'bad build');
    assert.match((await call('GET', '/acme/py/pypi/simple/demo/')).text, /data-yanked="bad build">demo-1\.1-py3-none-any\.whl/);
    const detail = await call('GET', '/api/v1/repos/acme/py/packages/pypi/demo', { token: null });
    assert.equal((JSON.parse(detail.text) as { versions: { version: string; yanked: { reason: string } | null }[] }).versions.find((v) => v.version === '1.1')?.yanked?.reason, 'bad build');
    const readerYank = await call('POST', `${api}/1.1/yank`, { token: null, headers: { ...bearer, authorization: `Bearer ${readToken}` }, body: '{}' });
    assert.equal(readerYank.status, 403);
    const unyank = await call('DELETE', `${api}/1.1/yank`, { token: null, headers: { authorization: `Bearer ${token}` } });
    assert.equal(unyank.status, 200, unyank.text);
    assert.equal(JSON.parse(unyank.text).yanked, null);
    assert.equal((await projectJson('acme/py', 'demo')).doc?.files.find((f) => f.filename === 'demo-1.1-py3-none-any.whl')?.yanked, false);
    assert.equal((await call('POST', `${api}/9.9/yank`, { token: null, headers: bearer, body: '{}' })).status, 404);
  });

  it('a quarantined file is in no index and its download says why; a blocked one is refused naming the finding', async () => {
    const keys = awsKeyPair('pypi-http');
    const leaky = buildWheel({ name: 'leaky', files: [{ path: 'leaky/settings.py', body: `KEY = '${keys.id}'\nSECRET = '${keys.secret}'\n` }] });
    const blocked = await upload('acme/py', twineForm(leaky, { name: 'leaky' }));
    assert.equal(blocked.status, 403);
    assert.match(blocked.reason, /blocked by the security gate: secrets\/aws/);
    assert.ok(!blocked.text.includes(keys.secret));

    const policy = await fetch(`${server.url}/api/v1/repos/acme/held/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1, rules: [{ match: { analyzer: 'secrets' }, action: 'quarantine' }] }),
    });
    assert.equal(policy.status, 200);
    // A clean file first: the release is visible, until the leaky sdist of the same release arrives.
    assert.equal((await upload('acme/held', twineForm(buildWheel({ name: 'leaky' }), { name: 'leaky' }))).status, 200);
    assert.equal((await projectJson('acme/held', 'leaky')).status, 200);
    const leakySdist = buildSdist({ name: 'leaky', files: [{ path: 'setup.py', body: `KEY = '${keys.id}'\nSECRET = '${keys.secret}'\n` }] });
    const held = await upload('acme/held', twineForm(leakySdist, { name: 'leaky' }));
    assert.equal(held.status, 200);
    assert.match(held.text, /held in quarantine/);
    assert.equal((await projectJson('acme/held', 'leaky')).status, 404);
    const index = await call('GET', '/acme/held/pypi/simple/', { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    assert.deepEqual(JSON.parse(index.text).projects, []);
    const download = await call('GET', '/acme/held/pypi/files/leaky/leaky-1.0.tar.gz');
    assert.equal(download.status, 403);
    assert.match(download.text, /quarantined pending review: secrets\/aws/);
  });

  it('REST uploads and `stockade push` detect wheels and sdists, and npm tarballs stay npm', async () => {
    const wheel = buildWheel({ name: 'acme-internal-tool' });
    assert.equal(detectFormat(wheel.filename, wheel.data).name, 'pypi');
    const sdist = buildSdist({ name: 'acme-internal-tool' });
    assert.equal(detectFormat(sdist.filename, sdist.data).name, 'pypi');
    assert.equal(detectFormat('acme_internal_tool-1.0.zip', buildSdist({ name: 'acme-internal-tool' }, 'zip').data).name, 'pypi');
    // An npm tarball named like an sdist is still npm's: its entries are under package/.
    const npmLike = buildSdist({ name: 'acme-internal-tool', stem: 'package' });
    assert.equal(detectFormat('acme_internal_tool-1.0.tar.gz', npmLike.data).name, 'npm');
    const answer = await fetch(`${server.url}/api/v1/repos/acme/py/upload?filename=${wheel.filename}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: wheel.data,
    });
    assert.equal(answer.status, 201, await answer.clone().text());
    assert.deepEqual(
      { ...((await answer.json()) as Record<string, unknown>), sha256: undefined },
      { format: 'pypi', name: 'acme-internal-tool', version: '1.0', filename: wheel.filename, sha256: undefined, size: wheel.data.length, verdict: 'allow', reasons: [] },
    );
  });

  it('a rescan judges a release by all of its files, whichever is read last', async () => {
    const held = await server.domain.repos.get('acme', 'held');
    assert.ok(held);
    const setPolicy = (action: string) => server.domain.policies.set(systemActor, held, { version: 1, rules: [{ match: { analyzer: 'secrets' }, action }] });
    await setPolicy('warn');
    const keys = awsKeyPair('pypi-rescan');
    // The leaky wheel first, the clean sdist last: a per-file rescan would end on the clean one.
    const wheel = buildWheel({ name: 'two-files', version: '3.0', files: [{ path: 'two_files/__init__.py', body: `KEY = '${keys.id}'\nSECRET = '${keys.secret}'\n` }] });
    const sdist = buildSdist({ name: 'two-files', version: '3.0' });
    for (const dist of [wheel, sdist]) {
      const answer = await upload('acme/held', twineForm(dist, { name: 'two-files', version: '3.0' }));
      assert.equal(answer.status, 200, answer.text);
    }
    assert.equal((await projectJson('acme/held', 'two-files')).doc?.files.length, 2);

    await setPolicy('quarantine');
    const gate = createServerGate(server.domain);
    const tally = await rescanPackages({ domain: server.domain, blobs: server.blobs, gate }, ['PyPI\0two-files'], { why: 'test' });
    assert.deepEqual(tally, { checked: 1, changed: 1, quarantined: 1, failed: 0 });
    const stored = await server.domain.packages.load({ repo: held, format: 'pypi', name: 'two-files' }, { includeQuarantined: true });
    assert.equal(stored?.versions[0]?.status, 'quarantined');
    assert.ok((stored?.versions[0]?.gate.findings as { rule: string }[]).some((f) => f.rule.startsWith('secrets/aws')));
    assert.equal((await projectJson('acme/held', 'two-files')).status, 404);
    await setPolicy('warn');
  });
});
