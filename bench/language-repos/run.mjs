import { Blob } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineBusy } from '../npm/cpu.mjs';
import { cleanup, finished, installCleanupHandlers, makeTempDir, removeTempDir, spawnTracked, wasInterrupted } from '../npm/processes.mjs';
import { pool } from '../os-repos/packages.mjs';
import { createDatabase } from '../os-repos/postgres.mjs';
import { formatMs } from '../os-repos/report.mjs';
import { HttpError, startStockade } from '../os-repos/stockade.mjs';
import { ensureGems, ensureWheels } from './packages.mjs';
import { countSpecs, pipDownload, runGenerateIndex, startNginx, timed, toolVersions, twineUpload, writeStaticPypi } from './references.mjs';
import { createSamples, formatTable, rowJson } from './report.mjs';

/**
 * `npm run bench:language-repos`: how fast Stockade takes and serves PyPI and RubyGems packages
 * (twine's upload protocol, the Simple API, downloads, gem push, the Marshal and compact indexes),
 * next to nginx serving a static PEP 503 tree and `gem generate_index` output, and to
 * `gem generate_index` itself, in the same invocation. See docs/benchmarks.md.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(ROOT, '.tmp/bench-language-repos');
const LOAD = fileURLToPath(new URL('./load.mjs', import.meta.url));
const SYSTEMS = ['stockade', 'nginx', 'generate_index'];
const FORMATS = ['pypi', 'rubygems'];
const VARIANTS = { 'no-gate': { id: 'no-gate', gate: false, label: 'gate off' }, gate: { id: 'gate', gate: true, label: 'gate on' } };
/** The Accept header pip 23 sends to an index: JSON (PEP 691) first, HTML as fallback. */
const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
const WIDTH = 4;
// undici's, as fetch sends it.
const { FormData } = globalThis;

const USAGE = `usage: npm run bench:language-repos -- [options]
  --count N         wheels and gems in the repository (default 500)
  --runs R          runs; each figure is the median over them (default 3)
  --adds A          "one more gem" adds per run (default 3)
  --concurrency C   uploads and pushes in flight (default 4)
  --connections C   keep-alive connections of the read-path load generator (default 16)
  --duration S      seconds of each read-path measurement, after --warmup S (defaults 2 and 1)
  --pip-projects P  projects in the end-to-end pip download (default 20)
  --db D            sqlite (default) or postgres (a fresh database on 127.0.0.1:5432 per start)
  --systems LIST    subset of ${SYSTEMS.join(',')}
  --formats LIST    subset of ${FORMATS.join(',')}
  --variants LIST   Stockade variants for the publish rows: gate,no-gate (default both; reads use
                    the gate-on server, or the only one selected)
  --stockade-dist D the build of Stockade to run (default dist)
  --wait-idle S     wait up to S seconds for other jobs on the machine to finish first (default 0)
  --no-save         do not write bench/results/language-repos-<date>.json`;

function options() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '500' },
      runs: { type: 'string', default: '3' },
      adds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '4' },
      connections: { type: 'string', default: '16' },
      duration: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '1' },
      'pip-projects': { type: 'string', default: '20' },
      db: { type: 'string', default: 'sqlite' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      formats: { type: 'string', default: FORMATS.join(',') },
      variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
      'stockade-dist': { type: 'string', default: 'dist' },
      'wait-idle': { type: 'string', default: '0' },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const integer = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${values[name]}`);
    return n;
  };
  const list = (name, known) => {
    const items = values[name].split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) if (!known.includes(item)) throw new Error(`--${name}: unknown "${item}" (use ${known.join(', ')})`);
    return known.filter((k) => items.includes(k));
  };
  if (!['sqlite', 'postgres'].includes(values.db)) throw new Error(`--db must be sqlite or postgres, got ${values.db}`);
  const opts = {
    count: integer('count', 1),
    runs: integer('runs', 1),
    adds: integer('adds', 1),
    concurrency: integer('concurrency', 1),
    connections: integer('connections', 1),
    duration: integer('duration', 1),
    warmup: integer('warmup', 0),
    waitIdle: integer('wait-idle', 0),
    db: values.db,
    systems: list('systems', SYSTEMS),
    formats: list('formats', FORMATS),
    variants: list('variants', Object.keys(VARIANTS)).map((id) => VARIANTS[id]),
    stockadeDist: values['stockade-dist'],
    save: !values['no-save'],
  };
  opts.pipProjects = Math.min(integer('pip-projects', 1), opts.count);
  if (opts.variants.length === 0) throw new Error('--variants: choose gate, no-gate or both');
  return opts;
}

const log = (line) => process.stderr.write(`${line}\n`);
const int = (n) => n.toLocaleString('en-US');
/** Above this much CPU (percent of one core) used by other processes, the figures are flagged. */
const IDLE_PCT = 15;

async function waitForIdle(seconds) {
  const deadline = Date.now() + seconds * 1000;
  let busy = await machineBusy(1000);
  while (busy !== null && busy > IDLE_PCT && Date.now() < deadline) {
    log(`machine busy: ${busy}% of one core in use by other processes, waiting`);
    busy = await machineBusy(2000);
  }
  return busy;
}

function gitDescribe() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function send(method, url, { headers = {}, body } = {}) {
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new HttpError(method, url, response.status, bytes.toString('utf8'));
  return bytes;
}

/** What a publish answer says about the gate: pass, warn or quarantine. */
function verdictOf(text) {
  if (/quarantine/i.test(text)) return 'quarantine';
  if (/warning/i.test(text)) return 'warn';
  return 'pass';
}

/**
 * The client side of Stockade's two repository protocols, as twine, gem and bundler speak them.
 * Digests are computed when the wheels are built, as twine computes them before it sends.
 */
function languageClient(server, repo) {
  const base = `${server.url}/admin/${repo}`;
  const twineAuth = `Basic ${Buffer.from(`__token__:${server.token}`).toString('base64')}`;
  return {
    pypi: `${base}/pypi`,
    rubygems: `${base}/rubygems`,
    /** The multipart POST twine 4 makes for one wheel. */
    async upload(wheel, data) {
      const form = new FormData();
      const fields = {
        ':action': 'file_upload',
        protocol_version: '1',
        metadata_version: '2.1',
        name: wheel.project,
        version: wheel.version,
        filetype: 'bdist_wheel',
        pyversion: 'py3',
        summary: `Benchmark package ${wheel.project}`,
        requires_python: wheel.requiresPython,
        md5_digest: wheel.md5,
        sha256_digest: wheel.sha256,
        blake2_256_digest: wheel.blake2_256,
      };
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      form.append('content', new Blob([data], { type: 'application/octet-stream' }), wheel.filename);
      return verdictOf((await send('POST', `${base}/pypi/legacy/`, { headers: { authorization: twineAuth }, body: form })).toString('utf8'));
    },
    /** `gem push`: the raw .gem, the API key as the whole Authorization header. */
    async push(data) {
      return verdictOf((await send('POST', `${base}/rubygems/api/v1/gems`, { headers: { authorization: server.token, 'content-type': 'application/octet-stream' }, body: data })).toString('utf8'));
    },
    /** What `gem install` and bundler read after a change: the Marshal specs and the compact index. */
    async readIndexes() {
      const specs = await send('GET', `${base}/rubygems/specs.4.8.gz`);
      const versions = (await send('GET', `${base}/rubygems/versions`)).toString('utf8');
      return { specs, versions };
    },
    async simpleIndex() {
      return (await send('GET', `${base}/pypi/simple/`, { headers: { accept: 'text/html' } })).toString('utf8');
    },
  };
}

/** Checks outside the timing: the indexes list `expected` gems, the newest among them. */
function checkGemIndexes({ specs, versions }, expected, newest) {
  const listed = countSpecs(specs);
  if (listed !== expected) throw new Error(`specs.4.8.gz lists ${listed} gems, expected ${expected}`);
  if (newest && !versions.includes(`\n${newest.name} ${newest.version} `)) throw new Error(`/versions does not list ${newest.name} ${newest.version}`);
}

const countLinks = (html) => (html.match(/<a /g) ?? []).length;

/** One read-path measurement in its own process: requests/s and MB/s over the URL list. */
async function measureLoad(opts, urls, headers = {}) {
  const dir = makeTempDir('language-repos-load-');
  try {
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ urls, headers, connections: opts.connections, duration: opts.duration, warmup: opts.warmup }));
    const { stdout } = await finished(spawnTracked(process.execPath, [LOAD, spec]), 'load generator');
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    if (result.errors > 0 || result.non2xx > 0) throw new Error(`load on ${new URL(urls[0]).pathname}: ${result.errors} errors, ${result.non2xx} non-2xx answers (first: ${result.firstBad})`);
    return result;
  } finally {
    removeTempDir(dir);
  }
}

/** Evenly spread picks of `k` out of `list`. */
const spread = (list, k) => Array.from({ length: k }, (_, i) => list[Math.floor((i * list.length) / k)]);

async function main() {
  const opts = options();
  installCleanupHandlers();
  const mainJs = resolve(ROOT, opts.stockadeDist, 'cli/main.js');
  const wants = (system) => opts.systems.includes(system);
  const doing = (format) => opts.formats.includes(format);
  if (wants('stockade') && !existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench:language-repos does)`);

  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
    stockadeCommit: gitDescribe(),
    tools: toolVersions(),
  };
  machine.busyPctAtStart = await waitForIdle(opts.waitIdle);
  machine.loadAverageAfterWait = loadavg().map((n) => Math.round(n * 100) / 100);
  const t = machine.tools;
  log(`machine: ${machine.cores} cores (${machine.cpu}), node ${machine.node}; nginx ${t.nginx}, ${t.ruby.split(' (')[0]}, gem ${t.gem}, ${t.pip}, twine ${t.twine}`);

  mkdirSync(CACHE, { recursive: true });
  const wheels = doing('pypi') ? await ensureWheels({ cacheRoot: CACHE, prefix: 'benchpy', count: opts.count, width: WIDTH, log }) : [];
  const twineWheels = doing('pypi') ? await ensureWheels({ cacheRoot: CACHE, prefix: 'benchpyx', count: 1, width: WIDTH, log }) : [];
  const gems = doing('rubygems') ? ensureGems({ cacheRoot: CACHE, prefix: 'benchgem', count: opts.count, width: WIDTH, log }) : [];
  const gemExtras = doing('rubygems') ? ensureGems({ cacheRoot: CACHE, prefix: 'benchgemx', count: opts.adds, width: WIDTH, log }) : [];
  // Files are read once, before anything is timed: the uploads then measure the server.
  const bytes = new Map([...wheels, ...gems, ...gemExtras].map((p) => [p.path, readFileSync(p.path)]));
  const pipWheels = spread(wheels, opts.pipProjects);
  log(`${int(wheels.length)} wheels and ${int(gems.length)} gems ready (cache ${CACHE.slice(ROOT.length)}), ${gemExtras.length} extra gems for the "one more" adds`);

  // The static reference tree, written once and served by nginx for the whole invocation:
  // pypi/ as a PEP 503 tree, rubygems/ as `gem generate_index` leaves it (with the extra gems, as
  // Stockade's repository has them by the time it is read).
  let nginx = null;
  if (wants('nginx')) {
    const root = makeTempDir('language-repos-static-');
    if (doing('pypi')) writeStaticPypi(join(root, 'pypi'), wheels);
    if (doing('rubygems')) {
      const { dir } = await runGenerateIndex({ gems: [...gems, ...gemExtras], extras: [], keep: true });
      execFileSync('cp', ['-a', dir, join(root, 'rubygems')]);
      removeTempDir(dir);
    }
    nginx = await startNginx(root);
    log(`nginx ${t.nginx} serving the static tree at ${nginx.url} (one worker)`);
  }

  const samples = createSamples();
  const verdicts = {};
  const notes = [];
  const n = int(opts.count);
  const NGINX = `nginx ${t.nginx} (static files)`;
  const GEN = `gem generate_index (gem ${t.gem})`;
  const STATIC = 'static PEP 503 tree (Node fs)';
  const stockadeName = (variant) => `Stockade (${opts.db}, ${variant.label})`;
  const readVariant = opts.variants.find((v) => v.gate) ?? opts.variants[0];
  const READER = stockadeName(readVariant);
  const rate = (count, ms) => count / (ms / 1000);
  const mb = (bps) => bps / 1e6;

  /**
   * One read-path operation on Stockade and, when it has one, on nginx right after. `compareWith`
   * names an nginx row measured elsewhere (the JSON pages are set against the HTML ones).
   */
  const compareLoad = async ({ operation, stockadeUrls = null, nginxUrls = null, headers = {}, compareWith = null }) => {
    let stockade = null;
    const hasReference = Boolean(nginxUrls || compareWith);
    const reference = !hasReference ? { note: 'no static reference' } : nginx ? { compare: { system: NGINX, operation: compareWith ?? operation, label: 'nginx' } } : { note: 'nginx not run (--systems)' };
    if (stockadeUrls) {
      stockade = await measureLoad(opts, stockadeUrls, headers);
      samples.add(READER, operation, stockade.rps, { unit: 'req/s', mbps: mb(stockade.bytesPerSecond), ...reference });
    }
    let ref = null;
    if (nginxUrls && nginx) {
      ref = await measureLoad(opts, nginxUrls);
      samples.add(NGINX, operation, ref.rps, { unit: 'req/s', mbps: mb(ref.bytesPerSecond) });
    }
    const show = (what, r) => `${what} ${Math.round(r.rps)} req/s (p50 ${r.latency.p50} ms)`;
    log(`  ${operation}: ${[stockade && show('Stockade', stockade), ref && show('nginx', ref)].filter(Boolean).join(', ')}`);
  };

  /** Everything measured against one Stockade server; `reads` adds the read path and pip. */
  const measureStockade = async (variant, run, reads) => {
    const system = stockadeName(variant);
    const database = opts.db === 'postgres' ? await createDatabase() : null;
    try {
      const server = await startStockade({ mainJs, gate: variant.gate, databaseUrl: database?.url ?? null });
      try {
        const repo = `lang-${run}`;
        await server.createRepo(repo, { signingKey: false });
        const client = languageClient(server, repo);
        const tally = (kind, verdict) => {
          const slot = (verdicts[`${system} ${kind}`] ??= {});
          slot[verdict] = (slot[verdict] ?? 0) + 1;
        };
        if (doing('pypi')) {
          const started = performance.now();
          const results = await pool(wheels, opts.concurrency, (w) => client.upload(w, bytes.get(w.path)));
          const ms = performance.now() - started;
          for (const v of results) tally('pypi', v);
          const listed = countLinks(await client.simpleIndex());
          const held = results.filter((v) => v === 'quarantine').length;
          if (listed !== wheels.length - held) throw new Error(`simple/ lists ${listed} projects after ${wheels.length} uploads (${held} quarantined)`);
          samples.add(system, `PyPI: upload ${n} wheels (twine's POST legacy/, ${opts.concurrency} in flight)`, rate(wheels.length, ms), { unit: 'uploads/s', note: `${formatMs(ms)} in all` });
          log(`  ${system} PyPI: ${wheels.length} uploads in ${formatMs(ms)} (${Math.round(rate(wheels.length, ms))}/s)`);
        }
        if (doing('rubygems')) {
          const started = performance.now();
          const results = await pool(gems, opts.concurrency, (g) => client.push(bytes.get(g.path)));
          const pushed = performance.now();
          const first = await client.readIndexes();
          const done = performance.now();
          for (const v of results) tally('rubygems', v);
          const held = results.filter((v) => v === 'quarantine').length;
          checkGemIndexes(first, gems.length - held);
          samples.add(system, `RubyGems: push ${n} gems (POST api/v1/gems, ${opts.concurrency} in flight)`, rate(gems.length, pushed - started), { unit: 'pushes/s', note: `${formatMs(pushed - started)} in all` });
          samples.add(system, 'RubyGems: first read after: specs.4.8.gz + /versions', done - pushed, { note: 'the indexes catch up on this read' });
          const oneMore = [];
          for (const [i, extra] of gemExtras.entries()) {
            const at = performance.now();
            const verdict = await client.push(bytes.get(extra.path));
            const read = await client.readIndexes();
            oneMore.push(performance.now() - at);
            tally('rubygems', verdict);
            if (verdict !== 'quarantine') checkGemIndexes(read, gems.length - held + i + 1, extra);
          }
          samples.add(system, 'RubyGems: one more: push + specs.4.8.gz + /versions', oneMore, { compare: { system: GEN, operation: 'one more: generate_index --update', label: 'generate_index --update' } });
          log(`  ${system} RubyGems: ${gems.length} pushes in ${formatMs(pushed - started)}, first read ${formatMs(done - pushed)}, one more ${oneMore.map(formatMs).join(' / ')}`);
        }
        if (!reads) return;
        const sys = (list, path) => list.map(path);
        if (doing('pypi')) {
          const simple = (w) => `/simple/${w.project}/`;
          const file = (w) => `/files/${w.project}/${w.filename}`;
          const on = (baseUrl, path) => (w) => `${baseUrl}${path(w)}`;
          const nginxPypi = nginx ? `${nginx.url}/pypi` : null;
          const html = 'PyPI: GET simple/{project}/ (HTML)';
          await compareLoad({ operation: html, stockadeUrls: sys(wheels, on(client.pypi, simple)), nginxUrls: nginxPypi && sys(wheels, on(nginxPypi, simple)), headers: { accept: 'text/html' } });
          await compareLoad({ operation: "PyPI: GET simple/{project}/ (JSON, pip's Accept)", stockadeUrls: sys(wheels, on(client.pypi, simple)), headers: { accept: PIP_ACCEPT }, compareWith: html });
          const download = 'PyPI: GET files/{project}/{wheel} (download)';
          await compareLoad({ operation: download, stockadeUrls: sys(wheels, on(client.pypi, file)), nginxUrls: nginxPypi && sys(wheels, on(nginxPypi, file)) });
          const pipOp = `pip download --no-deps, ${pipWheels.length} projects (one pip run)`;
          const pipMs = await pipDownload(`${client.pypi}/simple/`, pipWheels);
          samples.add(READER, pipOp, pipMs, nginx ? { compare: { system: NGINX, operation: pipOp, label: 'nginx' } } : {});
          let refMs = null;
          if (nginx) {
            refMs = await pipDownload(`${nginx.url}/pypi/simple/`, pipWheels);
            samples.add(NGINX, pipOp, refMs);
          }
          log(`  ${pipOp}: Stockade ${formatMs(pipMs)}${refMs === null ? '' : `, nginx ${formatMs(refMs)}`}`);
        }
        if (doing('rubygems')) {
          const all = [...gems, ...gemExtras];
          const nginxGems = nginx ? `${nginx.url}/rubygems` : null;
          const quick = (g) => `/quick/Marshal.4.8/${g.name}-${g.version}.gemspec.rz`;
          const gemFile = (g) => `/gems/${g.filename}`;
          const on = (baseUrl, path) => (g) => `${baseUrl}${path(g)}`;
          await compareLoad({ operation: 'RubyGems: GET /info/NAME (compact index)', stockadeUrls: sys(all, (g) => `${client.rubygems}/info/${g.name}`) });
          await compareLoad({ operation: 'RubyGems: GET /versions (compact index)', stockadeUrls: [`${client.rubygems}/versions`] });
          await compareLoad({ operation: 'RubyGems: GET specs.4.8.gz', stockadeUrls: [`${client.rubygems}/specs.4.8.gz`], nginxUrls: nginxGems && [`${nginxGems}/specs.4.8.gz`] });
          await compareLoad({ operation: 'RubyGems: GET quick/Marshal.4.8/NAME-VER.gemspec.rz', stockadeUrls: sys(all, on(client.rubygems, quick)), nginxUrls: nginxGems && sys(all, on(nginxGems, quick)) });
          await compareLoad({ operation: 'RubyGems: GET gems/NAME-VER.gem (download)', stockadeUrls: sys(all, on(client.rubygems, gemFile)), nginxUrls: nginxGems && sys(all, on(nginxGems, gemFile)) });
        }
        if (doing('pypi') && run === opts.runs) {
          // The protocol check: real twine, once, on the same server.
          const ms = await twineUpload(`${client.pypi}/legacy/`, server.token, twineWheels.map((w) => w.path));
          await send('GET', `${client.pypi}/simple/${twineWheels[0].project}/`);
          samples.add(READER, 'PyPI: real `twine upload` of 1 wheel (check; incl. its start-up)', ms);
          log(`  twine upload of ${twineWheels[0].filename}: ${formatMs(ms)}, listed by simple/`);
        }
      } finally {
        await server.stop();
      }
    } finally {
      await database?.drop();
    }
  };

  for (let run = 1; run <= opts.runs; run++) {
    log(`run ${run}/${opts.runs}`);
    if (wants('generate_index') && doing('rubygems')) {
      const r = await runGenerateIndex({ gems, extras: gemExtras });
      samples.add(GEN, `generate_index -d, ${n} gems (full)`, r.full);
      samples.add(GEN, 'one more: generate_index --update', r.update);
      samples.add(GEN, 'gem --version (Ruby start-up alone, for scale)', (await timed('gem', ['--version'], 'gem --version')).ms);
      log(`  gem generate_index: full ${formatMs(r.full)}, --update ${r.update.map(formatMs).join(' / ')}`);
    }
    if (wants('nginx') && doing('pypi')) {
      const dir = makeTempDir('language-repos-tree-');
      const started = performance.now();
      writeStaticPypi(dir, wheels);
      const ms = performance.now() - started;
      removeTempDir(dir);
      samples.add(STATIC, `write tree: ${n} wheels + .metadata copied, ${int(opts.count + 1)} pages`, rate(wheels.length, ms), { unit: 'wheels/s', note: `${formatMs(ms)} in all; no fsync` });
    }
    if (wants('stockade')) {
      // The read server last, so its figures come right after its own publish.
      const order = [...opts.variants.filter((v) => v !== readVariant), readVariant];
      for (const variant of order) await measureStockade(variant, run, variant === readVariant);
    } else if (nginx) {
      // nginx alone: its read rows without a Stockade to compare.
      if (doing('pypi')) {
        await compareLoad({ operation: 'PyPI: GET simple/{project}/ (HTML)', nginxUrls: wheels.map((w) => `${nginx.url}/pypi/simple/${w.project}/`) });
        await compareLoad({ operation: 'PyPI: GET files/{project}/{wheel} (download)', nginxUrls: wheels.map((w) => `${nginx.url}/pypi/files/${w.project}/${w.filename}`) });
      }
      if (doing('rubygems')) {
        const all = [...gems, ...gemExtras];
        await compareLoad({ operation: 'RubyGems: GET specs.4.8.gz', nginxUrls: [`${nginx.url}/rubygems/specs.4.8.gz`] });
        await compareLoad({ operation: 'RubyGems: GET quick/Marshal.4.8/NAME-VER.gemspec.rz', nginxUrls: all.map((g) => `${nginx.url}/rubygems/quick/Marshal.4.8/${g.name}-${g.version}.gemspec.rz`) });
        await compareLoad({ operation: 'RubyGems: GET gems/NAME-VER.gem (download)', nginxUrls: all.map((g) => `${nginx.url}/rubygems/gems/${g.filename}`) });
      }
    }
  }
  await nginx?.stop();

  notes.push(
    `wheels: ${n} distinct projects benchpy-0001 … (one 1.0.0 py3-none-any wheel each, about ${Math.round(wheels[0]?.size ?? 0)} bytes, built once by ${'/usr/bin/python3'} zipfile); gems: ${n} benchgem-0001 … 1.0.0 (about ${gems[0]?.size ?? 0} bytes, packed by bench/lib/gem-pack.mjs)`,
    `uploads are the multipart POST twine 4 sends (md5, sha256 and blake2_256 digests computed before timing), pushes the raw .gem with the token as Authorization, as gem push sends it; ${opts.concurrency} in flight`,
    `reads: ${opts.connections} keep-alive connections, closed loop, ${opts.warmup} s warm-up then ${opts.duration} s, URLs round-robin over every project or gem; the generator (its own node process) and the server share the ${machine.cores} cores`,
    'nginx: 1 worker, sendfile, access log off, serving a static PEP 503 tree (links with #sha256=, data-dist-info-metadata, .metadata files beside the wheels) and the gem generate_index output; it has no JSON Simple API and no compact index, so the JSON row is set against its HTML pages and the compact-index rows have no reference',
    `gem generate_index times include Ruby's start-up (see the gem --version row); Stockade's publish rows are per request and durable (each file fsynced before it is recorded); the static tree is written without fsync`,
    `${READER} also serves the read path and pip; pip is Debian's (${t.pip}), run as python3 -m pip download --isolated --no-cache-dir with PIP_CONFIG_FILE=/dev/null`,
  );

  machine.busyPctAtEnd = await machineBusy(1000);
  machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const rows = samples.rows();
  const out = [''];
  out.push(`language-repos benchmark: ${n} wheels and ${n} gems, median of ${opts.runs} run(s), ${opts.adds} one-more gems per run; ${machine.cores} cores (${machine.cpu}), node ${machine.node}, stockade ${machine.stockadeCommit}, database ${opts.db}`);
  out.push(`nginx ${t.nginx}, ${t.ruby.split(' (')[0]}, gem ${t.gem}, ${t.pip}, twine ${t.twine}`);
  const busy = machine.busyPctAtStart > IDLE_PCT || machine.busyPctAtEnd > IDLE_PCT;
  const loaded = Math.max(machine.loadAverageAfterWait[0], machine.loadAverageAtEnd[0]) > machine.cores / 2;
  if (busy || loaded) {
    out.push(
      `WARNING: the machine was not idle (other processes used ${machine.busyPctAtStart}% of a core before the run and ${machine.busyPctAtEnd}% after it; load average ${machine.loadAverageAfterWait[0]} at the start, ${machine.loadAverageAtEnd[0]} at the end, ${machine.cores} cores): the figures are noisy; rerun on a quiet machine (--wait-idle 600)`,
    );
  }
  out.push('');
  out.push(formatTable(rows, ['Stockade', 'nginx', 'static', 'gem generate_index']));
  out.push('');
  if (Object.keys(verdicts).length) out.push(`gate verdicts: ${Object.entries(verdicts).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join('; ')}`);
  for (const note of notes) out.push(`note: ${note}`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (opts.save) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `language-repos-${new Date().toISOString().slice(0, 10)}.json`);
    const results = {
      date: new Date().toISOString(),
      machine,
      settings: { count: opts.count, runs: opts.runs, adds: opts.adds, concurrency: opts.concurrency, connections: opts.connections, duration: opts.duration, warmup: opts.warmup, pipProjects: opts.pipProjects, db: opts.db, systems: opts.systems, formats: opts.formats, variants: opts.variants.map((v) => v.id), stockadeDist: opts.stockadeDist },
      rows: rows.map(rowJson),
      verdicts,
      notes,
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${file.slice(ROOT.length)}\n`);
  }
}

try {
  await main();
} catch (error) {
  if (!wasInterrupted()) process.stderr.write(`bench:language-repos failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
