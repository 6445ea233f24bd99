import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blake2b } from '@noble/hashes/blake2.js';
import { packGem } from '../lib/gem-pack.mjs';
import { finished, spawnTracked } from '../npm/processes.mjs';

/**
 * The packages of bench:language-repos, built once into the cache folder and reused: N tiny
 * wheels (one distinct project each, built by Debian's python3 with zipfile, RECORD hashed as
 * pip checks it, METADATA also written beside each as `{wheel}.metadata`) and N tiny gems
 * (packed in memory by bench/lib/gem-pack.mjs, written out because `gem generate_index` reads a
 * folder). A folder is complete once its manifest.json exists.
 */

const PYTHON = '/usr/bin/python3';

export const pad = (i, width) => String(i).padStart(width, '0');

// argv: out-dir prefix first count width. One process writes every wheel of a folder.
const WHEEL_SCRIPT = String.raw`
import base64, hashlib, sys, zipfile
out, prefix, first, count, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
for i in range(first, first + count):
    project = '%s-%0*d' % (prefix, width, i)
    module = project.replace('-', '_')
    version = '1.0.0'
    info = '%s-%s.dist-info' % (module, version)
    body = '"""Benchmark package %d."""\n__version__ = "%s"\n' % (i, version)
    body += ''.join('# filler line %04d keeps the wheel at a realistic couple of kilobytes\n' % n for n in range(24))
    files = [
        (module + '/__init__.py', body.encode()),
        (info + '/METADATA', ('Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: Benchmark package %d\nRequires-Python: >=3.8\n' % (project, version, i)).encode()),
        (info + '/WHEEL', b'Wheel-Version: 1.0\nGenerator: stockade-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
    ]
    record = ''.join('%s,%s,%d\n' % (path, digest(data), len(data)) for path, data in files) + info + '/RECORD,,\n'
    files.append((info + '/RECORD', record.encode()))
    filename = '%s/%s-%s-py3-none-any.whl' % (out, module, version)
    with open(filename + '.metadata', 'wb') as metadata:
        metadata.write(files[1][1])
    with zipfile.ZipFile(filename, 'w', zipfile.ZIP_DEFLATED) as whl:
        for path, data in files:
            entry = zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            whl.writestr(entry, data)
`;

const hex = (algorithm, data) => createHash(algorithm).update(data).digest('hex');

/** A fresh folder for `key` under the cache, or the finished one from an earlier run. */
function cached(cacheRoot, key) {
  const dir = join(cacheRoot, key);
  const manifest = join(dir, 'manifest.json');
  if (existsSync(manifest)) return { dir, manifest: JSON.parse(readFileSync(manifest, 'utf8')) };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return { dir, manifest: null };
}

/**
 * `count` wheels `benchpy-0001 … 1.0.0` (prefix and numbering from `first` as given). Returns
 * `[{ project, version, filename, path, sha256, md5, blake2_256, metadataSha256, requiresPython, size }]`,
 * the digests being what twine computes on its side before it uploads.
 */
export async function ensureWheels({ cacheRoot, prefix, first = 1, count, width, log }) {
  const { dir, manifest } = cached(cacheRoot, `wheels-${prefix}-${first}-${count}`);
  if (manifest) return manifest.map((w) => ({ ...w, path: join(dir, w.filename) }));
  const started = performance.now();
  await finished(spawnTracked(PYTHON, ['-c', WHEEL_SCRIPT, dir, prefix, String(first), String(count), String(width)]), 'python3 (building wheels)');
  const list = [];
  for (const filename of readdirSync(dir).filter((f) => f.endsWith('.whl')).sort()) {
    const data = readFileSync(join(dir, filename));
    const module = filename.split('-')[0];
    list.push({
      project: module.replace(/_/g, '-'),
      version: '1.0.0',
      filename,
      sha256: hex('sha256', data),
      md5: hex('md5', data),
      blake2_256: Buffer.from(blake2b(data, { dkLen: 32 })).toString('hex'),
      requiresPython: '>=3.8',
      size: data.length,
      // PEP 658: the METADATA file beside the wheel, for the static tree's data-dist-info-metadata.
      metadataSha256: hex('sha256', readFileSync(join(dir, `${filename}.metadata`))),
    });
  }
  if (list.length !== count) throw new Error(`python3 wrote ${list.length} wheels into ${dir}, expected ${count}`);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(list));
  log?.(`built ${count} wheels in ${Math.round(performance.now() - started)} ms (${dir})`);
  return list.map((w) => ({ ...w, path: join(dir, w.filename) }));
}

/** `count` gems `benchgem-0001 … 1.0.0`, each with one Ruby file: `[{ name, version, filename, path }]`. */
export function ensureGems({ cacheRoot, prefix, first = 1, count, width, log }) {
  const { dir, manifest } = cached(cacheRoot, `gems-${prefix}-${first}-${count}`);
  if (manifest) return manifest.map((g) => ({ ...g, path: join(dir, g.filename) }));
  const started = performance.now();
  const list = [];
  for (let i = first; i < first + count; i++) {
    const name = `${prefix}-${pad(i, width)}`;
    const version = '1.0.0';
    const lines = [`# Benchmark gem ${i}.`, `module Benchgem${pad(i, width)}`, `  VERSION = "${version}"`, '  def self.hello = "hello"', 'end'];
    for (let n = 0; n < 24; n++) lines.push(`# filler line ${pad(n, 4)} keeps the gem at a realistic couple of kilobytes`);
    const data = packGem({ name, version, summary: `Benchmark gem ${i}` }, [{ path: `lib/${name.replace(/-/g, '_')}.rb`, body: Buffer.from(`${lines.join('\n')}\n`) }]);
    const filename = `${name}-${version}.gem`;
    writeFileSync(join(dir, filename), data);
    list.push({ name, version, filename, size: data.length });
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(list));
  log?.(`packed ${count} gems in ${Math.round(performance.now() - started)} ms (${dir})`);
  return list.map((g) => ({ ...g, path: join(dir, g.filename) }));
}
