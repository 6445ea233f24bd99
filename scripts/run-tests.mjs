#!/usr/bin/env node
// Runs the test suite with Node's built-in test runner (through tsx) and
// records the runner's closing counts so scripts/test.sh can add up runs.
//
// Usage: node scripts/run-tests.mjs [FILTER...]
//   FILTER  keep only test files whose path contains one of these substrings
//
// Environment read:
//   STOCKADE_TEST_CONCURRENCY  test files run at once (default 2: CI has 2 cores)
//   STOCKADE_TEST_SUMMARY      if set, path of a JSON file to write the counts to; the
//                              finished tests go next to it, one line each, as NAME.files.txt
//   STOCKADE_TEST_DB, STOCKADE_TEST_PG_URL, ...  passed through to the tests
//
// Exit code: the runner's; but never 0 when no test ran (an empty run must
// not look like a green one).

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const testRoot = join(repoRoot, 'test');
const filters = process.argv.slice(2);

// Node 20's --test does not expand globs, so we list test/**/*.test.ts ourselves.
function findTestFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  const files = [];
  for (const entry of entries) {
    if (entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...findTestFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) files.push(full);
  }
  return files;
}

const files = findTestFiles(testRoot)
  .map((f) => relative(repoRoot, f).split(sep).join('/'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const summaryPath = process.env.STOCKADE_TEST_SUMMARY;
const counts = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0, duration_ms: 0 };

function writeSummary(extra) {
  if (!summaryPath) return;
  mkdirSync(dirname(summaryPath), { recursive: true });
  const summary = {
    db: process.env.STOCKADE_TEST_DB ?? null,
    files: files.length,
    filters,
    ...counts,
    ...extra,
  };
  writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
}

if (files.length === 0) {
  const what = filters.length ? `matching ${JSON.stringify(filters)}` : '';
  console.error(`run-tests: no test files (test/**/*.test.ts) ${what} - failing, an empty run must not pass`);
  writeSummary({ exitCode: 1, summaryFound: false, error: 'no test files' });
  process.exit(1);
}

const concurrency = Number.parseInt(process.env.STOCKADE_TEST_CONCURRENCY ?? '2', 10);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`run-tests: STOCKADE_TEST_CONCURRENCY must be a positive integer, got ${JSON.stringify(process.env.STOCKADE_TEST_CONCURRENCY)}`);
  process.exit(2);
}

// Per-file counts next to the summary, for scripts/test.sh to compare the two databases' runs.
const fileCountsPath = summaryPath ? `${summaryPath.replace(/\.json$/, '')}.files.txt` : null;

const args = [
  '--import', 'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  ...(fileCountsPath ? ['--test-reporter=./scripts/file-counts-reporter.mjs', '--test-reporter-destination=/dev/null'] : []),
  `--test-concurrency=${concurrency}`,
  // A hung test fails after 5 minutes instead of eating CI's 90.
  '--test-timeout=300000',
  // A file whose tests are done but left a handle open (a pool, a server)
  // would otherwise keep its process, and so the whole run, alive forever.
  '--import', './scripts/test-exit-guard.mjs',
  ...files,
];

console.log(
  `run-tests: ${files.length} file(s), concurrency ${concurrency}` +
    (process.env.STOCKADE_TEST_DB ? `, STOCKADE_TEST_DB=${process.env.STOCKADE_TEST_DB}` : ''),
);

if (fileCountsPath) writeFileSync(fileCountsPath, '');
const child = spawn(process.execPath, args, {
  cwd: repoRoot,
  env: fileCountsPath ? { ...process.env, STOCKADE_TEST_FILE_COUNTS: fileCountsPath } : process.env,
  stdio: ['ignore', 'pipe', 'inherit'],
});

// Pass Ctrl-C / termination on to the runner, which then reports and exits.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => child.kill(sig));
}

// The spec reporter closes with lines like "ℹ pass 12"; the last occurrence
// wins, so a test that happens to print such a line cannot fool us.
// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g;
const countLine = /^\s*ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)\s*$/;
let summaryFound = false;
let pending = '';

function scan(line) {
  const m = countLine.exec(line.replace(ansi, ''));
  if (m) {
    counts[m[1]] = Number(m[2]);
    summaryFound = true;
  }
}

child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  lines.forEach(scan);
});

child.on('error', (err) => {
  console.error(`run-tests: could not start the test runner: ${err.message}`);
  writeSummary({ exitCode: 1, summaryFound: false, error: err.message });
  process.exit(1);
});

child.on('close', (code, signal) => {
  if (pending) scan(pending);
  let exitCode = code ?? 1;
  let error = signal ? `runner killed by ${signal}` : null;
  if (!summaryFound) {
    error ??= 'runner printed no closing counts';
    exitCode = exitCode || 1;
  } else if (counts.pass + counts.fail + counts.cancelled === 0) {
    // Everything skipped/todo, or nothing at all: treat as a failed run.
    error ??= 'zero tests executed';
    exitCode = exitCode || 1;
  }
  if (error) console.error(`run-tests: FAILED: ${error}`);
  writeSummary({ exitCode, summaryFound, error });
  process.exit(exitCode);
});
