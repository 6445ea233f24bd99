/**
 * APT and rpm-md indexes on several nodes of one database: uploads arrive at different nodes, and
 * every node then serves byte-identical index files (only the signatures, which carry their own
 * creation time, may differ), so a client may read InRelease or repomd.xml from one node and the
 * files they name from another.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { systemActor } from '../../src/domain/audit.js';
import { buildDeb } from '../formats/debian/build-deb.js';
import { buildRpm } from '../formats/rpm/build-rpm.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

describe('OS package indexes on several nodes', () => {
  let a: TestServer;
  let b: TestServer;
  const temps: string[] = [];

  before(async () => {
    a = await startTestServer({ signing: { rsaBits: 2048 } });
    b = await startTestServer({ signing: { rsaBits: 2048 } }, { sameStorageAs: a });
    await a.createRepo('admin', 'os', 'public');
  });

  after(async () => {
    await b?.close();
    await a?.close();
    for (const dir of temps) await rm(dir, { recursive: true, force: true });
  });

  async function upload(node: TestServer, data: Buffer, filename: string, distribution: string): Promise<void> {
    const response = await fetch(`${node.url}/api/v1/repos/admin/os/upload?filename=${filename}&distribution=${encodeURIComponent(distribution)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(response.status, 201, await response.text());
  }

  const bytes = async (url: string) => {
    const response = await fetch(url);
    assert.equal(response.status, 200, url);
    return Buffer.from(await response.arrayBuffer());
  };

  /**
   * The same file from both nodes once the change notice has reached the one that did not take the
   * upload (PostgreSQL delivers it asynchronously; a loaded machine may take a moment). Files named
   * by hash need no wait: a node asked for one it does not know catches up first.
   */
  async function sameOnBoth(file: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const [fromA, fromB] = [await bytes(`${a.url}${file}`), await bytes(`${b.url}${file}`)];
      if (fromA.equals(fromB)) return;
      if (Date.now() > deadline) assert.deepEqual(fromB, fromA, file);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('serve identical APT indexes, and each serves by hash what the other listed', async () => {
    for (let i = 0; i < 6; i++) {
      const built = await buildDeb({ name: `multi-${i}`, version: `1.${i}`, arch: i % 2 === 0 ? 'all' : 'amd64' });
      await upload(i % 2 === 0 ? a : b, built.data, path.basename(built.path), 'bookworm');
      await built.cleanup();
      // Right after an upload on one node, the other already serves what its Release names.
      const release = (await bytes(`${a.url}/admin/os/debian/dists/bookworm/Release`)).toString('utf8');
      const sha = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.gz$/m.exec(release)?.[1];
      assert.ok(sha, release);
      const fromB = await bytes(`${b.url}/admin/os/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/${sha}`);
      assert.equal(createHash('sha256').update(fromB).digest('hex'), sha);
    }
    for (const file of ['Release', 'main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-arm64/Packages.gz']) {
      await sameOnBoth(`/admin/os/debian/dists/bookworm/${file}`);
    }
    const packages = (await bytes(`${b.url}/admin/os/debian/dists/bookworm/main/binary-amd64/Packages`)).toString('utf8');
    assert.equal(packages.match(/^Package: /gm)?.length, 6);
    assert.equal((await bytes(`${b.url}/admin/os/debian/dists/bookworm/main/binary-arm64/Packages`)).toString('utf8').match(/^Package: /gm)?.length, 3);
  });

  it('sign with a rotated key on every node, and keep other repositories\' indexes when one is created', async () => {
    const signatures = async (node: TestServer) => {
      const message = await openpgp.readCleartextMessage({ cleartextMessage: (await bytes(`${node.url}/admin/os/debian/dists/bookworm/InRelease`)).toString('utf8') });
      return message.getSigningKeyIDs().length;
    };
    assert.equal(await signatures(b), 1);
    const repo = await a.domain.repos.get('admin', 'os');
    assert.ok(repo);
    await a.domain.repoKeys.rotate(systemActor, repo);
    // During the transition both keys sign, on the node that rotated and on the other.
    assert.equal(await signatures(a), 2);
    assert.equal(await signatures(b), 2);
    await a.createRepo('admin', 'other', 'public');
    assert.equal(await signatures(b), 2);
  });

  it('serve identical rpm-md metadata', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stockade-nodes-rpm-'));
    temps.push(dir);
    for (let i = 0; i < 4; i++) {
      const data = readFileSync(buildRpm({ name: `multi-rpm-${i}`, version: '1.0', release: String(i), files: [{ path: `/usr/share/multi-${i}/f`, content: `${i}\n` }] }, dir));
      await upload(i % 2 === 0 ? b : a, data, `multi-rpm-${i}.rpm`, 'el/9');
      const repomd = (await bytes(`${b.url}/admin/os/rpm/el/9/repodata/repomd.xml`)).toString('utf8');
      for (const href of repomd.match(/repodata\/[0-9a-f]{64}-\w+\.xml\.gz/g) ?? []) {
        assert.deepEqual(await bytes(`${a.url}/admin/os/rpm/el/9/${href}`), await bytes(`${b.url}/admin/os/rpm/el/9/${href}`), href);
      }
    }
    await sameOnBoth('/admin/os/rpm/el/9/repodata/repomd.xml');
  });
});
