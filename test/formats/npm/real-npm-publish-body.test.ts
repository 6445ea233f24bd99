import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { compareManifest, decodeAttachment, verifyIntegrity } from '../../../src/formats/npm/manifest-check.js';
import { tarballFileName } from '../../../src/formats/npm/names.js';
import { readNpmTarball } from '../../../src/formats/npm/tarball.js';

/**
 * Runs the real npm client's `publish` against a capture server that records the PUT body, then
 * checks that our manifest comparison finds no difference between what npm claims and the
 * package.json inside the tarball it uploaded. The server stands in for the npm registry, not for
 * Stockade: it only answers 404 to metadata reads and 201 to the PUT.
 */

const run = promisify(execFile);

interface PublishBody {
  name: string;
  versions: Record<string, Record<string, unknown> & { dist: { integrity: string; shasum: string } }>;
  _attachments: Record<string, { data: string; length: number }>;
}

describe('real npm publish body vs the tarball it uploads', () => {
  let dir: string;
  let server: Server;
  let registry: string;
  let captured: Buffer[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockade-npm-publish-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'PUT') {
          captured.push(Buffer.concat(chunks));
          res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
        } else {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  async function writeTree(root: string, tree: Record<string, string>): Promise<void> {
    for (const [path, content] of Object.entries(tree)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
  }

  async function publish(label: string, tree: Record<string, string>, tag = 'latest'): Promise<PublishBody> {
    const root = join(dir, label);
    await writeTree(root, tree);
    const npmrc = join(dir, `${label}.npmrc`);
    const host = registry.replace(/^http:/, '');
    await writeFile(npmrc, `${host}:_authToken=test-token\nupdate-notifier=false\naudit=false\nfund=false\n`);
    await writeFile(join(dir, 'global.npmrc'), '');
    // npm_config_* from an outer `npm test` would override the temp config.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_config_/i.test(key)));
    captured = [];
    await run(
      'npm',
      [
        'publish',
        '--registry', registry,
        '--userconfig', npmrc,
        '--globalconfig', join(dir, 'global.npmrc'),
        '--cache', join(dir, 'cache'),
        '--ignore-scripts',
        '--tag', tag,
      ],
      { cwd: root, env: { ...env, HOME: dir }, timeout: 120_000 },
    );
    assert.equal(captured.length, 1, 'npm sent exactly one PUT');
    return JSON.parse((captured[0] as Buffer).toString('utf8')) as PublishBody;
  }

  function checkBody(body: PublishBody): { claimed: Record<string, unknown>; contents: ReturnType<typeof readNpmTarball> } {
    const [version, claimed] = Object.entries(body.versions)[0] ?? [];
    assert.ok(version !== undefined && claimed !== undefined, 'the body has a version document');
    const [fileName, attachment] = Object.entries(body._attachments)[0] ?? [];
    assert.equal(fileName, `${body.name}-${version}.tgz`, 'npm names the attachment <name>-<version>.tgz');
    assert.ok(fileName.endsWith(tarballFileName(body.name, version)));
    const tarball = decodeAttachment(attachment?.data, attachment?.length);
    assert.deepEqual(verifyIntegrity(tarball, claimed.dist), { integrity: claimed.dist.integrity, shasum: claimed.dist.shasum });
    const contents = readNpmTarball(tarball);
    assert.deepEqual(compareManifest(claimed, contents.manifest, { files: contents.files }), []);
    return { claimed, contents };
  }

  it('scoped package: bin string, ./main, directories, install and prepare scripts, every dependency kind', async () => {
    const pkg = {
      name: '@acme/hello',
      version: '1.0.0',
      description: 'demo',
      main: './index.js',
      bin: './bin/cli.js',
      directories: { lib: './lib', man: './man' },
      scripts: { install: 'node install.js', prepare: 'echo prepared', test: 'node test.js' },
      dependencies: { semver: '^7.0.0' },
      devDependencies: { tap: '^18.0.0' },
      peerDependencies: { react: '>=16' },
      optionalDependencies: { fsevents: '*' },
      engines: { node: '>=18' },
      os: ['linux', 'darwin'],
      cpu: ['x64'],
      repository: 'github:acme/hello',
    };
    const body = await publish('scoped', {
      'package.json': JSON.stringify(pkg, null, 2),
      'index.js': 'module.exports = 1;\n',
      'bin/cli.js': '#!/usr/bin/env node\n',
      'lib/a.js': 'exports.a = 1;\n',
      'install.js': '\n',
      'man/hello.1': '.TH HELLO 1\n',
      'README.md': '# Hello\n',
    });
    const { claimed, contents } = checkBody(body);
    // The normalizations npm made, which compareManifest must see through.
    assert.deepEqual(claimed.bin, { hello: 'bin/cli.js' });
    assert.equal(contents.manifest.bin, './bin/cli.js');
    assert.deepEqual(claimed.repository, { type: 'git', url: 'git+https://github.com/acme/hello.git' });
    assert.equal(contents.readme, '# Hello\n');
  });

  it('unscoped package: directories.bin, binding.gyp, server.js, bundleDependencies: true, hosted git specs', async () => {
    const pkg = {
      name: 'plain-demo',
      version: '2.1.0',
      directories: { bin: './bin/' },
      dependencies: { a: 'x/y', b: 'https://github.com/x/y', c: '^1.0.0' },
      devDependencies: 'q@1, r',
      bundleDependencies: true,
      scripts: { build: './node_modules/.bin/tsc', broken: 5 },
    };
    const body = await publish('unscoped', {
      'package.json': JSON.stringify(pkg),
      'bin/tool': '#!/bin/sh\n',
      'bin/sub/deep': '#!/bin/sh\n',
      'bin/.hidden': 'x',
      'binding.gyp': '{}',
      'server.js': '',
    });
    const { claimed } = checkBody(body);
    const scripts = claimed.scripts as Record<string, unknown>;
    assert.equal(scripts.install, 'node-gyp rebuild');
    assert.equal(scripts.start, 'node server.js');
    assert.equal((claimed.dependencies as Record<string, unknown>).a, 'github:x/y');
    assert.ok(claimed.bin !== undefined, 'npm expanded directories.bin');
  });

  it('prerelease with a v prefix, bin array, bundledDependencies alias and a bundled non-dependency', async () => {
    const pkg = {
      name: 'pre-demo',
      version: 'v3.0.0-beta.1',
      bin: ['bin/x.js'],
      main: 'lib/',
      os: 'linux',
      bundledDependencies: ['a', 'z'],
      dependencies: { a: '1.0.0' },
    };
    const body = await publish('prerelease', { 'package.json': JSON.stringify(pkg), 'bin/x.js': '', 'lib/index.js': '' }, 'next');
    const { claimed } = checkBody(body);
    assert.equal(claimed.version, '3.0.0-beta.1');
    assert.deepEqual(claimed.dependencies, { a: '1.0.0', z: '*' });
  });

  it('still catches a tampered body for a real npm tarball', async () => {
    const body = await publish('tampered', {
      'package.json': JSON.stringify({ name: 'tamper-demo', version: '1.0.0', scripts: { postinstall: 'node x.js' } }),
      'x.js': '',
    });
    const claimed = body.versions['1.0.0'] as Record<string, unknown>;
    claimed.scripts = {};
    const attachment = body._attachments['tamper-demo-1.0.0.tgz'];
    const contents = readNpmTarball(decodeAttachment(attachment?.data, attachment?.length));
    assert.deepEqual(compareManifest(claimed, contents.manifest, { files: contents.files }), [{ field: 'scripts', key: 'postinstall' }]);
  });
});
