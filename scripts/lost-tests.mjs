#!/usr/bin/env node
// Compares the per-file results of two runs of the same tests (written by
// file-counts-reporter.mjs) and prints, for every file with fewer results in one run,
//   DB FILE PASSED RESULTS EXPECTED
// (the short run's database, the file, its passes and results there, the other run's results).
// Usage: node scripts/lost-tests.mjs DB1 FILE1 DB2 FILE2
import { readFileSync } from 'node:fs';

function countsOf(path) {
  const counts = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const file = line.slice(space + 1);
    const entry = counts.get(file) ?? { pass: 0, results: 0 };
    if (line.startsWith('pass ')) entry.pass++;
    entry.results++;
    counts.set(file, entry);
  }
  return counts;
}

const [dbA, pathA, dbB, pathB] = process.argv.slice(2);
if (!dbA || !pathA || !dbB || !pathB) {
  console.error('usage: node scripts/lost-tests.mjs DB1 FILE1 DB2 FILE2');
  process.exit(2);
}
const a = countsOf(pathA);
const b = countsOf(pathB);
const none = { pass: 0, results: 0 };
for (const file of [...new Set([...a.keys(), ...b.keys()])].sort()) {
  const left = a.get(file) ?? none;
  const right = b.get(file) ?? none;
  if (left.results < right.results) console.log(`${dbA} ${file} ${left.pass} ${left.results} ${right.results}`);
  else if (right.results < left.results) console.log(`${dbB} ${file} ${right.pass} ${right.results} ${left.results}`);
}
