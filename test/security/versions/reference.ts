import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * Helpers for checking a version scheme against the ecosystem's own implementation (packaging,
 * Gem::Version, dpkg, rpm), run as a child process.
 */

export const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
export const symbol = (n: number) => (n < 0 ? '<' : n > 0 ? '>' : '=');

/** Versions travel hex-encoded, so tabs, newlines and non-ASCII cannot break a line protocol. */
export const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
export const unhex = (h: string) => Buffer.from(h, 'hex').toString('utf8');

export interface ReferenceAnswer {
  /** The reference's sign of compare(a, b); undefined when it answered `x` (a side is invalid). */
  compare: number | undefined;
  /** The rest of the answer line, one field per side, as the reference wrote it. */
  sides: string[];
}

/**
 * Sends every pair to one run of `command` as `hex(a) <TAB> hex(b)` lines on stdin; the program
 * answers one line per pair, `cmp|x <TAB> side a <TAB> side b`. `name` labels failures.
 */
export function askReference(name: string, command: string, args: readonly string[], pairs: readonly [string, string][]): ReferenceAnswer[] {
  const input = pairs.map(([a, b]) => `${hex(a)}\t${hex(b)}\n`).join('');
  const run = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `${name} failed: ${run.stderr}`);
  const lines = run.stdout.split('\n');
  lines.pop();
  assert.equal(lines.length, pairs.length, `${name} answered ${lines.length} of ${pairs.length}: ${run.stderr}`);
  return lines.map((line) => {
    const [c, ...sides] = line.split('\t');
    return { compare: c === 'x' ? undefined : Number(c), sides };
  });
}

export function describeDisagreements(rows: string[]): string {
  return `${rows.length} disagreement(s), first 20:\n${rows.slice(0, 20).join('\n')}`;
}

export interface VersionGenerator {
  random: () => number;
  /** A fresh version, sometimes one the scheme must refuse. */
  version: () => string;
  /** A close relative of a version, so pairs share long prefixes and differ in one spot. */
  variant: (v: string) => string;
}

/**
 * `wanted` deterministic pairs of versions `isValid` accepts (most of them close relatives), and
 * every generated candidate it refuses: the reference must refuse those too.
 */
export function generatePairs(
  generator: VersionGenerator,
  isValid: (v: string) => boolean,
  wanted: number,
): { pairs: [string, string][]; invalid: string[] } {
  const { random, version, variant } = generator;
  const pairs: [string, string][] = [];
  const invalid = new Set<string>();
  while (pairs.length < wanted) {
    const a = version();
    const b = random() < 0.6 ? variant(a) : version();
    for (const v of [a, b]) if (!isValid(v)) invalid.add(v);
    if (isValid(a) && isValid(b)) pairs.push(random() < 0.5 ? [a, b] : [b, a]);
  }
  return { pairs, invalid: [...invalid] };
}
