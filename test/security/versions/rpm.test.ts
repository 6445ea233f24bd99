import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  compareEvr,
  compareRpmVersions,
  createRpmScheme,
  isValidRpmEvr,
  parseRpmEvr,
  RPM_ECOSYSTEMS,
  rpmSchemes,
} from '../../../src/security/versions/rpm.js';
import { randomPicker } from './random.js';
import { describeDisagreements, sign, symbol } from './reference.js';

const redHat = createRpmScheme('Red Hat');

// rpmvercmp on plain versions: [a, b, expected sign]
const TRICKY_VERSIONS: [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1', 1],
  ['5.5p1', '5.5p2', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1],
  ['xyz.4', '8', -1],
  ['xyz10', 'xyz10.1', -1],
  ['6.0.rc1', '6.0', 1],
  ['10b2', '10a1', 1],
  ['1.0a', '1.0aa', -1],
  ['10.0001', '10.1', 0],
  ['10.0001', '10.0039', -1],
  ['4.999.9', '5.0', -1],
  ['20101121', '20101122', -1],
  ['2.0', '2_0', 0],
  ['2_0', '2.0_1', -1],
  ['1..0', '1.0', 0],
  ['1.0.', '1.0', 0],
  ['a+', 'a_', 0],
  ['1.a', '1.0', -1], // a number beats letters
  ['1.a', '1', 1], // but more segments win
  ['1a', '1.a', 0],
  ['FC5', 'fc4', -1], // strcmp: uppercase first
  // ~ sorts before anything, even the end
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0~', '1.0', -1],
  ['~~', '~', -1],
  ['~', '', -1],
  // ^ sorts after the end but before any further segment
  ['1.0^', '1.0', 1],
  ['1.0^git1', '1.0', 1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git1', '1.01', -1],
  ['1.0^20160101', '1.0.1', -1],
  ['1.0^20160101^git1', '1.0^20160101', 1],
  ['1.0~rc1^git1', '1.0~rc1', 1],
  ['1.0^git1~pre', '1.0^git1', -1],
  ['1.0^', '1.0~', 1],
  // numbers of any length
  ['1.100000000000000000001', '1.100000000000000000000', 1],
  ['1.000000000000000000000000001', '1.1', 0],
  ['1.99999999999999999999999', '1.100000000000000000000000', -1],
];

// whole [epoch:]version[-release]
const TRICKY_EVRS: [string, string, number][] = [
  ['1:1.0-1', '2.0-1', 1],
  ['0:1.0-1', '1.0-1', 0],
  ['00:1.0-1', '0:1.0-1', 0],
  ['1.0-2', '1.0-10', -1],
  ['1.0-1', '1.0', 1], // no release sorts first (rpm 4.18's rpmverCmp)
  ['1.0', '1.0-0', -1],
  ['1.0-1.el8', '1.0-1.el9', -1],
  ['1.0-1.el8_6', '1.0-1.el8', 1],
  ['4.18.0-372.9.1.el8', '4.18.0-372.26.1.el8_6', -1],
  ['2:8.2.2637-20.el9_1', '2:8.2.2637-20.el9', 1],
  ['1.2.3-150400.3.1', '1.2.3-150400.3.10', -1],
  ['1.0~rc1-1', '1.0-1', -1],
  ['1.0^git1-1', '1.0-9', 1],
  ['10:1-1', '9:99-99', 1],
];

describe('RPM versions', () => {
  for (const [a, b, expected] of TRICKY_VERSIONS) {
    it(`rpmvercmp ${JSON.stringify(a)} ${symbol(expected)} ${JSON.stringify(b)}`, () => {
      assert.equal(compareRpmVersions(a, b), expected);
      assert.equal(compareRpmVersions(b, a), sign(-expected));
    });
  }
  for (const [a, b, expected] of TRICKY_EVRS) {
    it(`${a} ${symbol(expected)} ${b}`, () => {
      assert.equal(sign(redHat.compare(a, b)), expected);
      assert.equal(sign(redHat.compare(b, a)), sign(-expected));
    });
  }

  it('parses [epoch:]version[-release] like rpm', () => {
    assert.deepEqual(parseRpmEvr('1.0'), { version: '1.0' });
    assert.deepEqual(parseRpmEvr('2:1.0-3.el9'), { epoch: '2', version: '1.0', release: '3.el9' });
    assert.deepEqual(parseRpmEvr(':1.0'), { epoch: '0', version: '1.0' });
    assert.deepEqual(parseRpmEvr('1-2-3'), { version: '1-2', release: '3' });
    assert.deepEqual(parseRpmEvr('a:1'), { version: 'a:1' });
    assert.deepEqual(parseRpmEvr('1.0-'), { version: '1.0', release: '' });
    assert.throws(() => parseRpmEvr(''), TypeError);
  });

  it('compareEvr: epoch first (absent = 0, numeric), then version, then release (absent first)', () => {
    assert.equal(compareEvr({ version: '1.0' }, { epoch: 0, version: '1.0' }), 0);
    assert.equal(compareEvr({ epoch: 10, version: '1.0' }, { epoch: '9', version: '2.0' }), 1);
    assert.equal(compareEvr({ epoch: '010', version: '1.0' }, { epoch: 10, version: '1.0' }), 0);
    assert.equal(compareEvr({ version: '1.0', release: '1' }, { version: '1.0' }), 1);
    assert.equal(compareEvr({ version: '1.0', release: '' }, { version: '1.0' }), 1);
    assert.equal(compareEvr({ version: '1.0', release: '~' }, { version: '1.0', release: '' }), -1);
    assert.equal(compareEvr({ version: '1.1' }, { version: '1.0', release: '9' }), 1);
  });

  it('accepts rpm EVRs and rejects garbled ones', () => {
    for (const v of ['1', '1.0', '0:1.0-1', '2:8.2.2637-20.el9_1', '1.0~rc1^git2_3+b-1.fc39', 'x'.repeat(256)]) {
      assert.equal(redHat.isValid(v), true, v);
    }
    for (const v of ['', ':1.0', 'a:1.0', '1:', '1.0-', '-1', '1-2-3', '1:2:3', '1.0 1', ' 1.0', '1.0\n', '1.0é', '1.0/1', 'x'.repeat(257)]) {
      assert.equal(redHat.isValid(v), false, JSON.stringify(v));
      assert.throws(() => redHat.compare(v, '1.0'), TypeError, JSON.stringify(v));
      assert.throws(() => redHat.compare(v, v), TypeError, JSON.stringify(v));
    }
  });

  it('has one scheme per RPM-based OSV ecosystem', () => {
    assert.deepEqual(rpmSchemes.map((s) => s.ecosystem), [...RPM_ECOSYSTEMS]);
    for (const name of ['Red Hat', 'AlmaLinux', 'Rocky Linux', 'openSUSE', 'SUSE', 'Mageia']) {
      assert.ok(rpmSchemes.some((s) => s.ecosystem === name), name);
    }
  });
});

function makeGenerator(seed: number) {
  const { random, pick, digits } = randomPicker(seed);
  const token = (): string =>
    pick([
      () => pick(['0', '1', '2', '9', '10', '99', '100', '20240101']),
      () => '0'.repeat(1 + Math.floor(random() * 3)) + pick(['0', '1', '7', '10']),
      () => digits(1 + Math.floor(random() * 3)),
      () => pick(['1', '9']) + digits(20 + Math.floor(random() * 10)),
      () => pick(['a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'git', 'el8', 'el8_6', 'fc39', 'p', 'aa']),
      () => pick(['.', '.', '.', '_', '+', '..', '%', '#', '/']),
      () => pick(['~', '~', '^', '^', '~~', '^^', '~^', '^~']),
    ])();
  const plain = (): string => {
    let text = '';
    const count = 1 + Math.floor(random() * 6);
    for (let k = 0; k < count; k++) text += token();
    return text;
  };
  const evr = (): string => {
    const epoch = random() < 0.3 ? pick(['', '0', '1', '2', '01', '10', '99999999999999999999999']) + ':' : '';
    const release = random() < 0.6 ? '-' + plain() : pick(['', '', '', '-', '-~', '-1-2']);
    return epoch + plain() + release;
  };
  /** A close relative of `v`, so pairs share long prefixes and differ in one spot. */
  const variant = (v: string, make: () => string): string =>
    pick([
      () => v,
      () => v + token(),
      () => v + pick(['~', '^', '.0', '0', 'a']),
      () => v.slice(0, Math.max(1, Math.floor(random() * v.length))),
      () => v.replace(/[0-9]+(?=[^0-9]*$)/, (run) => (random() < 0.5 ? '0' + run : String(BigInt(run) + 1n))),
      () => v.replace(/[.~^_]/, () => token()),
      () => make(),
    ])();
  return { random, plain, evr, variant };
}

function generatePairs(seed: number, wanted: number, kind: 'plain' | 'evr'): [string, string][] {
  const generator = makeGenerator(seed);
  const make = kind === 'plain' ? generator.plain : generator.evr;
  // Plain versions must not read as an EVR when rpm parses them: no `-`, no `:`.
  const usable = (v: string) => v.length > 0 && (kind === 'evr' || !/[-:]/.test(v));
  const pairs: [string, string][] = [];
  while (pairs.length < wanted) {
    const a = make();
    const b = generator.random() < 0.6 ? generator.variant(a, make) : make();
    if (usable(a) && usable(b)) pairs.push([a, b]);
  }
  return pairs;
}

const scratch = mkdtempSync(join(tmpdir(), 'stockade-rpmvercmp-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const CHUNK = 2_000;

/**
 * rpm's own answers, from its Lua `rpm.vercmp` (rpmverCmp on parsed EVRs, so on plain versions
 * it is rpmvercmp). Strings travel hex-encoded, so no character can break the Lua program.
 */
function rpmCompare(pairs: readonly [string, string][]): number[] {
  const results: number[] = [];
  for (let start = 0; start < pairs.length; start += CHUNK) {
    const chunk = pairs.slice(start, start + CHUNK);
    const file = join(scratch, `chunk-${start}.lua`);
    const rows = chunk.map(([a, b]) => `{"${hex(a)}","${hex(b)}"}`).join(',\n');
    writeFileSync(file, [
      'local function unhex(h) return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end',
      `local rows = {${rows}}`,
      'local out = {}',
      'for i, row in ipairs(rows) do out[i] = rpm.vercmp(unhex(row[1]), unhex(row[2])) end',
      'print(table.concat(out, ","))',
    ].join('\n'));
    const run = spawnSync('rpm', ['--eval', `%{lua: dofile('${file}')}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(run.status, 0, `rpm failed: ${run.stderr}`);
    const answers = run.stdout.trim().split(',').map(Number);
    assert.equal(answers.length, chunk.length, `rpm answered ${answers.length} of ${chunk.length}: ${run.stderr}`);
    results.push(...answers);
  }
  return results;
}

/** rpm's own split of each EVR (`rpm.ver`), as `epoch|version|release` with `-` for absent, hex-encoded parts. */
function rpmParse(versions: readonly string[]): string[] {
  const file = join(scratch, 'parse.lua');
  writeFileSync(file, [
    'local function unhex(h) return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end',
    'local function tohex(s) if s == nil then return "-" end return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end',
    `local rows = {${versions.map((v) => `"${hex(v)}"`).join(',\n')}}`,
    'local out = {}',
    'for i, row in ipairs(rows) do local v = rpm.ver(unhex(row)); out[i] = tohex(v.e) .. "|" .. tohex(v.v) .. "|" .. tohex(v.r) end',
    'print(table.concat(out, ","))',
  ].join('\n'));
  const run = spawnSync('rpm', ['--eval', `%{lua: dofile('${file}')}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `rpm failed: ${run.stderr}`);
  return run.stdout.trim().split(',');
}

const ourSplit = (v: string) => {
  const evr = parseRpmEvr(v);
  const part = (s: string | number | undefined) => (s === undefined ? '-' : hex(String(s)));
  return `${part(evr.epoch)}|${part(evr.version)}|${part(evr.release)}`;
};

const haveRpm = spawnSync('rpm', ['--eval', '%{lua: print(rpm.vercmp("1", "2"))}'], { encoding: 'utf8' }).stdout?.trim() === '-1';

describe('RPM versions against rpm itself', () => {
  // The test command installs the reference tools (scripts/ensure-clients.sh): never skip.
  before(() => assert.ok(haveRpm, 'rpm (with Lua) not installed: run bash scripts/ensure-clients.sh'));
  const PAIR_COUNT = 12_000;

  it(`rpmvercmp agrees with rpm.vercmp on ${PAIR_COUNT} generated plain-version pairs and the hand-written ones`, (t) => {
    const pairs = [...TRICKY_VERSIONS.filter(([a, b]) => a !== '' && b !== '').map(([a, b]): [string, string] => [a, b]), ...generatePairs(0x5eed_4e7, PAIR_COUNT, 'plain')];
    const expected = rpmCompare(pairs);
    const disagreements: string[] = [];
    const orders = [0, 0, 0];
    pairs.forEach(([a, b], k) => {
      const ours = compareRpmVersions(a, b);
      orders[ours + 1]!++;
      if (ours !== expected[k]) disagreements.push(`  ${JSON.stringify(a)} | ${JSON.stringify(b)}: ours ${ours}, rpm ${expected[k]}`);
    });
    t.diagnostic(`${pairs.length} pairs, ours </=/>: ${orders.join('/')}`);
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
  });

  it(`compareEvr agrees with rpm.vercmp on ${PAIR_COUNT} generated EVR pairs and the hand-written ones`, (t) => {
    const pairs = [...TRICKY_EVRS.map(([a, b]): [string, string] => [a, b]), ...generatePairs(0x5eed_e7e, PAIR_COUNT, 'evr')];
    const expected = rpmCompare(pairs);
    const disagreements: string[] = [];
    let validPairs = 0;
    pairs.forEach(([a, b], k) => {
      const ours = compareEvr(parseRpmEvr(a), parseRpmEvr(b));
      if (ours !== expected[k]) disagreements.push(`  ${JSON.stringify(a)} | ${JSON.stringify(b)}: ours ${ours}, rpm ${expected[k]}`);
      if (isValidRpmEvr(a) && isValidRpmEvr(b)) {
        validPairs++;
        const bySchema = sign(redHat.compare(a, b));
        if (bySchema !== expected[k]) disagreements.push(`  ${a} | ${b}: scheme ${bySchema}, rpm ${expected[k]}`);
      }
    });
    t.diagnostic(`${pairs.length} pairs, ${validPairs} of them valid for the scheme`);
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
  });

  it('parseRpmEvr splits like rpm.ver', () => {
    const versions = [...new Set(generatePairs(0x5eed_e7e, 2_000, 'evr').flat())];
    const expected = rpmParse(versions);
    const disagreements = versions
      .map((v, k) => (ourSplit(v) === expected[k] ? '' : `  ${JSON.stringify(v)}: ours ${ourSplit(v)}, rpm ${expected[k]}`))
      .filter((row) => row !== '');
    assert.equal(disagreements.length, 0, describeDisagreements(disagreements));
  });
});
