import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAffected, parseOsv, readAdvisoryText } from '../../../src/security/advisories/index.js';
import { convertNodeSecurityWg, semverRangeToOsv } from '../../../src/security/advisories/nodejs-security-wg.js';
import { convertRubysec, gemRequirementsToOsv } from '../../../src/security/advisories/rubysec.js';
import { semverScheme } from '../../../src/security/versions/index.js';
import { rubyGemsScheme } from '../../../src/security/versions/rubygems.js';

describe('Node.js security WG: npm semver ranges → OSV SEMVER events', () => {
  const cases: [string, ReturnType<typeof semverRangeToOsv>['ranges'][number]['events'][], string[]][] = [
    ['<1.0.0', [[{ introduced: '0' }, { fixed: '1.0.0' }]], []],
    ['<= 1.0.3', [[{ introduced: '0' }, { last_affected: '1.0.3' }]], []],
    ['>=1.4.0 <2.0.0', [[{ introduced: '1.4.0' }, { fixed: '2.0.0' }]], []],
    ['>= 15.0.0 <= 16.1.0', [[{ introduced: '15.0.0' }, { last_affected: '16.1.0' }]], []],
    ['2.1.4', [], ['2.1.4']],
    ['=3.0.0-rc.1', [], ['3.0.0-rc.1']],
    ['2.1.0-M1 || 2.1.0-M2', [], ['2.1.0-M1', '2.1.0-M2']],
    ['<=0.9.4 || 1.0.0', [[{ introduced: '0' }, { last_affected: '0.9.4' }]], ['1.0.0']],
    ['*', [[{ introduced: '0' }]], []],
    ['>=0.1.0', [[{ introduced: '0.1.0' }]], []],
    ['<=99.999.99999', [[{ introduced: '0' }]], []],
    ['<1.6.5 || < 2.1.7 > 2.0.0', [[{ introduced: '0' }, { fixed: '1.6.5' }], [{ introduced: '2.0.1-0' }, { fixed: '2.1.7' }]], []],
    ['>2.0.0-beta.1', [[{ introduced: '2.0.0-beta.1.0' }]], []],
    ['2.0.x || 2.1.x', [[{ introduced: '2.0.0' }, { fixed: '2.1.0' }], [{ introduced: '2.1.0' }, { fixed: '2.2.0' }]], []],
    ['<3.11 || >= 4 <4.5', [[{ introduced: '0' }, { fixed: '3.11.0' }], [{ introduced: '4.0.0' }, { fixed: '4.5.0' }]], []],
    ['<=v2.0.0-alpha7', [[{ introduced: '0' }, { last_affected: '2.0.0-alpha7' }]], []],
    ['<5.0.0-beta.5', [[{ introduced: '0' }, { fixed: '5.0.0-beta.5' }]], []],
  ];
  for (const [range, ranges, versions] of cases) {
    it(range, () => {
      const out = semverRangeToOsv(range);
      assert.deepEqual(out.ranges.map((r) => r.events), ranges);
      assert.deepEqual(out.versions, versions);
      assert.deepEqual(out.warnings, []);
    });
  }

  it('warns and lists nothing for what is not a range', () => {
    for (const text of ['All versions', '', 'none']) {
      const out = semverRangeToOsv(text);
      assert.deepEqual([out.ranges, out.versions], [[], []]);
      assert.equal(out.warnings.length, 1);
    }
    const empty = semverRangeToOsv('>=2.0.0 <1.0.0');
    assert.deepEqual(empty.ranges, []);
    assert.match(empty.warnings[0] ?? '', /matches no version/);
  });

  it('the exclusive lower bound is exact in SemVer order', () => {
    const advisory = parseOsv(convertNodeSecurityWg(wg({ vulnerable_versions: '>2.0.0 <2.1.7' })).osv);
    const affected = advisory.affected[0]!;
    assert.equal(isAffected(affected, '2.0.0', semverScheme), false);
    assert.equal(isAffected(affected, '2.0.0+build', semverScheme), false);
    assert.equal(isAffected(affected, '2.0.1-alpha', semverScheme), true);
    assert.equal(isAffected(affected, '2.0.1', semverScheme), true);
  });

  function wg(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      id: 42,
      title: 'Malicious Package',
      overview: 'The package ships a backdoor.',
      recommendation: 'Remove it.',
      created_at: '2018-07-12',
      updated_at: '2018-07-13',
      publish_date: '2018-07-12',
      module_name: '@evil/pkg',
      cves: ['CVE-2018-0001', 'CVE-nope'],
      vulnerable_versions: '3.7.2',
      patched_versions: '<=3.7.1 || >= 3.7.3',
      references: ['https://example.com/a', '(link to the npm website removed)'],
      cvss_vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:N',
      cvss_score: 10,
      ...extra,
    };
  }

  it('converts a whole advisory', () => {
    const { osv, warnings } = convertNodeSecurityWg(wg());
    assert.deepEqual(warnings, ['cves: "CVE-nope" is not a CVE id; dropped']);
    const advisory = parseOsv(osv);
    assert.equal(advisory.id, 'NSWG-ECO-42');
    assert.equal(advisory.modified, '2018-07-13T00:00:00Z');
    assert.equal(advisory.published, '2018-07-12T00:00:00Z');
    assert.deepEqual(advisory.aliases, ['CVE-2018-0001']);
    assert.equal(advisory.summary, 'Malicious Package');
    assert.equal(advisory.details, 'The package ships a backdoor.\n\n## Recommendation\n\nRemove it.');
    assert.equal(advisory.severity, 'critical');
    assert.equal(advisory.malicious, true);
    assert.deepEqual(advisory.references, ['https://github.com/nodejs/security-wg/blob/main/vuln/npm/42.json', 'https://example.com/a']);
    assert.deepEqual(advisory.affected[0]?.versions, ['3.7.2']);
    assert.equal(advisory.affected[0]?.purl, 'pkg:npm/%40evil/pkg');
  });

  it('takes severity from the score when there is no vector', () => {
    const advisory = parseOsv(convertNodeSecurityWg(wg({ cvss_vector: null, cvss_score: 5.3, title: 'XSS' })).osv);
    assert.equal(advisory.severity, 'medium');
    assert.equal(advisory.malicious, false);
  });

  it('refuses what it cannot name', () => {
    assert.throws(() => convertNodeSecurityWg(wg({ id: 'a b' })), /id: missing or not a valid advisory number/);
    assert.throws(() => convertNodeSecurityWg(wg({ module_name: '' })), /module_name: missing/);
    assert.throws(() => convertNodeSecurityWg(wg({ updated_at: 'yesterday' })), /updated_at: "yesterday" is not a date/);
  });
});

describe('rubysec: Gem::Requirement lists → OSV ECOSYSTEM events', () => {
  type Events = Record<string, string>[];
  const cases: [string, string[], string[], Events[], string[]][] = [
    ['no patch', [], [], [[{ introduced: '0' }]], []],
    ['patched >=', ['>= 2.2.1'], [], [[{ introduced: '0' }, { fixed: '2.2.1' }]], []],
    ['pessimistic', ['~> 1.2.3'], [], [[{ introduced: '0' }, { fixed: '1.2.3' }, { introduced: '1.3.A' }]], []],
    [
      'branches plus unaffected old versions',
      ['~> 2.1.3', '>= 2.2.2'],
      ['< 2.1.0'],
      [[{ introduced: '2.1.0' }, { fixed: '2.1.3' }, { introduced: '2.2.A' }, { fixed: '2.2.2' }]],
      [],
    ],
    [
      'conjunctions in one requirement',
      ['~> 4.2.5, >= 4.2.5.1', '>= 5.0.0'],
      [],
      [[{ introduced: '0' }, { fixed: '4.2.5.1' }, { introduced: '4.3.A' }, { fixed: '5.0.0' }]],
      [],
    ],
    ['patched > x: last_affected x', ['> 0.12.7'], [], [[{ introduced: '0' }, { last_affected: '0.12.7' }]], []],
    ['one affected version', ['> 1.0.0'], ['< 1.0.0'], [], ['1.0.0']],
    ['patched != x: only x', ['!= 1.5.0'], [], [], ['1.5.0']],
    ['overlapping requirements merge', ['>= 1.0, < 2.0', '>= 1.5'], [], [[{ introduced: '0' }, { fixed: '1.0' }]], []],
    ['everything patched', ['>= 0'], [], [], []],
  ];
  for (const [name, patched, unaffected, ranges, versions] of cases) {
    it(name, () => {
      const out = gemRequirementsToOsv(patched, unaffected);
      assert.deepEqual(out.ranges.map((r) => r.events), ranges);
      assert.deepEqual(out.versions, versions);
      assert.deepEqual(out.warnings, []);
    });
  }

  it('approximates a stretch that starts just after a safe version, with a warning', () => {
    const out = gemRequirementsToOsv(['>= 2.0.6'], ['<= 2.0.3']);
    assert.deepEqual(out.ranges.map((r) => r.events), [[{ introduced: '2.0.3' }, { fixed: '2.0.6' }]]);
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0]!, /2\.0\.3 is not affected/);
  });

  it('refuses a requirement it cannot read', () => {
    assert.throws(() => gemRequirementsToOsv(['>= 1.0', 'soon'], []), /patched_versions\[1\]: "soon" is not a RubyGems requirement/);
    assert.throws(() => gemRequirementsToOsv([], ['=> 1.0']), /unaffected_versions\[0\]/);
  });

  it('converts a whole advisory', () => {
    const raw = {
      gem: 'resque',
      cve: '2023-50725',
      ghsa: 'gc3j-vvwf-4rp8',
      url: 'https://github.com/resque/resque/security/advisories/GHSA-gc3j-vvwf-4rp8',
      title: 'Resque vulnerable to reflected XSS',
      date: '2023-12-18',
      description: 'Details.\n',
      cvss_v3: '6.3',
      patched_versions: ['>= 2.2.1'],
      related: { url: ['https://github.com/resque/resque/pull/1790'], cve: ['2023-50727'] },
    };
    const { osv, warnings } = convertRubysec(raw, { fileName: 'CVE-2023-50725' });
    assert.deepEqual(warnings, []);
    const advisory = parseOsv(osv);
    assert.equal(advisory.id, 'RUBYSEC-resque-CVE-2023-50725');
    assert.deepEqual(advisory.aliases, ['CVE-2023-50725', 'GHSA-gc3j-vvwf-4rp8']);
    assert.deepEqual(advisory.related, ['CVE-2023-50727']);
    assert.equal(advisory.severity, 'medium');
    assert.equal(advisory.published, '2023-12-18T00:00:00Z');
    assert.deepEqual(advisory.references, [raw.url, 'https://github.com/resque/resque/pull/1790']);
    const affected = advisory.affected[0]!;
    assert.equal(affected.ecosystem, 'RubyGems');
    assert.equal(isAffected(affected, '2.2.0', rubyGemsScheme), true);
    assert.equal(isAffected(affected, '2.2.1', rubyGemsScheme), false);
  });

  it('reads YAML without turning versions into numbers', () => {
    const yaml = ['---', 'gem: foo', 'cve: 2020-1234', 'date: 2020-01-02', 'title: t', 'cvss_v2: 10.0', 'patched_versions:', '  - ">= 1.10"', ''].join('\n');
    const [item] = readAdvisoryText('gems/foo/CVE-2020-1234.yml', yaml);
    assert.equal(item?.error, undefined);
    assert.equal(item?.format, 'rubysec');
    assert.equal(item?.advisory?.severity, 'high');
    assert.deepEqual(item?.advisory?.affected[0]?.ranges[0]?.events, [
      { kind: 'introduced', version: '0' },
      { kind: 'fixed', version: '1.10' },
    ]);
  });
});
