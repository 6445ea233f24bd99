import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readAdvisories, readAdvisoryText, type ReadItem } from '../../../src/security/advisories/read.js';
import { vulnsAnalyzer } from '../../../src/security/analyzers/vulns/index.js';
import { importAdvisories, type AdvisoryImportReport } from '../../../src/security/advisory-import.js';
import { createAdvisoryLookup, createMemoryAdvisoryLookup } from '../../../src/security/advisory-lookup.js';
import type { Advisory } from '../../../src/security/advisories/types.js';
import type { AdvisoryLookup } from '../../../src/security/types.js';
import { openTestDomain } from '../../domain/domain-setup.js';
import { contextFor, viewOf } from '../analyzer-harness.js';

// The real PyPI (pypa/advisory-database, OSV YAML) and RubyGems (rubysec, converted) databases
// of test/data/advisories, imported through the path `stockade advisories import` takes
// (readAdvisories → importAdvisories → the database of the dialect under test), then matched by
// the vulns analyzer as the gate runs it. Runs on SQLite and PostgreSQL (STOCKADE_TEST_DB).

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../data/advisories');

async function* withAdvisories(items: AsyncIterable<ReadItem>, keep: Advisory[]): AsyncGenerator<ReadItem> {
  for await (const item of items) {
    if (item.advisory) keep.push(item.advisory);
    yield item;
  }
}

interface Case {
  /** The advisory, by id. */
  id: string;
  ecosystem: 'PyPI' | 'RubyGems';
  /** Package names as an artifact may carry them. */
  names: string[];
  affected: string[];
  /** The fixed versions, later ones, and the last versions before the affected stretch. */
  unaffected: string[];
}

const CASES: Case[] = [
  {
    // introduced 3.2 / fixed 3.2.19, introduced 4.0 / fixed 4.1.9, introduced 4.2 / fixed 4.2.1
    id: 'PYSEC-2023-61',
    ecosystem: 'PyPI',
    names: ['django', 'Django', 'DJANGO'],
    affected: ['3.2', '3.2.0', '3.2.18', '4.0', '4.1.8', '4.2', '4.2.0', '4.2rc1'],
    unaffected: ['3.1.14', '3.2.19', '3.2.20', '4.1.9', '4.2.1', '5.0'],
  },
  {
    // introduced 0 / fixed 2.10.1
    id: 'PYSEC-2019-217',
    ecosystem: 'PyPI',
    names: ['jinja2', 'Jinja2'],
    affected: ['2.10', '2.10.0', '2.9.6', '2.0rc1', '2.10.1.dev0'],
    unaffected: ['2.10.1', '2.10.1.post1', '2.11.0', '3.0.0'],
  },
  {
    // introduced 2.0.0 / fixed 2.0.6, introduced 0 / fixed 1.26.17
    id: 'PYSEC-2023-192',
    ecosystem: 'PyPI',
    names: ['urllib3'],
    affected: ['1.26.16', '1.25.11', '2.0.0', '2.0.5'],
    unaffected: ['1.26.17', '1.26.18', '2.0.6', '2.1.0'],
  },
  {
    // A dotted name: `jw.util`, introduced 0 / fixed 2.3
    id: 'PYSEC-2020-341',
    ecosystem: 'PyPI',
    names: ['jw.util', 'jw-util', 'JW_Util', 'jw__util'],
    affected: ['2.2', '1.3.5'],
    unaffected: ['2.3', '2.3.0', '3.0'],
  },
  {
    // unaffected < 5.0.0; patched ~> 5.2.6, >= 5.2.6.2 / ~> 6.0.4, >= 6.0.4.6 / ~> 6.1.4, >= 6.1.4.6 / >= 7.0.2.2
    id: 'RUBYSEC-actionpack-CVE-2022-23633',
    ecosystem: 'RubyGems',
    names: ['actionpack'],
    affected: ['5.0.0', '5.2.6', '5.2.6.1', '6.0.4.5', '6.1.4', '6.1.4.5', '7.0.0.rc1', '7.0.2.1', '6.1.4.6.rc1'],
    unaffected: ['4.2.11', '5.2.6.2', '5.2.8', '6.0.4.6', '6.1.4.6', '6.1.7', '7.0.2.2', '7.1.0'],
  },
  {
    // patched >= 1.13.4
    id: 'RUBYSEC-nokogiri-CVE-2022-24836',
    ecosystem: 'RubyGems',
    names: ['nokogiri'],
    affected: ['1.13.3', '1.13.4.rc1', '1.6.0'],
    unaffected: ['1.13.4', '1.13.5', '1.14.0'],
  },
  {
    // patched ~> 2.0.9, >= 2.0.9.2 / ~> 2.1.4, >= 2.1.4.2 / ~> 2.2.6, >= 2.2.6.2 / >= 3.0.4.1
    id: 'RUBYSEC-rack-CVE-2022-44570',
    ecosystem: 'RubyGems',
    names: ['rack'],
    affected: ['2.0.9.1', '2.1.4.1', '2.2.6', '2.2.6.1', '3.0.0', '3.0.4', '3.0.0.beta1', '1.6.13'],
    unaffected: ['2.0.9.2', '2.1.4.2', '2.2.6.2', '2.2.8', '3.0.4.1', '3.1.0'],
  },
  {
    // A gem with capitals: unaffected < 4.0.0, patched >= 4.3.3
    id: 'RUBYSEC-RedCloth-CVE-2023-31606',
    ecosystem: 'RubyGems',
    names: ['RedCloth'],
    affected: ['4.0.0', '4.3.2'],
    unaffected: ['3.0.4', '4.3.3', '4.3.3.1'],
  },
];

function artifact(ecosystem: 'PyPI' | 'RubyGems', name: string, version: string) {
  return ecosystem === 'PyPI'
    ? { format: 'pypi', ecosystem, name, version, filename: `${name}-${version}.tar.gz`, manifest: {} }
    : { format: 'rubygems', ecosystem, name, version, filename: `${name}-${version}.gem`, manifest: {} };
}

/** Advisory ids the vulns analyzer reports for one artifact, looked up through `lookup`. */
async function reported(lookup: AdvisoryLookup, ecosystem: 'PyPI' | 'RubyGems', name: string, version: string): Promise<string[]> {
  const view = viewOf({});
  const ctx = contextFor(view, { artifact: artifact(ecosystem, name, version) });
  ctx.advisories = lookup;
  const findings = await vulnsAnalyzer.analyze(view, ctx);
  return findings.map((f) => String(f.details?.advisory));
}

describe('PyPI and RubyGems advisories: the real databases, imported and matched', () => {
  let domain: Awaited<ReturnType<typeof openTestDomain>>;
  const reports: Record<string, AdvisoryImportReport> = {};
  const advisories: Advisory[] = [];
  let stored: AdvisoryLookup;
  let memory: AdvisoryLookup;

  before(async () => {
    domain = await openTestDomain();
    for (const source of ['pypa', 'rubysec']) {
      const path = join(DATA, `${source}.zip`);
      reports[source] = await importAdvisories(domain.domain, withAdvisories(readAdvisories(path), advisories), path);
    }
    stored = createAdvisoryLookup(domain.domain);
    memory = createMemoryAdvisoryLookup(advisories);
  });
  after(async () => domain?.close());

  it('imports every pypa record: 2,661 files, none rejected', () => {
    const report = reports.pypa!;
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.skipped, []);
    assert.equal(report.files, 2661);
    assert.equal(report.added, 2661);
    assert.equal(report.updated + report.unchanged, 0);
  });

  it('imports every rubysec advisory: 1,234 files, none rejected', () => {
    const report = reports.rubysec!;
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.skipped, []);
    assert.equal(report.files, 1234);
    assert.equal(report.added, 1234);
  });

  it('stores them under PEP 503 names for PyPI and the exact gem names for RubyGems', async () => {
    assert.deepEqual(await domain.domain.advisories.count(), { total: 2661 + 1234, malicious: 0, withdrawn: 10 });
    const touched = [...reports.pypa!.touched].map((k) => k.split('\0')[1]!);
    assert.ok(touched.includes('jw-util') && !touched.includes('jw.util'));
    assert.ok(touched.every((name) => name === name.toLowerCase() && !/[._]/.test(name)), 'PyPI names are normalized');
    const gems = [...reports.rubysec!.touched].map((k) => k.split('\0')[1]!);
    assert.ok(gems.includes('RedCloth') && gems.includes('Arabic-Prawn'));
  });

  it('importing the same files again changes nothing', async () => {
    const again = await importAdvisories(domain.domain, readAdvisories(join(DATA, 'rubysec.zip')), 'rubysec again');
    assert.deepEqual([again.added, again.updated, again.unchanged, again.errors.length], [0, 0, 1234, 0]);
  });

  for (const c of CASES) {
    it(`${c.ecosystem} ${c.id}: affected ${c.affected.join(', ')}; not ${c.unaffected.join(', ')}`, async () => {
      for (const [label, lookup] of [['database', stored], ['memory', memory]] as const) {
        for (const name of c.names) {
          for (const v of c.affected) assert.ok((await reported(lookup, c.ecosystem, name, v)).includes(c.id), `${label}: ${name} ${v} should be affected`);
          for (const v of c.unaffected) assert.ok(!(await reported(lookup, c.ecosystem, name, v)).includes(c.id), `${label}: ${name} ${v} should not be affected`);
        }
      }
    });
  }

  it('the finding says what is affected and where it is fixed', async () => {
    const view = viewOf({});
    const ctx = contextFor(view, { artifact: artifact('PyPI', 'Django', '4.1.8') });
    ctx.advisories = stored;
    const finding = (await vulnsAnalyzer.analyze(view, ctx)).find((f) => f.details?.advisory === 'PYSEC-2023-61');
    assert.equal(finding?.rule, 'vulns/known-vulnerability');
    assert.deepEqual(finding?.details?.fixed, ['3.2.19', '4.1.9', '4.2.1']);
    assert.match(finding?.message ?? '', /^Django@4\.1\.8 is affected by PYSEC-2023-61 \(CVE-2023-31047/);
  });

  it('RubyGems names are case-sensitive: redcloth is another gem than RedCloth', async () => {
    for (const lookup of [stored, memory]) {
      assert.ok((await reported(lookup, 'RubyGems', 'RedCloth', '4.3.2')).includes('RUBYSEC-RedCloth-CVE-2023-31606'));
      assert.deepEqual(await reported(lookup, 'RubyGems', 'redcloth', '4.3.2'), []);
      assert.deepEqual(await reported(lookup, 'RubyGems', 'Nokogiri', '1.13.3'), []);
      // No PEP 503 folding for gems: `rails_html_sanitizer` is not `rails-html-sanitizer`.
      assert.ok((await reported(lookup, 'RubyGems', 'rails-html-sanitizer', '1.0.0')).length > 0);
      assert.deepEqual(await reported(lookup, 'RubyGems', 'rails_html_sanitizer', '1.0.0'), []);
    }
  });

  it('withdrawn pypa records never match', async () => {
    // PYSEC-2023-73 (redis) was withdrawn upstream; its ranges still cover 4.5.3.
    const withdrawn = advisories.find((a) => a.id === 'PYSEC-2023-73');
    assert.ok(withdrawn?.withdrawn);
    assert.ok(!(await reported(stored, 'PyPI', 'redis', '4.5.3')).includes('PYSEC-2023-73'));
  });
});

describe('PyPI names match PEP 503-normalized in both directions', () => {
  // Records spelled the way real databases spell them: `Django` and `zope.interface`.
  const RECORDS = [
    { id: 'TEST-PEP503-1', name: 'Django', fixed: '4.2.2' },
    { id: 'TEST-PEP503-2', name: 'zope.interface', fixed: '5.0' },
    { id: 'TEST-PEP503-3', name: 'Flask_Cors', fixed: '3.0.9' },
  ];
  let domain: Awaited<ReturnType<typeof openTestDomain>>;
  let stored: AdvisoryLookup;

  before(async () => {
    domain = await openTestDomain();
    const items = RECORDS.flatMap((r) =>
      readAdvisoryText(
        `${r.id}.json`,
        JSON.stringify({
          schema_version: '1.6.0',
          id: r.id,
          modified: '2024-01-01T00:00:00Z',
          summary: `test record for ${r.name}`,
          affected: [{ package: { ecosystem: 'PyPI', name: r.name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: r.fixed }] }] }],
        }),
      ),
    );
    const report = await importAdvisories(domain.domain, (async function* () { yield* items; })(), 'test');
    assert.deepEqual(report.errors, []);
    stored = createAdvisoryLookup(domain.domain);
  });
  after(async () => domain?.close());

  const SPELLINGS: [string, string, string][] = [
    ['TEST-PEP503-1', 'django', '4.2.1'],
    ['TEST-PEP503-1', 'Django', '4.2.1'],
    ['TEST-PEP503-2', 'zope-interface', '4.7.2'],
    ['TEST-PEP503-2', 'zope.interface', '4.7.2'],
    ['TEST-PEP503-2', 'Zope_Interface', '4.7.2'],
    ['TEST-PEP503-2', 'zope--_interface', '4.7.2'],
    ['TEST-PEP503-3', 'flask-cors', '3.0.8'],
    ['TEST-PEP503-3', 'Flask.CORS', '3.0.8'],
  ];
  for (const [id, name, version] of SPELLINGS) {
    it(`${name} ${version} is matched by ${id}`, async () => {
      assert.deepEqual(await reported(stored, 'PyPI', name, version), [id]);
    });
  }

  it('and names that only look alike are not', async () => {
    for (const name of ['zopeinterface', 'zope-interfaces', 'djang0', 'flaskcors']) assert.deepEqual(await reported(stored, 'PyPI', name, '0.1'), [], name);
  });
});
