import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesOf, loadGate, ROOT } from '../lib/gate.mjs';
import { parseArgs } from 'node:util';
import { create as createTar } from 'tar';

/**
 * `npm run bench:gate`: the security gate's latency and throughput on real npm packages. The
 * corpus is every package installed in node_modules, packed as `npm pack` would lay it out. The
 * reference column is the unpack alone (gunzip + tar walk, no bodies kept, no analyzers) on the
 * same tarballs, so the gate's own cost is visible next to it.
 */

const USAGE = `usage: npm run bench:gate -- [--limit N] [--max-mb M] [--runs R]
  --limit N    at most N packages (default all)
  --max-mb M   skip packages whose files exceed M MiB (default 64)
  --runs R     timed runs per package; the median counts (default 3)`;

const { values } = parseArgs({ options: { limit: { type: 'string' }, 'max-mb': { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const limit = values.limit ? Number(values.limit) : Infinity;
const maxBytes = Number(values['max-mb'] ?? 64) * 1024 * 1024;
const runs = Number(values.runs ?? 3);

const gate = await loadGate();

function packageDirs() {
  const base = join(ROOT, 'node_modules');
  const dirs = [];
  for (const entry of readdirSync(base)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const sub of readdirSync(join(base, entry))) dirs.push(join(base, entry, sub));
    } else dirs.push(join(base, entry));
  }
  return dirs.filter((d) => {
    try {
      return statSync(join(d, 'package.json')).isFile();
    } catch {
      return false;
    }
  });
}

function pack(dir) {
  const files = filesOf(dir);
  const size = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  if (size > maxBytes || files.length === 0) return null;
  // Synchronous packing into a file: tar's streaming packer stalled on some package folders.
  const file = join(scratch, 'package.tgz');
  createTar({ gzip: true, cwd: dir, portable: true, prefix: 'package', sync: true, file }, files);
  return { data: readFileSync(file), unpacked: size };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const fmt = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const scratch = mkdtempSync(join(tmpdir(), 'stockade-bench-gate-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const rows = [];
const perAnalyzer = new Map();
const dirs = packageDirs().slice(0, limit);
process.stderr.write(`packing ${dirs.length} installed packages…\n`);
for (const dir of dirs) {
  let packed;
  if (process.env.BENCH_TRACE) process.stderr.write(`${dir}\n`);
  try {
    packed = pack(dir);
  } catch {
    continue;
  }
  if (!packed) continue;
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name ?? dir;
  const unpackTimes = [];
  const gateTimes = [];
  let verdict = '';
  let outcomes = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    gate.unpack(packed.data);
    unpackTimes.push(performance.now() - t);
    t = performance.now();
    let result;
    try {
      result = await gate.scanTarball(packed.data);
    } catch {
      break;
    }
    gateTimes.push(performance.now() - t);
    verdict = result.verdict.action;
    outcomes = result.report.outcomes;
  }
  if (gateTimes.length === 0) continue;
  for (const o of outcomes) perAnalyzer.set(o.analyzer, (perAnalyzer.get(o.analyzer) ?? 0) + o.ms);
  rows.push({ name, tgz: packed.data.length, unpacked: packed.unpacked, unpackMs: median(unpackTimes), gateMs: median(gateTimes), verdict });
}

const all = rows.map((r) => r.gateMs);
const small = rows.filter((r) => r.tgz >= 25 * 1024 && r.tgz <= 100 * 1024);
const totalUnpacked = rows.reduce((s, r) => s + r.unpacked, 0);
const totalGate = rows.reduce((s, r) => s + r.gateMs, 0);
const totalUnpack = rows.reduce((s, r) => s + r.unpackMs, 0);
const mbps = (bytes, ms) => bytes / 1024 / 1024 / (ms / 1000);

console.log(`\nsecurity gate on ${rows.length} real npm packages (${fmt(totalUnpacked / 1024 / 1024)} MiB unpacked), median of ${runs} runs each, 1 core\n`);
console.log('| measure | gate (unpack + all analyzers + policy) | reference: unpack only | target |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| p50 per artifact, tarballs 25–100 KB (n=${small.length}) | ${fmt(median(small.map((r) => r.gateMs)))} ms | ${fmt(median(small.map((r) => r.unpackMs)))} ms | ≤ 50 ms |`);
console.log(`| p99 per artifact, tarballs 25–100 KB | ${fmt(pct(small.map((r) => r.gateMs), 99))} ms | ${fmt(pct(small.map((r) => r.unpackMs), 99))} ms | |`);
console.log(`| p50 per artifact, all | ${fmt(median(all))} ms | ${fmt(median(rows.map((r) => r.unpackMs)))} ms | |`);
console.log(`| p99 per artifact, all | ${fmt(pct(all, 99))} ms | ${fmt(pct(rows.map((r) => r.unpackMs), 99))} ms | |`);
console.log(`| throughput, unpacked content | ${fmt(mbps(totalUnpacked, totalGate))} MB/s | ${fmt(mbps(totalUnpacked, totalUnpack))} MB/s | ≥ 20 MB/s |`);
console.log('\ntime per analyzer (last run of each package, all packages):');
for (const [id, ms] of [...perAnalyzer.entries()].sort((a, b) => b[1] - a[1])) console.log(`  ${id.padEnd(16)} ${fmt(ms, 0)} ms`);
console.log('\nslowest packages:');
for (const r of [...rows].sort((a, b) => b.gateMs - a.gateMs).slice(0, 5)) {
  console.log(`  ${r.name.padEnd(30)} ${fmt(r.gateMs)} ms for ${fmt(r.unpacked / 1024 / 1024)} MiB (${r.verdict})`);
}
const verdicts = new Map();
for (const r of rows) verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
console.log(`\nverdicts under the default policy: ${[...verdicts.entries()].map(([v, n]) => `${v} ${n}`).join(', ')}`);
