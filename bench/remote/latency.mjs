import { request as httpRequest, Agent } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { untilIdle } from '../npm/cpu.mjs';
import { tarballFile } from '../npm/fixtures.mjs';
import { installCleanupHandlers, useNice } from '../npm/processes.mjs';
import { startStatic } from '../npm/systems.mjs';
import { ensureFixtures, expectedInstall } from './fixtures.mjs';
import { npmInstall } from './install.mjs';
import { startStockadeVirtual } from './stockade.mjs';

/**
 * `npm run bench:remote:latency`: how long a warm Stockade takes to answer each request of the
 * bench:remote install, next to the fixture registry answering the same request directly. One
 * keep-alive connection per server, one request at a time, the servers taking turns request by
 * request, so both see the same machine. Two patterns:
 *
 * - idle: 8 ms between requests, so each one wakes a server that was waiting (npm's requests
 *   often arrive like that: between its bursts it is busy parsing and unpacking);
 * - back to back: the next request as soon as the answer is read (within a burst).
 *
 * The time is from writing the request to reading the last byte of the answer. npm's own figures
 * (bench:remote) include npm's event loop; these are the servers' share of an install's time, and
 * repeat within a few microseconds. `--stockade-dist a,b` measures several builds in the same run.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USAGE = `usage: npm run bench:remote:latency -- [options]
  --rounds N          passes over every packument and tarball per pattern (default 5)
  --stockade-dist D   builds to measure, comma-separated (default dist)
  --nice=N            nice value for the servers and this process (negative needs root)`;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'stockade-dist': { type: 'string', default: 'dist' },
    nice: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
const dists = values['stockade-dist'].split(',').filter(Boolean);

// npm 11 asks for full packuments while it builds the tree (see bench/remote/README.md).
const PACKUMENT_HEADERS = { accept: 'application/json', 'npm-command': 'install', 'accept-encoding': 'gzip, deflate, br' };
const TARBALL_HEADERS = { accept: '*/*', 'npm-command': 'install', 'accept-encoding': 'gzip, deflate, br' };

function timedGet(agent, url, headers) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const req = httpRequest(url, { agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode !== 200) fail(new Error(`${res.statusCode} for ${url}`));
        else done(Number(process.hrtime.bigint() - started) / 1e3);
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

async function main() {
  installCleanupHandlers();
  if (values.nice !== undefined) useNice(Number(values.nice));
  const fixtures = ensureFixtures(ROOT);
  const expected = expectedInstall(fixtures, fixtures.project);
  const names = [...new Set(expected.map((key) => key.slice(0, key.lastIndexOf('@'))))];
  const tarballPaths = expected.map((key) => {
    const at = key.lastIndexOf('@');
    const name = key.slice(0, at);
    return `${name}/-/${tarballFile(name, key.slice(at + 1))}`;
  });
  const fixture = await startStatic({ root: ROOT, routesFile: fixtures.routesFile });
  const servers = [{ label: 'fixture registry, direct', registryUrl: fixture.registryUrl, pid: fixture.child.pid, stop: () => undefined }];
  try {
    for (const dist of dists) {
      const stockade = await startStockadeVirtual({ mainJs: resolve(ROOT, dist, 'cli/main.js'), profileDir: null, upstreamUrl: fixture.registryUrl, fixtures });
      // Cold, then warm: what bench:remote's warm install finds.
      await npmInstall(stockade.registryUrl, fixtures.project);
      await npmInstall(stockade.registryUrl, fixtures.project);
      servers.push({ label: dists.length > 1 ? `Stockade (${dist})` : 'Stockade virtual repo', registryUrl: stockade.registryUrl, pid: stockade.child.pid, stop: stockade.stop });
    }
    for (const server of servers) await untilIdle(server.pid);
    const agents = servers.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
    const results = new Map();
    for (const [pattern, gapMs] of [['idle', 8], ['back to back', 0]]) {
      for (const [kind, paths, headers] of [['packument', names, PACKUMENT_HEADERS], ['tarball', tarballPaths, TARBALL_HEADERS]]) {
        const samples = servers.map(() => []);
        for (let round = 0; round < rounds; round++) {
          for (const path of paths) {
            for (const [i, server] of servers.entries()) {
              samples[i].push(await timedGet(agents[i], `${server.registryUrl}${path}`, headers));
              if (gapMs > 0) await sleep(gapMs);
            }
          }
        }
        results.set(`${pattern}|${kind}`, samples);
      }
    }
    for (const agent of agents) agent.destroy();

    const width = Math.max(...servers.map((s) => s.label.length)) + 2;
    const out = [
      '',
      `time to the last byte of each answer of the bench:remote install (${names.length} packuments, ${tarballPaths.length} tarballs), µs, ${rounds} passes, warm:`,
      '',
      `${''.padEnd(width)}${'idle: packument'.padStart(17)}${'tarball'.padStart(10)}${'back to back: packument'.padStart(26)}${'tarball'.padStart(10)}`,
    ];
    const cell = (samples, q) => String(Math.round(quantile(samples, q))).padStart(5);
    for (const [i, server] of servers.entries()) {
      const row = [results.get('idle|packument'), results.get('idle|tarball'), results.get('back to back|packument'), results.get('back to back|tarball')].map((s) => `${cell(s[i], 0.5)} /${cell(s[i], 0.9)}`);
      out.push(`${server.label.padEnd(width)}${row[0].padStart(17)}${row[1].padStart(10 + 3)}${row[2].padStart(26 - 3)}${row[3].padStart(13)}`);
    }
    out.push('', 'p50 / p90; idle = 8 ms between requests (each wakes the server), back to back = the next request at once');
    for (const [i, server] of servers.entries()) {
      if (i === 0) continue;
      const extra = [...results.values()].map((samples) => quantile(samples[i], 0.5) - quantile(samples[0], 0.5));
      const perInstall = (extra[0] * names.length + extra[1] * tarballPaths.length) / 1000;
      out.push(`${server.label}: ${perInstall >= 0 ? '+' : ''}${perInstall.toFixed(1)} ms over the fixture registry for one install's requests asked one at a time after idle moments (p50s)`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const server of servers) await server.stop();
    await fixture.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
