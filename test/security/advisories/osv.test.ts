import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdvisoryFormatError, OSV_LIMITS, parseOsv, scoreCvssVector } from '../../../src/security/advisories/index.js';

function record(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: '1.6.0',
    id: 'GHSA-aaaa-bbbb-cccc',
    modified: '2024-03-01T10:00:00Z',
    published: '2024-02-01T10:00:00.123456Z',
    aliases: ['CVE-2024-0001'],
    summary: 'Prototype pollution in pkg',
    details: 'Long text.\n\nMore.',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'pkg', purl: 'pkg:npm/pkg' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.2.3' }] }],
      },
    ],
    references: [
      { type: 'ADVISORY', url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc' },
      { type: 'WEB', url: 'javascript:alert(1)' },
      { type: 'WEB', url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc' },
    ],
    ...extra,
  };
}

function withAffected(affected: unknown[]): Record<string, unknown> {
  return record({ affected });
}

const semverRange = (events: unknown[]) => ({ type: 'SEMVER', events });
const npmPkg = { ecosystem: 'npm', name: 'pkg' };

describe('parseOsv: a valid record', () => {
  it('normalizes it', () => {
    const advisory = parseOsv(record());
    assert.deepEqual(advisory, {
      id: 'GHSA-aaaa-bbbb-cccc',
      modified: '2024-03-01T10:00:00Z',
      published: '2024-02-01T10:00:00.123456Z',
      aliases: ['CVE-2024-0001'],
      related: [],
      summary: 'Prototype pollution in pkg',
      details: 'Long text.\n\nMore.',
      severity: 'medium',
      malicious: false,
      references: ['https://github.com/advisories/GHSA-aaaa-bbbb-cccc'],
      affected: [
        {
          ecosystem: 'npm',
          ecosystemFull: 'npm',
          name: 'pkg',
          purl: 'pkg:npm/pkg',
          ranges: [{ type: 'SEMVER', events: [{ kind: 'introduced', version: '0' }, { kind: 'fixed', version: '1.2.3' }] }],
          versions: [],
        },
      ],
    });
  });

  it('keeps withdrawn records, flagged', () => {
    const advisory = parseOsv(record({ withdrawn: '2024-04-01T00:00:00Z' }));
    assert.equal(advisory.withdrawn, '2024-04-01T00:00:00Z');
    assert.equal(advisory.affected.length, 1);
  });

  it('splits ecosystem suffixes, spells ecosystems canonically, normalizes PyPI names', () => {
    const advisory = parseOsv(
      withAffected([
        { package: { ecosystem: 'Debian:12', name: 'openssl' }, versions: ['3.0.11-1~deb12u1'] },
        { package: { ecosystem: 'pypi', name: 'Django_REST.framework' }, versions: ['1.0'] },
        { package: { ecosystem: 'npm', name: '@Scope/Pkg' }, versions: ['1.0.0'] },
        { package: { ecosystem: 'SomeNewEcosystem', name: 'x' }, versions: ['1'] },
      ]),
    );
    assert.deepEqual(
      advisory.affected.map((a) => [a.ecosystem, a.ecosystemFull, a.name]),
      [
        ['Debian', 'Debian:12', 'openssl'],
        ['PyPI', 'PyPI', 'django-rest-framework'],
        ['npm', 'npm', '@Scope/Pkg'],
        ['SomeNewEcosystem', 'SomeNewEcosystem', 'x'],
      ],
    );
  });

  it('flags malicious records by MAL- id or CWE-506', () => {
    assert.equal(parseOsv(record({ id: 'MAL-2024-1234' })).malicious, true);
    assert.equal(parseOsv(record({ database_specific: { cwe_ids: ['CWE-79', 'CWE-506'] } })).malicious, true);
    assert.equal(parseOsv(record({ database_specific: { cwe_ids: ['CWE-79'] } })).malicious, false);
  });

  it('derives a summary from details, cuts long texts', () => {
    const details = `First line of the story.\nSecond.\n${'x'.repeat(OSV_LIMITS.detailsChars * 2)}`;
    const advisory = parseOsv(record({ summary: undefined, details }));
    assert.equal(advisory.summary, 'First line of the story.');
    assert.equal(advisory.details.length, OSV_LIMITS.detailsChars);
    assert.equal(parseOsv(record({ summary: undefined, details: undefined })).summary, 'GHSA-aaaa-bbbb-cccc');
    assert.equal(parseOsv(record({ summary: 'a\n  b '.repeat(400) })).summary.length, OSV_LIMITS.summaryChars);
  });

  it('converts offset timestamps to UTC', () => {
    assert.equal(parseOsv(record({ modified: '2024-03-01T12:00:00+02:00' })).modified, '2024-03-01T10:00:00.000Z');
  });

  it('ignores entries without a package (GIT-only) and unknown top-level fields', () => {
    const advisory = parseOsv(
      record({
        x_future_field: { anything: true },
        affected: [{ ranges: [{ type: 'GIT', repo: 'https://git.example/r', events: [{ introduced: '0' }] }] }],
      }),
    );
    assert.deepEqual(advisory.affected, []);
  });

  it('reports non-fatal problems as warnings', () => {
    const warnings: string[] = [];
    const advisory = parseOsv(
      record({
        aliases: ['CVE-2024-0001', 'GHSA-jf66-3q76-h5p5,', 7],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U' }],
        affected: [
          { package: npmPkg, ranges: [{ type: 'GIT', repo: 'https://git.example/r', events: [{ introduced: '0' }, { fixed: 'cb35df940a' }] }] },
        ],
      }),
      { warnings },
    );
    assert.deepEqual(advisory.aliases, ['CVE-2024-0001']);
    assert.equal(advisory.severity, 'medium');
    assert.deepEqual(warnings, [
      'aliases[1]: "GHSA-jf66-3q76-h5p5," is not a valid identifier; dropped',
      'aliases[2]: expected a string, got a number; dropped',
      'severity[0].score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U" is not a complete CVSS_V3 vector; ignored',
      'affected[0].ranges[0].events[1].fixed: "cb35df940a" is not a full-length git commit hash',
    ]);
  });

  it('drops a range event whose version cannot be read, erring towards affected', () => {
    const warnings: string[] = [];
    const advisory = parseOsv(
      withAffected([
        { package: npmPkg, ranges: [semverRange([{ introduced: '0' }, { fixed: '1.x' }])] },
        { package: npmPkg, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { fixed: '2.0.0' }] }] },
      ]),
      { warnings },
    );
    // Without its fix the first range covers every version; without its start the second counts from 0.
    assert.deepEqual(advisory.affected[0]?.ranges[0]?.events, [{ kind: 'introduced', version: '0' }]);
    assert.deepEqual(advisory.affected[1]?.ranges[0]?.events, [
      { kind: 'introduced', version: '0' },
      { kind: 'fixed', version: '2.0.0' },
    ]);
    assert.deepEqual(warnings, [
      'affected[0].ranges[0].events[1].fixed: "1.x" is not a valid semantic version (SemVer 2.0); event dropped',
      'affected[1].ranges[0].events[0].introduced: "1.0" is not a valid npm version; event dropped',
    ]);
  });
});

describe('parseOsv: severity', () => {
  const cases: [string, unknown, string][] = [
    ['CVSS v3.1 critical', [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }], 'critical'], // 9.8
    ['CVSS v3.1 high', [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' }], 'high'], // 7.5
    ['CVSS v3.0 medium', [{ type: 'CVSS_V3', score: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N' }], 'medium'], // 4.3
    ['CVSS v3.1 low', [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L' }], 'low'], // 1.8
    ['CVSS v3.1 none', [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N' }], 'info'], // 0.0
    ['CVSS v4.0 critical', [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }], 'critical'], // 9.3
    ['CVSS v4.0 medium', [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N' }], 'medium'], // 5.1
    ['CVSS v4.0 wins over v3', [
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N' },
    ], 'medium'],
    ['CVSS v2 high (v2 has no critical)', [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' }], 'high'], // 10.0
    ['Ubuntu word', [{ type: 'Ubuntu', score: 'negligible' }], 'info'],
    ['incomplete vector falls back', [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L' }], 'medium'],
  ];
  for (const [name, severity, expected] of cases) {
    it(name, () => assert.equal(parseOsv(record({ severity })).severity, expected));
  }

  it('falls back to database_specific.severity words, then medium', () => {
    assert.equal(parseOsv(record({ database_specific: { severity: 'MODERATE' } })).severity, 'medium');
    assert.equal(parseOsv(record({ database_specific: { severity: 'HIGH' } })).severity, 'high');
    assert.equal(parseOsv(record({ database_specific: { severity: 'CRITICAL' } })).severity, 'critical');
    assert.equal(parseOsv(record({ database_specific: { severity: 'LOW' } })).severity, 'low');
    assert.equal(parseOsv(record({ database_specific: { severity: 'bogus' } })).severity, 'medium');
    assert.equal(parseOsv(record()).severity, 'medium');
  });

  it('uses per-package severity when there is none at the top', () => {
    const advisory = parseOsv(
      withAffected([{ package: npmPkg, versions: ['1.0.0'], severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] }]),
    );
    assert.equal(advisory.severity, 'critical');
  });

  it('scores vectors', () => {
    assert.deepEqual(scoreCvssVector('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), { version: 3, score: 9.8, severity: 'critical' });
    assert.equal(scoreCvssVector('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/junk'), undefined);
    assert.equal(scoreCvssVector('garbage'), undefined);
  });
});

describe('parseOsv: invalid records are refused with the path of the problem', () => {
  const events = (list: unknown[]) => withAffected([{ package: npmPkg, ranges: [semverRange(list)] }]);
  const cases: [string, unknown, string][] = [
    ['not an object', ['x'], 'expected an object, got an array'],
    ['no id', record({ id: undefined }), 'id: missing'],
    ['bad id', record({ id: 'has space' }), 'id: "has space" contains whitespace or control characters'],
    ['no modified', record({ modified: undefined }), 'modified: missing'],
    ['bad timestamp', record({ modified: '2024-03-01' }), 'modified: "2024-03-01" is not an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z)'],
    ['schema 2', record({ schema_version: '2.0.0' }), 'schema_version: unsupported version "2.0.0" (1.x expected)'],
    ['affected not a list', record({ affected: { package: npmPkg } }), 'affected: expected an array, got an object'],
    [
      'event with two keys',
      withAffected([
        { package: npmPkg, versions: ['1.0.0'] },
        { package: npmPkg, versions: ['1.0.0'] },
        { package: npmPkg, ranges: [semverRange([{ introduced: '0' }, { introduced: '1.0.0', fixed: '1.0.2' }])] },
      ]),
      'affected[2].ranges[0].events[1]: an event has exactly one key (introduced, fixed, last_affected or limit), got 2',
    ],
    ['event with no key', events([{ introduced: '0' }, {}]), 'affected[0].ranges[0].events[1]: an event has exactly one key (introduced, fixed, last_affected or limit), got 0'],
    ['unknown event', events([{ introduced: '0' }, { patched: '1.0.0' }]), 'affected[0].ranges[0].events[1]: unknown event "patched"'],
    ['fixed and last_affected mixed', events([{ introduced: '0' }, { fixed: '1.0.0' }, { last_affected: '2.0.0' }]), 'affected[0].ranges[0].events: a range cannot mix fixed and last_affected events'],
    ['no introduced', events([{ fixed: '1.0.0' }]), 'affected[0].ranges[0].events: a range needs an introduced event'],
    ['no events', events([]), 'affected[0].ranges[0].events: a range needs at least one event'],
    ['event version not a string', events([{ introduced: 0 }]), 'affected[0].ranges[0].events[0].introduced: expected a string, got a number'],
    ['unknown range type', withAffected([{ package: npmPkg, ranges: [{ type: 'DATE', events: [{ introduced: '0' }] }] }]), 'affected[0].ranges[0].type: expected one of SEMVER, ECOSYSTEM, GIT, got "DATE"'],
    ['GIT range without repo', withAffected([{ package: npmPkg, ranges: [{ type: 'GIT', events: [{ introduced: '0' }] }] }]), 'affected[0].ranges[0].repo: a GIT range needs a repo'],
    ['package without name', withAffected([{ package: { ecosystem: 'npm' } }]), 'affected[0].package.name: missing'],
    ['empty ecosystem', withAffected([{ package: { ecosystem: ':x', name: 'a' } }]), 'affected[0].package.ecosystem: ":x" has no ecosystem name'],
    ['version with spaces', withAffected([{ package: npmPkg, versions: ['1.0.0', '1.0 .1'] }]), 'affected[0].versions[1]: "1.0 .1" contains whitespace or control characters'],
    ['reference not an object', record({ references: ['https://example.com'] }), 'references[0]: expected an object, got a string'],
    ['too many events', events([{ introduced: '0' }, ...Array.from({ length: OSV_LIMITS.eventsPerRange }, () => ({ fixed: '1.0.0' }))]), `affected[0].ranges[0].events: more than ${OSV_LIMITS.eventsPerRange} entries`],
    ['huge version string', withAffected([{ package: npmPkg, versions: ['1'.repeat(10_000)] }]), `affected[0].versions[0]: longer than ${OSV_LIMITS.versionChars} characters`],
    ['binary data from YAML', record({ id: Buffer.from('x') }), 'id: expected a string, got binary data'],
  ];
  for (const [name, raw, message] of cases) {
    it(name, () => {
      assert.throws(
        () => parseOsv(raw),
        (error: unknown) => {
          assert.ok(error instanceof AdvisoryFormatError);
          assert.equal(error.message, message);
          return true;
        },
      );
    });
  }

  it('is not fooled by inherited properties', () => {
    const raw = Object.create({ id: 'GHSA-x', modified: '2024-01-01T00:00:00Z' }) as object;
    assert.throws(() => parseOsv(raw), AdvisoryFormatError);
    const parsed = JSON.parse('{"id":"GHSA-x","modified":"2024-01-01T00:00:00Z","__proto__":{"affected":[1]}}') as unknown;
    assert.deepEqual(parseOsv(parsed).affected, []);
  });
});
