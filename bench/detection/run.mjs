import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packGem } from '../lib/gem-pack.mjs';
import { filesOf, loadGate, ROOT } from '../lib/gate.mjs';
import { parseArgs } from 'node:util';

/**
 * `npm run bench:detection`: how the gate's rules behave on a benign corpus (the most-downloaded
 * npm packages, fetched with `npm pack` into bench/.cache at run time, never committed) and on our
 * malicious fixtures. Prints per-rule firing rates and precision/recall/F1/FPR at each verdict
 * level of the default policy. The npm client fetches from whatever registry it is configured
 * for; nothing here names one. The PyPI and RubyGems parts follow (see runPypi, runRubygems);
 * `--only` picks one part.
 */

const USAGE = `usage: npm run bench:detection -- [--benign N] [--offline] [--only npm|pypi|rubygems] [--details]
  --benign N   most-downloaded npm packages in the benign set (default 1000)
  --offline    use only tarballs already in the cache (no npm pack)
  --only X     run only one part: npm, pypi or rubygems (default: all three, in that order)
  --details    PyPI and RubyGems: list the benign corpus packages each rule fires on`;

const PARTS = ['npm', 'pypi', 'rubygems'];
const { values } = parseArgs({ options: { benign: { type: 'string' }, offline: { type: 'boolean' }, only: { type: 'string' }, details: { type: 'boolean' }, help: { type: 'boolean' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.only !== undefined && !PARTS.includes(values.only)) {
  console.error(`--only takes one of ${PARTS.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const runs = (part) => values.only === undefined || values.only === part;
const benignCount = Number(values.benign ?? 1000);
const CACHE = join(ROOT, 'bench/.cache/detection');
const FIXTURES = join(ROOT, 'test/security/malware/fixtures');
const LEVELS = ['warn', 'quarantine', 'block'];
const rankOf = (action) => ['allow', ...LEVELS].indexOf(action);
const fmtPct = (n, d) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);

if (runs('npm')) {
const gate = await loadGate();

/** Cache file name of a package spec, as `npm pack` names it. */
const packName = (name) => name.replace(/^@/, '').replace('/', '-');

function fetchBenign(names) {
  mkdirSync(CACHE, { recursive: true });
  const have = new Set(readdirSync(CACHE));
  const missing = names.filter((n) => ![...have].some((f) => f.startsWith(`${packName(n)}-`) && f.endsWith('.tgz')));
  if (missing.length === 0 || values.offline) return;
  process.stderr.write(`npm pack: ${missing.length} packages into ${CACHE}\n`);
  for (let i = 0; i < missing.length; i += 40) {
    const batch = missing.slice(i, i + 40);
    try {
      execFileSync('npm', ['pack', ...batch, '--pack-destination', CACHE, '--silent', '--ignore-scripts'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
    } catch {
      // One unavailable package fails the batch: fetch its members one by one.
      for (const name of batch) {
        try {
          execFileSync('npm', ['pack', name, '--pack-destination', CACHE, '--silent', '--ignore-scripts'], { stdio: 'ignore', timeout: 120_000 });
        } catch {
          process.stderr.write(`  could not fetch ${name}\n`);
        }
      }
    }
    process.stderr.write(`  ${Math.min(i + 40, missing.length)}/${missing.length}\n`);
  }
}

function benignTarballs(names) {
  const files = readdirSync(CACHE).filter((f) => f.endsWith('.tgz'));
  const out = [];
  for (const name of names) {
    // The newest cached version of this name (npm pack names files <name>-<version>.tgz).
    const prefix = `${packName(name)}-`;
    const match = files.filter((f) => f.startsWith(prefix) && /^\d/.test(f.slice(prefix.length))).sort().at(-1);
    if (match) out.push({ id: name, file: join(CACHE, match) });
  }
  return out;
}

/** A fixture folder scanned as the package it describes, without packing it. */
async function scanFixture(dir) {
  const entries = filesOf(dir).map((path) => {
    const body = readFileSync(join(dir, path));
    return { path, type: 'file', size: body.length, mode: statSync(join(dir, path)).mode & 0o777, body };
  });
  return gate.scanFiles(entries, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')));
}


const names = readFileSync(join(ROOT, 'assets/popular/npm.tsv'), 'utf8')
  .split('\n')
  .map((l) => l.split('\t')[0]?.trim())
  .filter((n) => n && !n.startsWith('#') && n !== 'name')
  .slice(0, benignCount);
fetchBenign(names);

const samples = [];
for (const { id, file } of benignTarballs(names)) {
  try {
    const { verdict } = await gate.scanTarball(readFileSync(file));
    samples.push({ id, set: 'benign', verdict });
  } catch (error) {
    process.stderr.write(`  ${id}: ${error.message}\n`);
  }
}
const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8'));
for (const fixture of index) {
  if (!existsSync(join(FIXTURES, fixture.path, 'package.json'))) continue;
  const { verdict } = await scanFixture(join(FIXTURES, fixture.path));
  samples.push({ id: fixture.id, set: fixture.expected === 'malicious' ? 'malicious' : 'benign-fixture', verdict, technique: fixture.technique });
}

const benign = samples.filter((s) => s.set === 'benign');
const lookalikes = samples.filter((s) => s.set === 'benign-fixture');
const malicious = samples.filter((s) => s.set === 'malicious');
console.log(`\ndetection with the default policy: ${benign.length} popular npm packages (top ${benignCount}), ${malicious.length} malicious fixtures, ${lookalikes.length} benign look-alike fixtures\n`);

// Per rule: packages where the rule produced a finding whose action is at least warn.
const rules = new Map();
for (const s of samples) {
  const fired = new Set(s.verdict.findings.filter((f) => rankOf(f.action) >= 1).map((f) => f.rule));
  for (const rule of fired) {
    const r = rules.get(rule) ?? { benign: 0, malicious: 0, lookalike: 0 };
    if (s.set === 'benign') r.benign++;
    else if (s.set === 'malicious') r.malicious++;
    else r.lookalike++;
    rules.set(rule, r);
  }
}
console.log('| rule (warn or stronger) | fires on benign | on look-alikes | recall on malicious |');
console.log('| --- | ---: | ---: | ---: |');
for (const [rule, r] of [...rules.entries()].sort((a, b) => b[1].benign - a[1].benign || b[1].malicious - a[1].malicious)) {
  const noisy = benign.length > 0 && r.benign / benign.length > 0.1 ? ' (noisy: >10%)' : '';
  console.log(`| ${rule} | ${r.benign} (${fmtPct(r.benign, benign.length)})${noisy} | ${r.lookalike} | ${r.malicious} (${fmtPct(r.malicious, malicious.length)}) |`);
}

console.log('\n| verdict at least | TP | FP (popular) | FP (look-alikes) | FN | precision | recall | F1 | FPR (popular) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const level of LEVELS) {
  const hit = (s) => rankOf(s.verdict.action) >= rankOf(level);
  const tp = malicious.filter(hit).length;
  const fpPopular = benign.filter(hit).length;
  const fpLook = lookalikes.filter(hit).length;
  const fn = malicious.length - tp;
  const fp = fpPopular + fpLook;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = malicious.length === 0 ? 0 : tp / malicious.length;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  console.log(`| ${level} | ${tp} | ${fpPopular} | ${fpLook} | ${fn} | ${(100 * precision).toFixed(1)}% | ${(100 * recall).toFixed(1)}% | ${(100 * f1).toFixed(1)}% | ${fmtPct(fpPopular, benign.length)} |`);
}

const blocked = benign.filter((s) => s.verdict.action === 'block');
const noisy = [...rules.entries()].filter(([, r]) => benign.length > 0 && r.benign / benign.length > 0.1);
const missed = malicious.filter((s) => s.verdict.action === 'allow');
const recallWarn = malicious.length === 0 ? 0 : (malicious.length - missed.length) / malicious.length;
console.log('\ntargets:');
console.log(`  no block on a popular package: ${blocked.length === 0 ? 'met' : `NOT met (${blocked.map((s) => s.id).join(', ')})`}`);
console.log(`  no warn-level rule on more than 10% of them: ${noisy.length === 0 ? 'met' : `NOT met (${noisy.map(([r]) => r).join(', ')})`}`);
console.log(`  recall on malicious fixtures >= 95%: ${(100 * recallWarn).toFixed(1)}% ${recallWarn >= 0.95 ? 'met' : 'NOT met'}${missed.length ? ` (missed: ${missed.map((s) => s.id).join(', ')})` : ''}`);
for (const s of benign.filter((x) => rankOf(x.verdict.action) >= 2)) {
  console.log(`  held or blocked popular package ${s.id}: ${s.verdict.action}: ${s.verdict.reasons.slice(0, 2).join('; ')}`);
}
}
if (runs('pypi')) await runPypi();
if (runs('rubygems')) await runRubygems();

/**
 * The PyPI part: real malicious sdists kept outside the repository (read as bytes, parsed in
 * memory, never unpacked to disk or run), the Python fixtures of the test suite, and a benign
 * corpus of Debian's installed Python sources, each top-level package scanned as a wheel.
 */
async function runPypi() {
  const SAMPLES = process.env.STOCKADE_PYPI_SAMPLES ?? join(ROOT, '../shared/data/malware-dev/pypi');
  const DEBIAN = ['/usr/lib/python3/dist-packages', '/usr/lib/python3.11'];
  const { tsImport } = await import('tsx/esm/api');
  const harness = await tsImport(join(ROOT, 'test/security/malware/python/pypi-harness.ts'), import.meta.url);
  const { PYTHON_FIXTURES } = await tsImport(join(ROOT, 'test/security/malware/python/python-fixtures.ts'), import.meta.url);
  const dist = (p) => import(join(ROOT, 'dist', p));
  const [{ scanOffline }, { analyzers }, { createPopularNames }, { createMemoryAdvisoryLookup }, { createContentView }] = await Promise.all([
    dist('security/offline-scan.js'),
    dist('security/analyzers/list.js'),
    dist('security/popular.js'),
    dist('security/advisory-lookup.js'),
    dist('security/view.js'),
  ]);
  const options = { analyzers, advisories: createMemoryAdvisoryLookup([]), popular: createPopularNames() };
  const scan = async (a) => {
    const { sha256: _s, size: _z, digests: _d, ...artifact } = a.artifact;
    return (await scanOffline({ artifact, data: a.data, view: a.view }, options)).verdict;
  };

  const samples = [];
  const started = Date.now();
  if (existsSync(SAMPLES)) {
    for (const file of readdirSync(SAMPLES).filter((f) => /\.(?:tar\.gz|zip)$/.test(f)).sort()) {
      try {
        const verdict = await scan(await harness.parsedSdist(readFileSync(join(SAMPLES, file)), file));
        samples.push({ id: file, set: 'malicious', verdict });
      } catch (error) {
        process.stderr.write(`  ${file}: ${error.message}\n`);
        samples.push({ id: file, set: 'malicious', verdict: { action: 'allow', findings: [], reasons: [] } });
      }
    }
  } else process.stderr.write(`no malicious PyPI samples at ${SAMPLES}\n`);
  const realCount = samples.length;
  for (const f of PYTHON_FIXTURES) {
    const a = f.kind === 'sdist' ? await harness.sdistArtifact(f.files) : await harness.wheelArtifact(f.files);
    samples.push({ id: `fixture:${f.id}`, set: f.expected === 'malicious' ? 'malicious' : 'benign-fixture', verdict: await scan(a) });
  }
  let debianFiles = 0;
  for (const root of DEBIAN.filter((r) => existsSync(r))) {
    for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      // The sandbox's own site hook is not part of Debian.
      if (entry.name === '__pycache__' || entry.name.startsWith('_sandbox')) continue;
      const paths = entry.isDirectory() ? filesOf(root, entry.name).filter((p) => p.endsWith('.py') && !p.includes('__pycache__')) : entry.name.endsWith('.py') ? [entry.name] : [];
      if (paths.length === 0) continue;
      const entries = paths.map((path) => {
        const body = readFileSync(join(root, path));
        return { path, type: 'file', size: body.length, mode: 0o644, body };
      });
      debianFiles += entries.length;
      const view = createContentView(entries);
      const name = entry.name.replace(/\.py$/, '').replace(/[^A-Za-z0-9._-]/g, '-');
      const manifest = { name, version: '0', packagetype: 'bdist_wheel', filename: `${name}-0-py3-none-any.whl` };
      const data = Buffer.from(JSON.stringify(paths));
      const verdict = await scan({ artifact: { format: 'pypi', ecosystem: 'PyPI', name, version: '0', filename: manifest.filename, manifest, sha256: '', size: 0 }, data, view });
      samples.push({ id: `${root}/${entry.name}`, set: 'benign', verdict });
    }
  }
  const benign = samples.filter((s) => s.set === 'benign');
  const lookalikes = samples.filter((s) => s.set === 'benign-fixture');
  const malicious = samples.filter((s) => s.set === 'malicious');
  console.log(
    `\nPyPI detection with the default policy: ${realCount} real malicious sdists, ${malicious.length - realCount} malicious fixtures, ` +
      `${lookalikes.length} benign look-alike fixtures, ${benign.length} Debian Python packages (${debianFiles} .py files); ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  printTables(samples, 'Debian');
  const real = malicious.slice(0, realCount);
  const held = real.filter((s) => rankOf(s.verdict.action) >= rankOf('quarantine'));
  console.log('\ntargets:');
  console.log(`  every real malicious sdist quarantined or blocked: ${held.length}/${real.length} ${held.length === real.length ? 'met' : `NOT met (${real.filter((s) => !held.includes(s)).map((s) => s.id).join(', ')})`}`);
  const benignHeld = [...benign, ...lookalikes].filter((s) => rankOf(s.verdict.action) >= rankOf('quarantine'));
  const byMalware = benignHeld.filter((s) => s.verdict.findings.some((f) => f.analyzer === 'malware' && rankOf(f.action) >= rankOf('quarantine')));
  console.log(`  no benign package quarantined by the malware analyzer: ${byMalware.length === 0 ? 'met' : `NOT met (${byMalware.map((s) => s.id).join(', ')})`}`);
  console.log(`  no benign package quarantined by any analyzer: ${benignHeld.length === 0 ? 'met' : 'NOT met'}`);
  for (const s of benignHeld) console.log(`  held benign ${s.id}: ${s.verdict.action}: ${s.verdict.reasons.slice(0, 2).join('; ')}`);
}

/**
 * The RubyGems part: the inert Ruby fixtures of the test suite (malicious techniques and benign
 * look-alikes) and a benign corpus of the Ruby gems and libraries Debian installed, every one
 * packed into a real .gem in memory and read back as an upload is (parseGem, then the gate
 * manifest) before the gate judges it. Installed trees are read in place, never copied or run.
 */
async function runRubygems() {
  const GEM_ROOTS = ['/usr/lib/ruby/gems/3.1.0/gems', ...rubygemsIntegrationGemDirs('/usr/share/rubygems-integration')];
  const LIB_ROOTS = ['/usr/lib/ruby/vendor_ruby', '/usr/lib/ruby/3.1.0'];
  const { tsImport } = await import('tsx/esm/api');
  const { RUBY_FIXTURES } = await tsImport(join(ROOT, 'test/security/malware/ruby-fixtures/fixtures.ts'), import.meta.url);
  const dist = (p) => import(join(ROOT, 'dist', p));
  const [{ inspectGem }, { scanOffline }, { analyzers }, { createPopularNames }, { createMemoryAdvisoryLookup }, { executableKind }] = await Promise.all([
    dist('formats/rubygems/publish.js'),
    dist('security/offline-scan.js'),
    dist('security/analyzers/list.js'),
    dist('security/popular.js'),
    dist('security/advisory-lookup.js'),
    dist('security/analyzers/malware/binary-magic.js'),
  ]);
  const options = { analyzers, advisories: createMemoryAdvisoryLookup([]), popular: createPopularNames() };
  /** A .gem through the upload's reading (parseGem, rubygemsGateManifest) and then the gate. */
  const scanGem = async (data) => {
    const gem = await inspectGem(data);
    const artifact = { format: 'rubygems', ecosystem: 'RubyGems', name: gem.name, version: gem.version, filename: gem.filename, manifest: gem.manifest };
    return (await scanOffline({ artifact, data, view: gem.view }, options)).verdict;
  };
  const failed = (error) => ({ action: 'allow', findings: [], reasons: [], failures: [String(error.message)] });

  const samples = [];
  const started = Date.now();
  for (const f of RUBY_FIXTURES) {
    const files = Object.entries(f.gem.files).map(([path, body]) => ({ path, body: Buffer.from(body), mode: path.startsWith('exe/') ? 0o755 : 0o644 }));
    const spec = {
      name: f.gem.name,
      version: '1.0.0',
      platform: f.gem.platform ?? 'ruby',
      authors: ['Fixture Author'],
      bindir: 'exe',
      executables: f.gem.executables ?? [],
      extensions: f.gem.extensions ?? [],
      ...(f.gem.postInstallMessage !== undefined ? { postInstallMessage: f.gem.postInstallMessage } : {}),
    };
    const set = f.expected === 'malicious' ? 'malicious' : 'benign-fixture';
    try {
      samples.push({ id: `fixture:${f.id}`, set, verdict: await scanGem(packGem(spec, files)) });
    } catch (error) {
      process.stderr.write(`  fixture ${f.id}: ${error.message}\n`);
      samples.push({ id: `fixture:${f.id}`, set, verdict: failed(error) });
    }
  }

  let corpusFiles = 0;
  for (const gem of rubyCorpus(GEM_ROOTS, LIB_ROOTS)) {
    const files = gem.files.map(({ path, full, mode }) => ({ path, body: readFileSync(full), mode }));
    corpusFiles += files.length;
    const paths = files.map((f) => f.path);
    const spec = {
      name: gem.name,
      version: gem.version,
      // Compiled code in an installed tree was built on this machine: a platform gem's shape.
      platform: files.some((f) => executableKind(f.body) !== undefined) ? 'x86_64-linux' : 'ruby',
      authors: ['Debian'],
      licenses: ['Ruby'],
      bindir: paths.some((p) => p.startsWith('exe/')) ? 'exe' : 'bin',
      executables: paths.filter((p) => /^(?:exe|bin)\/[^/]+$/.test(p)).map((p) => p.slice(p.indexOf('/') + 1)),
      extensions: paths.filter((p) => /^ext\/.*(?:extconf|mkrf_conf)\.rb$/.test(p)),
    };
    try {
      samples.push({ id: gem.source, set: 'benign', verdict: await scanGem(packGem(spec, files)) });
    } catch (error) {
      process.stderr.write(`  ${gem.source}: ${error.message}\n`);
      samples.push({ id: gem.source, set: 'benign', verdict: failed(error) });
    }
  }

  const benign = samples.filter((s) => s.set === 'benign');
  const lookalikes = samples.filter((s) => s.set === 'benign-fixture');
  const malicious = samples.filter((s) => s.set === 'malicious');
  console.log(
    `\nRubyGems detection with the default policy: ${malicious.length} malicious fixtures, ${lookalikes.length} benign look-alike fixtures, ` +
      `${benign.length} Debian Ruby gems and libraries (${corpusFiles} files); ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  printTables(samples, 'Debian');

  const quarantined = (s) => rankOf(s.verdict.action) >= rankOf('quarantine');
  const missed = malicious.filter((s) => !quarantined(s));
  const benignHeld = benign.filter(quarantined);
  const lookalikesHeld = lookalikes.filter(quarantined);
  const broken = samples.filter((s) => (s.verdict.failures ?? []).length > 0);
  console.log('\ntargets:');
  console.log(`  every malicious fixture quarantined or blocked: ${malicious.length - missed.length}/${malicious.length} ${missed.length === 0 ? 'met' : `NOT met (${missed.map((s) => `${s.id}: ${s.verdict.action}`).join(', ')})`}`);
  console.log(`  no Debian gem quarantined: ${benignHeld.length === 0 ? 'met' : `NOT met (${benignHeld.length})`}`);
  console.log(`  look-alikes quarantined: ${lookalikesHeld.length}${lookalikesHeld.length ? ` (${lookalikesHeld.map((s) => s.id).join(', ')})` : ''}`);
  for (const s of [...benignHeld, ...lookalikesHeld]) console.log(`  held benign ${s.id}: ${s.verdict.action}: ${s.verdict.reasons.slice(0, 2).join('; ')}`);
  for (const s of broken) console.log(`  analyzer or parser failure on ${s.id}: ${s.verdict.failures.map((f) => (typeof f === 'string' ? f : JSON.stringify(f))).join('; ')}`);
}

/** The gem directories below the rubygems-integration tree (`<ruby version or all>/gems`). */
function rubygemsIntegrationGemDirs(root) {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'gems')))
    .map((e) => join(root, e.name, 'gems'))
    .sort();
}

/**
 * Regular files below `dir` as `{ path, full, mode }`. A symlink to a file counts as that file (a
 * packed gem carries the bytes); symlinked directories are not followed, so no loop is possible.
 */
function treeFiles(dir, prefix, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) treeFiles(full, path, out);
    else if (entry.isFile() || (entry.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isFile())) out.push({ path, full, mode: statSync(full).mode & 0o777 });
  }
  return out;
}

/**
 * The benign Ruby corpus, whole: each installed gem directory as a gem (name and version from the
 * directory name), and each top-level library of a plain library tree (`open3.rb` with `open3/`)
 * as a gem with those files under lib/. Architecture directories (compiled extensions) are left out.
 */
function rubyCorpus(gemRoots, libRoots) {
  const out = [];
  for (const root of gemRoots.filter((r) => existsSync(r))) {
    for (const dir of readdirSync(root).sort()) {
      const files = treeFiles(join(root, dir), '');
      const m = /^(.+)-(\d[\w.]*)$/.exec(dir);
      if (files.length > 0) out.push({ source: join(root, dir), name: m?.[1] ?? dir, version: m?.[2] ?? '0.0.0', files });
    }
  }
  for (const root of libRoots.filter((r) => existsSync(r))) {
    const groups = new Map();
    for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (/-linux/.test(entry.name)) continue;
      const name = entry.name.replace(/\.rb$/, '');
      const files = groups.get(name) ?? [];
      groups.set(name, files);
      if (entry.isDirectory()) treeFiles(join(root, entry.name), `lib/${entry.name}`, files);
      else if (entry.isFile()) files.push({ path: `lib/${entry.name}`, full: join(root, entry.name), mode: 0o644 });
    }
    for (const [name, files] of groups) if (files.length > 0) out.push({ source: join(root, name), name, version: '0.0.0', files });
  }
  return out;
}

/** Warn-or-stronger rules, for the rule table. */
function firedRules(verdict) {
  return new Set(verdict.findings.filter((f) => rankOf(f.action) >= 1).map((f) => f.rule));
}

/**
 * The PyPI and RubyGems tables: per rule, how often it fires at warn or stronger on the benign
 * corpus (`corpus` names it), the look-alikes and the malicious set; then TP/FP/FN, precision,
 * recall, F1 and the corpus FPR at each verdict level. `--details` lists the corpus hits per rule.
 */
function printTables(samples, corpus) {
  const benign = samples.filter((s) => s.set === 'benign');
  const lookalikes = samples.filter((s) => s.set === 'benign-fixture');
  const malicious = samples.filter((s) => s.set === 'malicious');
  const rules = new Map();
  for (const s of samples) {
    for (const rule of firedRules(s.verdict)) {
      const r = rules.get(rule) ?? { benign: 0, malicious: 0, lookalike: 0 };
      r[s.set === 'benign' ? 'benign' : s.set === 'malicious' ? 'malicious' : 'lookalike']++;
      rules.set(rule, r);
    }
  }
  console.log(`| rule (warn or stronger) | fires on ${corpus} | on look-alikes | on malicious |`);
  console.log('| --- | ---: | ---: | ---: |');
  for (const [rule, r] of [...rules.entries()].sort((a, b) => b[1].malicious - a[1].malicious || b[1].benign - a[1].benign)) {
    const noisy = benign.length > 0 && r.benign / benign.length > 0.1 ? ' (noisy: >10%)' : '';
    console.log(`| ${rule} | ${r.benign} (${fmtPct(r.benign, benign.length)})${noisy} | ${r.lookalike} | ${r.malicious} (${fmtPct(r.malicious, malicious.length)}) |`);
  }
  console.log(`\n| verdict at least | TP | FP (${corpus}) | FP (look-alikes) | FN | precision | recall | F1 | FPR (${corpus}) |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const level of LEVELS) {
    const hit = (s) => rankOf(s.verdict.action) >= rankOf(level);
    const tp = malicious.filter(hit).length;
    const fpCorpus = benign.filter(hit).length;
    const fpLook = lookalikes.filter(hit).length;
    const fp = fpCorpus + fpLook;
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = malicious.length === 0 ? 0 : tp / malicious.length;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    console.log(`| ${level} | ${tp} | ${fpCorpus} | ${fpLook} | ${malicious.length - tp} | ${(100 * precision).toFixed(1)}% | ${(100 * recall).toFixed(1)}% | ${(100 * f1).toFixed(1)}% | ${fmtPct(fpCorpus, benign.length)} |`);
  }
  const ranked = [...rules.entries()].filter(([, r]) => r.benign > 0).sort((a, b) => b[1].benign - a[1].benign);
  if (ranked.length > 0) {
    console.log(`\nnoisiest rules on ${corpus}: ${ranked.slice(0, 5).map(([rule, r]) => `${rule} ${r.benign} (${fmtPct(r.benign, benign.length)})`).join(', ')}`);
  }
  if (values.details) {
    for (const [rule] of ranked) {
      const hits = benign.filter((s) => s.verdict.findings.some((f) => f.rule === rule && rankOf(f.action) >= 1));
      const where = (s) => [...new Set(s.verdict.findings.filter((f) => f.rule === rule && rankOf(f.action) >= 1).map((f) => (f.location ? `${f.location.file}${f.location.line ? `:${f.location.line}` : ''}` : f.message.slice(0, 80))))].slice(0, 3).join('; ');
      console.log(`  ${rule}: ${hits.map((s) => `${s.id} (${where(s)})`).join(', ')}`);
    }
  }
}
