import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuMs as cpuMs, untilIdle } from '../npm/cpu.mjs';
import { installCleanupHandlers, useNice } from '../npm/processes.mjs';
import { startStatic } from '../npm/systems.mjs';
import { ensureFixtures, expectedInstall } from './fixtures.mjs';
import { npmInstall } from './install.mjs';
import { startStockadeVirtual } from './stockade.mjs';

/**
 * `npm run bench:remote:cpu`: the CPU a Stockade process spends on the bench:remote packages,
 * cold and warm, without npm on the machine. The install benchmark's wall times move with
 * whatever else shares the two cores; this figure is steady to a few percent, so it tells
 * whether a change made the server's own path cheaper. It asks for what an install asks for,
 * through the same virtual repository: every packument (abbreviated, `npm-command: install`,
 * eight at a time, which starts the prefetch of each `latest` tarball), then, once the server
 * is idle again, every tarball of the install. The fixture registry's CPU for the same
 * requests (it answers them as Stockade's upstream when cold, and directly after the warm
 * pass) is the reference. Several builds (`--stockade-dist a,b`) alternate within each round.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USAGE = `usage: npm run bench:remote:cpu -- [options]
  --runs N            rounds, each with fresh servers for every build (default 3)
  --stockade-dist D   builds to compare, comma-separated (default dist)
  --nice=N            nice value for the servers (negative needs root)
  --profile           run Stockade under --cpu-prof (bench/.cache/profiles/server-cpu/)`;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'stockade-dist': { type: 'string', default: 'dist' },
    nice: { type: 'string' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
const dists = values['stockade-dist'].split(',').filter(Boolean);

async function inParallel(items, limit, run) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await run(items[next++]);
  }));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Every packument, then every tarball, as an install asks for them; returns the tarball URLs it saw. */
async function fetchAll(registryUrl, names, versionsOf) {
  const tarballs = [];
  await inParallel(names, 8, async (name) => {
    const res = await fetch(`${registryUrl}${name}`, { headers: { accept: 'application/vnd.npm.install-v1+json', 'npm-command': 'install' } });
    if (!res.ok) throw new Error(`${res.status} for the packument of ${name} from ${registryUrl}`);
    const doc = await res.json();
    for (const version of versionsOf.get(name)) tarballs.push(doc.versions[version].dist.tarball);
  });
  return tarballs;
}
async function fetchTarballs(urls) {
  await inParallel(urls, 8, async (url) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${res.status} for ${url}`);
    await res.arrayBuffer();
  });
}

async function main() {
  installCleanupHandlers();
  if (values.nice !== undefined) useNice(Number(values.nice));
  const fixtures = ensureFixtures(ROOT);
  const expected = expectedInstall(fixtures, fixtures.project);
  const versionsOf = new Map();
  for (const key of expected) {
    const at = key.lastIndexOf('@');
    versionsOf.set(key.slice(0, at), [...(versionsOf.get(key.slice(0, at)) ?? []), key.slice(at + 1)]);
  }
  const names = [...versionsOf.keys()];
  const rows = new Map(dists.map((d) => [d, []]));
  for (let round = 1; round <= runs; round++) {
    for (const dist of dists) {
      const fixture = await startStatic({ root: ROOT, routesFile: fixtures.routesFile });
      const profileDir = values.profile ? join(ROOT, 'bench/.cache/profiles/server-cpu', `${dist.replace(/\W+/g, '_')}-${round}`) : null;
      const stockade = await startStockadeVirtual({ mainJs: resolve(ROOT, dist, 'cli/main.js'), profileDir, upstreamUrl: fixture.registryUrl, fixtures });
      try {
        // Compiles the code paths of the fresh process on packages the measurement never asks for.
        await npmInstall(stockade.registryUrl, fixtures.warmup);
        await untilIdle(stockade.child.pid);
        const row = { round };
        for (const phase of ['cold', 'warm']) {
          const from = { stockade: cpuMs(stockade.child.pid), fixture: cpuMs(fixture.child.pid) };
          const urls = await fetchAll(stockade.registryUrl, names, versionsOf);
          await untilIdle(stockade.child.pid);
          const mid = cpuMs(stockade.child.pid);
          await fetchTarballs(urls);
          await untilIdle(stockade.child.pid);
          const to = cpuMs(stockade.child.pid);
          row[phase] = { packuments: mid - from.stockade, tarballs: to - mid, total: to - from.stockade, fixture: cpuMs(fixture.child.pid) - from.fixture };
        }
        // The reference: the same requests straight to the fixture registry.
        const from = cpuMs(fixture.child.pid);
        await fetchTarballs(await fetchAll(fixture.registryUrl, names, versionsOf));
        row.direct = cpuMs(fixture.child.pid) - from;
        rows.get(dist).push(row);
        process.stderr.write(`round ${round}/${runs} ${dist}: ${JSON.stringify(row)}\n`);
      } finally {
        await stockade.stop();
        await fixture.stop();
      }
    }
  }
  const out = [
    '',
    `server CPU for the bench:remote install (${names.length} packuments, ${expected.length} tarballs), medians of ${runs} rounds, ms (/proc, 10 ms ticks):`,
    '',
    `${'build'.padEnd(20)}${'cold: packuments'.padStart(18)}${'tarballs'.padStart(10)}${'total'.padStart(8)}${'warm total'.padStart(12)}${'fixture, direct'.padStart(17)}`,
  ];
  for (const [dist, list] of rows) {
    const m = (f) => String(median(list.map(f))).padStart(8);
    out.push(`${dist.padEnd(20)}${m((r) => r.cold.packuments).padStart(18)}${m((r) => r.cold.tarballs).padStart(10)}${m((r) => r.cold.total)}${m((r) => r.warm.total).padStart(12)}${m((r) => r.direct).padStart(17)}`);
  }
  out.push('', 'cold: the packument pass includes the prefetch of every latest tarball (fetch, checks, gate, storing) until the server is idle');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
