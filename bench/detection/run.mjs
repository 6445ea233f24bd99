import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { filesOf, loadGate, ROOT } from '../lib/gate.mjs';
import { parseArgs } from 'node:util';

/**
 * `npm run bench:detection`: how the gate's rules behave on a benign corpus (the most-downloaded
 * npm packages, fetched with `npm pack` into bench/.cache at run time, never committed) and on our
 * malicious fixtures. Prints per-rule firing rates and precision/recall/F1/FPR at each verdict
 * level of the default policy. The npm client fetches from whatever registry it is configured
 * for; nothing here names one.
 */

const USAGE = `usage: npm run bench:detection -- [--benign N] [--offline]
  --benign N   most-downloaded npm packages in the benign set (default 1000)
  --offline    use only tarballs already in the cache (no npm pack)`;

const { values } = parseArgs({ options: { benign: { type: 'string' }, offline: { type: 'boolean' }, help: { type: 'boolean' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const benignCount = Number(values.benign ?? 1000);
const CACHE = join(ROOT, 'bench/.cache/detection');
const FIXTURES = join(ROOT, 'test/security/malware/fixtures');
const LEVELS = ['warn', 'quarantine', 'block'];
const rankOf = (action) => ['allow', ...LEVELS].indexOf(action);

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

const fmtPct = (n, d) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);

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
