import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shared by bench:gate and bench:detection: the built gate, run offline as `stockade scan` runs it. */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Files below `dir` as package paths, leaving out nested node_modules and .git. */
export function filesOf(dir, prefix = '') {
  const out = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      out.push(...filesOf(dir, rel));
    } else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** Loads the gate from dist/ (run `npm run build` first) with every analyzer and the default policy. */
export async function loadGate() {
  const dist = (p) => import(join(ROOT, 'dist', p));
  const [publish, tarball, { scanOffline }, { analyzers }, { createPopularNames }, { createMemoryAdvisoryLookup }, { createContentView }] = await Promise.all([
    dist('formats/npm/publish.js'),
    dist('formats/npm/tarball.js'),
    dist('security/offline-scan.js'),
    dist('security/analyzers/list.js'),
    dist('security/popular.js'),
    dist('security/advisory-lookup.js'),
    dist('security/view.js'),
  ]);
  const options = { analyzers, advisories: createMemoryAdvisoryLookup([]), popular: createPopularNames() };
  // Load the popular-name index before anything is timed.
  options.popular.list('npm');
  const scan = (artifact, data, view) => scanOffline({ artifact: { format: 'npm', ecosystem: 'npm', filename: 'x.tgz', ...artifact }, data, view }, options);
  return {
    /** Unpack only: the reference cost. */
    unpack: (data) => tarball.readNpmTarball(data),
    /** An npm tarball through the whole gate. */
    async scanTarball(data) {
      const inspected = publish.inspectTarball(data);
      return scan({ name: inspected.name, version: inspected.version, manifest: inspected.manifest }, data, inspected.view);
    },
    /** Package files already on disk (fixtures) through the gate, without packing them. */
    async scanFiles(entries, pkgJson) {
      const view = createContentView(entries);
      const manifest = publish.normalizeManifest(pkgJson, entries);
      return scan({ name: String(pkgJson.name), version: String(pkgJson.version), manifest }, Buffer.from(JSON.stringify(pkgJson)), view);
    },
  };
}
