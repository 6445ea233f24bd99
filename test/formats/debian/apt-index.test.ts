/**
 * APT index text: our Packages stanza carries the same fields and values as dpkg-scanpackages
 * writes for the same .deb, and a Release file reads back as one deb822 paragraph.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { debFilename, packagesStanza, poolPath, releaseDate, releaseText, sourceOf } from '../../../src/formats/debian/apt-index.js';
import { parseControl } from '../../../src/formats/debian/control.js';
import { parseDeb } from '../../../src/formats/debian/deb.js';
import { buildDeb } from './build-deb.js';

const digest = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

describe('APT index text', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('names files and pool paths as Debian does', () => {
    assert.equal(debFilename('hello', '1:2.10-3', 'amd64'), 'hello_2.10-3_amd64.deb');
    assert.equal(debFilename('hello', '2.10', 'all'), 'hello_2.10_all.deb');
    assert.equal(poolPath('main', 'hello', 'hello_2.10_all.deb'), 'pool/main/h/hello/hello_2.10_all.deb');
    assert.equal(poolPath('contrib', 'libfoo', 'libfoo1_1_amd64.deb'), 'pool/contrib/libf/libfoo/libfoo1_1_amd64.deb');
    assert.equal(poolPath('main', 'lib', 'lib_1_all.deb'), 'pool/main/l/lib/lib_1_all.deb');
    assert.equal(releaseDate(new Date('2026-11-26T10:00:00Z')), 'Thu, 26 Nov 2026 10:00:00 UTC');
  });

  it('writes a Packages stanza with the fields and values dpkg-scanpackages writes', async () => {
    const built = await buildDeb({
      name: 'acme-hello',
      version: '1:1.2.3-1',
      arch: 'amd64',
      extraFields: { Source: 'acme (1.2.3-1)', Depends: 'libc6 (>= 2.36), adduser', Section: 'utils', Priority: 'optional', Homepage: 'https://example.invalid/hello' },
      description: 'says hello\n A longer description.\n .\n Second paragraph.',
      files: [{ path: '/usr/bin/acme-hello', body: '#!/bin/sh\necho hello\n', mode: 0o755 }],
    });
    cleanups.push(built.cleanup);
    const deb = await parseDeb(built.data);
    assert.equal(sourceOf(deb.control), 'acme');
    const filename = debFilename('acme-hello', '1:1.2.3-1', 'amd64');
    const pool = poolPath('main', sourceOf(deb.control), filename);
    const ours = parseControl(
      packagesStanza(deb.control, { poolPath: pool, size: built.data.length, md5: digest('md5', built.data), sha1: digest('sha1', built.data), sha256: digest('sha256', built.data) }),
    ).toObject();

    // dpkg-scanpackages over a pool laid out the same way.
    const root = await mkdtemp(path.join(tmpdir(), 'stockade-scan-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await mkdir(path.join(root, path.dirname(pool)), { recursive: true });
    await copyFile(built.path, path.join(root, pool));
    const scanned = spawnSync('dpkg-scanpackages', ['--multiversion', '--hash', 'md5,sha1,sha256', 'pool'], { cwd: root, encoding: 'utf8' });
    assert.equal(scanned.status, 0, scanned.stderr);
    const reference = parseControl(scanned.stdout.trim()).toObject();
    assert.deepEqual(ours, reference);
  });

  it('drops index fields a package tries to set itself', async () => {
    const built = await buildDeb({ name: 'liar', version: '1.0', arch: 'all', extraFields: { Filename: 'pool/main/e/evil/evil.deb', SHA256: '0'.repeat(64) } });
    cleanups.push(built.cleanup);
    const deb = await parseDeb(built.data);
    const stanza = packagesStanza(deb.control, { poolPath: 'pool/main/l/liar/liar_1.0_all.deb', size: 1, md5: 'a', sha1: 'b', sha256: 'c' });
    const fields = parseControl(stanza);
    assert.equal(fields.get('Filename'), 'pool/main/l/liar/liar_1.0_all.deb');
    assert.equal(fields.get('SHA256'), 'c');
  });

  it('writes a Release file that reads back as one paragraph, with every index in each hash block', () => {
    const files = [
      { path: 'main/binary-amd64/Packages', size: 1234, md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64) },
      { path: 'main/binary-amd64/Packages.gz', size: 456, md5: 'd'.repeat(32), sha1: 'e'.repeat(40), sha256: 'f'.repeat(64) },
    ];
    const text = releaseText({
      origin: 'acme/os',
      label: 'acme/os',
      suite: 'bookworm',
      codename: 'bookworm',
      date: new Date('2026-11-26T10:00:00Z'),
      architectures: ['arm64', 'amd64'],
      components: ['main'],
      files,
    });
    const release = parseControl(text);
    assert.equal(release.get('Architectures'), 'amd64 arm64');
    assert.equal(release.get('Acquire-By-Hash'), 'yes');
    assert.equal(release.get('Date'), 'Thu, 26 Nov 2026 10:00:00 UTC');
    const sha256Lines = (release.get('SHA256') ?? '').split('\n').filter((line) => line.trim());
    assert.equal(sha256Lines.length, 2);
    assert.match(sha256Lines[0] ?? '', /^\s*c{64}\s+1234 main\/binary-amd64\/Packages$/);
    // No indexes yet: the hash blocks are empty but the file is still one paragraph.
    const empty = releaseText({ origin: 'o', label: 'l', suite: 's', codename: 's', date: new Date(0), architectures: ['amd64'], components: ['main'], files: [] });
    assert.doesNotMatch(empty, /\n\n/);
    assert.equal(parseControl(empty).get('Suite'), 's');
  });
});
