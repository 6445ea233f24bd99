import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadGate } from '../lib/gate.mjs';
import { cpuBetween, cpuSnapshot, machineBusy, untilIdle } from '../npm/cpu.mjs';
import { cleanEnv, cleanup, installCleanupHandlers, useNice, wasInterrupted } from '../npm/processes.mjs';
import { formatProfile, summarizeProfile } from '../npm/profile-summary.mjs';
import { npmCommand, startStatic } from '../npm/systems.mjs';
import { ensureFixtures, expectedInstall, LIB_COUNT, tarballsOf } from './fixtures.mjs';
import { npmInstall, requestStats } from './install.mjs';
import { IDLE_PCT, PHASES, TARGETS, checkTargets, formatDetail, formatTable, formatTargets, summarize } from './report.mjs';
import { startStockadeVirtual } from './stockade.mjs';

/**
 * `npm run bench:remote`: cold and warm `npm install` of a 50-dependency project through a
 * Stockade virtual repository (hosted member with two private packages + remote member whose
 * upstream is a local fixture registry), beside the same install straight from that fixture
 * registry. See bench/remote/README.md for what cold and warm mean exactly.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const USAGE = `usage: npm run bench:remote -- [options]
  --runs N           rounds; each starts a fresh fixture registry and a fresh Stockade and times
                     one cold install and --warm-repeats warm installs on each (default 5)
  --warm-repeats N   warm installs per system and round (default 3): the servers' state does
                     not change between them, so more pairs come cheaply
  --wait-idle S      before each timed install, wait up to S seconds (at most 60) for other jobs
                     on the machine to calm down (default 0: only measure how busy it is)
  --nice=N           run the servers and npm at this nice value (e.g. --nice=-10, needs root)
  --stockade-dist D  the build of Stockade to run (default dist)
  --profile          run Stockade under --cpu-prof; print self time during its cold and warm installs
  --no-save          do not write bench/results/remote-<date>.json`;

function options() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      'warm-repeats': { type: 'string', default: '3' },
      'wait-idle': { type: 'string', default: '0' },
      nice: { type: 'string' },
      'stockade-dist': { type: 'string', default: 'dist' },
      profile: { type: 'boolean', default: false },
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
  if (values.nice !== undefined && !/^-?\d+$/.test(values.nice)) throw new Error(`--nice must be an integer, got ${values.nice}`);
  // Longer waits could push a warm install past the remote's metadata TTL (5 minutes).
  if (number('wait-idle') > 60) throw new Error('--wait-idle must be at most 60 seconds');
  return {
    runs: Math.max(1, Math.round(number('runs'))),
    warmRepeats: Math.max(1, Math.round(number('warm-repeats'))),
    waitIdle: number('wait-idle'),
    nice: values.nice === undefined ? null : Number.parseInt(values.nice, 10),
    stockadeDist: values['stockade-dist'],
    profile: values.profile,
    save: !values['no-save'],
  };
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

function machineInfo() {
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
  };
}

/**
 * CPU in use by everything else just before an install (our servers are idle then), in percent
 * of one core; with `seconds` > 0, waits up to that long for it to drop to IDLE_PCT.
 */
async function othersBusy(seconds, log) {
  const deadline = Date.now() + seconds * 1000;
  let busy = await machineBusy(500);
  if (busy !== null && busy > IDLE_PCT && seconds > 0) log(`machine busy: ${busy}% of one core in use by other processes, waiting up to ${seconds} s`);
  while (busy !== null && busy > IDLE_PCT && Date.now() < deadline) busy = await machineBusy(1000);
  return busy;
}

/** Microseconds on the monotonic clock, the one V8 stamps .cpuprofile samples with. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

const cpuMs = (between, ms) => (between?.processPct === null || between?.processPct === undefined ? null : Math.round((between.processPct / 100) * ms));

/** Gate cost of the install's tarballs in this process, one at a time: the floor of Stockade's cold extra work. */
async function gateAlone(fixtures, keys) {
  const gate = await loadGate();
  const tarballs = tarballsOf(fixtures, keys);
  // One untimed pass compiles the analyzers; the second is the figure.
  for (const t of tarballs) await gate.scanTarball(t.data);
  const verdicts = {};
  let ms = 0;
  for (const t of tarballs) {
    const started = performance.now();
    const result = await gate.scanTarball(t.data);
    ms += performance.now() - started;
    verdicts[result.verdict.action] = (verdicts[result.verdict.action] ?? 0) + 1;
  }
  const bytes = tarballs.reduce((n, t) => n + t.data.length, 0);
  return { tarballs: tarballs.length, bytes, ms: Math.round(ms), verdicts };
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
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run bench:remote does)`);

  const machine = machineInfo();
  machine.busyPctAtStart = await machineBusy(1000);
  log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, node ${machine.node}, npm ${machine.npm}; ${machine.busyPctAtStart}% of one core busy before the run`);

  const fixtures = ensureFixtures(ROOT, log);
  const expected = expectedInstall(fixtures, fixtures.project);
  const integrity = new Map(fixtures.packages.flatMap((p) => p.versions.map((v) => [`${p.name}@${v.version}`, v.integrity])));
  const check = { expected, integrity };
  const direct = Object.keys(fixtures.project).length;
  log(`project: ${direct} direct dependencies (${LIB_COUNT} from the fixture registry, ${direct - LIB_COUNT} private ones in the hosted repository), ${expected.length} packages installed`);

  const gate = await gateAlone(fixtures, expected);
  log(`gate alone, in this process, one tarball at a time: ${gate.ms} ms for ${gate.tarballs} tarballs (${Math.round(gate.bytes / 1024)} KiB); verdicts ${JSON.stringify(gate.verdicts)}`);
  if (gate.verdicts.allow !== gate.tarballs) throw new Error('the gate does not allow every fixture tarball: the installs through Stockade would fail');

  const profileRoot = opts.profile ? join(ROOT, 'bench/.cache/profiles', `remote-${new Date().toISOString().replace(/[:.]/g, '-')}`) : null;
  const measurements = [];
  const rounds = [];
  let upstreamSettings = null;

  for (let round = 1; round <= opts.runs; round++) {
    const fixture = await startStatic({ root: ROOT, routesFile: fixtures.routesFile });
    const profileDir = profileRoot ? join(profileRoot, `round-${round}`) : null;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const setupStarted = performance.now();
    const stockade = await startStockadeVirtual({ mainJs, profileDir, upstreamUrl: fixture.registryUrl, fixtures });
    upstreamSettings ??= stockade.upstreamSettings;
    // A fresh process compiles its code paths on first use: an unrelated install warms both
    // servers (and npm's own files in the OS cache) without touching the measured packages.
    await npmInstall(fixture.registryUrl, fixtures.warmup);
    await npmInstall(stockade.registryUrl, fixtures.warmup);
    const setupMs = Math.round(performance.now() - setupStarted);
    const systems = { reference: fixture, stockade };
    // Alternating which system goes first spreads a slow moment on a shared machine over both.
    const order = round % 2 === 1 ? ['reference', 'stockade'] : ['stockade', 'reference'];
    const roundInfo = { round, setupMs, settleMs: null, windows: {} };
    for (const phase of PHASES) {
      // Whatever the cold install left Stockade doing (it stores and indexes) is not the warm one's cost.
      if (phase === 'warm') roundInfo.settleMs = await untilIdle(stockade.child.pid);
      // Warm installs leave the servers as they were, so they repeat, the order flipping each time.
      const repeats = phase === 'warm' ? opts.warmRepeats : 1;
      const turns = Array.from({ length: repeats }, (_, i) => (i % 2 === 0 ? order : [...order].reverse()).map((id) => ({ id, repeat: i + 1 }))).flat();
      for (const { id, repeat } of turns) {
        const busyBeforePct = await othersBusy(opts.waitIdle, log);
        const before = { stockade: cpuSnapshot(stockade.child.pid), fixture: cpuSnapshot(fixture.child.pid) };
        const fromUs = nowUs();
        const result = await npmInstall(systems[id].registryUrl, fixtures.project, { check });
        const toUs = nowUs();
        const stockadeCpu = cpuBetween(before.stockade, cpuSnapshot(stockade.child.pid));
        const fixtureCpu = cpuBetween(before.fixture, cpuSnapshot(fixture.child.pid));
        const m = {
          round,
          repeat,
          system: id,
          phase,
          ms: result.ms,
          busyBeforePct,
          machinePct: stockadeCpu?.machinePct ?? null,
          stockadeCpuMs: cpuMs(stockadeCpu, result.ms),
          fixtureCpuMs: cpuMs(fixtureCpu, result.ms),
          installed: result.installed,
          requests: requestStats(result.requests),
        };
        measurements.push(m);
        if (id === 'stockade' && repeat === 1) roundInfo.windows[phase] = { fromUs, toUs };
        log(
          `round ${round}/${opts.runs} ${phase}${repeats > 1 ? ` ${repeat}/${repeats}` : ''} ${id.padEnd(9)} ${String(m.ms).padStart(6)} ms  (${m.installed.unique} packages, ${m.requests.packument.count + m.requests.tarball.count} requests; ` +
            `CPU Stockade ${m.stockadeCpuMs ?? '?'} ms, fixture ${m.fixtureCpuMs ?? '?'} ms, machine ${m.machinePct ?? '?'}% of a core; others ${busyBeforePct ?? '?'}% just before)`,
        );
      }
    }
    await stockade.stop();
    await fixture.stop();
    if (profileDir) {
      const file = newestProfile(profileDir);
      if (file) {
        const windows = PHASES.map((phase) => ({ label: `round ${round}, ${phase} install through Stockade`, ...roundInfo.windows[phase] }));
        roundInfo.profile = summarizeProfile(file, { windows, top: 30, windowTop: 25 });
      }
    }
    rounds.push(roundInfo);
  }

  const summary = summarize(measurements);
  const checks = checkTargets(summary);
  const disturbed = measurements.filter((m) => m.busyBeforePct !== null && m.busyBeforePct > IDLE_PCT).length;
  const out = [];
  out.push('');
  out.push(`remote npm install benchmark: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, npm ${machine.npm}, stockade ${machine.stockadeCommit}`);
  out.push(
    `project: ${direct} direct dependencies, ${expected.length} packages installed; ${opts.runs} rounds, each with a fresh fixture registry and a fresh Stockade; ` +
      'every install starts with an empty npm cache, no node_modules and no lockfile',
  );
  out.push('reference: bench/npm/static-server.mjs serving the fixture registry\'s precomputed packuments and tarballs from memory');
  out.push('cold = Stockade has nothing (fresh server; fetches, verifies, gates and stores every tarball); warm = the same server right after, with everything cached');
  if (opts.nice !== null) out.push(`servers and npm ran at nice ${opts.nice}`);
  out.push('');
  out.push(formatTable(summary));
  out.push('');
  out.push(formatDetail(summary));
  out.push(`gate alone on the ${gate.tarballs} tarballs (this process, one at a time, after a warm-up pass): ${gate.ms} ms`);
  if (disturbed > 0 || (machine.busyPctAtStart ?? 0) > IDLE_PCT) {
    out.push('');
    out.push(`WARNING: other processes used the CPU (${machine.busyPctAtStart}% of a core at the start; ${disturbed} of ${measurements.length} installs began with more than ${IDLE_PCT}% in use by others): rerun on a quiet machine or with --wait-idle/--nice`);
  }
  out.push('');
  out.push('targets (issue 7):');
  out.push(formatTargets(checks));
  const profiled = rounds.filter((r) => r.profile);
  if (profiled.length) {
    out.push('');
    out.push(formatProfile(profiled[profiled.length - 1].profile));
  }
  process.stdout.write(`${out.join('\n')}\n`);

  if (opts.save) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `remote-${new Date().toISOString().slice(0, 10)}.json`);
    const results = {
      date: new Date().toISOString(),
      machine,
      stockadeDist: opts.stockadeDist,
      settings: { runs: opts.runs, warmRepeats: opts.warmRepeats, nice: opts.nice, waitIdleS: opts.waitIdle, profiled: opts.profile, idlePct: IDLE_PCT },
      targets: TARGETS,
      fixtures: {
        version: fixtures.fixtureVersion,
        directDependencies: direct,
        packagesInstalled: expected.length,
        tarballBytes: gate.bytes,
        registry: 'bench/npm/static-server.mjs (precomputed packuments and tarballs, from memory)',
      },
      stockadeSetup: { hosted: 'admin/bench', remote: 'admin/upstream', virtual: 'admin/all', claims: ['corp-internal-*'], upstreamSettings },
      gateAlone: gate,
      summary,
      measurements,
      // The windows (monotonic µs) slice a saved --profile to one install.
      rounds,
      checks,
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${file.slice(ROOT.length)}\n`);
  }
}

try {
  await main();
} catch (error) {
  if (!wasInterrupted()) process.stderr.write(`bench:remote failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
