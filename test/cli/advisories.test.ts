import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type CliFixture, createCliFixture, errorLine, repoRoot } from './helpers.js';

const zip = path.join(repoRoot, 'test/data/advisories/nodejs-security-wg.zip');
let cli: CliFixture;
let upstream: Server;
let base: string;
const requests: string[] = [];

before(async () => {
  cli = await createCliFixture();
  // A local mirror: the real zip, a missing file, and garbage that is not a zip.
  upstream = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url === '/osv/all.zip') {
      response.writeHead(200, { 'content-type': 'application/zip' });
      createReadStream(zip).pipe(response);
    } else if (request.url === '/osv/garbage.zip') {
      response.end('this is not a zip archive');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => upstream?.close(resolve));
  await cli?.drop();
});

test('advisories sync fetches nothing unless a URL is given or configured', async () => {
  const result = await cli.run(['advisories', 'sync']);
  assert.notEqual(result.code, 0);
  assert.match(errorLine(result), /nothing is fetched unless configured/);
  assert.deepEqual(requests, []);
});

test('advisories sync downloads an OSV zip and imports it; a second sync changes nothing', async () => {
  const first = await cli.run(['advisories', 'sync', `${base}/osv/all.zip`, '--json']);
  assert.equal(first.code, 0, first.stderr);
  const summary = JSON.parse(first.stdout) as { added: number; errors: unknown[] };
  assert.equal(summary.added, 467);
  assert.deepEqual(summary.errors, []);
  const again = await cli.run(['advisories', 'sync', `${base}/osv/all.zip`, '--json']);
  assert.equal((JSON.parse(again.stdout) as { unchanged: number }).unchanged, 467);
  const counts = await cli.withDomain((domain) => domain.advisories.count());
  assert.deepEqual(counts, { total: 467, malicious: 2, withdrawn: 0 });
});

test('advisories sync uses advisories.syncUrl from the environment or configuration', async () => {
  const result = await cli.run(['advisories', 'sync'], { env: { STOCKADE_ADVISORIES_SYNC_URL: `${base}/osv/all.zip` } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /467 unchanged/);
});

test('advisories sync reports an upstream error or a file that is not a zip', async () => {
  const missing = await cli.run(['advisories', 'sync', `${base}/osv/missing.zip`]);
  assert.notEqual(missing.code, 0);
  assert.match(errorLine(missing), /answered 404/);
  const garbage = await cli.run(['advisories', 'sync', `${base}/osv/garbage.zip`, '--json']);
  assert.equal(garbage.code, 0, garbage.stderr);
  const summary = JSON.parse(garbage.stdout) as { added: number; errors: { error: string }[] };
  assert.equal(summary.added, 0);
  assert.equal(summary.errors.length, 1);
});

test('advisories import reports malformed files by name and imports the rest', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stockade-osv-'));
  try {
    await writeFile(path.join(dir, 'broken.json'), '{"id": "GHSA-broken", ');
    await writeFile(path.join(dir, 'no-events.json'), JSON.stringify({ id: 'GHSA-bad-range', modified: '2026-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'SEMVER', events: [] }] }] }));
    await writeFile(path.join(dir, 'good.yaml'), 'id: GHSA-good-0001\nmodified: "2026-01-01T00:00:00Z"\nsummary: fine\naffected:\n  - package: { ecosystem: npm, name: fine-lib }\n    versions: ["1.0.0"]\n');
    const result = await cli.run(['advisories', 'import', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /read 3 files .*: 1 advisories added, 0 updated, 0 unchanged, 2 rejected/);
    assert.match(result.stdout, /rejected broken\.json: /);
    assert.match(result.stdout, /rejected no-events\.json: .*events/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
