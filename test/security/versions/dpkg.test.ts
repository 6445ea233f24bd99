import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import {
  compareDpkgVersions,
  createDpkgScheme,
  debianScheme,
  DpkgVersionError,
  isValidDpkgVersion,
  parseDpkgVersion,
  ubuntuScheme,
} from '../../../src/security/versions/dpkg.js';
import { randomPicker } from './random.js';
import { describeDisagreements, sign, symbol } from './reference.js';


// [a, b, expected sign of compare(a, b)]
const TRICKY_PAIRS: [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0', '1.00', 0],
  ['1.010', '1.10', 0],
  ['0:1.0', '1.0', 0],
  ['00:1.0', '1.0', 0],
  ['1.0-0', '1.0', 0],
  ['1.0-00', '1.0-0', 0],
  ['9', '10', -1],
  ['1.9', '1.10', -1],
  ['1.0', '1.0.0', -1],
  ['1:1.0', '2.0', 1],
  ['1:0.1', '0:99', 1],
  ['10:1', '9:1', 1],
  // Policy's example order: ~~ < ~~a < ~ < (nothing) < a
  ['1.0~~', '1.0~~a', -1],
  ['1.0~~a', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0a', -1],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc1-1', '1.0-1', -1],
  ['1.0~', '1.0~~', 1],
  ['2.0', '2.0-~', 1],
  // letters before non-letters, ASCII within each group
  ['1.0a', '1.0+', -1],
  ['1.0A', '1.0a', -1],
  ['1.0z', '1.0.', -1],
  ['1.0+', '1.0.', -1],
  ['1.0+dfsg', '1.0', 1],
  ['1.0+dfsg-1', '1.0-2', 1],
  ['7.6p2-4', '7.6-0', 1],
  ['1.2.3a', '1.2.3', 1],
  // revision after the last hyphen; upstream may hold hyphens, and colons after an epoch
  ['1.2-3-4', '1.2-3', 1],
  ['1.0-1', '1.0-1.1', -1],
  ['1.0-1ubuntu1', '1.0-1', 1],
  ['1.0-1+deb12u1', '1.0-1', 1],
  ['1.0-1+deb11u1', '1.0-1+deb12u1', -1],
  ['2:1.18.36:5.4-20', '2:1.18.36-20', 1],
  ['1:2:3', '1:2.3', 1], // `:` sorts after `.` (ASCII)
  // digit runs of any length, leading zeros ignored
  ['1.100000000000000000001', '1.100000000000000000000', 1],
  ['1.18446744073709551617', '1.18446744073709551616', 1],
  ['1.000000000000000000000000001', '1.1', 0],
  ['1.99999999999999999999999', '1.100000000000000000000000', -1],
  ['2147483647:1', '2147483646:9', 1],
];

const INVALID = [
  '',
  ':1.0',
  'a:1.0',
  '1.0-',
  '-1',
  '1:',
  '1:-1',
  'a1.0',
  '~1',
  '1.0 b',
  ' 1.0',
  '1.0_1',
  '1.0-1:2',
  '1.0-a-',
  '2147483648:1',
  '99999999999:1',
  '+1:1.0',
  '-0:1.0',
  '1.0\n',
  '1.0é',
  '1.0-1/2',
  '1'.repeat(257),
];

describe('Debian (dpkg) versions', () => {
  for (const [a, b, expected] of TRICKY_PAIRS) {
    it(`${a} ${symbol(expected)} ${b}`, () => {
      assert.equal(debianScheme.compare(a, b), expected);
      assert.equal(debianScheme.compare(b, a), sign(-expected));
      assert.equal(compareDpkgVersions(a, b), expected);
    });
  }

  it('parses [epoch:]upstream[-revision]', () => {
    assert.deepEqual(parseDpkgVersion('1.0'), { epoch: 0, upstream: '1.0', revision: '' });
    assert.deepEqual(parseDpkgVersion('3:1.2-3-4'), { epoch: 3, upstream: '1.2-3', revision: '4' });
    assert.deepEqual(parseDpkgVersion('007:1:2-3'), { epoch: 7, upstream: '1:2', revision: '3' });
  });

  it('accepts Policy syntax and rejects the rest', () => {
    for (const v of ['0', '1.0', '1:1.0-1', '1.0~rc1+dfsg-1ubuntu0.1', '1:2:3', '1.2-3-4', '2147483647:1', '1'.repeat(256)]) {
      assert.equal(debianScheme.isValid(v), true, v);
    }
    for (const v of INVALID) {
      assert.equal(debianScheme.isValid(v), false, JSON.stringify(v));
      assert.throws(() => debianScheme.compare(v, '1.0'), DpkgVersionError, JSON.stringify(v));
      assert.throws(() => debianScheme.compare(v, v), DpkgVersionError, JSON.stringify(v));
    }
  });

  it('compareDpkgVersions takes what dpkg only warns about, refuses what it refuses', () => {
    assert.equal(compareDpkgVersions('a', '1'), 1);
    assert.equal(compareDpkgVersions(' 1.0\t', '1.0'), 0);
    assert.equal(compareDpkgVersions('+1:1.0', '0:2.0'), 1);
    assert.equal(compareDpkgVersions('-0:1.0', '1.0'), 0);
    assert.equal(compareDpkgVersions('1.0_1', '1.0a'), 1);
    assert.equal(compareDpkgVersions('1:1.0-1:2', '1:1.0-1'), 1);
    for (const v of ['', '  ', ':1.0', 'a:1.0', '1.0-1:2', '1.0-', '1:', '-1:1.0', '2147483648:1', '1.0 b', '1.0é']) {
      assert.throws(() => compareDpkgVersions(v, '1.0'), DpkgVersionError, JSON.stringify(v));
    }
  });

  it('builds a scheme per ecosystem name', () => {
    assert.equal(debianScheme.ecosystem, 'Debian');
    assert.equal(ubuntuScheme.ecosystem, 'Ubuntu');
    assert.equal(createDpkgScheme('Debian').compare('1.0~rc1', '1.0'), -1);
  });
});

function makeGenerator(seed: number) {
  const { random, pick, digits } = randomPicker(seed);
  const digitRun = () =>
    pick([
      () => pick(['0', '1', '2', '9', '10', '99', '100']),
      () => '0'.repeat(1 + Math.floor(random() * 3)) + pick(['0', '1', '7', '10']),
      () => digits(1 + Math.floor(random() * 4)),
      () => pick(['0', '1', '2', '3', '5', '8', '13', '20240101']),
      () => digits(1 + Math.floor(random() * 3)),
      () => pick(['1', '9']) + digits(20 + Math.floor(random() * 10)),
      () => '1' + '0'.repeat(20) + pick(['0', '1']),
    ])();
  const nonDigitRun = (extra: string) =>
    pick([
      () => pick(['.', '.', '+', '~', '~~', 'a', 'b', 'z', 'A', 'Z', '.a', 'rc', '~rc', '+dfsg', '~beta', 'p', 'ubuntu', '+deb', '.~', '~+', '+~', 'a~', 'a.']),
      () => pick(extra.length > 0 ? extra.split('') : ['.']),
      () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(('.+~aAzZ' + extra).split(''))).join(''),
    ])();
  /** Alternating runs; `extra` holds the characters this part may also use (`:` and `-`). */
  const part = (startWithDigit: boolean, extra: string) => {
    let text = startWithDigit ? digitRun() : pick([digitRun, () => nonDigitRun('')])();
    const runs = Math.floor(random() * 5);
    for (let k = 0; k < runs; k++) text += /[0-9]$/.test(text) ? nonDigitRun(extra) : pick([digitRun, () => nonDigitRun(extra)])();
    return text;
  };
  const version = (): string => {
    const hasEpoch = random() < 0.3;
    const hasRevision = random() < 0.6;
    const epoch = hasEpoch ? pick(['0', '1', '2', '01', '007', '10', '99', '2147483647']) + ':' : '';
    const upstream = part(true, (hasEpoch ? ':' : '') + (hasRevision ? '-' : ''));
    const revision = hasRevision ? '-' + part(random() < 0.7, '') : '';
    return epoch + upstream + revision;
  };
  /** A close relative of `v`, so pairs share long prefixes and differ in one spot. */
  const variant = (v: string): string =>
    pick([
      () => v,
      () => v + pick(['~', '~~', 'a', '.0', '0', '+b1', '-1', '.', '~rc1']),
      () => v.slice(0, Math.max(1, Math.floor(random() * v.length))),
      () => v.replace(/[0-9]+(?=[^0-9]*$)/, (run) => (random() < 0.5 ? '0' + run : String(BigInt(run) + 1n))),
      () => v.replace(/~/, ''),
      () => (v.includes(':') ? v.slice(v.indexOf(':') + 1) : pick(['0:', '1:']) + v),
      () => v + '-' + part(true, ''),
    ])();
  return { random, version, variant };
}

/** Deterministic pairs of Policy-valid versions; candidates the generator gets wrong are dropped and counted. */
function generatePairs(seed: number, wanted: number): { pairs: [string, string][]; dropped: number } {
  const { random, version, variant } = makeGenerator(seed);
  const pairs: [string, string][] = [];
  let dropped = 0;
  while (pairs.length < wanted) {
    const a = version();
    const b = random() < 0.6 ? variant(a) : version();
    if (isValidDpkgVersion(a) && isValidDpkgVersion(b)) pairs.push(random() < 0.5 ? [a, b] : [b, a]);
    else dropped++;
  }
  return { pairs, dropped };
}

const PERL_COMPARE = `
use strict; use warnings; use Dpkg::Version;
while (my $line = <STDIN>) {
  chomp $line;
  my ($a, $b) = split /\\t/, $line, 2;
  if (!version_check($a) || !version_check($b)) { print "invalid\\n"; next; }
  print version_compare($a, $b), "\\n";
}
`;

/** Every pair through one perl process running dpkg's Perl reference (Dpkg::Version). */
function perlCompare(pairs: readonly [string, string][]): string[] {
  const input = pairs.map(([a, b]) => `${a}\t${b}\n`).join('');
  const run = spawnSync('perl', ['-e', PERL_COMPARE], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `perl failed: ${run.stderr}`);
  const lines = run.stdout.split('\n');
  lines.pop();
  assert.equal(lines.length, pairs.length);
  return lines;
}

/** The C implementation: `dpkg --compare-versions`, one dpkg per test, driven by one shell. */
function dpkgCompare(pairs: readonly [string, string][]): number[] {
  const script = 'while IFS=\'\t\' read -r a b; do ' +
    'if dpkg --compare-versions "$a" lt "$b"; then echo -1; ' +
    'elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
  const input = pairs.map(([a, b]) => `${a}\t${b}\n`).join('');
  const run = spawnSync('sh', ['-c', script], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `dpkg failed: ${run.stderr}`);
  const lines = run.stdout.trim().split('\n').map(Number);
  assert.equal(lines.length, pairs.length);
  return lines;
}

/** Perl compares digit runs as Perl numbers, exact only below 2^64 (20 digits). */
const hasHugeNumber = (v: string) => (v.match(/[0-9]+/g) ?? []).some((run) => run.replace(/^0+/, '').length >= 20);

const haveReferenceTools =
  spawnSync('perl', ['-MDpkg::Version', '-e', '1']).status === 0 && spawnSync('dpkg', ['--version']).status === 0;

describe('Debian (dpkg) versions against dpkg itself', () => {
  // The test command installs the reference tools (scripts/ensure-clients.sh): never skip.
  before(() => assert.ok(haveReferenceTools, 'perl Dpkg::Version or dpkg not installed: run bash scripts/ensure-clients.sh'));
  const PAIR_COUNT = 12_000;
  const { pairs, dropped } = generatePairs(0x5eed_d9c6, PAIR_COUNT);
  const ours = pairs.map(([a, b]) => debianScheme.compare(a, b));

  it(`agrees with Dpkg::Version on ${PAIR_COUNT} generated pairs (long digit runs settled by dpkg)`, (t) => {
    const perl = perlCompare(pairs);
    const disagreements: string[] = [];
    const perlPrecisionCases: number[] = [];
    pairs.forEach(([a, b], k) => {
      const expected = perl[k];
      if (expected === 'invalid') disagreements.push(`  ${a} | ${b}: Dpkg::Version calls one of them invalid`);
      else if (Number(expected) !== ours[k]) {
        if (hasHugeNumber(a) || hasHugeNumber(b)) perlPrecisionCases.push(k);
        else disagreements.push(`  ${a} | ${b}: ours ${ours[k]}, Dpkg::Version ${expected}`);
      }
      const lenient = compareDpkgVersions(a, b);
      if (lenient !== ours[k]) disagreements.push(`  ${a} | ${b}: compareDpkgVersions ${lenient}, scheme ${ours[k]}`);
    });
    // Dpkg::Version rounds numbers of 20+ digits; the C dpkg is exact and has the last word.
    const settled = dpkgCompare(perlPrecisionCases.map((k) => pairs[k]!));
    perlPrecisionCases.forEach((k, n) => {
      if (settled[n] !== ours[k]) disagreements.push(`  ${pairs[k]![0]} | ${pairs[k]![1]}: ours ${ours[k]}, dpkg ${settled[n]}, Dpkg::Version ${perl[k]}`);
    });
    const orders = [-1, 0, 1].map((o) => ours.filter((c) => c === o).length);
    t.diagnostic(`${pairs.length} pairs (${dropped} invalid candidates dropped), ours </=/>: ${orders.join('/')}; ` +
      `${perlPrecisionCases.length} Dpkg::Version rounding cases settled by dpkg`);
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
  });

  it('agrees with dpkg --compare-versions on the first 300 pairs', () => {
    const sample = pairs.slice(0, 300);
    const dpkg = dpkgCompare(sample);
    const disagreements = sample
      .map(([a, b], k) => (dpkg[k] === ours[k] ? '' : `  ${a} | ${b}: ours ${ours[k]}, dpkg ${dpkg[k]}`))
      .filter((row) => row !== '');
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
  });

  it('agrees with dpkg --compare-versions on the hand-written pairs and on what dpkg only warns about', () => {
    const lenientPairs: [string, string][] = [['a', '1'], ['+1:1.0', '0:2.0'], ['1.0_1', '1.0a'], ['1:1.0-1:2', '1:1.0-1'], ['1.0#', '1.0a'], ['1.0!', '1.0~']];
    const all: [string, string][] = [...TRICKY_PAIRS.map(([a, b]): [string, string] => [a, b]), ...lenientPairs];
    const dpkg = dpkgCompare(all);
    const disagreements = all
      .map(([a, b], k) => (dpkg[k] === compareDpkgVersions(a, b) ? '' : `  ${a} | ${b}: ours ${compareDpkgVersions(a, b)}, dpkg ${dpkg[k]}`))
      .filter((row) => row !== '');
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
  });
});
