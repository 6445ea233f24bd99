import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cleanEnv, finished, makeTempDir, removeTempDir, spawnTracked } from '../npm/processes.mjs';

/**
 * The reference systems, run as their Debian packages are meant to be run: aptly and reprepro
 * publishing a signed APT repository, createrepo_c writing RPM metadata (signed afterwards with
 * gpg, since createrepo_c does not sign). Every run starts from an empty temp folder.
 */

/** Command → Debian package providing it. */
const TOOLS = {
  aptly: 'aptly',
  reprepro: 'reprepro',
  createrepo_c: 'createrepo-c',
  rpmbuild: 'rpm',
  'dpkg-deb': 'dpkg',
  gpg: 'gnupg',
  gpgconf: 'gnupg',
};

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the missing tools with apt-get (as root), waiting for a dpkg lock held by another
 * installation; throws naming what is missing otherwise.
 */
export async function ensureTools(commands, log) {
  const missing = commands.filter((c) => !has(c));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((c) => TOOLS[c] ?? c))];
  const hint = `apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}; install them as root: ${hint}`);
  const apt = async (...args) => {
    const child = spawnTracked('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { env: cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' }) });
    try {
      await finished(child, `apt-get ${args.join(' ')}`);
      return null;
    } catch (error) {
      return error;
    }
  };
  log(`installing ${packages.join(' ')} with apt-get …`);
  let error = await apt('install', '-y', ...packages);
  // A fresh machine may not have package lists yet.
  if (error && !(await apt('update'))) error = await apt('install', '-y', ...packages);
  const still = commands.filter((c) => !has(c));
  if (still.length > 0) throw new Error(`could not install ${still.join(', ')} (${hint}): ${error?.message ?? 'not on PATH after installing'}`);
}

export function toolVersions() {
  // Some print their version on stderr (reprepro), some exit non-zero after printing it.
  const first = (command, args, pattern) => {
    const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
    const text = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    return pattern.exec(text)?.[1] ?? 'unknown';
  };
  return {
    aptly: first('aptly', ['version'], /aptly version:\s*(\S+)/),
    reprepro: first('reprepro', ['--version'], /version\s+(\S+)/),
    createrepo_c: first('createrepo_c', ['--version'], /Version:\s*(\S+)/),
    gpg: first('gpg', ['--version'], /gpg \(GnuPG\)\s*(\S+)/),
  };
}

/** Runs a command to completion and returns its wall time in milliseconds. */
async function timed(command, args, options, what = `${command} ${args[0] ?? ''}`) {
  const started = performance.now();
  await finished(spawnTracked(command, args, options), what);
  return performance.now() - started;
}

/**
 * A throwaway GnuPG home with one RSA 4096 signing key (the size Stockade's repository keys
 * have), generated before anything is timed. `stop()` ends its gpg-agent and removes it.
 */
export async function createSigningKey() {
  const home = makeTempDir('os-repos-gnupg-');
  const env = cleanEnv({ GNUPGHOME: home, LC_ALL: 'C' });
  await finished(
    spawnTracked('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Stockade Bench <bench@localhost>', 'rsa4096', 'sign', 'never'], { env }),
    'gpg --quick-gen-key',
  );
  const { stdout } = await finished(spawnTracked('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env }), 'gpg --list-secret-keys');
  const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(stdout)?.[1];
  if (!fingerprint) throw new Error('gpg made no key');
  return {
    home,
    env,
    fingerprint,
    async stop() {
      // The agent was started by our gpg calls for this home only.
      await finished(spawnTracked('gpgconf', ['--kill', 'gpg-agent'], { env }), 'gpgconf --kill gpg-agent').catch(() => {});
      removeTempDir(home);
    },
  };
}

/** Hard links when the cache and the temp folder share a file system, copies otherwise. */
function place(file, dir) {
  const target = join(dir, basename(file));
  try {
    linkSync(file, target);
  } catch {
    copyFileSync(file, target);
  }
  return target;
}

/**
 * aptly: `repo create` + `repo add` of the folder of .debs + `publish repo`, then per extra
 * package `repo add` + `publish update`. Returns milliseconds per step. `signing.skip` publishes
 * with -skip-signing (when signing with the throwaway key failed).
 */
export async function runAptly({ debs, extras, key, signing }) {
  const dir = makeTempDir('os-repos-aptly-');
  try {
    const config = join(dir, 'aptly.conf');
    writeFileSync(config, JSON.stringify({ rootDir: join(dir, 'root'), gpgProvider: 'gpg2', architectures: [] }, null, 2));
    const env = key.env;
    const aptly = (...args) => timed('aptly', [`-config=${config}`, ...args], { env, cwd: dir }, `aptly ${args.slice(0, 2).join(' ')}`);
    const sign = signing.skip ? ['-skip-signing'] : ['-batch', `-gpg-key=${key.fingerprint}`, '-passphrase='];
    const create = await aptly('repo', 'create', '-distribution=bench', '-component=main', 'bench');
    const add = await aptly('repo', 'add', 'bench', dirname(debs[0]));
    const publish = await aptly('publish', 'repo', ...sign, '-architectures=amd64,arm64', '-distribution=bench', 'bench');
    const oneMore = [];
    for (const extra of extras) {
      const addOne = await aptly('repo', 'add', 'bench', extra);
      const update = await aptly('publish', 'update', ...sign, 'bench');
      oneMore.push(addOne + update);
    }
    return { add: create + add, publish, total: create + add + publish, oneMore };
  } finally {
    removeTempDir(dir);
  }
}

/** reprepro: one `includedeb` with every file (it exports and signs at the end), then one per extra. */
export async function runReprepro({ debs, extras, key, signing }) {
  const dir = makeTempDir('os-repos-reprepro-');
  try {
    mkdirSync(join(dir, 'conf'));
    const distribution = ['Codename: bench', 'Architectures: amd64 arm64', 'Components: main', ...(signing.skip ? [] : [`SignWith: ${key.fingerprint}`]), ''];
    writeFileSync(join(dir, 'conf/distributions'), distribution.join('\n'));
    const reprepro = (files) => timed('reprepro', ['-b', dir, '--silent', 'includedeb', 'bench', ...files], { env: key.env, cwd: dir }, 'reprepro includedeb');
    const total = await reprepro(debs);
    const oneMore = [];
    for (const extra of extras) oneMore.push(await reprepro([extra]));
    return { total, oneMore };
  } finally {
    removeTempDir(dir);
  }
}

/**
 * createrepo_c on a folder of the .rpms, then per extra package: the file copied in (not timed)
 * and `createrepo_c --update`. Each is followed by the detached signature a signed repository
 * needs (`gpg --detach-sign --armor repodata/repomd.xml`), timed on its own.
 */
export async function runCreaterepo({ rpms, extras, key }) {
  const dir = makeTempDir('os-repos-createrepo-');
  try {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    for (const rpm of rpms) place(rpm, repo);
    const createrepo = (...args) => timed('createrepo_c', ['--quiet', ...args, repo], { env: key.env, cwd: dir }, `createrepo_c ${args.join(' ')}`);
    const sign = () =>
      timed('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '-u', key.fingerprint, '--detach-sign', '--armor', join(repo, 'repodata/repomd.xml')], { env: key.env }, 'gpg --detach-sign');
    const full = await createrepo();
    const fullSign = await sign();
    const update = [];
    const updateSign = [];
    for (const extra of extras) {
      place(extra, repo);
      update.push(await createrepo('--update'));
      updateSign.push(await sign());
    }
    return { full, fullSign, update, updateSign };
  } finally {
    removeTempDir(dir);
  }
}
