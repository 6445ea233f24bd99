import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanup, installCleanupHandlers, wasInterrupted } from '../npm/processes.mjs';
import { formatProfile, summarizeProfile } from '../npm/profile-summary.mjs';
import { machineBusy } from '../npm/cpu.mjs';
import { debInMemory, ensureDebs, ensureRpms, packageName, pool } from './packages.mjs';
import { createDatabase } from './postgres.mjs';
import { createSigningKey, ensureTools, runAptly, runCreaterepo, runReprepro, toolVersions } from './references.mjs';
import { REFERENCE, TARGETS, applyTargets, formatMs, formatTable, stats } from './report.mjs';
import { HttpError, checkApt, checkRpm, startStockade } from './stockade.mjs';

/**
 * `npm run bench:os-repos`: how fast Stockade publishes APT and RPM repositories (upload of
 * N packages + the first signed index read, then one more package), next to aptly, reprepro and
 * createrepo_c doing the same in the same invocation. See docs/benchmarks.md.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(ROOT, '.tmp/bench-os-repos');
const SYSTEMS = ['aptly', 'reprepro', 'createrepo_c', 'stockade'];
const VARIANTS = { gate: { id: 'gate', gate: true, label: 'gate on' }, 'no-gate': { id: 'no-gate', gate: false, label: 'gate off' } };
const CHECKPOINTS = [1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];
const DEB_DIST = 'bench';
const RPM_DIST = 'el/9';

const USAGE = `usage: npm run bench:os-repos -- [options]
  --count N        packages of each kind in the repository (default 1000)
  --runs R         runs per system; each figure is the median over them (default 3)
  --adds A         "one more package" adds per run (default 5)
  --grow N         also fill a Stockade repository with .debs up to N and time one more at
                   1,000, 2,000, 5,000, 10,000 … (default: off)
  --concurrency C  uploads in flight during Stockade's ingest (default 4)
  --workers W      Stockade's server.workers: server processes sharing the port (default 1; auto = one per CPU)
  --db D           sqlite (default) or postgres (a fresh database on 127.0.0.1:5432 per start)
  --systems LIST   subset of ${SYSTEMS.join(',')}
  --variants LIST  Stockade variants: gate,no-gate (default both)
  --stockade-dist D  the build of Stockade to run (default dist)
  --profile        run Stockade under --cpu-prof (into .tmp/bench-os-repos/profiles/) and print
                   the top self-time functions of each server; profiled figures are not comparable
  --wait-idle S    wait up to S seconds for other jobs on the machine to finish first (default 0)
  --no-save        do not write bench/results/os-repos-<date>.json`;

function options() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '3' },
      adds: { type: 'string', default: '5' },
      grow: { type: 'string', default: '0' },
      concurrency: { type: 'string', default: '4' },
      workers: { type: 'string', default: '1' },
      db: { type: 'string', default: 'sqlite' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
      'stockade-dist': { type: 'string', default: 'dist' },
      profile: { type: 'boolean', default: false },
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
    grow: integer('grow', 0),
    concurrency: integer('concurrency', 1),
    workers: values.workers === 'auto' ? 'auto' : integer('workers', 1),
    waitIdle: integer('wait-idle', 0),
    db: values.db,
    systems: list('systems', SYSTEMS),
    variants: list('variants', Object.keys(VARIANTS)).map((id) => VARIANTS[id]),
    stockadeDist: values['stockade-dist'],
    profileDir: values.profile ? join(CACHE, 'profiles', new Date().toISOString().replace(/[:.]/g, '-')) : null,
    save: !values['no-save'],
  };
  if (opts.grow > 0 && opts.grow <= opts.count) throw new Error(`--grow must be above --count (${opts.count}), got ${opts.grow}`);
  return opts;
}

const log = (line) => process.stderr.write(`${line}\n`);
/** Above this much CPU (percent of one core) used by other processes, the figures are flagged. */
const IDLE_PCT = 15;

/** Percent of one core other processes use, after waiting up to `seconds` for it to drop. */
async function waitForIdle(seconds) {
  const deadline = Date.now() + seconds * 1000;
  let busy = await machineBusy(1000);
  while (busy !== null && busy > IDLE_PCT && Date.now() < deadline) {
    log(`machine busy: ${busy}% of one core in use by other processes, waiting`);
    busy = await machineBusy(2000);
  }
  return busy;
}
const int = (n) => n.toLocaleString('en-US');

function gitDescribe() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Collects samples per (system, operation) over the runs, in first-seen order. */
function createSamples() {
  const rows = new Map();
  const row = (system, operation, extra = {}) => {
    const key = `${system}\u0000${operation}`;
    if (!rows.has(key)) rows.set(key, { system, operation, samples: [], ...extra });
    return rows.get(key);
  };
  return {
    add(system, operation, ms, extra) {
      row(system, operation, extra).samples.push(...[ms].flat());
    },
    na(system, operation, reason, extra) {
      row(system, operation, extra).na ??= reason;
    },
    rows: () => [...rows.values()],
  };
}

/** An upload answer that means "this server has no such format yet", not a failure of the bench. */
function formatMissing(error) {
  return error instanceof HttpError && (error.status === 404 || error.status === 415 || error.code === 'UNSUPPORTED_FORMAT');
}

/** Uploads files (paths or `{ filename, data() }`) with `concurrency` in flight; returns verdict counts. */
async function uploadAll(server, repo, items, dist, concurrency) {
  const verdicts = {};
  await pool(items, concurrency, async (item) => {
    const result = await server.upload(repo, item.filename, item.data(), dist);
    verdicts[result.verdict] = (verdicts[result.verdict] ?? 0) + 1;
  });
  return verdicts;
}

const fromFiles = (files, cache) => files.map((file) => ({ filename: basename(file), data: () => cache.get(file) }));

/**
 * One format on one fresh server: ingest every package into an empty repository, the first
 * signed publish, then one more package at a time.
 */
async function measureFormat(server, { kind, repo, dist, files, extras, cache, concurrency }) {
  await server.createRepo(repo);
  const fetch = kind === 'deb' ? () => server.fetchApt(repo, dist) : () => server.fetchRpm(repo, dist);
  const check = kind === 'deb' ? checkApt : checkRpm;
  const started = performance.now();
  const verdicts = await uploadAll(server, repo, fromFiles(files, cache), dist, concurrency);
  const uploaded = performance.now();
  const published = await fetch();
  const done = performance.now();
  check(published, files.length);
  const oneMore = [];
  for (const [i, extra] of fromFiles(extras, cache).entries()) {
    const t = performance.now();
    const result = await server.upload(repo, extra.filename, extra.data(), dist);
    const fetched = await fetch();
    oneMore.push(performance.now() - t);
    check(fetched, files.length + i + 1);
    verdicts[result.verdict] = (verdicts[result.verdict] ?? 0) + 1;
  }
  // The bulk path: the same files into another empty repository as one tar stream (POST …/import).
  const importRepo = `${repo}-import`;
  await server.createRepo(importRepo);
  const importStarted = performance.now();
  const imported = await server.importFiles(importRepo, files, dist);
  const importDone = performance.now();
  const importPublished = await (kind === 'deb' ? server.fetchApt(importRepo, dist) : server.fetchRpm(importRepo, dist));
  const importTotal = performance.now() - importStarted;
  check(importPublished, files.length);
  if (imported.failed > 0) throw new Error(`import refused ${imported.failed} files: ${JSON.stringify(imported.results.find((r) => r.error))}`);
  return { ingest: uploaded - started, publish: done - uploaded, total: done - started, oneMore, verdicts, importIngest: importDone - importStarted, importTotal };
}

/** A fresh server (and database) for one variant, stopped and dropped whatever happens. */
async function withServer(opts, mainJs, variant, body) {
  const database = opts.db === 'postgres' ? await createDatabase() : null;
  try {
    const nodeArgs = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
    const server = await startStockade({ mainJs, gate: variant.gate, databaseUrl: database?.url ?? null, nodeArgs, workers: opts.workers });
    try {
      return await body(server);
    } finally {
      await server.stop();
    }
  } finally {
    await database?.drop();
  }
}

/** A start failure caused by the gate switch this build does not know yet: the variant is n/a. */
function gateSwitchMissing(variant, error) {
  if (variant.gate) return null;
  const text = String(error.message);
  if (!/exited during startup/.test(text) || !/gate|unrecognized|unknown key/i.test(text)) return null;
  const line = text.split('\n').find((l) => /gate|unrecognized|unknown key/i.test(l) && !/exited during startup/.test(l)) ?? text.split('\n')[0];
  return `this build refuses gate: { enabled: false }: ${line.trim().slice(0, 160)}`;
}

async function main() {
  const opts = options();
  installCleanupHandlers();
  const mainJs = resolve(ROOT, opts.stockadeDist, 'cli/main.js');
  const wants = (system) => opts.systems.includes(system);
  if (wants('stockade') && !existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench:os-repos does)`);

  const needed = ['dpkg-deb', 'rpmbuild'];
  if (wants('aptly')) needed.push('aptly');
  if (wants('reprepro')) needed.push('reprepro');
  if (wants('createrepo_c')) needed.push('createrepo_c');
  if (wants('aptly') || wants('reprepro') || wants('createrepo_c')) needed.push('gpg', 'gpgconf');
  await ensureTools(needed, log);

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
  log(`machine: ${machine.cores} cores (${machine.cpu}), node ${machine.node}; aptly ${machine.tools.aptly}, reprepro ${machine.tools.reprepro}, createrepo_c ${machine.tools.createrepo_c}, gpg ${machine.tools.gpg}`);

  mkdirSync(CACHE, { recursive: true });
  if (opts.profileDir) mkdirSync(opts.profileDir, { recursive: true });
  const debs = await ensureDebs({ cacheRoot: CACHE, prefix: 'benchpkg', count: opts.count, log });
  const debExtras = await ensureDebs({ cacheRoot: CACHE, prefix: 'benchextra', count: opts.adds, log });
  const rpms = await ensureRpms({ cacheRoot: CACHE, prefix: 'benchpkg', count: opts.count, log });
  const rpmExtras = await ensureRpms({ cacheRoot: CACHE, prefix: 'benchextra', count: opts.adds, log });
  // Files are read once, before anything is timed: the uploads then measure the server.
  const cache = new Map([...debs, ...debExtras, ...rpms, ...rpmExtras].map((file) => [file, readFileSync(file)]));
  log(`${int(opts.count)} .debs and ${int(opts.count)} .rpms ready (cache ${CACHE.slice(ROOT.length)}), ${opts.adds} extra of each for the "one more" adds`);

  const notes = [];
  const samples = createSamples();
  const signing = { skip: false, reason: null };
  const key = wants('aptly') || wants('reprepro') || wants('createrepo_c') ? await createSigningKey() : null;
  const variantNa = {};
  const verdicts = {};
  const n = int(opts.count);

  /** A reference run; when signing with the throwaway key fails, the rest run unsigned (and say so). */
  const signed = async (what, run) => {
    try {
      return await run();
    } catch (error) {
      if (signing.skip || !/gpg|sign|secret key|passphrase/i.test(error.message)) throw error;
      signing.skip = true;
      signing.reason = error.message.split('\n').slice(0, 3).join(' ').slice(0, 300);
      log(`${what}: signing with the throwaway key failed, publishing unsigned from now on: ${signing.reason}`);
      return run();
    }
  };

  for (let run = 1; run <= opts.runs; run++) {
    const tag = `run ${run}/${opts.runs}`;
    if (wants('aptly')) {
      const r = await signed('aptly', () => runAptly({ debs, extras: debExtras, key, signing }));
      samples.add('aptly', `repo create + repo add, ${n} .debs`, r.add, { reference: REFERENCE['aptly/add'] });
      samples.add('aptly', 'publish repo', r.publish, { reference: REFERENCE['aptly/publish'] });
      samples.add('aptly', 'total', r.total);
      samples.add('aptly', 'one more: repo add + publish update', r.oneMore, { reference: REFERENCE['aptly/one-more'] });
      log(`${tag} aptly: add ${formatMs(r.add)}, publish ${formatMs(r.publish)}, one more ${r.oneMore.map(formatMs).join(' / ')}`);
    }
    if (wants('reprepro')) {
      const r = await signed('reprepro', () => runReprepro({ debs, extras: debExtras, key, signing }));
      samples.add('reprepro', `includedeb ${n} .debs (one call, incl. export)`, r.total, { reference: REFERENCE['reprepro/total'] });
      samples.add('reprepro', 'one more: includedeb', r.oneMore, { reference: REFERENCE['reprepro/one-more'] });
      log(`${tag} reprepro: includedeb ${formatMs(r.total)}, one more ${r.oneMore.map(formatMs).join(' / ')}`);
    }
    if (wants('createrepo_c')) {
      const r = await runCreaterepo({ rpms, extras: rpmExtras, key });
      samples.add('createrepo_c', `createrepo_c, ${n} .rpms`, r.full, { reference: REFERENCE['createrepo_c/full'] });
      samples.add('createrepo_c', 'gpg --detach-sign repomd.xml', r.fullSign);
      samples.add('createrepo_c', 'one more: createrepo_c --update', r.update, { reference: REFERENCE['createrepo_c/update'] });
      samples.add('createrepo_c', 'one more: --update + sign', r.update.map((ms, i) => ms + r.updateSign[i]));
      log(`${tag} createrepo_c: full ${formatMs(r.full)} + sign ${formatMs(r.fullSign)}, --update ${r.update.map(formatMs).join(' / ')}`);
    }
    if (!wants('stockade')) continue;
    for (const variant of opts.variants) {
      const system = `Stockade (${opts.db}, ${variant.label}${opts.workers === 1 ? '' : `, ${opts.workers} workers`})`;
      const rowsOf = (kind) => {
        const what = kind === 'deb' ? `.debs` : `.rpms`;
        const publish = kind === 'deb' ? 'InRelease + Packages.gz' : 'repomd.xml + .asc + primary.xml.gz';
        return {
          ingest: `${kind}: upload ${n} ${what}, ${opts.concurrency} in flight`,
          publish: `${kind}: first publish (GET ${publish})`,
          total: `${kind}: upload + publish, ${n} ${what}`,
          importIngest: `${kind}: import ${n} ${what} (one tar stream)`,
          importTotal: `${kind}: import + publish, ${n} ${what}`,
          oneMore: `${kind}: one more: upload + publish`,
        };
      };
      const naAll = (reason, kinds = ['deb', 'rpm']) => {
        for (const kind of kinds) for (const label of Object.values(rowsOf(kind))) samples.na(system, label, reason);
      };
      if (variantNa[variant.id]) {
        naAll(variantNa[variant.id]);
        continue;
      }
      try {
        await withServer(opts, mainJs, variant, async (server) => {
          for (const kind of ['deb', 'rpm']) {
            const labels = rowsOf(kind);
            const targets = {
              total: {},
              importTotal: kind === 'deb' && !variant.gate ? { target: `≤ ${formatMs(TARGETS.ingestDebsMs)}`, targetMs: TARGETS.ingestDebsMs } : {},
              oneMore: { target: `≤ ${formatMs(TARGETS.oneMoreMs)}`, targetMs: TARGETS.oneMoreMs },
            };
            try {
              const r = await measureFormat(server, {
                kind,
                repo: `${kind}-${run}`,
                dist: kind === 'deb' ? DEB_DIST : RPM_DIST,
                files: kind === 'deb' ? debs : rpms,
                extras: kind === 'deb' ? debExtras : rpmExtras,
                cache,
                concurrency: opts.concurrency,
              });
              samples.add(system, labels.ingest, r.ingest);
              samples.add(system, labels.publish, r.publish);
              samples.add(system, labels.total, r.total, targets.total);
              samples.add(system, labels.importIngest, r.importIngest);
              samples.add(system, labels.importTotal, r.importTotal, targets.importTotal);
              samples.add(system, labels.oneMore, r.oneMore, targets.oneMore);
              for (const [verdict, count] of Object.entries(r.verdicts)) {
                const slot = (verdicts[`${system} ${kind}`] ??= {});
                slot[verdict] = (slot[verdict] ?? 0) + count;
              }
              log(`${tag} ${system} ${kind}: upload ${formatMs(r.ingest)} + publish ${formatMs(r.publish)} = ${formatMs(r.total)}; import + publish ${formatMs(r.importTotal)}; one more ${r.oneMore.map(formatMs).join(' / ')}`);
            } catch (error) {
              if (kind !== 'rpm' || !formatMissing(error)) throw error;
              const reason = `rpm format not available: ${error.message.slice(0, 200)}`;
              for (const label of Object.values(labels)) samples.na(system, label, reason, label === labels.importTotal ? targets.importTotal : {});
              log(`${tag} ${system} rpm: n/a (${reason})`);
            }
          }
        });
      } catch (error) {
        const reason = gateSwitchMissing(variant, error);
        if (!reason) throw error;
        variantNa[variant.id] = reason;
        naAll(reason);
        log(`${tag} ${system}: n/a (${reason})`);
      }
    }
  }

  const growth = wants('stockade') && opts.grow > 0 ? await measureGrowth(opts, mainJs, variantNa) : null;
  if (growth) {
    notes.push(`growth runs use .debs built in memory by bench/os-repos/packages.mjs (ar + gzip'd tarballs from the tar module, ${growth.buildMsPerDeb.toFixed(2)} ms each), not dpkg-deb`);
    for (const g of growth.variants) {
      const system = `Stockade growth (${opts.db}, ${VARIANTS[g.variant].label})`;
      if (g.na) {
        samples.na(system, `one more .deb, up to ${int(opts.grow)}`, g.na);
        continue;
      }
      for (const point of g.checkpoints) {
        samples.add(system, `one more .deb at ${int(point.packages)} in repo`, point.oneMore, { target: `≤ ${formatMs(TARGETS.oneMoreMs)}`, targetMs: TARGETS.oneMoreMs });
      }
    }
  }

  if (key) {
    notes.push(
      signing.skip
        ? `aptly and reprepro published UNSIGNED (-skip-signing / no SignWith): signing with the throwaway key failed: ${signing.reason}`
        : 'aptly, reprepro and the repomd.xml signature sign with a throwaway RSA 4096 GnuPG key in a temp GNUPGHOME (aptly gpgProvider gpg2), made before timing',
    );
    await key.stop();
  }
  notes.push(
    'aptly and reprepro publish amd64 and arm64 (as Stockade does); aptly also writes its default Contents indexes',
    'createrepo_c does not sign; the gpg --detach-sign of repomd.xml a signed repository needs is timed on its own row',
    'Stockade: each run starts a fresh server and database; the repository signing key (RSA 4096) is made before timing; publish = the first read after the change (indexes render lazily)',
    `the .debs come from dpkg-deb (xz), the .rpms from rpmbuild (gzip payload); ${debs.filter((f) => f.endsWith('_all.deb')).length} .debs are Architecture: all, ${rpms.filter((f) => f.endsWith('.noarch.rpm')).length} .rpms noarch`,
  );

  machine.busyPctAtEnd = await machineBusy(1000);
  const rows = samples.rows();
  const checks = applyTargets(rows);
  const out = [''];
  out.push(`os-repos benchmark: ${int(opts.count)} packages, median of ${opts.runs} run(s), ${opts.adds} one-more adds per run; ${machine.cores} cores (${machine.cpu}), node ${machine.node}, stockade ${machine.stockadeCommit}, database ${opts.db}`);
  out.push(`aptly ${machine.tools.aptly}, reprepro ${machine.tools.reprepro}, createrepo_c ${machine.tools.createrepo_c}, gpg ${machine.tools.gpg}`);
  if (machine.busyPctAtStart > IDLE_PCT || machine.busyPctAtEnd > IDLE_PCT) {
    out.push(`WARNING: other processes used ${machine.busyPctAtStart}% of a core before the run and ${machine.busyPctAtEnd}% after it: the figures are noisy; rerun on a quiet machine (--wait-idle 600)`);
  }
  out.push('');
  out.push(formatTable(rows));
  out.push('');
  out.push(`targets (Stockade): ≤ ${formatMs(TARGETS.ingestDebsMs)} for ${n === '1,000' ? '1,000' : `1,000 (here ${n})`} .debs without the gate; ≤ ${formatMs(TARGETS.oneMoreMs)} for one more, flat up to 10,000`);
  for (const check of checks) out.push(`  ${check.na ? 'n/a   ' : check.met ? 'met   ' : 'MISSED'}  ${check.system}: ${check.operation}: ${check.na ? check.na : formatMs(check.medianMs)}`);
  out.push('issue figures (same kind of machine): aptly 2.15 s add + 0.27 s publish, 0.31 s one more; reprepro 0.60 s, 0.08 s one more; createrepo_c 0.17 s for 1,000, 0.17 s --update');
  if (Object.keys(verdicts).length) out.push(`gate verdicts: ${Object.entries(verdicts).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join('; ')}`);
  if (growth) {
    for (const g of growth.variants.filter((v) => !v.na)) {
      const first = stats(g.checkpoints[0]?.oneMore)?.median;
      const last = stats(g.checkpoints.at(-1)?.oneMore)?.median;
      const bulk = g.checkpoints.map((p) => `${int(p.packages)}: ${Math.round(p.bulkPerSecond)}/s`).join(', ');
      out.push(`growth ${VARIANTS[g.variant].label}: one more at ${int(g.checkpoints.at(-1).packages)} is ${(last / first).toFixed(2)}× the cost at ${int(g.checkpoints[0].packages)}; bulk upload rate up to each checkpoint: ${bulk}`);
    }
  }
  out.push('');
  for (const note of notes) out.push(`note: ${note}`);
  if (opts.profileDir && existsSync(opts.profileDir)) {
    for (const file of readdirSync(opts.profileDir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
      out.push('', `profile ${join(opts.profileDir, file).slice(ROOT.length)}:`, formatProfile(summarizeProfile(join(opts.profileDir, file), { top: 15 })));
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);

  if (opts.save) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `os-repos-${new Date().toISOString().slice(0, 10)}.json`);
    const results = {
      date: new Date().toISOString(),
      machine,
      settings: { count: opts.count, runs: opts.runs, adds: opts.adds, grow: opts.grow, concurrency: opts.concurrency, db: opts.db, systems: opts.systems, variants: opts.variants.map((v) => v.id), stockadeDist: opts.stockadeDist },
      targets: TARGETS,
      reference: REFERENCE,
      signing: key ? (signing.skip ? { signed: false, reason: signing.reason } : { signed: true, key: 'RSA 4096, throwaway' }) : null,
      rows: rows.map((r) => ({ system: r.system, operation: r.operation, ...(r.na ? { na: r.na } : { ms: stats(r.samples), samples: r.samples.map((ms) => Math.round(ms * 10) / 10) }), ...(r.targetMs ? { targetMs: r.targetMs, met: r.met ?? null } : {}), ...(r.reference !== undefined ? { issueMs: r.reference } : {}) })),
      checks,
      verdicts,
      growth,
      notes,
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${file.slice(ROOT.length)}\n`);
  }
}

/**
 * Fills one repository per variant with in-memory .debs up to --grow and times one more at each
 * checkpoint. Before each set of adds one untimed read renders the indexes, as a published
 * repository would have them.
 */
async function measureGrowth(opts, mainJs, variantNa) {
  const points = CHECKPOINTS.filter((c) => c < opts.grow);
  if (!points.includes(opts.grow)) points.push(opts.grow);
  const width = String(opts.grow).length;
  const t = performance.now();
  for (let i = 0; i < 200; i++) debInMemory({ name: packageName('benchgrow', i, width), index: i });
  const buildMsPerDeb = (performance.now() - t) / 200;
  const variants = [];
  for (const variant of opts.variants) {
    if (variantNa[variant.id]) {
      variants.push({ variant: variant.id, na: variantNa[variant.id] });
      continue;
    }
    const checkpoints = await withServer(opts, mainJs, variant, async (server) => {
      const repo = 'grow';
      await server.createRepo(repo);
      let inRepo = 0;
      let next = 1;
      const list = [];
      for (const packages of points) {
        const fill = Array.from({ length: packages - inRepo }, () => next++).map((index) => {
          const name = packageName('benchgrow', index, width);
          return { filename: `${name}_1.0-1_amd64.deb`, data: () => debInMemory({ name, index }) };
        });
        const started = performance.now();
        await uploadAll(server, repo, fill, DEB_DIST, opts.concurrency);
        const bulkMs = performance.now() - started;
        inRepo += fill.length;
        checkApt(await server.fetchApt(repo, DEB_DIST), inRepo);
        const oneMore = [];
        for (let i = 1; i <= opts.adds; i++) {
          const name = `benchgrowx-${packages}-${i}`;
          const data = debInMemory({ name, index: i });
          const at = performance.now();
          await server.upload(repo, `${name}_1.0-1_amd64.deb`, data, DEB_DIST);
          const fetched = await server.fetchApt(repo, DEB_DIST);
          oneMore.push(performance.now() - at);
          inRepo++;
          checkApt(fetched, inRepo);
        }
        list.push({ packages, bulkUploaded: fill.length, bulkMs: Math.round(bulkMs), bulkPerSecond: fill.length / (bulkMs / 1000), oneMore: oneMore.map((ms) => Math.round(ms * 10) / 10), ms: stats(oneMore) });
        log(`growth ${variant.label}: ${int(packages)} in repo (bulk ${int(fill.length)} in ${formatMs(bulkMs)}), one more ${oneMore.map(formatMs).join(' / ')}`);
      }
      return list;
    });
    variants.push({ variant: variant.id, checkpoints });
  }
  return { buildMsPerDeb, variants };
}

try {
  await main();
} catch (error) {
  if (!wasInterrupted()) process.stderr.write(`bench:os-repos failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
