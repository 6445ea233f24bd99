import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MANY, TARBALL, TEN, buildFixtures, tarballFile } from './fixtures.mjs';
import { timeInstalls } from './install-timing.mjs';
import { cpuBetween, cpuSnapshot, machineBusy } from './cpu.mjs';
import { cleanEnv, cleanup, finished, installCleanupHandlers, makeTempDir, spawnTracked, useNice, wasInterrupted } from './processes.mjs';
import { formatProfile, summarizeProfile } from './profile-summary.mjs';
import { REFERENCE, TARGETS, checkTargets, formatCpuTable, formatTable, formatTargets } from './report.mjs';
import { captureStatic, seed, verifySeed } from './seed.mjs';
import { VERDACCIO_VERSION, ensureVerdaccio, npmCommand, startStatic, startStockade, startVerdaccio } from './systems.mjs';

/**
 * `npm run bench:npm`: Stockade (built dist/, its own process), Verdaccio and a bare node:http
 * server side by side on the npm read path, plus a cold `npm install`. See docs/benchmarks.md.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORGI = 'application/vnd.npm.install-v1+json';
const SYSTEM_IDS = ['stockade', 'verdaccio', 'static'];
/** Above this much CPU (percent of one core) used by others, a run is flagged as disturbed. */
const IDLE_PCT = 15;

const USAGE = `usage: npm run bench:npm -- [options]
  --duration S       seconds measured per scenario and round (default 5)
  --rounds N         rounds over every system and scenario; each cell reports its median (default 3)
  --warmup S         seconds of unmeasured load before each (default 2)
  --connections N    concurrent connections (default 50)
  --generator G      wrk (default; Debian's, apt-get installed if missing) or autocannon
  --install-runs N   timed cold npm installs per system (default 3)
  --systems LIST     subset of ${SYSTEM_IDS.join(',')}
  --scenarios LIST   subset of full-10,abbrev-500,tarball-52k
  --skip-install     leave out the npm install timing
  --wait-idle S      wait up to S seconds for other jobs on the machine to finish first (default 0)
  --nice=N           run the servers, generator and npm at this nice value (e.g. --nice=-10, needs root)
  --stockade-dist D  the build of Stockade to run (default dist; e.g. a patched copy to compare)
  --profile          run Stockade under --cpu-prof and print its top self-time functions
  --no-save          do not write bench/results/npm-<date>.json`;

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      generator: { type: 'string', default: 'wrk' },
      'install-runs': { type: 'string', default: '3' },
      systems: { type: 'string', default: SYSTEM_IDS.join(',') },
      scenarios: { type: 'string' },
      'skip-install': { type: 'boolean', default: false },
      'wait-idle': { type: 'string', default: '0' },
      nice: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'stockade-dist': { type: 'string', default: 'dist' },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, got ${values[name]}`);
    return n;
  };
  if (!['wrk', 'autocannon'].includes(values.generator)) throw new Error(`--generator must be wrk or autocannon, got ${values.generator}`);
  if (values.nice !== undefined && !/^-?\d+$/.test(values.nice)) throw new Error(`--nice must be an integer, got ${values.nice}`);
  const systems = values.systems.split(',').map((s) => s.trim());
  for (const s of systems) if (!SYSTEM_IDS.includes(s)) throw new Error(`unknown system "${s}" (use ${SYSTEM_IDS.join(', ')})`);
  if (systems.includes('static') && !systems.some((s) => s !== 'static')) throw new Error('the static server serves bytes captured from a registry: add stockade or verdaccio');
  return {
    duration: number('duration'),
    rounds: Math.max(1, Math.round(number('rounds'))),
    warmup: number('warmup'),
    connections: number('connections'),
    generator: values.generator,
    installRuns: Math.max(1, Math.round(number('install-runs'))),
    systems: SYSTEM_IDS.filter((s) => systems.includes(s)),
    scenarios: values.scenarios?.split(',').map((s) => s.trim()),
    install: !values['skip-install'],
    waitIdle: number('wait-idle'),
    nice: values.nice === undefined ? null : Number.parseInt(values.nice, 10),
    profile: values.profile,
    stockadeDist: values['stockade-dist'],
    save: !values['no-save'],
  };
}

function scenarios(packages, filter) {
  const tarball = packages.find((p) => p.name === TARBALL).versions[0].tarball;
  const list = [
    { id: 'full-10', label: 'full packument, 10 versions', path: TEN, accept: 'application/json' },
    { id: 'abbrev-500', label: 'abbreviated packument, 500 versions', path: MANY, accept: CORGI },
    { id: 'tarball-52k', label: `tarball, ${(tarball.length / 1000).toFixed(1)} KB`, path: `${TARBALL}/-/${tarballFile(TARBALL, '1.0.0')}`, accept: '*/*' },
  ];
  return filter ? list.filter((s) => filter.includes(s.id)) : list;
}

function gitDescribe() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${commit}${dirty ? ' (src has uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

function machineInfo(generator) {
  const list = cpus();
  const npm = npmCommand();
  let npmVersion = 'unknown';
  try {
    npmVersion = execFileSync(npm.command, [...npm.args, '--version'], { encoding: 'utf8', env: cleanEnv() }).trim();
  } catch {
    // Reported as unknown.
  }
  return {
    cores: list.length,
    cpu: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    npm: npmVersion,
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
    stockadeCommit: gitDescribe(),
    verdaccio: VERDACCIO_VERSION,
    generator: generator === 'wrk' ? wrkVersion() : `autocannon ${JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')).version}`,
  };
}

function wrkVersion() {
  try {
    execFileSync('wrk', ['--version'], { encoding: 'utf8' });
  } catch (error) {
    // wrk prints its version and usage, then exits 1.
    const match = /wrk (\S+)/.exec(String(error.stdout ?? ''));
    if (match) return `wrk ${match[1]}`;
  }
  return 'wrk';
}

/** wrk from Debian's packages: there already, or apt-get installed when we are root. */
async function ensureWrk(log) {
  const has = () => {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
      return true;
    } catch (error) {
      return error.code !== 'ENOENT';
    }
  };
  if (has()) return true;
  if (process.getuid?.() !== 0) return false;
  const apt = async (...args) => {
    try {
      await finished(spawnTracked('apt-get', args, { env: cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' }) }), `apt-get ${args.join(' ')}`);
      return true;
    } catch {
      return false;
    }
  };
  log('installing wrk with apt-get …');
  // A fresh machine may not have the package lists yet.
  if (!(await apt('install', '-y', 'wrk')) && (await apt('update'))) await apt('install', '-y', 'wrk');
  return has();
}

/** Microseconds on the monotonic clock, the one V8 stamps .cpuprofile samples with. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** One scenario against one system: a plain GET to check the answer, then load from a child process. */
async function measure(system, scenario, auth, opts) {
  const url = `${system.registryUrl}${scenario.path}`;
  const headers = { accept: scenario.accept, ...(auth ? { authorization: system.auth } : {}) };
  const probe = await fetch(url, { headers: { ...headers, 'accept-encoding': 'identity' } });
  const body = Buffer.from(await probe.arrayBuffer());
  if (!probe.ok) return { error: `HTTP ${probe.status}`, detail: body.toString('utf8').slice(0, 300) };
  const child = spawnTracked(process.execPath, [join(ROOT, 'bench/npm/load.mjs'), JSON.stringify({ generator: opts.generator, url, headers, connections: opts.connections, duration: opts.duration, warmup: opts.warmup })], {
    env: cleanEnv(),
  });
  let cpuBefore = null;
  let fromUs = null;
  child.stdout.on('data', (chunk) => {
    if (cpuBefore !== null || !chunk.toString('utf8').includes('"phase":"measuring"')) return;
    cpuBefore = cpuSnapshot(system.child.pid);
    fromUs = nowUs();
  });
  const { stdout } = await finished(child, `load on ${url}`);
  const toUs = nowUs();
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(system.child.pid));
  const result = JSON.parse(stdout.trim().split('\n').pop());
  // What the machine did besides the server and the generator: other jobs skew the numbers.
  const cpuPct = cpu && { server: cpu.processPct, generator: result.generatorCpuPct, other: Math.max(0, cpu.machinePct - (cpu.processPct ?? 0) - result.generatorCpuPct) };
  delete result.generatorCpuPct;
  return { ...result, cpuPct, responseBytes: body.length, contentType: probe.headers.get('content-type'), window: { fromUs, toUs } };
}

/** Other jobs on a 2-core machine halve the numbers: measure how busy it is, optionally wait. */
/** The round with the median req/s (a failed round counts as the lowest), so its latencies and CPU stay together. */
function medianRound(samples) {
  const sorted = [...samples].sort((a, b) => (a.error ? -1 : a.rps) - (b.error ? -1 : b.rps));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

async function waitForIdle(seconds, log) {
  const deadline = Date.now() + seconds * 1000;
  let busy = await machineBusy(1000);
  while (busy !== null && busy > IDLE_PCT && Date.now() < deadline) {
    log(`machine busy: ${busy}% of one core in use by other processes, waiting`);
    busy = await machineBusy(2000);
  }
  if (busy !== null && busy > IDLE_PCT) log(`WARNING: machine busy before the run (${busy}% of one core in use by other processes); the figures will be low and noisy`);
  return busy;
}

function newestProfile(dir) {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length ? join(dir, files[files.length - 1]) : null;
}

async function main() {
  const opts = options();
  installCleanupHandlers();
  if (opts.nice !== null) useNice(opts.nice);
  const log = (line) => process.stderr.write(`${line}\n`);
  const mainJs = resolve(ROOT, opts.stockadeDist, 'cli/main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench:npm does)`);

  if (opts.generator === 'wrk' && !(await ensureWrk(log))) {
    log('WARNING: wrk is not available; falling back to autocannon, which needs far more CPU per request on this machine');
    opts.generator = 'autocannon';
  }
  const machine = machineInfo(opts.generator);
  machine.busyPctAtStart = await waitForIdle(opts.waitIdle, log);
  log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, node ${machine.node}, npm ${machine.npm}`);
  log(`the load generator (${machine.generator}, one thread) runs on the same machine and competes with the server for the cores`);

  const started = performance.now();
  const packages = buildFixtures();
  log(`built ${packages.reduce((n, p) => n + p.versions.length, 0)} tarballs for ${packages.length} packages in ${Math.round(performance.now() - started)} ms`);

  const profileDir = opts.profile ? join(ROOT, 'bench/.cache/profiles', new Date().toISOString().replace(/[:.]/g, '-')) : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const registries = [];
  const starts = [];
  if (opts.systems.includes('stockade')) starts.push(startStockade({ mainJs, profileDir }));
  if (opts.systems.includes('verdaccio')) starts.push(ensureVerdaccio(ROOT).then((installDir) => startVerdaccio({ installDir })));
  registries.push(...(await Promise.all(starts)));
  for (const r of registries) log(`${r.label} listening at ${r.registryUrl} (pid ${r.child.pid})`);

  const seeding = {};
  await Promise.all(
    registries.map(async (r) => {
      seeding[r.id] = await seed(r, packages);
      await verifySeed(r, packages);
      log(`${r.label}: published ${packages.reduce((n, p) => n + p.versions.length, 0)} versions through the npm protocol in ${seeding[r.id]} ms`);
    }),
  );

  const systems = [...registries];
  if (opts.systems.includes('static')) {
    const source = registries[0];
    const routesFile = await captureStatic(source, makeTempDir('stockade-bench-static-'));
    const staticServer = await startStatic({ root: ROOT, routesFile });
    staticServer.bytesFrom = source.label;
    systems.push(staticServer);
    log(`static server listening at ${staticServer.registryUrl}, serving bytes captured from ${source.label}`);
  }

  const list = scenarios(packages, opts.scenarios);
  const rows = [];
  for (const auth of [false, true]) {
    for (const s of list) rows.push({ id: s.id, auth, label: `${s.label}${auth ? ', auth' : ''}`, scenario: s, results: {}, samples: {} });
  }
  const install = opts.install ? {} : null;
  let profile = null;

  // Rounds interleave the systems, so a slow minute on a shared machine hits every system alike;
  // each cell reports its median round.
  for (let round = 1; round <= opts.rounds; round++) {
    for (const system of systems) {
      for (const row of rows) {
        const result = await measure(system, row.scenario, row.auth, opts);
        (row.samples[system.id] ??= []).push(result);
        const text = result.error
          ? `failed: ${result.error} ${result.detail ?? ''}`
          : `${Math.round(result.rps)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.responseBytes} B ${result.contentType}` +
            (result.cpuPct ? `, cpu server ${result.cpuPct.server}% generator ${result.cpuPct.generator}% other ${result.cpuPct.other}%` : '') +
            (result.non2xx || result.errors || result.timeouts ? `, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts` : '');
        log(`round ${round}/${opts.rounds} ${system.label.padEnd(18)} ${row.label.padEnd(44)} ${text}`);
      }
    }
  }
  for (const row of rows) {
    for (const [id, samples] of Object.entries(row.samples)) row.results[id] = medianRound(samples);
  }

  for (const system of systems) {
    if (install) {
      // A server still working off a backlog from its load (Verdaccio can be seconds behind)
      // would slow the installs of whichever system comes next.
      await waitForIdle(60, log);
      try {
        install[system.id] = await timeInstalls(system.registryUrl, opts.installRuns);
        log(`${system.label.padEnd(18)} cold npm install of 20 deps: median ${install[system.id].median} ms (${install[system.id].runs.join(', ')} ms)`);
      } catch (error) {
        install[system.id] = { error: error.message.split('\n')[0], detail: error.message };
        log(`${system.label.padEnd(18)} cold npm install failed: ${error.message}`);
      }
    }
    // The first system stays up for npm's own floor below.
    if (system !== systems[0] || !install) await system.stop();
  }

  // The part of every install figure that no registry can remove.
  let npmFloor = null;
  if (install) {
    npmFloor = await timeInstalls(systems[0].registryUrl, opts.installRuns, 0).catch((error) => ({ error: error.message }));
    log(`npm install of a project without dependencies: ${npmFloor.error ?? `median ${npmFloor.median} ms (${npmFloor.runs.join(', ')} ms)`}`);
  }
  if (install) await systems[0].stop();
  if (profileDir) {
    const file = newestProfile(profileDir);
    const windows = rows.flatMap((r) => (r.samples.stockade ?? []).map((m) => ({ label: r.label, ...m.window }))).filter((w) => w.fromUs);
    profile = file ? summarizeProfile(file, { windows }) : null;
  }

  const checks = systems.some((s) => s.id === 'stockade') ? checkTargets(rows, install) : [];
  const out = [];
  out.push('');
  out.push(`npm registry benchmark: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, npm ${machine.npm}, stockade ${machine.stockadeCommit}`);
  out.push(`${machine.generator}: ${opts.connections} connections, pipelining 1, ${opts.warmup} s warm-up + ${opts.duration} s per cell, median of ${opts.rounds} interleaved rounds; the generator shares the ${machine.cores} cores with the server`);
  if (opts.nice !== null) out.push(`servers, generator and npm ran at nice ${opts.nice}`);
  out.push('');
  out.push(formatTable(systems, rows, install));
  if (npmFloor && !npmFloor.error) {
    out.push(`npm's own floor: the same install of a project with no dependencies takes ${npmFloor.median.toLocaleString('en-US')} ms (${npmFloor.runs.join(' / ')})`);
  }
  out.push('');
  out.push('CPU during each measurement, % of one core (server / load generator / everything else):');
  out.push(formatCpuTable(systems, rows));
  const disturbed = rows.flatMap((r) => Object.values(r.results)).filter((m) => m.cpuPct && m.cpuPct.other > IDLE_PCT).length;
  if (disturbed > 0 || machine.busyPctAtStart > IDLE_PCT) {
    out.push(`WARNING: other processes used the CPU (${machine.busyPctAtStart}% of a core before the run; ${disturbed} cells with more than ${IDLE_PCT}% "else"): rerun on a quiet machine`);
  }
  out.push('');
  const ref = (r) => [r['full-10'], r['abbrev-500'], r['tarball-52k']].map((n) => n.toLocaleString('en-US')).join(' / ');
  out.push(`reference (earlier, same kind of machine; full / abbreviated / tarball req/s): Verdaccio ${ref(REFERENCE.verdaccio)}; bare node ${ref(REFERENCE.static)}`);
  if (checks.length) {
    out.push('');
    out.push('Stockade targets:');
    out.push(formatTargets(checks));
  }
  if (profile) {
    out.push('');
    out.push(formatProfile(profile));
  }
  process.stdout.write(`${out.join('\n')}\n`);

  if (opts.save) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `npm-${new Date().toISOString().slice(0, 10)}.json`);
    const results = {
      date: new Date().toISOString(),
      machine,
      stockadeDist: opts.stockadeDist,
      settings: { generator: machine.generator, connections: opts.connections, pipelining: 1, durationS: opts.duration, rounds: opts.rounds, warmupS: opts.warmup, installRuns: opts.installRuns, nice: opts.nice, profiled: opts.profile },
      targets: TARGETS,
      reference: REFERENCE,
      seedingMs: seeding,
      staticBytesFrom: systems.find((s) => s.id === 'static')?.bytesFrom ?? null,
      scenarios: rows.map((r) => ({
        id: r.id,
        label: r.label,
        authenticated: r.auth,
        path: r.scenario.path,
        accept: r.scenario.accept,
        // The measurement windows only serve to slice the CPU profile.
        results: Object.fromEntries(Object.entries(r.results).map(([id, { window: _window, ...m }]) => [id, m])),
        roundsRps: Object.fromEntries(Object.entries(r.samples).map(([id, list]) => [id, list.map((m) => (m.error ? null : Math.round(m.rps)))])),
      })),
      npmInstall: install,
      npmInstallNoDependencies: npmFloor,
      checks,
      profile,
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${file.slice(ROOT.length)}\n`);
  }
}

try {
  await main();
} catch (error) {
  if (!wasInterrupted()) process.stderr.write(`bench:npm failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
