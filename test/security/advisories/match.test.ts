import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  advisoryAffects,
  describeRanges,
  fixedVersions,
  isAffected,
  parseOsv,
  type AffectedPackage,
  type RangeEvent,
} from '../../../src/security/advisories/index.js';
import { semverScheme, type VersionScheme } from '../../../src/security/versions/index.js';
import { rubyGemsScheme } from '../../../src/security/versions/rubygems.js';

type Ev = Record<string, string>;

function events(list: Ev[]): RangeEvent[] {
  return list.map((e) => {
    const [kind, version] = Object.entries(e)[0]!;
    return { kind: kind as RangeEvent['kind'], version };
  });
}

function pkg(ranges: { type?: 'SEMVER' | 'ECOSYSTEM' | 'GIT'; events: Ev[] }[], versions: string[] = [], ecosystem = 'npm'): AffectedPackage {
  return {
    ecosystem,
    ecosystemFull: ecosystem,
    name: 'pkg',
    ranges: ranges.map((r) => ({ type: r.type ?? 'ECOSYSTEM', events: events(r.events), ...(r.type === 'GIT' ? { repo: 'https://git.example/r' } : {}) })),
    versions,
  };
}

interface Case {
  name: string;
  affected: AffectedPackage;
  scheme?: VersionScheme;
  yes: string[];
  no: string[];
}

const cases: Case[] = [
  {
    name: 'introduced "0" alone: every version',
    affected: pkg([{ events: [{ introduced: '0' }] }]),
    yes: ['0.0.0', '0.0.1-alpha', '1.0.0', '999.0.0'],
    no: [],
  },
  {
    name: 'introduced 0, fixed',
    affected: pkg([{ events: [{ introduced: '0' }, { fixed: '1.0.2' }] }]),
    yes: ['0.0.1', '1.0.1', '1.0.2-rc.1'],
    no: ['1.0.2', '1.0.3', '2.0.0'],
  },
  {
    name: 'introduced, fixed',
    affected: pkg([{ events: [{ introduced: '1.0.0' }, { fixed: '1.2.3' }] }]),
    yes: ['1.0.0', '1.1.0', '1.2.2', '1.2.3-beta.1'],
    no: ['0.9.9', '1.0.0-rc.1', '1.2.3', '1.2.4'],
  },
  {
    name: 'last_affected is inclusive',
    affected: pkg([{ events: [{ introduced: '0' }, { last_affected: '2.1.214' }] }]),
    yes: ['0.1.0', '2.1.214', '2.1.214+build'],
    no: ['2.1.215', '2.1.215-0', '3.0.0'],
  },
  {
    name: 'several intervals in one range',
    affected: pkg([{ events: [{ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }] }]),
    yes: ['1.0.0', '1.0.1', '3.0.0', '3.2.4'],
    no: ['0.9.0', '1.0.2', '2.0.0', '2.9.9', '3.2.5', '4.0.0'],
  },
  {
    name: 'events out of order are sorted',
    affected: pkg([{ events: [{ fixed: '3.2.5' }, { introduced: '3.0.0' }, { fixed: '1.0.2' }, { introduced: '1.0.0' }] }]),
    yes: ['1.0.1', '3.1.0'],
    no: ['1.0.2', '2.0.0', '3.2.5'],
  },
  {
    name: 'adjacent intervals (fixed and introduced at the same version)',
    affected: pkg([{ events: [{ introduced: '1.0.0' }, { fixed: '2.0.0' }, { introduced: '2.0.0' }, { fixed: '3.0.0' }] }]),
    yes: ['1.5.0', '2.0.0', '2.5.0'],
    no: ['3.0.0', '0.5.0'],
  },
  {
    name: 'several ranges: any one is enough',
    affected: pkg([
      { events: [{ introduced: '0' }, { fixed: '1.0.0' }] },
      { events: [{ introduced: '2.0.0' }, { last_affected: '2.3.0' }] },
    ]),
    yes: ['0.5.0', '2.0.0', '2.3.0'],
    no: ['1.0.0', '1.5.0', '2.3.1'],
  },
  {
    name: 'limit: only versions below a limit',
    affected: pkg([{ events: [{ introduced: '1.0.0' }, { limit: '1.5.0' }] }]),
    yes: ['1.0.0', '1.4.9'],
    no: ['0.9.0', '1.5.0', '2.0.0'],
  },
  {
    name: 'several limits: below any of them',
    affected: pkg([{ events: [{ introduced: '0' }, { limit: '1.0.0' }, { limit: '3.0.0' }] }]),
    yes: ['0.5.0', '2.0.0'],
    no: ['3.0.0', '4.0.0'],
  },
  {
    name: 'limit "*" is infinity',
    affected: pkg([{ events: [{ introduced: '1.0.0' }, { limit: '*' }] }]),
    yes: ['1.0.0', '100.0.0'],
    no: ['0.1.0'],
  },
  {
    name: 'explicit versions only',
    affected: pkg([], ['1.0.0', '1.0.1', '2.0.0-beta.1']),
    yes: ['1.0.0', '1.0.1', '2.0.0-beta.1', '1.0.0+build.7'],
    no: ['1.0.2', '2.0.0', '0.9.0'],
  },
  {
    name: 'explicit versions add to ranges',
    affected: pkg([{ events: [{ introduced: '0' }, { fixed: '1.0.0' }] }], ['1.5.0']),
    yes: ['0.1.0', '1.5.0'],
    no: ['1.0.0', '1.6.0'],
  },
  {
    name: 'prerelease edges: introduced at a prerelease',
    affected: pkg([{ events: [{ introduced: '2.0.0-alpha.2' }, { fixed: '2.0.0-rc.1' }] }]),
    yes: ['2.0.0-alpha.2', '2.0.0-alpha.10', '2.0.0-beta', '2.0.0-beta.1'],
    no: ['2.0.0-alpha.1', '2.0.0-alpha', '2.0.0-rc.1', '2.0.0', '1.9.9'],
  },
  {
    name: 'GIT ranges never match a version; their versions list does',
    affected: pkg([{ type: 'GIT', events: [{ introduced: '0' }, { fixed: 'a'.repeat(40) }] }], ['1.2.0']),
    yes: ['1.2.0'],
    no: ['0.0.1', '1.0.0', '1.2.1'],
  },
  {
    name: 'SEMVER ranges use SemVer whatever the ecosystem',
    affected: pkg([{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.10.0' }] }], [], 'PyPI'),
    scheme: undefined,
    yes: ['1.2.0', '1.9.0'],
    no: ['1.10.0', '0.9.0', '1.2', 'garbage'],
  },
  {
    name: 'ECOSYSTEM ranges without a scheme: only "introduced 0" alone can be decided',
    affected: pkg([{ events: [{ introduced: '0' }] }, { events: [{ introduced: '1.0' }, { fixed: '2.0' }] }], ['3.0'], 'PyPI'),
    scheme: undefined,
    yes: ['1.5', 'anything', '3.0'],
    no: [],
  },
  {
    name: 'ECOSYSTEM ranges without a scheme are undecidable otherwise',
    affected: pkg([{ events: [{ introduced: '1.0' }, { fixed: '2.0' }] }], ['1.0.1'], 'PyPI'),
    scheme: undefined,
    yes: ['1.0.1'],
    no: ['1.5', '1.0'],
  },
  {
    name: 'RubyGems order with its own scheme',
    affected: pkg([{ events: [{ introduced: '2.0' }, { fixed: '2.0.6' }] }], [], 'RubyGems'),
    scheme: rubyGemsScheme,
    yes: ['2.0', '2.0.0', '2.0.5', '2.0.5.1', '2.0.6.rc1'],
    no: ['1.9', '2.0.rc1', '2.0.6', '2.1'],
  },
  {
    name: 'versions the scheme cannot parse are not affected (no throw)',
    affected: pkg([{ events: [{ introduced: '0' }] }]),
    yes: [],
    no: ['', 'not-a-version', '1.0', 'v', '1.0.0.0'],
  },
];

describe('isAffected: the OSV evaluation algorithm', () => {
  for (const c of cases) {
    it(c.name, () => {
      const scheme = 'scheme' in c ? c.scheme : semverScheme;
      for (const v of c.yes) assert.equal(isAffected(c.affected, v, scheme), true, `${v} should be affected`);
      for (const v of c.no) assert.equal(isAffected(c.affected, v, scheme), false, `${v} should not be affected`);
    });
  }

  it('skips event versions the scheme cannot read instead of throwing', () => {
    const affected = pkg([{ events: [{ introduced: '0' }, { fixed: 'not.a.version' }, { fixed: '2.0.0' }] }]);
    assert.equal(isAffected(affected, '1.0.0', semverScheme), true);
    assert.equal(isAffected(affected, '2.0.0', semverScheme), false);
  });

  it('matches a large versions list quickly', () => {
    const versions = Array.from({ length: 5000 }, (_, i) => `1.${i}.0`);
    const affected = pkg([], versions);
    const start = performance.now();
    for (let i = 0; i < 20000; i++) isAffected(affected, `1.${i % 6000}.0+b`, semverScheme);
    assert.ok(performance.now() - start < 2000);
    assert.equal(isAffected(affected, '1.4999.0', semverScheme), true);
    assert.equal(isAffected(affected, '1.5000.0', semverScheme), false);
  });
});

describe('advisoryAffects', () => {
  it('matches on base ecosystem and normalized name', () => {
    const advisory = parseOsv({
      id: 'PYSEC-2099-1',
      modified: '2024-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'PyPI', name: 'Foo_Bar.baz' }, versions: ['1.0'] }],
    });
    assert.equal(advisoryAffects(advisory, 'PyPI', 'foo-bar-baz', '1.0'), true);
    assert.equal(advisoryAffects(advisory, 'PyPI', 'FOO__BAR-Baz', '1.0'), true);
    assert.equal(advisoryAffects(advisory, 'PyPI', 'foo-bar-baz', '1.1'), false);
    assert.equal(advisoryAffects(advisory, 'npm', 'foo-bar-baz', '1.0'), false);
  });
});

describe('describeRanges and fixedVersions', () => {
  it('describes ranges and listed versions for people', () => {
    const affected = pkg([{ events: [{ introduced: '1.0.0' }, { fixed: '1.2.3' }] }], ['2.0.0']);
    assert.equal(describeRanges(affected), '>=1.0.0 <1.2.3, 2.0.0');
    assert.equal(describeRanges(pkg([{ events: [{ introduced: '0' }] }])), '*');
    assert.equal(describeRanges(pkg([{ events: [{ introduced: '0' }, { last_affected: '0.3.0' }] }])), '<=0.3.0');
    assert.equal(
      describeRanges(pkg([{ events: [{ fixed: '3.2.5' }, { introduced: '3.0.0' }, { introduced: '0' }, { fixed: '1.0.2' }] }])),
      '<1.0.2, >=3.0.0 <3.2.5',
    );
    assert.equal(describeRanges(pkg([{ events: [{ introduced: '1.0.0' }, { limit: '2.0.0' }] }])), '>=1.0.0 <2.0.0');
  });

  it('leaves out listed versions a range already covers', () => {
    const affected = pkg([{ events: [{ introduced: '1.0.0' }, { fixed: '1.1.0' }] }], ['1.0.0', '1.0.1', '3.0.0']);
    assert.equal(describeRanges(affected), '>=1.0.0 <1.1.0, 3.0.0');
    const many = pkg([], Array.from({ length: 14 }, (_, i) => `0.0.${i}`));
    assert.equal(describeRanges(many), '0.0.0, 0.0.1, 0.0.2, 0.0.3, 0.0.4, 0.0.5, 0.0.6, 0.0.7, 0.0.8, 0.0.9, and 4 more');
  });

  it('ignores GIT ranges', () => {
    assert.equal(describeRanges(pkg([{ type: 'GIT', events: [{ introduced: '0' }, { fixed: 'b'.repeat(40) }] }])), '');
  });

  it('lists fixed versions in version order', () => {
    const affected = pkg([
      { events: [{ introduced: '2.0.0' }, { fixed: '2.10.0' }, { introduced: '0' }, { fixed: '1.9.0' }] },
      { events: [{ introduced: '3.0.0' }, { fixed: '2.10.0' }] },
    ]);
    assert.deepEqual(fixedVersions(affected), ['1.9.0', '2.10.0']);
    assert.deepEqual(fixedVersions(pkg([{ events: [{ introduced: '0' }, { last_affected: '1.0.0' }] }])), []);
  });
});
