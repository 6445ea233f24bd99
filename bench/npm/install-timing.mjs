import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEP_COUNT, DEP_VERSIONS, depName } from './fixtures.mjs';
import { cleanEnv, finished, makeTempDir, removeTempDir, spawnTracked } from './processes.mjs';
import { npmCommand } from './systems.mjs';

const LATEST = DEP_VERSIONS[DEP_VERSIONS.length - 1];

/**
 * Wall time of one `npm install` of a project depending on the 20 small packages, with a fresh
 * project folder, an empty cache and npmrc files of its own (nothing from the user's setup),
 * from spawning npm to its exit.
 */
async function installOnce(registryUrl, depCount = DEP_COUNT) {
  const dir = makeTempDir('stockade-bench-install-');
  try {
    const project = join(dir, 'project');
    mkdirSync(project);
    const dependencies = Object.fromEntries(Array.from({ length: depCount }, (_, i) => [depName(i), '^1.0.0']));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'install-bench', version: '1.0.0', private: true, dependencies }, null, 2));
    writeFileSync(join(dir, 'npmrc'), `registry=${registryUrl}\n`);
    writeFileSync(join(dir, 'global-npmrc'), '');
    const npm = npmCommand();
    const args = [
      ...npm.args,
      'install',
      '--registry',
      registryUrl,
      '--cache',
      join(dir, 'cache'),
      '--userconfig',
      join(dir, 'npmrc'),
      '--globalconfig',
      join(dir, 'global-npmrc'),
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      '--ignore-scripts',
      '--loglevel',
      'error',
    ];
    const started = performance.now();
    const child = spawnTracked(npm.command, args, { cwd: project, env: cleanEnv({ npm_config_update_notifier: 'false' }) });
    await finished(child, `npm install from ${registryUrl}`);
    const ms = performance.now() - started;
    for (let i = 0; i < depCount; i++) {
      const installed = JSON.parse(readFileSync(join(project, 'node_modules', depName(i), 'package.json'), 'utf8'));
      if (installed.version !== LATEST) throw new Error(`npm installed ${depName(i)}@${installed.version}, expected ${LATEST}`);
    }
    return Math.round(ms);
  } finally {
    removeTempDir(dir);
  }
}

/**
 * One untimed run to warm the server (and the OS file cache for npm itself), then `runs` timed
 * ones. With `depCount` 0 nothing is fetched: that is npm's own floor on this machine.
 */
export async function timeInstalls(registryUrl, runs, depCount = DEP_COUNT) {
  await installOnce(registryUrl, depCount);
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await installOnce(registryUrl, depCount));
  const sorted = [...times].sort((a, b) => a - b);
  return { runs: times, median: sorted[Math.floor(sorted.length / 2)] };
}
