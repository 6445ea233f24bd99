import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { isAffected, parseOsv, readAdvisories, type AffectedPackage } from '../../../src/security/advisories/index.js';
import { convertRubysec, gemRequirementsToOsv } from '../../../src/security/advisories/rubysec.js';
import { ZipArchive } from '../../../src/security/advisories/zip.js';
import { gemBump, rubyGemsScheme } from '../../../src/security/versions/rubygems.js';

// rubysec's `patched_versions` / `unaffected_versions` are Gem::Requirement strings; the
// converter turns "affected = satisfies none of them" into OSV ranges. These tests hold the
// conversion against RubyGems itself (`ruby`, as bundler-audit evaluates the same lists): a
// hand-picked table of the tricky cases, then every advisory of the real database probed at
// the versions its requirements name and their neighbours.

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../data/advisories');

interface Question {
  patched: string[];
  unaffected: string[];
  versions: string[];
}

/** Asks RubyGems which versions each requirement list leaves affected. */
function askRuby(questions: readonly Question[]): boolean[][] {
  const script = [
    'require "json"',
    'STDIN.each_line do |line|',
    '  q = JSON.parse(line)',
    '  reqs = (q["patched"] + q["unaffected"]).map { |r| Gem::Requirement.new(*r.split(",").map(&:strip)) }',
    '  puts q["versions"].map { |v| reqs.any? { |r| r.satisfied_by?(Gem::Version.new(v)) } ? "0" : "1" }.join',
    'end',
  ].join('\n');
  const input = questions.map((q) => JSON.stringify(q)).join('\n') + '\n';
  const run = spawnSync('ruby', ['-e', script], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, `ruby failed: ${run.stderr}`);
  const lines = run.stdout.split('\n');
  lines.pop();
  assert.equal(lines.length, questions.length);
  return lines.map((line) => [...line].map((c) => c === '1'));
}

function convertedEntry(patched: string[], unaffected: string[]): AffectedPackage {
  const raw = { gem: 'example', cve: '2099-0001', date: '2099-01-01', title: 't', patched_versions: patched, unaffected_versions: unaffected };
  const advisory = parseOsv(convertRubysec(raw).osv);
  return advisory.affected[0]!;
}

interface Case {
  name: string;
  patched: string[];
  unaffected: string[];
  affected: string[];
  safe: string[];
}

const CASES: Case[] = [
  {
    name: '~> 1.2.3: the pre-releases of 1.3 fail v.release < 1.3 and stay affected',
    patched: ['~> 1.2.3'],
    unaffected: [],
    affected: ['1.2.2', '1.2.3.rc1', '1.3.0.rc1', '1.3.0.RC1', '1.3.a', '1.3.A', '1.3', '1.3.0', '2.0'],
    safe: ['1.2.3', '1.2.3.1', '1.2.99', '1.2.99.rc1'],
  },
  {
    name: '~> 2.1: a two-segment requirement bumps the major',
    patched: ['~> 2.1'],
    unaffected: [],
    affected: ['2.0.9', '3.0.0.beta1', '3.0'],
    safe: ['2.1', '2.1.0', '2.9.9', '2.99'],
  },
  {
    name: '~> 4.2.5, >= 4.2.5.1 together with >= 5.0.0.beta1: conjunctions and a pre-release bound',
    patched: ['~> 4.2.5, >= 4.2.5.1', '>= 5.0.0.beta1'],
    unaffected: [],
    affected: ['4.2.5', '4.2.5.1.rc1', '4.3.0.rc1', '4.3', '5.0.0.alpha'],
    safe: ['4.2.5.1', '4.2.9', '5.0.0.beta1', '5.0.0.rc1', '5.0.0', '6.0'],
  },
  {
    name: 'several branches and unaffected old versions',
    patched: ['~> 6.1.7, >= 6.1.7.9', '~> 7.0.8, >= 7.0.8.5', '>= 7.2.1.1'],
    unaffected: ['< 3.0.0'],
    affected: ['3.0.0', '6.1.7.8', '6.2.0', '7.0.8.4', '7.1.0', '7.2.1', '7.2.1.1.rc1'],
    safe: ['2.3.18', '3.0.0.rc1', '6.1.7.9', '6.1.99', '7.0.8.5', '7.2.1.1', '8.0.0.rc1', '8.0'],
  },
  {
    name: 'prerelease requirements: >= 3.1.0.rc6 patches 3.1.0.rc6 and later only',
    patched: ['>= 3.1.0.rc6'],
    unaffected: [],
    affected: ['3.0.9', '3.1.0.rc5', '3.1.0.beta1'],
    safe: ['3.1.0.rc6', '3.1.0', '3.1.0.rc10'],
  },
  {
    name: 'patched > x ends the stretch with last_affected x',
    patched: ['> 0.12.7'],
    unaffected: [],
    affected: ['0.12.7', '0.12.7.0', '0.1'],
    safe: ['0.12.7.1', '0.12.8.rc1', '0.13'],
  },
  {
    name: 'overlapping requirements merge; a pre-release sorts below its release',
    patched: ['>= 2.0, < 3.0', '>= 2.5'],
    unaffected: ['< 1.0'],
    affected: ['1.0', '1.9', '2.0.rc1'],
    safe: ['0.9', '1.0.rc1', '2.0', '2.7', '3.0.a', '3.0', '10'],
  },
  {
    name: 'patched != x leaves x alone affected',
    patched: ['!= 9.9'],
    unaffected: [],
    affected: ['9.9', '9.9.0'],
    safe: ['9.8', '9.9.1', '9.9.rc1', '0'],
  },
];

describe('rubysec requirements → OSV ranges, checked against RubyGems', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const entry = convertedEntry(c.patched, c.unaffected);
      for (const v of c.affected) assert.equal(isAffected(entry, v, rubyGemsScheme), true, `${v} should be affected`);
      for (const v of c.safe) assert.equal(isAffected(entry, v, rubyGemsScheme), false, `${v} should not be affected`);
      const [answers] = askRuby([{ patched: c.patched, unaffected: c.unaffected, versions: [...c.affected, ...c.safe] }]);
      assert.deepEqual(answers, [...c.affected.map(() => true), ...c.safe.map(() => false)], 'the table agrees with RubyGems');
    });
  }

  it('bumps the same version the same way every time (the parse cache stays untouched)', () => {
    assert.equal(gemBump('6.1.4'), '6.2');
    assert.equal(gemBump('6.1.4'), '6.2');
    const twice = () => gemRequirementsToOsv(['~> 6.1.4, >= 6.1.4.6', '>= 7.0.2.2'], []).ranges.map((r) => r.events);
    assert.deepEqual(twice(), twice());
  });

  it('writes the bound of ~> as the lowest pre-release of the bump', () => {
    assert.deepEqual(
      gemRequirementsToOsv(['~> 1.2.3'], []).ranges.map((r) => r.events),
      [[{ introduced: '0' }, { fixed: '1.2.3' }, { introduced: '1.3.A' }]],
    );
    // Nothing sorts between 1.2.99… and 1.3.A but pre-releases of 1.3 in upper case.
    assert.ok(rubyGemsScheme.compare('1.2.999999', '1.3.A') < 0);
    assert.ok(rubyGemsScheme.compare('1.3.A', '1.3.0.AA') < 0);
    assert.ok(rubyGemsScheme.compare('1.3.A', '1.3.0.RC1') < 0);
  });

  describe('every advisory of the rubysec test data', () => {
    const raw = new Map<string, { patched: string[]; unaffected: string[] }>();
    const converted = new Map<string, { entry: AffectedPackage; warned: boolean }>();
    before(async () => {
      const archive = await ZipArchive.open(join(DATA, 'rubysec.zip'));
      try {
        for await (const item of archive.entries()) {
          if (item.kind !== 'file' || !item.name.endsWith('.yml')) continue;
          const doc = parseYaml((await archive.read(item.entry)).toString('utf8'), { schema: 'failsafe' }) as Record<string, unknown>;
          const list = (key: string) => (Array.isArray(doc[key]) ? (doc[key] as string[]) : []);
          raw.set(item.name, { patched: list('patched_versions'), unaffected: list('unaffected_versions') });
        }
      } finally {
        archive.close();
      }
      for await (const item of readAdvisories(join(DATA, 'rubysec.zip'))) {
        if (item.advisory) converted.set(item.source, { entry: item.advisory.affected[0]!, warned: (item.warnings ?? []).length > 0 });
      }
    });

    /** The versions a requirement list names, and their neighbours on both sides. */
    function probes(requirements: readonly string[]): string[] {
      const out = new Set(['0', '0.0.1', '0.1.rc1', '999']);
      for (const requirement of requirements) {
        for (const [v] of requirement.matchAll(/[0-9][0-9A-Za-z.-]*/g)) {
          if (!rubyGemsScheme.isValid(v)) continue;
          const bump = gemBump(v);
          const parts = v.split('.');
          const last = Number(parts[parts.length - 1]);
          const before = Number.isInteger(last) && last > 0 ? [...parts.slice(0, -1), String(last - 1)].join('.') : undefined;
          for (const p of [v, `${v}.rc1`, `${v}.1`, `${v}.0.1`, bump, `${bump}.0.rc1`, `${bump}.0.RC1`, `${bump}.0.1`, before]) {
            if (p !== undefined && rubyGemsScheme.isValid(p)) out.add(p);
          }
        }
      }
      return [...out];
    }

    it('agrees with RubyGems at every probed version, except the documented approximation', (t) => {
      assert.equal(raw.size, 1234);
      assert.equal(converted.size, 1234);
      const names = [...raw.keys()];
      const questions = names.map((name) => {
        const { patched, unaffected } = raw.get(name)!;
        return { patched, unaffected, versions: probes([...patched, ...unaffected]) };
      });
      const answers = askRuby(questions);
      let probed = 0;
      const approximated: string[] = [];
      const wrong: string[] = [];
      questions.forEach((q, i) => {
        const name = names[i]!;
        const { entry, warned } = converted.get(name)!;
        q.versions.forEach((v, j) => {
          probed++;
          const expected = answers[i]![j]!;
          if (isAffected(entry, v, rubyGemsScheme) === expected) return;
          // The approximation: a stretch after an inclusive safe bound x starts at x itself.
          const startsAtV = entry.ranges.some((r) => r.events.some((e) => e.kind === 'introduced' && e.version !== '0' && rubyGemsScheme.compare(e.version, v) === 0));
          if (!expected && warned && startsAtV) approximated.push(`${name} ${v}`);
          else wrong.push(`${name} ${v}: RubyGems says ${expected ? 'affected' : 'not affected'}`);
        });
      });
      t.diagnostic(`${probed} (advisory, version) probes; ${approximated.length} approximated: ${approximated.join(', ')}`);
      assert.deepEqual(wrong, []);
      assert.ok(probed > 20_000, `${probed} probes`);
      // One per warned advisory: each approximated stretch shows up exactly at its start version.
      assert.equal(approximated.length, 13);
    });
  });
});
