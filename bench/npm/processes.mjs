import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every child process and temp folder the benchmark makes is registered here, so that a normal
 * end, an error and Ctrl-C all leave nothing behind. Children are only ever ended by the handle
 * we spawned them with, never by name.
 */
const children = new Set();
const tempDirs = new Set();

let priority = null;

/**
 * Scheduling priority (nice value) for every child from now on, and for this process. On a
 * machine shared with other jobs a negative value (root only) keeps them from taking the
 * cores in the middle of a measurement.
 */
export function useNice(value) {
  priority = value;
  setPriority(0, value);
  // With autogroups (Linux, kernel.sched_autogroup_enabled) nice values only weigh within one
  // session; between sessions the group's own nice decides. Raise ours too, and put it back.
  try {
    const before = /nice (-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'))?.[1];
    writeFileSync('/proc/self/autogroup', String(value));
    if (before !== undefined) restoreAutogroup = () => writeFileSync('/proc/self/autogroup', before);
  } catch {
    // No autogroups here, or not allowed: plain nice is all there is.
  }
}

let restoreAutogroup = () => {};

function resetPriority() {
  try {
    restoreAutogroup();
  } catch {
    // Nothing more to do.
  }
  restoreAutogroup = () => {};
}

/** Spawns a process we own; it is stopped at cleanup if it is still running. */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (priority !== null && child.pid !== undefined) {
    try {
      setPriority(child.pid, priority);
    } catch {
      // Already gone; its exit is reported the usual way.
    }
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Resolves with the exit code; SIGKILL follows if `signal` did not end it within `timeoutMs`. */
export function stopChild(child, { signal = 'SIGTERM', timeoutMs = 10_000 } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

/** Waits for a child to end and collects its output; rejects on a non-zero exit. */
export function finished(child, what) {
  const out = [];
  const err = [];
  child.stdout?.on('data', (chunk) => out.push(chunk));
  child.stderr?.on('data', (chunk) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${what} failed (${signal ?? `exit ${code}`})\n${stderr.slice(-4000) || stdout.slice(-4000)}`));
    });
  });
}

/** A port that was free a moment ago (for servers that cannot listen on port 0 and report it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function cleanup() {
  await Promise.all([...children].map((child) => stopChild(child, { timeoutMs: 5_000 })));
  for (const dir of [...tempDirs]) removeTempDir(dir);
  resetPriority();
}

/**
 * Ctrl-C or SIGTERM: stop the children gracefully (Stockade then writes its CPU profile), remove
 * the temp folders, exit. A second Ctrl-C, or exiting some other way, kills what is left at once.
 */
let interrupted = false;

/** True once Ctrl-C or SIGTERM arrived: failures after that are the children going away. */
export const wasInterrupted = () => interrupted;

export function installCleanupHandlers() {
  const onSignal = (signal) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping child processes and removing temp folders\n`);
    cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    resetPriority();
  });
}

/** An environment for children without the variables `npm run` and the caller set for us. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|STOCKADE_|NODE_OPTIONS$|INIT_CWD$)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
