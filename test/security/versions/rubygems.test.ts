import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { versionSchemeFor } from '../../../src/security/versions/index.js';
import { isPrerelease, rubyGemsScheme } from '../../../src/security/versions/rubygems.js';
import { randomPicker } from './random.js';
import { askReference, describeDisagreements, generatePairs, sign, symbol } from './reference.js';


// [a, b, expected sign of compare(a, b)]
const TRICKY_PAIRS: [string, string, number][] = [
  ['1.0.a', '1.0', -1],
  ['1.0.0', '1', 0],
  ['1.0-1', '1.0.pre.1', 0],
  ['1.0-1', '1.0', -1], // `-` makes a pre-release
  ['1.0.0.rc1', '1.0.0.rc.1', 0], // letters and digits split into segments
  ['1.0.rc1', '1.0.rc01', 0],
  ['1.0.a.0', '1.0.a', 0], // trailing zeros go from the pre-release part too
  ['1.0.a.0.1', '1.0.a.1', -1], // but not from its middle
  ['1.0.0.a', '1.a', 0],
  ['1.0.beta', '1.0.rc', -1],
  ['1.0.Z', '1.0.a', -1], // bytewise
  ['1.0.aa', '1.0.b', -1],
  ['1.0.a10', '1.0.a9', 1],
  ['1.0.0a', '1.0.a', 0], // `0a` is 0, a: that 0 is a trailing zero of the release part
  ['1.0.b1', '1.0.a.2', 1],
  ['1.a', '1.0', -1],
  ['0.a', '0', -1],
  ['1-a-b', '1.pre.a.pre.b', 0],
  ['1.0.1', '1.0.rc', 1],
  ['2', '10', -1],
  ['1.10', '1.9', 1],
  ['007', '7', 0],
  ['1.2.3.4.5.6.7.8.9', '1.2.3.4.5.6.7.8.10', -1],
  ['123456789012345678901234567890', '123456789012345678901234567891', -1],
  ['1.9007199254740993', '1.9007199254740992', 1],
  [' 1.0 ', '1', 0],
  ['1.0\n', '1.0', 0],
];

const INVALID = [
  '',
  '   ', // Gem::Version.correct? takes it (and reads it as 0); we refuse it
  'a',
  '.1',
  '1.',
  '1..0',
  '1.0.',
  '1-',
  '1.0-.a',
  '-1',
  '1_0',
  '1.0+a',
  '1.0 beta',
  '1,0',
  '>= 1.0',
  'v1.0',
  '1.0\u00a0', // String#trim would strip it; Ruby's \s does not
  '\ufeff1.0',
  '1.0\u2028',
  '1.0\0',
  '１.0',
  '1'.repeat(257),
];

describe('RubyGems (Gem::Version) versions', () => {
  for (const [a, b, expected] of TRICKY_PAIRS) {
    it(`${JSON.stringify(a)} ${symbol(expected)} ${JSON.stringify(b)}`, () => {
      assert.equal(sign(rubyGemsScheme.compare(a, b)), expected);
      assert.equal(sign(rubyGemsScheme.compare(b, a)), sign(-expected));
    });
  }

  it('accepts what Gem::Version.correct? accepts and rejects the rest', () => {
    for (const v of ['0', '1', '1.0.a', '1.0-1', '1.0-beta-2.x', '\t1.0\v', '1.0.A', '1'.repeat(256)]) {
      assert.equal(rubyGemsScheme.isValid(v), true, JSON.stringify(v));
    }
    for (const v of INVALID) {
      assert.equal(rubyGemsScheme.isValid(v), false, JSON.stringify(v));
      assert.throws(() => rubyGemsScheme.compare(v, '1.0'), TypeError, JSON.stringify(v));
      assert.throws(() => rubyGemsScheme.compare(v, v), TypeError, JSON.stringify(v));
    }
  });

  it('tells pre-releases apart like Gem::Version#prerelease?', () => {
    for (const v of ['1.0.a', '1.0-1', '1.0.0.rc1', '1.A']) assert.equal(isPrerelease(v), true, v);
    for (const v of ['1', '1.0.0', ' 2.3 ']) assert.equal(isPrerelease(v), false, v);
    assert.throws(() => isPrerelease('1.0 beta'), TypeError);
  });

  it('is the scheme of the RubyGems ecosystem', () => {
    assert.equal(versionSchemeFor('RubyGems'), rubyGemsScheme);
  });
});

function makeGenerator(seed: number) {
  const { random, pick, digits } = randomPicker(seed);
  const upTo = (n: number) => Math.floor(random() * n);
  const number = () =>
    pick([
      () => pick(['0', '0', '1', '2', '9', '10', '99', '100']),
      () => '0'.repeat(1 + upTo(3)) + pick(['0', '1', '7', '10']),
      () => digits(1 + upTo(4)),
      () => pick(['9007199254740992', '9007199254740993', '18446744073709551616']),
      () => pick(['1', '9']) + digits(20 + upTo(10)),
    ])();
  const letters = () => pick(['a', 'b', 'z', 'A', 'Z', 'aa', 'rc', 'pre', 'beta', 'alpha', 'dev', 'RC', 'Beta']);
  /** One dot-separated segment: digits, letters, or a mix (`rc1`, `0a`, `b2c`). */
  const segment = () =>
    pick([
      number,
      number,
      letters,
      () => letters() + number(),
      () => number() + letters(),
      () => letters() + number() + letters(),
    ])();
  const version = (): string => {
    let v = number();
    const segments = upTo(5);
    for (let k = 0; k < segments; k++) v += '.' + segment();
    if (random() < 0.15) v += pick(['.0', '.0.0', '.00']);
    if (random() < 0.25) {
      // `-` as `.pre.`; after it, `-` may appear inside segments too
      v += '-' + Array.from({ length: 1 + upTo(3) }, () => pick([segment, () => segment() + '-' + segment()])()).join('.');
    }
    if (random() < 0.03) v = pick([' ', '\t', '\n', '\v', '\f', '\r']) + v;
    if (random() < 0.03) v += pick([' ', '\n', '\r\n', '\t', '\v']);
    return random() < 0.08 ? corrupt(v) : v;
  };
  const corrupt = (v: string): string =>
    pick([
      () => v + pick(['.', '-', '..', '_', '+a', ' x', ',1']),
      () => pick(['.', '-', 'v', 'a', '=', ' =']) + v,
      () => v.replace('.', pick(['..', '_', '', '.-'])),
      () => v + pick(['\u00a0', '\ufeff', '\u2028', '\u3000', '\0', 'é', '１']),
      () => v.replace(/[0-9]/, () => pick(['１', 'x', ' ', '٣'])),
      () => pick(['', ' ', '\t']),
    ])();
  /** A close relative of `v`, so pairs share long prefixes and differ in one spot. */
  const variant = (v: string): string =>
    pick([
      () => v,
      () => v + pick(['.0', '.0.0', '0', '.a', 'a', '-1', '-a', '.pre', '.1', '.a.0']),
      () => v.slice(0, Math.max(1, upTo(v.length))),
      () => v.replace(/[0-9]+(?=[^0-9]*$)/, (run) => (random() < 0.5 ? '0' + run : String(BigInt(run) + 1n))),
      () => v.replace(/[0-9]+/, (run) => (random() < 0.5 ? '0' + run : String(BigInt(run) + 1n))),
      () => v.replace(/-/g, '.pre.'),
      () => v.replace(/\.pre\./, '-'),
      () => v.replace(/(\.0)+$/, ''),
      () => v.replace(/[a-z]+/i, (word) => pick([word.toUpperCase(), word.toLowerCase(), word + 'a', word.slice(1) || 'a'])),
      () => v.replace(/([a-z])([0-9])/i, '$1.$2'),
    ])();
  return { random, version, variant };
}

/** Deterministic pairs of versions we call valid, and the candidates we call invalid. */
const generate = (seed: number, wanted: number) => generatePairs(makeGenerator(seed), (v) => rubyGemsScheme.isValid(v), wanted);

/**
 * Per pair: `cmp|x <TAB> a <TAB> b`, each version `!` when Gem::Version.correct? refuses it, else
 * `1`/`0` for prerelease?. Versions travel hex-encoded, so no character can break the protocol.
 */
const RUBY_COMPARE = `
def load(h)
  s = [h].pack("H*").force_encoding(Encoding::UTF_8)
  Gem::Version.correct?(s) ? Gem::Version.new(s) : nil
end
def show(v) = v.nil? ? "!" : (v.prerelease? ? "1" : "0")
out = STDIN.each_line.map do |line|
  a, b = line.chomp.split("\\t", -1).map { |h| load(h) }
  c = a.nil? || b.nil? ? "x" : (a <=> b).to_s
  [c, show(a), show(b)].join("\\t")
end
puts out
`;

interface GemAnswer {
  compare: number | undefined;
  /** Per side: prerelease?, or undefined when Gem::Version.correct? refuses the version. */
  sides: (boolean | undefined)[];
}

/** Every pair through one Ruby process running Gem::Version. */
function gemCompare(pairs: readonly [string, string][]): GemAnswer[] {
  return askReference('ruby', 'ruby', ['-e', RUBY_COMPARE], pairs).map(({ compare, sides }) => ({
    compare,
    sides: sides.map((side) => (side === '!' ? undefined : side === '1')),
  }));
}

/** Our deliberate refusals (see rubygems.ts): Gem::Version takes these, we never do. */
const refusedByDesign = (v: string) => v.length > 256 || v.trim() === '';

const haveRuby = spawnSync('ruby', ['-e', 'exit(Gem::Version.new("1.0.a") < Gem::Version.new("1") ? 0 : 1)']).status === 0;

describe('RubyGems versions against Gem::Version itself', () => {
  // The test command installs the reference tools (scripts/ensure-clients.sh): never skip.
  before(() => assert.ok(haveRuby, 'ruby with Gem::Version not installed (Debian package ruby-full): run bash scripts/ensure-clients.sh'));
  const PAIR_COUNT = 12_000;
  const { pairs, invalid } = generate(0x5eed_9e35, PAIR_COUNT);

  it(`agrees with Gem::Version on ${PAIR_COUNT} generated pairs, the hand-written ones and the invalid candidates`, (t) => {
    const handWritten = TRICKY_PAIRS.map(([a, b]): [string, string] => [a, b]);
    const invalidRows = [...invalid, ...INVALID].map((v): [string, string] => [v, '1.0']);
    const all = [...handWritten, ...pairs, ...invalidRows];
    const answers = gemCompare(all);
    const disagreements: string[] = [];
    const orders = [0, 0, 0];
    let refusedByUsOnly = 0;
    all.forEach(([a, b], k) => {
      const answer = answers[k]!;
      [a, b].forEach((v, side) => {
        const theirs = answer.sides[side];
        const ours = rubyGemsScheme.isValid(v);
        if (theirs === undefined) {
          if (ours) disagreements.push(`  ${JSON.stringify(v)}: valid for us, not Gem::Version.correct?`);
          return;
        }
        if (!ours) {
          if (refusedByDesign(v)) refusedByUsOnly++;
          else disagreements.push(`  ${JSON.stringify(v)}: invalid for us, Gem::Version.correct?`);
          return;
        }
        if (isPrerelease(v) !== theirs) disagreements.push(`  ${JSON.stringify(v)}: isPrerelease ${isPrerelease(v)}, prerelease? ${theirs}`);
      });
      if (answer.compare === undefined || !rubyGemsScheme.isValid(a) || !rubyGemsScheme.isValid(b)) return;
      const ours = sign(rubyGemsScheme.compare(a, b));
      orders[ours + 1]!++;
      if (ours !== answer.compare) disagreements.push(`  ${JSON.stringify(a)} | ${JSON.stringify(b)}: ours ${ours}, Gem::Version ${answer.compare}`);
    });
    const compared = orders.reduce((x, y) => x + y, 0);
    t.diagnostic(`${compared} pairs compared, ours </=/>: ${orders.join('/')}; ${invalidRows.length} invalid candidates checked, ` +
      `${refusedByUsOnly} of them (blank or over 256 characters) accepted by Gem::Version and refused by design`);
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
    assert.ok(compared >= PAIR_COUNT, `only ${compared} pairs compared`);
  });
});
