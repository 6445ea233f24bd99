/**
 * Harness for the end-to-end client suites: runs the real npm, pnpm and yarn classic against a
 * test server, each in a sandbox of its own (HOME, config files, cache, temp folder), so nothing
 * from the host (its ~/.npmrc, global npmrc, caches, npm_config_* variables) reaches the client
 * and every install starts from a cold cache.
 */
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const toolsBin = path.join(repoRoot, '.tmp/tools/node_modules/.bin');

/** The clients under test; pnpm and yarn come from `scripts/ensure-clients.sh`. */
export const clientBins = {
  npm: 'npm',
  pnpm: path.join(toolsBin, 'pnpm'),
  yarn: path.join(toolsBin, 'yarn'),
} as const;

export type ClientName = keyof typeof clientBins;

/** Fails loudly (never skips) when a client is missing: the suite must not pass without it. */
export async function assertClientInstalled(client: ClientName): Promise<void> {
  if (client === 'npm') return;
  try {
    await access(clientBins[client]);
  } catch {
    throw new Error(`${client} is not installed at ${clientBins[client]}; run: bash scripts/ensure-clients.sh`);
  }
}

export interface RunResult {
  /** The command line, for assertion messages. */
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Replies typed into an interactive prompt once `prompt` shows up in stdout or stderr. */
export interface PromptAnswer {
  prompt: RegExp;
  reply: string;
}

export interface RunOptions {
  cwd: string;
  /** Added to (and overriding) the sandbox environment. */
  env?: Record<string, string>;
  /** Answers given in order; stdin is closed after the last one (or at once when there are none). */
  answers?: PromptAnswer[];
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 90_000;

/** Runs `command args` with exactly `env` (nothing inherited) and collects its output. */
export function runCommand(command: string, args: string[], env: Record<string, string>, options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const commandLine = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const pending = [...(options.answers ?? [])];
    // Only output after the previous answer counts, so a prompt echoed earlier is not answered twice.
    let seen = '';
    const answerPrompts = () => {
      const next = pending[0];
      if (!next || !next.prompt.test(seen)) return;
      pending.shift();
      seen = '';
      child.stdin.write(`${next.reply}\n`);
      if (pending.length === 0) child.stdin.end();
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      seen += chunk;
      answerPrompts();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      seen += chunk;
      answerPrompts();
    });
    if (pending.length === 0) child.stdin.end();
    // A client that exits before reading stdin must not crash the test process with EPIPE.
    child.stdin.on('error', () => {});
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      if (process.env.STOCKADE_E2E_TRACE === '1') process.stderr.write(`[e2e] ${ms} ms exit ${code}: ${command} ${args.slice(0, 4).join(' ')}\n`);
      resolve({ command: commandLine, code, signal, stdout, stderr, ms, timedOut });
    });
  });
}

/** A readable dump of a run for assertion messages. */
export function describeRun(result: RunResult): string {
  const clip = (text: string) => (text.length > 4000 ? `${text.slice(0, 1500)}\n…\n${text.slice(-2500)}` : text);
  return [
    `$ ${result.command}`,
    `exit ${result.code}${result.signal ? ` (${result.signal})` : ''}${result.timedOut ? ' TIMED OUT' : ''} after ${result.ms} ms`,
    `--- stdout\n${clip(result.stdout)}`,
    `--- stderr\n${clip(result.stderr)}`,
  ].join('\n');
}

/** Throws with the whole run when the command did not exit 0. */
export function assertOk(result: RunResult): RunResult {
  if (result.code !== 0) throw new Error(`command failed\n${describeRun(result)}`);
  return result;
}

/** Throws with the whole run when the command exited 0. */
export function assertFailed(result: RunResult): RunResult {
  if (result.code === 0) throw new Error(`command was expected to fail\n${describeRun(result)}`);
  return result;
}

/** `//host:port/path/` for a registry URL: the key npm, pnpm and yarn look credentials up by. */
export function nerfDart(registry: string): string {
  const url = new URL(registry);
  const pathname = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return `//${url.host}${pathname}`;
}

export interface NpmrcOptions {
  registry: string;
  token?: string;
  /** More `key=value` lines. */
  extra?: string[];
}

/**
 * An npmrc that points every name at our registry and turns off everything that would talk to
 * another host (update checks) or make output depend on the host's settings.
 */
export function npmrcText(options: NpmrcOptions): string {
  const lines = [
    `registry=${options.registry}`,
    'update-notifier=false',
    'fund=false',
    'audit=false',
    'progress=false',
    'color=false',
    'loglevel=notice',
  ];
  if (options.token) lines.push(`${nerfDart(options.registry)}:_authToken=${options.token}`);
  lines.push(...(options.extra ?? []));
  return `${lines.join('\n')}\n`;
}

export interface SandboxOptions extends NpmrcOptions {
  /** A label for the temp folder. */
  label?: string;
}

/** One isolated client environment: its own HOME, npmrc, global npmrc, caches and temp folder. */
export interface Sandbox {
  root: string;
  home: string;
  /** The user npmrc (`--userconfig`). */
  npmrc: string;
  registry: string;
  env: Record<string, string>;
  /** A new, empty folder under the sandbox. */
  dir(name: string): Promise<string>;
  /** Replaces the user npmrc. */
  writeNpmrc(options: NpmrcOptions): Promise<void>;
  /** npm with `--userconfig`, `--globalconfig` and `--cache` of this sandbox. */
  npm(args: string[], options: RunOptions): Promise<RunResult>;
  pnpm(args: string[], options: RunOptions): Promise<RunResult>;
  yarn(args: string[], options: RunOptions): Promise<RunResult>;
  /** Switches to a new, empty cache folder for every client (a cold cache). */
  freshCache(): Promise<void>;
  remove(): Promise<void>;
}

export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  const root = await mkdtemp(path.join(tmpdir(), `stockade-e2e-${options.label ?? 'client'}-`));
  const home = path.join(root, 'home');
  const tmp = path.join(root, 'tmp');
  const prefix = path.join(root, 'prefix');
  await Promise.all([home, tmp, path.join(prefix, 'etc')].map((dir) => mkdir(dir, { recursive: true })));
  const npmrc = path.join(home, '.npmrc');
  // An empty global config replaces the machine's `$PREFIX/etc/npmrc`.
  const globalrc = path.join(prefix, 'etc', 'npmrc');
  await writeFile(globalrc, '');
  await writeFile(npmrc, npmrcText(options));
  let cacheNo = 0;
  let cache = '';

  // Built from nothing: npm_config_*, NODE_OPTIONS (tsx), CI and the like never leak in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    USERPROFILE: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_STATE_HOME: path.join(home, '.local/state'),
    // yarn classic reads `$PREFIX/etc/npmrc`; npm and pnpm honour these two variables.
    PREFIX: prefix,
    npm_config_userconfig: npmrc,
    npm_config_globalconfig: globalrc,
    npm_config_update_notifier: 'false',
    // Anything not addressed to the test server goes to a closed port and fails fast, so a
    // client that tries to reach the internet makes its test fail instead of passing by luck.
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };

  async function freshCache(): Promise<void> {
    cacheNo += 1;
    cache = path.join(root, `cache-${cacheNo}`);
    await mkdir(cache, { recursive: true });
    env.npm_config_cache = path.join(cache, 'npm');
    env.YARN_CACHE_FOLDER = path.join(cache, 'yarn');
  }
  await freshCache();

  const run = (bin: string, args: string[], runOptions: RunOptions) =>
    runCommand(bin, args, { ...env, ...(runOptions.env ?? {}) }, runOptions);

  return {
    root,
    home,
    npmrc,
    registry: options.registry,
    env,
    async dir(name) {
      const dir = path.join(root, name);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    async writeNpmrc(npmrcOptions) {
      await writeFile(npmrc, npmrcText(npmrcOptions));
    },
    npm: (args, runOptions) =>
      run(clientBins.npm, [...args, '--userconfig', npmrc, '--globalconfig', globalrc, '--cache', env.npm_config_cache as string], runOptions),
    // Set for pnpm only: npm warns about config keys it does not know.
    pnpm: (args, runOptions) =>
      run(clientBins.pnpm, args, {
        ...runOptions,
        env: { npm_config_store_dir: path.join(cache, 'pnpm-store'), npm_config_cache_dir: path.join(cache, 'pnpm-cache'), ...(runOptions.env ?? {}) },
      }),
    yarn: (args, runOptions) => run(clientBins.yarn, [...args, '--non-interactive', '--no-progress'], runOptions),
    freshCache,
    async remove() {
      if (process.env.STOCKADE_E2E_KEEP === '1') return;
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface PackageSpec {
  name: string;
  version: string;
  description?: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
  /** More files, path → content, relative to the package root. */
  files?: Record<string, string>;
  /** More package.json fields. */
  extra?: Record<string, unknown>;
}

/** The `index.js` every fixture package gets: it names its package and version. */
export function indexSource(spec: { name: string; version: string }): string {
  return `module.exports = ${JSON.stringify(`${spec.name}@${spec.version}`)};\n`;
}

/** Writes a publishable package folder (package.json, index.js, README.md, extra files). */
export async function writePackage(dir: string, spec: PackageSpec): Promise<string> {
  await mkdir(dir, { recursive: true });
  const pkg: Record<string, unknown> = {
    name: spec.name,
    version: spec.version,
    description: spec.description ?? `fixture ${spec.name}`,
    main: 'index.js',
    license: 'MIT',
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
    ...(spec.bin ? { bin: spec.bin } : {}),
    ...(spec.scripts ? { scripts: spec.scripts } : {}),
    ...(spec.extra ?? {}),
  };
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await writeFile(path.join(dir, 'index.js'), indexSource(spec));
  await writeFile(path.join(dir, 'README.md'), `# ${spec.name}\n\nFixture package for the Stockade e2e suite.\n`);
  for (const [file, content] of Object.entries(spec.files ?? {})) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

/** Writes a consumer project's package.json (no dependencies yet unless given). */
export async function writeProject(dir: string, dependencies: Record<string, string> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const pkg = { name: 'e2e-consumer', version: '1.0.0', private: true, license: 'MIT', dependencies };
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return dir;
}

/** Every file below `dir`, as sorted paths relative to it (an absent folder is empty). */
export async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
