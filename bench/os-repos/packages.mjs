import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { cleanEnv, finished, makeTempDir, removeTempDir, spawnTracked } from '../npm/processes.mjs';

/**
 * The bench's packages: small .debs built by dpkg-deb and .rpms built by rpmbuild, once, into a
 * gitignored cache keyed by kind and count (a folder only counts once its `.complete` marker is
 * written, so an interrupted build is redone). Growth runs need thousands more .debs: those are
 * built in memory (`ar` + gzip'd tarballs made with the tar module), about a thousand times faster
 * than a dpkg-deb process each.
 */

const COMPLETE = '.complete';
/** Every ALL_EVERY-th package is architecture-independent (`Architecture: all`, `noarch`). */
const ALL_EVERY = 50;
/** Spec files per rpmbuild process: one process start per spec costs more than the build. */
const SPECS_PER_RPMBUILD = 50;

export function packageName(prefix, index, width) {
  return `${prefix}-${String(index).padStart(width, '0')}`;
}

const isAll = (index) => index % ALL_EVERY === 0;

/** Runs `task` over `items` with at most `limit` in flight; resolves in order. */
export async function pool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await task(items[at], at);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function listPackages(dir, suffix) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => join(dir, f));
}

/** The cache folder's files if it is complete, else null (and the partial folder is removed). */
function cached(dir, suffix, count) {
  if (existsSync(join(dir, COMPLETE))) {
    const files = listPackages(dir, suffix);
    if (files.length === count) return files;
  }
  rmSync(dir, { recursive: true, force: true });
  return null;
}

function debControl({ name, arch, summary }) {
  // reprepro refuses packages without Section and Priority unless told defaults.
  return [
    `Package: ${name}`,
    'Version: 1.0-1',
    `Architecture: ${arch}`,
    'Maintainer: Stockade Bench <bench@localhost>',
    'Section: misc',
    'Priority: optional',
    'Installed-Size: 1',
    `Description: ${summary}`,
    ' A tiny package for the os-repos benchmark.',
    '',
  ].join('\n');
}

/** `count` .debs named `${prefix}-0001` …, built by dpkg-deb, from the cache when there. */
export async function ensureDebs({ cacheRoot, prefix, count, log }) {
  const width = Math.max(4, String(count).length);
  const dir = join(cacheRoot, `debs-${prefix}-${count}`);
  const hit = cached(dir, '.deb', count);
  if (hit) return hit;
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const stage = makeTempDir('os-repos-debs-');
  const indexes = Array.from({ length: count }, (_, i) => i + 1);
  await pool(indexes, cpus().length, async (index) => {
    const name = packageName(prefix, index, width);
    const arch = isAll(index) ? 'all' : 'amd64';
    const root = join(stage, name);
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr/share', name), { recursive: true });
    writeFileSync(join(root, 'DEBIAN/control'), debControl({ name, arch, summary: `bench package ${index}` }));
    writeFileSync(join(root, 'usr/share', name, 'README'), `${name}: bench package ${index}\n`);
    const out = join(dir, `${name}_1.0-1_${arch}.deb`);
    await finished(spawnTracked('dpkg-deb', ['--root-owner-group', '--build', root, out], { env: cleanEnv({ LC_ALL: 'C' }) }), `dpkg-deb --build ${name}`);
    rmSync(root, { recursive: true, force: true });
  });
  removeTempDir(stage);
  writeFileSync(join(dir, COMPLETE), `${new Date().toISOString()}\n`);
  log(`built ${count} .debs with dpkg-deb in ${((performance.now() - started) / 1000).toFixed(1)} s into ${dir}`);
  return listPackages(dir, '.deb');
}

function rpmSpec({ name, index, noarch }) {
  const dir = `/usr/share/${name}`;
  return [
    '%define debug_package %{nil}',
    '%define _build_id_links none',
    // The brp scripts (strip, byte-compile, …) have nothing to do here and cost most of the time.
    '%define __os_install_post %{nil}',
    '%define _binary_payload w6.gzdio',
    `Name: ${name}`,
    'Version: 1.0',
    'Release: 1',
    `Summary: bench package ${index}`,
    'License: MIT',
    ...(noarch ? ['BuildArch: noarch'] : []),
    '',
    '%description',
    'A tiny package for the os-repos benchmark.',
    '',
    '%install',
    `mkdir -p %{buildroot}${dir}`,
    `echo '${name}: bench package ${index}' > %{buildroot}${dir}/README`,
    '',
    '%files',
    `${dir}/README`,
    '',
  ].join('\n');
}

/** `count` .rpms named `${prefix}-0001` …, built by rpmbuild (many specs per process, 2 at a time). */
export async function ensureRpms({ cacheRoot, prefix, count, log }) {
  const width = Math.max(4, String(count).length);
  const dir = join(cacheRoot, `rpms-${prefix}-${count}`);
  const hit = cached(dir, '.rpm', count);
  if (hit) return hit;
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const stage = makeTempDir('os-repos-rpms-');
  const batches = [];
  for (let first = 1; first <= count; first += SPECS_PER_RPMBUILD) {
    batches.push(Array.from({ length: Math.min(SPECS_PER_RPMBUILD, count - first + 1) }, (_, i) => first + i));
  }
  await pool(batches, cpus().length, async (batch, at) => {
    const root = join(stage, `batch-${at}`);
    const top = join(root, 'top');
    const tmp = join(root, 'tmp');
    mkdirSync(top, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const specs = batch.map((index) => {
      const name = packageName(prefix, index, width);
      const path = join(root, `${name}.spec`);
      writeFileSync(path, rpmSpec({ name, index, noarch: isAll(index) }));
      return path;
    });
    const args = ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `_tmppath ${tmp}`, ...specs];
    // HOME keeps a developer's ~/.rpmmacros out of the build.
    await finished(spawnTracked('rpmbuild', args, { env: cleanEnv({ HOME: root, LC_ALL: 'C' }) }), `rpmbuild of ${specs.length} specs`);
    for (const archDir of readdirSync(join(top, 'RPMS'))) {
      for (const file of readdirSync(join(top, 'RPMS', archDir))) renameSync(join(top, 'RPMS', archDir, file), join(dir, file));
    }
    rmSync(root, { recursive: true, force: true });
  });
  removeTempDir(stage);
  const built = listPackages(dir, '.rpm');
  if (built.length !== count) throw new Error(`rpmbuild wrote ${built.length} packages, expected ${count}`);
  writeFileSync(join(dir, COMPLETE), `${new Date().toISOString()}\n`);
  log(`built ${count} .rpms with rpmbuild in ${((performance.now() - started) / 1000).toFixed(1)} s into ${dir}`);
  return built;
}

// In-memory .debs for growth runs. deb(5): an ar archive of debian-binary, control.tar.gz and
// data.tar.gz, in that order; members padded to even offsets.

const MTIME = new Date('2026-01-01T00:00:00Z');

function tarOf(entries) {
  const blocks = [];
  for (const entry of entries) {
    const header = Buffer.alloc(512);
    const size = entry.data ? entry.data.length : 0;
    new Header({ path: entry.path, mode: entry.data ? 0o644 : 0o755, size, mtime: MTIME, type: entry.data ? 'File' : 'Directory', uid: 0, gid: 0, uname: 'root', gname: 'root' }).encode(header, 0);
    blocks.push(header);
    if (entry.data) {
      blocks.push(entry.data);
      if (size % 512) blocks.push(Buffer.alloc(512 - (size % 512)));
    }
  }
  // End of archive: two zero blocks.
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function arMember(name, data) {
  const header = `${name.padEnd(16)}${String(Math.floor(MTIME.getTime() / 1000)).padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`;
  const parts = [Buffer.from(header, 'latin1'), data];
  if (data.length % 2) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** One small .deb as dpkg-deb lays it out (`./`-prefixed tar paths, root-owned), built in memory. */
export function debInMemory({ name, index, arch = 'amd64' }) {
  const readme = Buffer.from(`${name}: bench package ${index}\n`);
  const md5 = createHash('md5').update(readme).digest('hex');
  const control = tarOf([
    { path: './' },
    { path: './control', data: Buffer.from(debControl({ name, arch, summary: `bench package ${index}` })) },
    { path: './md5sums', data: Buffer.from(`${md5}  usr/share/${name}/README\n`) },
  ]);
  const data = tarOf([{ path: './' }, { path: './usr/' }, { path: './usr/share/' }, { path: `./usr/share/${name}/` }, { path: `./usr/share/${name}/README`, data: readme }]);
  return Buffer.concat([
    Buffer.from('!<arch>\n', 'latin1'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember('control.tar.gz', gzipSync(control)),
    arMember('data.tar.gz', gzipSync(data)),
  ]);
}
