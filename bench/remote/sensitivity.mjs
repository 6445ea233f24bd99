import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanupHandlers, useNice } from '../npm/processes.mjs';
import { startStatic } from '../npm/systems.mjs';
import { ensureFixtures } from './fixtures.mjs';
import { npmInstall } from './install.mjs';

/**
 * How much a registry's time per request moves the bench:remote install: the fixture registry
 * against a copy of itself that keeps the CPU busy `--delay-us` before each answer, warm installs
 * in pairs (the order flipping each pair). bench:remote:latency tells how much more time per
 * request Stockade takes; this tells what that much costs npm. `node bench/remote/sensitivity.mjs
 * --delay-us 300 --pairs 12 --nice=-15`.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    'delay-us': { type: 'string', default: '300' },
    pairs: { type: 'string', default: '12' },
    nice: { type: 'string' },
  },
});
const delayUs = Number(values['delay-us']);
const pairs = Number(values.pairs);
if (!(delayUs >= 0) || !Number.isInteger(pairs) || pairs < 1) throw new Error('--delay-us must be a number of microseconds and --pairs a positive integer');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main() {
  installCleanupHandlers();
  if (values.nice !== undefined) useNice(Number(values.nice));
  const fixtures = ensureFixtures(ROOT);
  const plain = await startStatic({ root: ROOT, routesFile: fixtures.routesFile });
  const slow = await startStatic({ root: ROOT, routesFile: fixtures.routesFile, delayUs });
  try {
    await npmInstall(plain.registryUrl, fixtures.warmup);
    await npmInstall(slow.registryUrl, fixtures.warmup);
    const ms = { plain: [], slow: [] };
    const ratios = [];
    for (let pair = 0; pair < pairs; pair++) {
      const taken = {};
      for (const which of pair % 2 === 0 ? ['plain', 'slow'] : ['slow', 'plain']) {
        taken[which] = (await npmInstall((which === 'plain' ? plain : slow).registryUrl, fixtures.project)).ms;
        ms[which].push(taken[which]);
      }
      ratios.push(taken.slow / taken.plain);
      process.stderr.write(`pair ${pair + 1}/${pairs}: ${taken.plain} ms plain, ${taken.slow} ms with ${delayUs} µs per request\n`);
    }
    const requests = 147;
    process.stdout.write(
      `\nwarm install straight from the fixture registry, medians of ${pairs} pairs: ${median(ms.plain)} ms; with ${delayUs} µs more per request ` +
        `(${((delayUs * requests) / 1000).toFixed(0)} ms over the install's ${requests} requests if they were asked one at a time): ${median(ms.slow)} ms, ` +
        `${(median(ms.slow) / median(ms.plain)).toFixed(3)}x of medians, per-pair median ${median(ratios).toFixed(3)}x\n`,
    );
  } finally {
    await slow.stop();
    await plain.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
