import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { versionSchemeFor } from '../../../src/security/versions/index.js';
import { isPrerelease, normalizePep440, pep440Scheme } from '../../../src/security/versions/pep440.js';
import { randomPicker } from './random.js';
import { askReference, describeDisagreements, generatePairs, sign, symbol, unhex } from './reference.js';


// [a, b, expected sign of compare(a, b)]
const TRICKY_PAIRS: [string, string, number][] = [
  // PEP 440 "Summary of permitted suffixes and relative ordering"
  ['1.0.dev0', '1.0a1', -1],
  ['1.0a1', '1.0b1', -1],
  ['1.0b1', '1.0rc1', -1],
  ['1.0rc1', '1.0', -1],
  ['1.0', '1.0.post1', -1],
  ['1.0.dev456', '1.0a1', -1],
  ['1.0a1.dev456', '1.0a1', -1],
  ['1.0a2.dev456', '1.0a12.dev456', -1],
  ['1.0a12', '1.0b1.dev456', -1],
  ['1.0rc1', '1.0+abc.5', -1],
  ['1.0+abc.5', '1.0+abc.7', -1],
  ['1.0+5', '1.0.post456.dev34', -1],
  ['1.0.post456.dev34', '1.0.post456', -1],
  ['1.0.post456', '1.1.dev1', -1],
  ['1.0.post1.dev1', '1.0.post1', -1],
  ['1.0.dev1', '1.0.post0.dev0', -1],
  // release: trailing zeros, leading zeros, epochs
  ['1.0', '1.0.0', 0],
  ['1', '1.0.0.0', 0],
  ['1.01', '1.1', 0],
  ['1.9', '1.10', -1],
  ['1!0.1', '2.0', 1],
  ['0!1.0', '1.0', 0],
  ['01!1.0', '1!1.0', 0],
  // spellings: alpha/a, beta/b, c/pre/preview/rc, rev/r/post, -N; separators; case; `v`
  ['1.0alpha1', '1.0a1', 0],
  ['1.0-Beta.2', '1.0b2', 0],
  ['1.0c1', '1.0rc1', 0],
  ['1.0pre1', '1.0rc1', 0],
  ['1.0-preview_1', '1.0rc1', 0],
  ['1.0.0-RC1', '1.0.0rc1', 0],
  ['1.0a', '1.0a0', 0],
  ['1.0-1', '1.0.post1', 0],
  ['1.0rev1', '1.0.post1', 0],
  ['1.0-r-1', '1.0.post1', 0],
  ['1.0.post', '1.0.post0', 0],
  ['1.0-dev', '1.0.dev0', 0],
  ['v1.0', '1.0', 0],
  ['V1.0', '1.0', 0],
  ['1.0RC1', '1.0rc1', 0],
  // local versions
  ['1.0+local', '1.0', 1],
  ['1.0+a', '1.0+1', -1],
  ['1.0+1', '1.0+01', 0],
  ['1.0+a.b', '1.0+A-b', 0],
  ['1.0+a', '1.0+a.0', -1],
  ['1.0+abc', '1.0+abd', -1],
  ['1.0+ubuntu1', '1.0+ubuntu10', -1], // bytewise: "ubuntu1" < "ubuntu10"
  ['1.0+ubuntu9', '1.0+ubuntu10', 1],
  // @renovatebot/pep440 reads these with Number(): packaging compares `1e5`, `0x10`, `Infinity` as strings
  ['1.0+1e5', '1.0+2', -1],
  ['1.0+0x10', '1.0+16', -1],
  ['1.0+infinity', '1.0+9', -1],
  // numbers of any length (JS Numbers stop being exact at 2^53)
  ['1.9007199254740993', '1.9007199254740992', 1],
  ['1.99999999999999999999999', '1.100000000000000000000000', -1],
  ['18446744073709551617!1.0', '18446744073709551616!2.0', 1],
  ['1.0.post18446744073709551617', '1.0.post18446744073709551616', 1],
  ['1.0+18446744073709551617', '1.0+18446744073709551616', 1],
];

const INVALID = [
  '',
  ' ',
  'a',
  '1.0.',
  '.1.0',
  '1..0',
  '1.0-',
  '1.0+',
  '1.0+a+b',
  '1.0+a..b',
  '1.0+-a',
  '1.0.dev1.dev2',
  '1.0a1b1',
  '1.0 a1',
  '1.0final',
  'vv1.0',
  '!1.0',
  '1!',
  '1.0_',
  '1.0+ſ', // packaging takes it (ſ matches s case-insensitively); we refuse non-ASCII
  '1.0.poſt1',
  '1.0\u00a0', // packaging trims Unicode spaces; we refuse non-ASCII
  '١.0',
  '1.0@',
  '1'.repeat(257),
];

describe('PyPI (PEP 440) versions', () => {
  for (const [a, b, expected] of TRICKY_PAIRS) {
    it(`${a} ${symbol(expected)} ${b}`, () => {
      assert.equal(pep440Scheme.compare(a, b), expected);
      assert.equal(pep440Scheme.compare(b, a), sign(-expected));
    });
  }

  it('normalizes like packaging', () => {
    const cases: [string, string][] = [
      ['1.0.0-RC1', '1.0.0rc1'],
      ['v1.0-1', '1.0.post1'],
      ['1!01.2.dev', '1!1.2.dev0'],
      ['0!1.0', '1.0'],
      ['1.0+Ubuntu-1', '1.0+ubuntu.1'],
      ['1.0+01_a', '1.0+1.a'],
      ['1.0-Preview_2.r.DEV_3', '1.0rc2.post0.dev3'],
      [' 1.0a\t\n', '1.0a0'],
      ['1.9007199254740993', '1.9007199254740993'],
    ];
    for (const [v, expected] of cases) assert.equal(normalizePep440(v), expected, v);
  });

  it('tells pre-releases (and dev releases) apart', () => {
    for (const v of ['1.0a1', '1.0.dev0', '1.0.post1.dev1', '1.0rc1+local', '1.0-preview']) assert.equal(isPrerelease(v), true, v);
    for (const v of ['1.0', '1.0.post1', '1.0+dev', '1!2.0']) assert.equal(isPrerelease(v), false, v);
  });

  it('accepts PEP 440 and rejects the rest', () => {
    for (const v of ['0', '1.0', 'v1.0', ' 1.0 ', '1.0\x1c', '1!2.3.4a5.post6.dev7+abc.8', '1.0-1', '1'.repeat(256)]) {
      assert.equal(pep440Scheme.isValid(v), true, JSON.stringify(v));
    }
    for (const v of INVALID) {
      assert.equal(pep440Scheme.isValid(v), false, JSON.stringify(v));
      assert.throws(() => pep440Scheme.compare(v, '1.0'), TypeError, JSON.stringify(v));
      assert.throws(() => pep440Scheme.compare(v, v), TypeError, JSON.stringify(v));
      assert.throws(() => normalizePep440(v), TypeError, JSON.stringify(v));
    }
  });

  it('is the scheme of the PyPI ecosystem', () => {
    assert.equal(versionSchemeFor('PyPI'), pep440Scheme);
  });
});

function makeGenerator(seed: number) {
  const { random, pick, digits } = randomPicker(seed);
  const upTo = (n: number) => Math.floor(random() * n);
  const number = () =>
    pick([
      () => pick(['0', '1', '2', '9', '10', '11', '99', '100']),
      () => '0'.repeat(1 + upTo(3)) + pick(['0', '1', '7', '10']),
      () => digits(1 + upTo(4)),
      () => pick(['9007199254740992', '9007199254740993', '18446744073709551616', '18446744073709551617']),
      () => pick(['1', '9']) + digits(20 + upTo(10)),
    ])();
  const separator = () => pick(['', '', '.', '-', '_']);
  const cased = (word: string) => pick([word, word, word, word.toUpperCase(), word[0]!.toUpperCase() + word.slice(1)]);
  const maybeNumber = () => (random() < 0.75 ? separator() + number() : '');
  const pre = () => separator() + cased(pick(['a', 'b', 'c', 'rc', 'alpha', 'beta', 'pre', 'preview'])) + maybeNumber();
  const post = () => (random() < 0.3 ? '-' + number() : separator() + cased(pick(['post', 'rev', 'r'])) + maybeNumber());
  const dev = () => separator() + cased('dev') + maybeNumber();
  const localPart = () =>
    pick([
      number,
      () => pick(['abc', 'ubuntu', 'deb', 'cpu', 'cu118', 'g1234abc', 'a', 'z', 'A', 'Z', '0a', 'a0', 'ubuntu1', 'ubuntu10']),
      () => pick(['1e5', '0x10', '0b1', '0o7', 'infinity', 'Infinity', 'nan', '1e400', '1n']),
    ])();
  const local = () => '+' + Array.from({ length: 1 + upTo(3) }, localPart).join(pick(['.', '.', '-', '_']));
  const release = () => Array.from({ length: 1 + upTo(4) }, number).join('.');
  const corrupt = (v: string): string =>
    pick([
      () => v + pick(['.', '-', '_', '+', '..', '!', '@', ' x']),
      () => pick(['.', '-', '+', 'x', '!', 'vv']) + v,
      () => v.replace('.', pick(['..', '._', ',', ''])),
      () => v + pick(['alpha', 'dev', 'post', 'rc', 'x', 'final', '.dev1.dev2', 'a1b1', '+a+b', '+a..b', '+-a']),
      () => v + pick(['ſ', 'K', '\u00a0', '\u3000', '١', 'é']),
      () => v.replace(/[0-9]/, () => pick(['١', 'x', ' ', '٣'])),
      () => v.replace(/[a-z]/i, () => pick(['ſ', 'K'])),
    ])();
  const version = (): string => {
    let v = (random() < 0.1 ? pick(['v', 'V']) : '') + (random() < 0.2 ? pick(['0', '1', '2', '01', '10', '18446744073709551617']) + '!' : '');
    v += release();
    if (random() < 0.35) v += pre();
    if (random() < 0.3) v += post();
    if (random() < 0.3) v += dev();
    if (random() < 0.25) v += local();
    if (random() < 0.03) v = pick([' ', '\t', '\n', '\x1c']) + v;
    if (random() < 0.03) v += pick([' ', '\n', '\r\n', '\x1f', '\v']);
    return random() < 0.08 ? corrupt(v) : v;
  };
  /** Spellings PEP 440 reads the same, so variants often compare equal. */
  const respell = (word: string): string =>
    pick(({ a: ['alpha'], alpha: ['a'], b: ['beta'], beta: ['b'], c: ['rc', 'pre'], rc: ['c', 'preview'], pre: ['rc'], preview: ['c'], post: ['rev', 'r'], rev: ['post'], r: ['post'] } as Record<string, string[]>)[word.toLowerCase()] ?? [word]);
  /** A close relative of `v`, so pairs share long prefixes and differ in one spot. */
  const variant = (v: string): string =>
    pick([
      () => v,
      () => v + pick(['.0', '.0.0', '0', 'a0', '.dev0', '.post0', 'post', '+0', '+a', '-0', '-1', 'rc', '.1']),
      () => v.slice(0, Math.max(1, upTo(v.length))),
      () => v.replace(/[0-9]+(?=[^0-9]*$)/, (run) => (random() < 0.5 ? '0' + run : String(BigInt(run) + 1n))),
      () => v.replace(/[0-9]+/, (run) => (random() < 0.5 ? '0' + run : String(BigInt(run) + 1n))),
      () => v.toUpperCase(),
      () => v.replace(/[-_.]/, () => pick(['-', '_', '.', ''])),
      () => v.replace(/alpha|beta|preview|pre|post|rev|rc|[abcr]/i, respell),
      () => (v.includes('!') ? v.slice(v.indexOf('!') + 1) : pick(['0!', '1!']) + v),
      () => v.replace(/\+.*$/, ''),
      () => v.replace(/(\.?(post|rev|r|dev)[0-9]*)$/i, ''),
    ])();
  return { random, version, variant };
}

/**
 * Deterministic pairs of versions we call valid, and the candidates we call invalid (kept:
 * packaging must call them invalid too).
 */
const generate = (seed: number, wanted: number) => generatePairs(makeGenerator(seed), (v) => pep440Scheme.isValid(v), wanted);

/** Debian's own interpreter: `python3` first on PATH may be a version manager's shim. */
const PYTHON = '/usr/bin/python3';

/**
 * Per pair: `cmp|x <TAB> a <TAB> b`, each version `!` when packaging refuses it, else its
 * hex-encoded `str(Version)` and `:1`/`:0` for `is_prerelease`. Versions travel hex-encoded, so
 * tabs, newlines and non-ASCII cannot break the protocol.
 */
const PYTHON_COMPARE = `
import sys
from packaging.version import Version, InvalidVersion
def load(h):
    try:
        return Version(bytes.fromhex(h).decode("utf-8"))
    except InvalidVersion:
        return None
def show(v):
    return "!" if v is None else str(v).encode("utf-8").hex() + (":1" if v.is_prerelease else ":0")
out = []
for line in sys.stdin:
    a, b = (load(h) for h in line.rstrip("\\n").split("\\t"))
    c = "x" if a is None or b is None else str((a > b) - (a < b))
    out.append(c + "\\t" + show(a) + "\\t" + show(b))
print("\\n".join(out))
`;

interface PackagingAnswer {
  compare: number | undefined;
  /** Per side: undefined when packaging refuses the version. */
  sides: ({ normalized: string; prerelease: boolean } | undefined)[];
}

/** Every pair through one Python process running packaging. */
function packagingCompare(pairs: readonly [string, string][]): PackagingAnswer[] {
  // -I: isolated, so no PYTHONPATH or user site can swap in another packaging.
  return askReference('python', PYTHON, ['-I', '-c', PYTHON_COMPARE], pairs).map(({ compare, sides }) => ({
    compare,
    sides: sides.map((side) => {
      if (side === '!') return undefined;
      const [normalized, prerelease] = side.split(':');
      return { normalized: unhex(normalized!), prerelease: prerelease === '1' };
    }),
  }));
}

/** Our deliberate refusals (see pep440.ts): packaging may take these, we never do. */
const refusedByDesign = (v: string) => v.length > 256 || [...v].some((c) => c.codePointAt(0)! > 0x7f);

const havePackaging = spawnSync(PYTHON, ['-I', '-c', 'import packaging.version']).status === 0;

describe('PyPI (PEP 440) versions against packaging itself', () => {
  // The test command installs the reference tools (scripts/ensure-clients.sh): never skip.
  before(() =>
    assert.ok(havePackaging, `${PYTHON} cannot import packaging (Debian packages python3 and python3-packaging): run bash scripts/ensure-clients.sh`),
  );
  const PAIR_COUNT = 12_000;
  const { pairs, invalid } = generate(0x5eed_9e44, PAIR_COUNT);

  it(`agrees with packaging.version.Version on ${PAIR_COUNT} generated pairs, the hand-written ones and the invalid candidates`, (t) => {
    const handWritten = TRICKY_PAIRS.map(([a, b]): [string, string] => [a, b]);
    const invalidRows = [...invalid, ...INVALID].map((v): [string, string] => [v, '1.0']);
    const all = [...handWritten, ...pairs, ...invalidRows];
    const answers = packagingCompare(all);
    const disagreements: string[] = [];
    const orders = [0, 0, 0];
    let refusedByUsOnly = 0;
    all.forEach(([a, b], k) => {
      const answer = answers[k]!;
      const pairText = `${JSON.stringify(a)} | ${JSON.stringify(b)}`;
      [a, b].forEach((v, side) => {
        const theirs = answer.sides[side];
        const ours = pep440Scheme.isValid(v);
        if (theirs === undefined) {
          if (ours) disagreements.push(`  ${JSON.stringify(v)}: valid for us, InvalidVersion for packaging`);
          return;
        }
        if (!ours) {
          if (refusedByDesign(v)) refusedByUsOnly++;
          else disagreements.push(`  ${JSON.stringify(v)}: invalid for us, packaging reads ${theirs.normalized}`);
          return;
        }
        if (normalizePep440(v) !== theirs.normalized) disagreements.push(`  ${JSON.stringify(v)}: normalized ${normalizePep440(v)}, packaging ${theirs.normalized}`);
        if (isPrerelease(v) !== theirs.prerelease) disagreements.push(`  ${JSON.stringify(v)}: isPrerelease ${isPrerelease(v)}, packaging ${theirs.prerelease}`);
      });
      if (answer.compare === undefined || !pep440Scheme.isValid(a) || !pep440Scheme.isValid(b)) return;
      const ours = pep440Scheme.compare(a, b);
      orders[ours + 1]!++;
      if (ours !== answer.compare) disagreements.push(`  ${pairText}: ours ${ours}, packaging ${answer.compare}`);
    });
    const compared = orders.reduce((x, y) => x + y, 0);
    t.diagnostic(`${compared} pairs compared, ours </=/>: ${orders.join('/')}; ${invalidRows.length} invalid candidates checked, ` +
      `${refusedByUsOnly} of them (non-ASCII or over 256 characters) accepted by packaging and refused by design`);
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
    assert.ok(compared >= PAIR_COUNT, `only ${compared} pairs compared`);
  });
});
