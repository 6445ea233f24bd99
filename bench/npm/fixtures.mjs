import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

/**
 * The packages both registries are seeded with. Everything is deterministic (fixed mtime, seeded
 * "random" payload), so every run and every registry stores byte-identical tarballs.
 */

// npm pack writes this mtime into every entry so that packing is reproducible.
const NPM_MTIME = new Date('1985-10-26T08:15:00.000Z');
const NPM_VERSION = '11.0.0';

export const TEN = 'bench-ten';
export const MANY = 'bench-many';
export const TARBALL = 'bench-tarball';
export const DEP_COUNT = 20;
export const DEP_VERSIONS = ['1.0.0', '1.1.0', '1.2.0'];
export const depName = (i) => `bench-dep-${String(i + 1).padStart(2, '0')}`;

/** Payload size for the tarball scenario, chosen so the .tgz comes out at about 52 KB. */
const PAYLOAD_BYTES = 51_500;

const README = [
  '# Stockade benchmark fixture',
  '',
  'This package exists only to be served by a registry under load. Its metadata is shaped like',
  'an ordinary small library: a description, keywords, an engines field, a test script and a',
  'few dependencies, so that packuments are neither trivially small nor unusually large.',
  '',
  '## Usage',
  '',
  '```js',
  "const fixture = require('bench-fixture');",
  'console.log(fixture);',
  '```',
  '',
  ...Array.from({ length: 12 }, (_, i) => `- item ${i + 1}: the quick brown fox jumps over the lazy dog, a sentence with every letter.`),
  '',
].join('\n');

/** `count` distinct ascending versions: 1.0.0 … 1.0.9, 1.1.0 …, 2.0.0 … */
export function versionList(count) {
  return Array.from({ length: count }, (_, i) => `${1 + Math.floor(i / 100)}.${Math.floor(i / 10) % 10}.${i % 10}`);
}

/** Deterministic incompressible bytes (SHA-256 in counter mode). */
function pseudoRandom(size, seed) {
  const out = Buffer.alloc(size);
  for (let offset = 0, counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

/** A gzip'd ustar archive with every file below `package/`, as `npm pack` lays it out. */
export function packTarball(files) {
  const blocks = [];
  for (const [path, content] of Object.entries(files)) {
    const body = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const header = new Header({ path: `package/${path}`, mode: 0o644, size: body.length, mtime: NPM_MTIME, type: 'File', uid: 0, gid: 0 });
    header.encode();
    blocks.push(header.block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  // Two zero blocks end a tar archive.
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

function manifestFor(name, version, dependencies) {
  return {
    name,
    version,
    description: `Stockade benchmark fixture ${name}`,
    main: 'index.js',
    license: 'MIT',
    keywords: ['stockade', 'benchmark', 'fixture'],
    author: 'Stockade benchmark',
    engines: { node: '>=18' },
    scripts: { test: 'node --test' },
    ...(dependencies ? { dependencies } : {}),
  };
}

/** One version ready to publish: its manifest (package.json) and tarball bytes. */
function buildVersion(name, version, { dependencies, payload } = {}) {
  const manifest = manifestFor(name, version, dependencies);
  const files = {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'index.js': `'use strict';\nmodule.exports = ${JSON.stringify(`${name}@${version}`)};\n`,
    'README.md': README,
  };
  if (payload) files['data.bin'] = payload;
  return { name, version, manifest, tarball: packTarball(files) };
}

/**
 * Every package, each a list of versions in publish order. The 10- and 500-version packages
 * depend on a few of the small packages, like an ordinary library would.
 */
export function buildFixtures() {
  const libDeps = { [depName(0)]: '^1.0.0', [depName(1)]: '^1.0.0', [depName(2)]: '^1.1.0' };
  const packages = [
    { name: TEN, versions: versionList(10).map((v) => buildVersion(TEN, v, { dependencies: libDeps })) },
    { name: MANY, versions: versionList(500).map((v) => buildVersion(MANY, v, { dependencies: libDeps })) },
    { name: TARBALL, versions: [buildVersion(TARBALL, '1.0.0', { payload: pseudoRandom(PAYLOAD_BYTES, TARBALL) })] },
  ];
  for (let i = 0; i < DEP_COUNT; i++) {
    const name = depName(i);
    packages.push({ name, versions: DEP_VERSIONS.map((v) => buildVersion(name, v)) });
  }
  return packages;
}

export const tarballFile = (name, version) => `${name}-${version}.tgz`;

/**
 * The body `npm publish` PUTs to `{registry}/{name}`: the version document with its dist
 * integrity and the tarball as a base64 attachment (libnpmpublish's shape).
 */
export function publishBody(item, registryUrl) {
  const { name, version, manifest, tarball } = item;
  const filename = tarballFile(name, version);
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const shasum = createHash('sha1').update(tarball).digest('hex');
  return JSON.stringify({
    _id: name,
    name,
    description: manifest.description,
    'dist-tags': { latest: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        _nodeVersion: process.versions.node,
        _npmVersion: NPM_VERSION,
        dist: { integrity, shasum, tarball: `${registryUrl}${name}/-/${filename}` },
      },
    },
    access: null,
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
  });
}
