import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { packTarball, tarballFile } from '../npm/fixtures.mjs';

/**
 * The dependency tree of the remote-install benchmark: 50 direct dependencies from the fixture
 * registry (some with transitive dependencies of their own, a few shared at two majors so npm
 * nests them), two private packages that live in Stockade's hosted repository, and a small
 * unrelated set for warming up a fresh server. Everything is derived from fixed seeds and fixed
 * dates, so every run produces byte-identical tarballs and documents; the result is written once
 * to bench/.cache/ and read from there afterwards.
 */

/** Bump when the generator changes: the cache folder is keyed by it. */
export const FIXTURE_VERSION = 3;

export const LIB_COUNT = 50;
const UTIL_COUNT = 25;
/** Utilities published at two majors; some libraries ask for the second, so npm nests copies. */
const TWO_MAJOR_UTILS = new Set([3, 7, 11]);
/** Libraries that ship a large unminified bundle besides their sources. */
const BUNDLED_LIBS = new Set([10, 20, 30, 40, 50]);

export const libName = (i) => `rbench-lib-${String(i).padStart(2, '0')}`;
const utilName = (i) => `rbench-util-${String(i).padStart(2, '0')}`;
const warmupName = (i) => `rbench-warmup-${i}`;

/** Private names: published to the hosted member, covered by the virtual repository's claim. */
export const PRIVATE_CLAIM = 'corp-internal-*';
const PRIVATE_AUTH = 'corp-internal-auth';
const PRIVATE_CONFIG = 'corp-internal-config';
const PRIVATE_WARMUP = 'corp-internal-warmup';

const CORGI = 'application/vnd.npm.install-v1+json';
const EPOCH = Date.parse('2024-03-01T09:00:00.000Z');
const NPM_VERSION = '11.0.0';
const NODE_VERSION = '20.0.0';

/** A small seeded generator (xorshift32): the same seed gives the same sequence everywhere. */
function random(seed) {
  let state = createHash('sha256').update(String(seed)).digest().readUInt32LE(0) || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

const VERBS = ['parse', 'format', 'merge', 'split', 'read', 'build', 'resolve', 'normalize', 'collect', 'render', 'match', 'index', 'group', 'filter', 'encode', 'compare'];
const NOUNS = ['Range', 'Token', 'Entry', 'Path', 'Value', 'Header', 'Record', 'Option', 'Segment', 'Label', 'Field', 'Node', 'Span', 'Rule', 'Table', 'Window'];
const WORDS = 'the a small helper returns value when input list each item is not empty string number object key options default order first last other new old given'.split(' ');

function sentence(rng, words = rng.int(8, 18)) {
  const text = Array.from({ length: words }, () => rng.pick(WORDS)).join(' ');
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

/** One plain function in one of a few everyday shapes; nothing the gate has reason to flag. */
function functionSource(rng, name) {
  const shape = rng.int(0, 5);
  const doc = `/**\n * ${sentence(rng)}\n * ${sentence(rng)}\n */\n`;
  switch (shape) {
    case 0:
      return `${doc}function ${name}(items, size = ${rng.int(2, 9)}) {\n  const out = [];\n  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));\n  return out;\n}\n`;
    case 1:
      return `${doc}function ${name}(value, options = {}) {\n  const separator = options.separator ?? '${rng.pick([',', ';', '|', ':'])}';\n  const parts = String(value).split(separator).map((part) => part.trim());\n  return parts.filter((part) => part.length > 0);\n}\n`;
    case 2:
      return `${doc}function ${name}(target, ...sources) {\n  for (const source of sources) {\n    if (source === null || typeof source !== 'object') continue;\n    for (const key of Object.keys(source)) {\n      if (key === '__proto__' || key === 'constructor') continue;\n      target[key] = source[key];\n    }\n  }\n  return target;\n}\n`;
    case 3:
      return `${doc}function ${name}(fn) {\n  const cache = new Map();\n  return (key) => {\n    if (!cache.has(key)) cache.set(key, fn(key));\n    return cache.get(key);\n  };\n}\n`;
    case 4:
      return `${doc}function ${name}(text) {\n  const match = /^(\\d+)\\.(\\d+)(?:\\.(\\d+))?$/.exec(String(text));\n  if (!match) return null;\n  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };\n}\n`;
    default:
      return `${doc}function ${name}(list, by = (item) => item) {\n  const groups = Object.create(null);\n  for (const item of list) {\n    const key = String(by(item));\n    (groups[key] ??= []).push(item);\n  }\n  return groups;\n}\n`;
  }
}

/** A CommonJS module of `count` functions that requires its dependencies and exports everything. */
function moduleSource(rng, { header, requires, count }) {
  const names = [];
  const body = [];
  for (let i = 0; i < count; i++) {
    const name = `${rng.pick(VERBS)}${rng.pick(NOUNS)}${i}`;
    names.push(name);
    body.push(functionSource(rng, name));
  }
  const lines = [`'use strict';`, `// ${header}`, ''];
  requires.forEach((spec, i) => lines.push(`const dep${i} = require(${JSON.stringify(spec)});`));
  if (requires.length) lines.push('');
  lines.push(body.join('\n'));
  const deps = requires.map((_, i) => `dep${i}`);
  lines.push(`module.exports = { ${names.join(', ')}${deps.length ? `, dependencies: [${deps.join(', ')}]` : ''} };`, '');
  return lines.join('\n');
}

function readme(rng, name) {
  const paragraphs = Array.from({ length: rng.int(3, 10) }, () => Array.from({ length: rng.int(2, 5) }, () => sentence(rng)).join(' '));
  return [`# ${name}`, '', paragraphs[0], '', '## Install', '', '```', `npm install ${name}`, '```', '', '## Usage', '', '```js', `const lib = require('${name}');`, '```', '', ...paragraphs.slice(1).flatMap((p) => [p, '']), '## License', '', 'MIT', ''].join('\n');
}

const LICENSE = `MIT License

Copyright (c) 2024 Stockade benchmark

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
`;

/**
 * One package: versions in publish order, each with the files of its tarball. `plan(rng)`
 * gives the versions and per version its dependencies; the files follow from the seed.
 */
function buildPackage({ name, kind, versions, dependenciesOf, files: fileCounts, bundle = false, daysOffset }) {
  const built = [];
  versions.forEach((version, n) => {
    const rng = random(`${name}@${version}`);
    const dependencies = dependenciesOf(version);
    const requires = Object.keys(dependencies);
    const manifest = {
      name,
      version,
      description: sentence(rng, 8).slice(0, -1),
      main: 'index.js',
      license: 'MIT',
      keywords: [rng.pick(NOUNS).toLowerCase(), rng.pick(VERBS), 'stockade-benchmark'],
      author: 'Stockade benchmark',
      engines: { node: '>=18' },
      scripts: { test: 'node --test' },
      ...(requires.length ? { dependencies } : {}),
    };
    const files = {
      'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
      'README.md': readme(rng, name),
      LICENSE,
    };
    const libFiles = rng.int(fileCounts[0], fileCounts[1]);
    const exported = [];
    for (let f = 0; f < libFiles; f++) {
      const path = `lib/${rng.pick(NOUNS).toLowerCase()}-${f}.js`;
      files[path] = moduleSource(rng, { header: `${name} ${version}, part ${f + 1}`, requires: f === 0 ? requires : [], count: rng.int(4, 24) });
      exported.push(path);
    }
    if (bundle) {
      // An unminified bundle of the kind many libraries ship next to their sources (~150 KB).
      files[`dist/${name}.js`] = moduleSource(rng, { header: `${name} ${version}, bundled`, requires: [], count: 420 });
    }
    files['index.js'] = `'use strict';\n\nmodule.exports = Object.assign({}, ${exported.map((p) => `require('./${p}')`).join(', ')});\n`;
    if (rng.next() < 0.4) files['index.d.ts'] = `declare const lib: Record<string, (...args: unknown[]) => unknown>;\nexport = lib;\n`;
    const tarball = packTarball(files);
    const unpackedSize = Object.values(files).reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    const publishedAt = new Date(EPOCH + (daysOffset + n * 17) * 86_400_000 + (n + 1) * 3_600_000).toISOString();
    built.push({ name, version, manifest, tarball, fileCount: Object.keys(files).length, unpackedSize, publishedAt });
  });
  const stable = versions.filter((v) => semver.prerelease(v) === null);
  const distTags = { latest: stable[stable.length - 1] };
  const pre = versions.filter((v) => semver.prerelease(v) !== null);
  if (pre.length) distTags.next = pre[pre.length - 1];
  return { name, kind, versions: built, distTags };
}

/** `count` versions: 1.0.0, then minors and patches; `majors` adds a 2.x line after it. */
function versionLine(rng, count, majors = 1) {
  const out = [];
  for (let major = 1; major <= majors; major++) {
    let minor = 0;
    let patch = 0;
    for (let i = 0; i < count; i++) {
      out.push(`${major}.${minor}.${patch}`);
      if (rng.next() < 0.6) {
        minor++;
        patch = 0;
      } else patch++;
    }
  }
  return out;
}

/** Every package of the tree and the two projects installed from it. */
export function buildTree() {
  const packages = [];
  for (let i = 1; i <= UTIL_COUNT; i++) {
    const rng = random(`util ${i}`);
    const versions = versionLine(rng, rng.int(2, 5), TWO_MAJOR_UTILS.has(i) ? 2 : 1);
    // Some utilities lean on an earlier one: a third level in the tree.
    const dependsOn = i > 5 && i % 2 === 0 ? utilName(rng.int(1, 5)) : null;
    packages.push(
      buildPackage({ name: utilName(i), kind: 'util', versions, dependenciesOf: () => (dependsOn ? { [dependsOn]: '^1.0.0' } : {}), files: [1, 2], daysOffset: i }),
    );
  }
  for (let i = 1; i <= LIB_COUNT; i++) {
    const rng = random(`lib ${i}`);
    const versions = versionLine(rng, rng.int(2, 10));
    if (i % 7 === 0) versions.push('2.0.0-beta.1');
    // Three libraries in five have one to three utility dependencies.
    const deps = {};
    if (i % 5 < 3) {
      for (let d = rng.int(1, 3); d > 0; d--) {
        const u = rng.int(1, UTIL_COUNT);
        deps[utilName(u)] = TWO_MAJOR_UTILS.has(u) && i % 2 === 0 ? '^2.0.0' : '^1.0.0';
      }
    }
    packages.push(buildPackage({ name: libName(i), kind: 'lib', versions, dependenciesOf: () => deps, files: [1, 4], bundle: BUNDLED_LIBS.has(i), daysOffset: 30 + i }));
  }
  packages.push(buildPackage({ name: PRIVATE_CONFIG, kind: 'private', versions: ['1.0.0', '1.1.0'], dependenciesOf: () => ({}), files: [1, 2], daysOffset: 90 }));
  packages.push(
    buildPackage({ name: PRIVATE_AUTH, kind: 'private', versions: ['1.0.0', '1.0.1', '1.1.0'], dependenciesOf: () => ({ [PRIVATE_CONFIG]: '^1.0.0', [utilName(2)]: '^1.0.0' }), files: [1, 3], daysOffset: 91 }),
  );
  for (let i = 1; i <= 5; i++) {
    packages.push(buildPackage({ name: warmupName(i), kind: 'warmup', versions: ['1.0.0', '1.1.0'], dependenciesOf: () => ({}), files: [1, 3], daysOffset: 100 + i }));
  }
  packages.push(buildPackage({ name: PRIVATE_WARMUP, kind: 'private-warmup', versions: ['1.0.0'], dependenciesOf: () => ({}), files: [1, 1], daysOffset: 110 }));

  const project = {
    ...Object.fromEntries(Array.from({ length: LIB_COUNT }, (_, i) => [libName(i + 1), '^1.0.0'])),
    [PRIVATE_AUTH]: '^1.0.0',
    [PRIVATE_CONFIG]: '^1.0.0',
  };
  const warmup = { ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [warmupName(i + 1), '^1.0.0'])), [PRIVATE_WARMUP]: '^1.0.0' };
  return { packages, project, warmup };
}

function integrityOf(tarball) {
  return { integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`, shasum: createHash('sha1').update(tarball).digest('hex') };
}

/** The full packument (what Stockade's remote fetches) and the abbreviated one (what npm asks for). */
function packuments(pkg) {
  const base = '{{BASE}}';
  const user = { name: 'bench', email: 'bench@example.invalid' };
  const full = {};
  const corgi = {};
  for (const v of pkg.versions) {
    const dist = { ...integrityOf(v.tarball), tarball: `${base}/${pkg.name}/-/${tarballFile(pkg.name, v.version)}`, fileCount: v.fileCount, unpackedSize: v.unpackedSize };
    full[v.version] = { ...v.manifest, _id: `${pkg.name}@${v.version}`, _nodeVersion: NODE_VERSION, _npmVersion: NPM_VERSION, _npmUser: user, maintainers: [user], dist };
    const { name, version, dependencies, engines } = v.manifest;
    corgi[v.version] = { name, version, ...(dependencies ? { dependencies } : {}), engines, license: 'MIT', dist };
  }
  const times = pkg.versions.map((v) => v.publishedAt);
  const time = { created: times[0], modified: times[times.length - 1], ...Object.fromEntries(pkg.versions.map((v) => [v.version, v.publishedAt])) };
  const latest = pkg.versions.find((v) => v.version === pkg.distTags.latest);
  return {
    full: {
      _id: pkg.name,
      name: pkg.name,
      description: latest.manifest.description,
      'dist-tags': pkg.distTags,
      versions: full,
      time,
      maintainers: [user],
      license: 'MIT',
      keywords: latest.manifest.keywords,
      readme: `# ${pkg.name}\n\n${latest.manifest.description}.\n`,
      readmeFilename: 'README.md',
    },
    corgi: { name: pkg.name, 'dist-tags': pkg.distTags, modified: time.modified, versions: corgi },
  };
}

/**
 * The fixture registry's files (packuments and tarballs) and the routes file for
 * bench/npm/static-server.mjs, under `bench/.cache/remote-fixtures-v{FIXTURE_VERSION}`; built
 * the first time, read afterwards. Returns the folder, the routes file and the tree's summary.
 */
export function ensureFixtures(root, log = () => {}) {
  const dir = join(root, 'bench/.cache', `remote-fixtures-v${FIXTURE_VERSION}`);
  const summaryFile = join(dir, 'summary.json');
  const routesFile = join(dir, 'routes.json');
  // The routes name absolute paths: a cache copied from elsewhere is built again.
  if (existsSync(summaryFile) && existsSync(JSON.parse(readFileSync(routesFile, 'utf8')).routes[0].file)) {
    return { dir, routesFile, ...JSON.parse(readFileSync(summaryFile, 'utf8')) };
  }
  const started = performance.now();
  const tree = buildTree();
  // Written into a fresh folder and renamed at the end, so an interrupted run leaves no half cache.
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'packuments'), { recursive: true });
  mkdirSync(join(work, 'tarballs'), { recursive: true });
  const routes = [];
  const packages = [];
  for (const pkg of tree.packages) {
    const docs = packuments(pkg);
    for (const [variant, doc, contentType] of [
      ['full', docs.full, 'application/json'],
      ['corgi', docs.corgi, CORGI],
    ]) {
      const file = join(work, 'packuments', `${pkg.name}.${variant}.json`);
      writeFileSync(file, JSON.stringify(doc));
      routes.push({ path: `/${pkg.name}`, variant, contentType, file: join(dir, 'packuments', `${pkg.name}.${variant}.json`), rewrite: true });
    }
    const versions = [];
    for (const v of pkg.versions) {
      const name = tarballFile(pkg.name, v.version);
      writeFileSync(join(work, 'tarballs', name), v.tarball);
      routes.push({ path: `/${pkg.name}/-/${name}`, variant: 'any', contentType: 'application/octet-stream', file: join(dir, 'tarballs', name), rewrite: false });
      versions.push({ version: v.version, file: join('tarballs', name), bytes: v.tarball.length, manifest: v.manifest, ...integrityOf(v.tarball) });
    }
    packages.push({ name: pkg.name, kind: pkg.kind, distTags: pkg.distTags, versions });
  }
  writeFileSync(join(work, 'routes.json'), JSON.stringify({ routes }, null, 1));
  const summary = { fixtureVersion: FIXTURE_VERSION, packages, project: tree.project, warmup: tree.warmup };
  writeFileSync(join(work, 'summary.json'), JSON.stringify(summary, null, 1));
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  log(`generated ${packages.length} fixture packages (${packages.reduce((n, p) => n + p.versions.length, 0)} tarballs) in ${Math.round(performance.now() - started)} ms into ${dir}`);
  return { dir, routesFile, ...summary };
}

/** The packages of `kinds` as seed.mjs publishes them: `[{ name, versions: [{ name, version, manifest, tarball }] }]`. */
export function publishable(fixtures, kinds) {
  return fixtures.packages
    .filter((p) => kinds.includes(p.kind))
    .map((p) => ({ name: p.name, versions: p.versions.map((v) => ({ name: p.name, version: v.version, manifest: v.manifest, tarball: readFileSync(join(fixtures.dir, v.file)) })) }));
}

/**
 * What a correct install of `dependencies` holds: every package npm must place, resolved the way
 * npm does (highest version in range; prereleases only when asked for), as `name@version`.
 */
export function expectedInstall(fixtures, dependencies) {
  const byName = new Map(fixtures.packages.map((p) => [p.name, p]));
  const found = new Set();
  const visit = (name, range) => {
    const pkg = byName.get(name);
    if (!pkg) throw new Error(`fixture ${name} does not exist`);
    const version = semver.maxSatisfying(pkg.versions.map((v) => v.version), range);
    if (!version) throw new Error(`no version of ${name} satisfies ${range}`);
    const key = `${name}@${version}`;
    if (found.has(key)) return;
    found.add(key);
    const manifest = pkg.versions.find((v) => v.version === version).manifest;
    for (const [dep, spec] of Object.entries(manifest.dependencies ?? {})) visit(dep, spec);
  };
  for (const [name, range] of Object.entries(dependencies)) visit(name, range);
  return [...found].sort();
}

/** The tarballs of an install (`name@version` list) with their bytes, for the offline gate check. */
export function tarballsOf(fixtures, keys) {
  const byName = new Map(fixtures.packages.map((p) => [p.name, p]));
  return keys.map((key) => {
    const at = key.lastIndexOf('@');
    const pkg = byName.get(key.slice(0, at));
    const v = pkg.versions.find((x) => x.version === key.slice(at + 1));
    return { key, data: readFileSync(join(fixtures.dir, v.file)) };
  });
}
