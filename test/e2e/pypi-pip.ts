/**
 * The real pip (Debian's pip 23 for Debian's python3) installing into throw-away venvs, with every
 * pip setting of the host shut out, for the remote and virtual PyPI suites. The venvs have no pip
 * of their own: the system pip installs into them with `--python` (pip ≥ 22.3), which saves the
 * seconds ensurepip takes per venv.
 */
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertOk, runCommand, type RunResult } from './clients.js';

export const PYTHON = '/usr/bin/python3';
export const TWINE = '/usr/bin/twine';

export interface PipSandbox {
  work: string;
  /** A fresh venv; returns its directory. */
  venv(label: string): Promise<string>;
  /** `pip install --index-url INDEX ARGS…` in `env`, never from a cache. */
  install(env: string, indexUrl: string, args: string[]): Promise<RunResult>;
  /** Imports `module` in `env` and reports the installed version of `distribution`. */
  installed(env: string, module: string, distribution: string): Promise<{ version: string }>;
  run(command: string, args: string[]): Promise<RunResult>;
  remove(): Promise<void>;
}

export async function createPipSandbox(label: string): Promise<PipSandbox> {
  for (const tool of [PYTHON, TWINE]) {
    await access(tool).catch(() => {
      throw new Error(`${tool} is missing: apt-get install python3-venv twine (the suite never skips)`);
    });
  }
  const work = await mkdtemp(path.join(tmpdir(), `stockade-${label}-`));
  const home = path.join(work, 'home');
  await mkdir(home);
  // Only what the tools need: no PIP_*, proxies or configuration of the host.
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    COLUMNS: '300',
    PIP_CONFIG_FILE: '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring',
  };
  const run = (command: string, args: string[]) => runCommand(command, args, env, { cwd: work, timeoutMs: 240_000 });
  return {
    work,
    run,
    async venv(name) {
      const dir = path.join(await mkdtemp(path.join(work, `venv-${name}-`)), 'venv');
      assertOk(await run(PYTHON, ['-m', 'venv', '--without-pip', dir]));
      return dir;
    },
    install: (venv, indexUrl, args) =>
      run(PYTHON, ['-m', 'pip', '--python', path.join(venv, 'bin', 'python'), 'install', '--isolated', '--no-cache-dir', '--no-input', '--index-url', indexUrl, ...args]),
    async installed(venv, module, distribution) {
      const script = `import importlib.metadata, ${module}; print(importlib.metadata.version(${JSON.stringify(distribution)}))`;
      const result = assertOk(await run(path.join(venv, 'bin', 'python'), ['-c', script]));
      return { version: result.stdout.trim() };
    },
    remove: () => rm(work, { recursive: true, force: true }),
  };
}

/** An index URL carrying a token as pip sends it (HTTP Basic, `__token__`). */
export function indexWithToken(serverUrl: string, repo: string, token: string): string {
  return `${serverUrl.replace('http://', `http://__token__:${token}@`)}/${repo}/pypi/simple/`;
}
