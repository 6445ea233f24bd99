import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evrText, rpmGateManifest } from '../../../src/formats/rpm/gate-manifest.js';
import type { RpmPackage } from '../../../src/formats/rpm/package.js';
import { readAdvisories } from '../../../src/security/advisories/read.js';
import type { Advisory } from '../../../src/security/advisories/types.js';
import { vulnsAnalyzer } from '../../../src/security/analyzers/vulns/index.js';
import { importAdvisories } from '../../../src/security/advisory-import.js';
import { createAdvisoryLookup, createMemoryAdvisoryLookup } from '../../../src/security/advisory-lookup.js';
import { debianEcosystems, debianSource, osvBasesFor, osvEcosystemsFor, rpmEcosystems } from '../../../src/security/os-ecosystems.js';
import type { AdvisoryLookup, AnalyzerFinding } from '../../../src/security/types.js';
import { openTestDomain } from '../../domain/domain-setup.js';
import { contextFor, viewOf } from '../analyzer-harness.js';

// OSV records shaped like the Debian, Ubuntu, AlmaLinux and Rocky Linux exports, imported
// through the real path (files on disk → readAdvisories → importAdvisories → the database) and
// matched by the vulns analyzer the way the gate runs it. Runs on SQLite and PostgreSQL
// (STOCKADE_TEST_DB), and on the in-memory lookup of `stockade scan --advisories`.

const MODIFIED = '2024-02-01T00:00:00Z';
const range = (fixed: string) => [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }];

const RECORDS: Record<string, Record<string, unknown>> = {
  // A Debian security advisory for bookworm: names the SOURCE package.
  'DSA-5532-1': {
    summary: 'openssl - security update',
    aliases: ['CVE-2023-5363'],
    affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl', purl: 'pkg:deb/debian/openssl?arch=source' }, ranges: range('3.0.11-1~deb12u1') }],
  },
  // The same source in bullseye, fixed in its own (older) version line.
  'DLA-3530-1': {
    summary: 'openssl - LTS security update',
    aliases: ['CVE-2023-3817'],
    affected: [{ package: { ecosystem: 'Debian:11', name: 'openssl' }, ranges: range('1.1.1v-0~deb11u1') }],
  },
  // A record without a release applies to every release.
  'OSV-2024-TEST-1': {
    summary: 'zlib: heap overflow in inflateGetHeader',
    affected: [{ package: { ecosystem: 'Debian', name: 'zlib' }, ranges: range('1:1.2.13.dfsg-2') }],
  },
  'USN-6450-1': {
    summary: 'OpenSSL vulnerabilities',
    affected: [{ package: { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssl' }, ranges: range('3.0.2-0ubuntu1.12') }],
  },
  // AlmaLinux names the source RPM; fixed versions carry the epoch.
  'ALSA-2024:0310': {
    summary: 'Moderate: openssl security update',
    aliases: ['CVE-2023-5678'],
    affected: [{ package: { ecosystem: 'AlmaLinux:9', name: 'openssl' }, ranges: range('1:3.0.7-17.el9') }],
  },
  'ALSA-2023:0000': {
    summary: 'openssl update for EL8 only',
    affected: [{ package: { ecosystem: 'AlmaLinux:8', name: 'openssl' }, ranges: range('1:1.1.1k-12.el8') }],
  },
  // A record naming a binary package.
  'RLSA-2024:0500': {
    summary: 'Important: openssl-libs update',
    affected: [{ package: { ecosystem: 'Rocky Linux:9', name: 'openssl-libs' }, ranges: range('1:3.0.7-20.el9') }],
  },
};

function osvRecord(id: string, body: Record<string, unknown>): Record<string, unknown> {
  return { schema_version: '1.6.0', id, modified: MODIFIED, published: MODIFIED, ...body };
}

function debianArtifact(control: Record<string, string>, dist: string | undefined) {
  const manifest: Record<string, unknown> = { Architecture: 'amd64', Maintainer: 'Debian OpenSSL Team', ...control };
  if (dist !== undefined) manifest.dist = dist;
  const name = control.Package ?? 'x';
  const version = control.Version ?? '0';
  return { format: 'debian', ecosystem: 'Debian', name, version, filename: `${name}_${version}_amd64.deb`, manifest };
}

/**
 * An RpmPackage as parseRpm returns it, for the fields the gate manifest reads (a real build
 * cannot name its source package `openssl` while being `openssl-libs` without subpackages).
 */
function rpmPackage(p: { name: string; epoch: number | null; version: string; release: string; sourceRpm: string }): RpmPackage {
  const pkg: Partial<RpmPackage> = {
    ...p,
    arch: 'x86_64',
    os: 'linux',
    summary: 'A general purpose cryptography library',
    description: null,
    license: 'Apache-2.0',
    vendor: null,
    packager: null,
    url: null,
    group: null,
    buildHost: null,
    buildTime: null,
    installedSize: null,
    isSource: false,
    provides: [],
    requires: [],
    conflicts: [],
    obsoletes: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
    files: [],
    fileDigestAlgorithm: 'sha256',
    scripts: { pretrans: undefined, pre: undefined, post: undefined, preun: undefined, postun: undefined, posttrans: undefined },
    triggers: [],
    payload: { format: 'cpio', compressor: 'zstd', flags: null, offset: 0, digest: null },
    headerRange: { start: 0, end: 0 },
    signed: false,
    verifiedDigests: [],
    checksums: { sha256: '0'.repeat(64) },
  };
  return pkg as RpmPackage;
}

function rpmArtifact(pkg: RpmPackage, dist: string) {
  const version = evrText(pkg.epoch, pkg.version, pkg.release);
  return { format: 'rpm', ecosystem: 'Red Hat', name: pkg.name, version, filename: `${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}.rpm`, manifest: rpmGateManifest(pkg, { dist }) };
}

const opensslLibs = (epoch: number | null, version: string, release: string, sourceRelease = release) =>
  rpmPackage({ name: 'openssl-libs', epoch, version, release, sourceRpm: `openssl-${version}-${sourceRelease}.src.rpm` });

interface Case {
  name: string;
  artifact: ReturnType<typeof debianArtifact> | ReturnType<typeof rpmArtifact>;
  /** Advisory ids expected, sorted; rule when not the known-vulnerability one. */
  advisories: string[];
  fixed?: Record<string, string[]>;
}

const cases: Case[] = [
  {
    name: 'Debian: libssl3 built from openssl 3.0.9-1 in bookworm is flagged by the Debian:12 record',
    artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.9-1', Source: 'openssl' }, 'bookworm'),
    advisories: ['DSA-5532-1'],
    fixed: { 'DSA-5532-1': ['3.0.11-1~deb12u1'] },
  },
  { name: 'Debian: the fixed version 3.0.11-1~deb12u1 is not', artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.11-1~deb12u1', Source: 'openssl' }, 'bookworm'), advisories: [] },
  {
    name: 'Debian: ~ sorts before everything: 3.0.11~rc1-1 is before the fix, 3.0.11-1 after it',
    artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.11~rc1-1', Source: 'openssl' }, 'bookworm'),
    advisories: ['DSA-5532-1'],
  },
  { name: 'Debian: 3.0.11-1 (no ~deb12u suffix) is newer than the fix', artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.11-1', Source: 'openssl' }, 'bookworm'), advisories: [] },
  {
    name: 'Debian: a binNMU is matched by the source version in parentheses',
    artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.11-1~deb12u1+b1', Source: 'openssl (3.0.9-1)' }, 'bookworm-security'),
    advisories: ['DSA-5532-1'],
  },
  {
    name: 'Debian: the same package uploaded to bullseye is not matched by the Debian:12 record',
    artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.9-1', Source: 'openssl' }, 'bullseye'),
    advisories: [],
  },
  {
    name: 'Debian: bullseye is matched by its own release record, with only that fix shown',
    artifact: debianArtifact({ Package: 'libssl1.1', Version: '1.1.1n-0+deb11u5', Source: 'openssl' }, 'bullseye'),
    advisories: ['DLA-3530-1'],
    fixed: { 'DLA-3530-1': ['1.1.1v-0~deb11u1'] },
  },
  {
    name: 'Debian: a record for bare Debian applies to every release (epoch ordering)',
    artifact: debianArtifact({ Package: 'zlib1g', Version: '1:1.2.13.dfsg-1', Source: 'zlib' }, 'trixie'),
    advisories: ['OSV-2024-TEST-1'],
  },
  { name: 'Debian: the binary name alone is not looked up (records name sources)', artifact: debianArtifact({ Package: 'openssl', Version: '3.0.11-1~deb12u1' }, 'bookworm'), advisories: [] },
  {
    name: 'Debian: a package named like its source needs no Source field',
    artifact: debianArtifact({ Package: 'openssl', Version: '3.0.9-1' }, 'bookworm'),
    advisories: ['DSA-5532-1'],
  },
  { name: 'Ubuntu: jammy maps to Ubuntu:22.04:LTS', artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.2-0ubuntu1.10', Source: 'openssl' }, 'jammy-updates'), advisories: ['USN-6450-1'] },
  { name: 'Ubuntu: noble is another release', artifact: debianArtifact({ Package: 'libssl3', Version: '3.0.2-0ubuntu1.10', Source: 'openssl' }, 'noble'), advisories: [] },
  {
    name: 'RPM: openssl-libs from openssl-3.0.7-16.el9.src.rpm in el/9 is matched by the AlmaLinux:9 source record (epoch 1) and the Rocky binary record',
    artifact: rpmArtifact(opensslLibs(1, '3.0.7', '16.el9'), 'el/9'),
    advisories: ['ALSA-2024:0310', 'RLSA-2024:0500'],
    fixed: { 'ALSA-2024:0310': ['1:3.0.7-17.el9'] },
  },
  {
    name: 'RPM: 1:3.0.7-18.el9 is past the AlmaLinux fix but not the Rocky one',
    artifact: rpmArtifact(opensslLibs(1, '3.0.7', '18.el9'), 'el/9'),
    advisories: ['RLSA-2024:0500'],
  },
  {
    name: 'RPM: without an epoch, 3.0.8-1.el9 is epoch 0 and sorts before 1:3.0.7-17.el9',
    artifact: rpmArtifact(opensslLibs(null, '3.0.8', '1.el9'), 'almalinux/9'),
    advisories: ['ALSA-2024:0310'],
  },
  { name: 'RPM: rocky/9 reads only Rocky Linux records', artifact: rpmArtifact(opensslLibs(1, '3.0.7', '16.el9'), 'rocky/9'), advisories: ['RLSA-2024:0500'] },
  { name: 'RPM: el/8 does not read AlmaLinux:9 records', artifact: rpmArtifact(opensslLibs(1, '3.0.7', '16.el9'), 'el/8'), advisories: [] },
  { name: 'RPM: fixed everywhere', artifact: rpmArtifact(opensslLibs(1, '3.0.7', '24.el9'), 'el/9.4'), advisories: [] },
];

function advisoryIds(findings: AnalyzerFinding[]): string[] {
  return findings.map((f) => String(f.details?.advisory)).sort();
}

async function scan(lookup: AdvisoryLookup, artifact: Case['artifact']): Promise<AnalyzerFinding[]> {
  const view = viewOf({});
  const ctx = { ...contextFor(view, { artifact }), advisories: lookup };
  assert.ok(vulnsAnalyzer.appliesTo(ctx.artifact));
  return vulnsAnalyzer.analyze(view, ctx);
}

function runCases(lookup: () => AdvisoryLookup): void {
  for (const c of cases) {
    it(c.name, async () => {
      const findings = await scan(lookup(), c.artifact);
      assert.deepEqual(advisoryIds(findings), c.advisories, JSON.stringify(findings, null, 2));
      for (const f of findings) assert.equal(f.rule, 'vulns/known-vulnerability');
      for (const [id, fixed] of Object.entries(c.fixed ?? {})) {
        assert.deepEqual(findings.find((f) => f.details?.advisory === id)?.details?.fixed, fixed);
      }
    });
  }

  it('says so when the distribution is unknown or has no OSV ecosystem, and matches nothing', async () => {
    for (const artifact of [debianArtifact({ Package: 'libssl3', Version: '3.0.9-1', Source: 'openssl' }, undefined), rpmArtifact(opensslLibs(1, '3.0.7', '16.fc40'), 'fedora/40')]) {
      const findings = await scan(lookup(), artifact);
      assert.deepEqual(
        findings.map((f) => [f.rule, f.severity]),
        [['vulns/os-release-unknown', 'info']],
      );
    }
  });

  it('names the binary, the source and the ecosystem in the finding', async () => {
    const [finding] = await scan(lookup(), debianArtifact({ Package: 'libssl3', Version: '3.0.9-1+b1', Source: 'openssl (3.0.9-1)' }, 'bookworm'));
    assert.match(finding?.message ?? '', /^libssl3 3\.0\.9-1\+b1 \(source openssl 3\.0\.9-1\) is affected by DSA-5532-1 \(CVE-2023-5363\)/);
    assert.equal(finding?.details?.ecosystem, 'Debian:12');
    assert.equal(finding?.details?.package, 'openssl');
  });
}

describe('OS advisories through the database', () => {
  let dir: string;
  let lookup: AdvisoryLookup;
  let close: () => Promise<void>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stockade-os-advisories-'));
    for (const [id, body] of Object.entries(RECORDS)) writeFileSync(join(dir, `${id.replace(':', '-')}.json`), JSON.stringify(osvRecord(id, body)));
    const opened = await openTestDomain();
    close = opened.close;
    const report = await importAdvisories(opened.domain, readAdvisories(dir), 'test');
    assert.deepEqual(report.errors, []);
    assert.equal(report.added, Object.keys(RECORDS).length);
    lookup = createAdvisoryLookup(opened.domain);
  });
  after(async () => {
    await close?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  runCases(() => lookup);
});

describe('OS advisories in memory (stockade scan --advisories)', () => {
  let lookup: AdvisoryLookup;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockade-os-advisories-'));
    try {
      for (const [id, body] of Object.entries(RECORDS)) writeFileSync(join(dir, `${id.replace(':', '-')}.json`), JSON.stringify(osvRecord(id, body)));
      const advisories: Advisory[] = [];
      for await (const item of readAdvisories(dir)) if (item.advisory) advisories.push(item.advisory);
      lookup = createMemoryAdvisoryLookup(advisories);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  runCases(() => lookup);

  it('a bare ecosystem still reads every release (npm and other callers unchanged)', async () => {
    const matches = await lookup.affecting('Debian', 'openssl', '1.0.0-1');
    assert.deepEqual(matches.map((m) => m.id).sort(), ['DLA-3530-1', 'DSA-5532-1']);
  });
});

describe('os-ecosystems tables', () => {
  const table: [string, string, string[]][] = [
    ['debian', 'buster', ['Debian:10']],
    ['debian', 'bullseye', ['Debian:11']],
    ['debian', 'bookworm', ['Debian:12']],
    ['debian', 'trixie', ['Debian:13']],
    ['debian', 'forky', ['Debian:14']],
    ['debian', 'sid', ['Debian:sid']],
    ['debian', 'unstable', ['Debian:sid']],
    ['debian', 'Bookworm-Backports', ['Debian:12']],
    ['debian', 'bookworm/updates', ['Debian:12']],
    ['debian', 'focal', ['Ubuntu:20.04:LTS', 'Ubuntu:Pro:20.04:LTS']],
    ['debian', 'jammy-security', ['Ubuntu:22.04:LTS', 'Ubuntu:Pro:22.04:LTS']],
    ['debian', 'noble', ['Ubuntu:24.04:LTS', 'Ubuntu:Pro:24.04:LTS']],
    ['debian', 'oracular', ['Ubuntu:24.10']],
    ['debian', 'stable', []],
    ['debian', 'my-internal-dist', []],
    ['debian', '__proto__', []],
    ['rpm', 'el/9', ['AlmaLinux:9', 'Rocky Linux:9']],
    ['rpm', 'el/9.4', ['AlmaLinux:9', 'Rocky Linux:9']],
    ['rpm', 'rhel/8', ['AlmaLinux:8', 'Rocky Linux:8']],
    ['rpm', 'almalinux/9', ['AlmaLinux:9']],
    ['rpm', 'rocky/9', ['Rocky Linux:9']],
    ['rpm', 'opensuse/15.5', ['openSUSE:Leap 15.5']],
    ['rpm', 'opensuse/tumbleweed', ['openSUSE:Tumbleweed']],
    ['rpm', 'mageia/9', ['Mageia:9']],
    ['rpm', 'photon/5.0', ['Photon OS:5.0']],
    ['rpm', 'fedora/40', []],
    ['rpm', 'el/nine', []],
    ['rpm', 'constructor/1', []],
    ['npm', 'bookworm', []],
  ];
  for (const [format, dist, expected] of table) {
    it(`${format} ${dist} → ${expected.join(', ') || 'none'}`, () => {
      assert.deepEqual(osvEcosystemsFor(format, dist), expected);
    });
  }

  it('every ecosystem a format can map to has its base listed for rescans', () => {
    for (const [format, dist] of table) {
      for (const ecosystem of osvEcosystemsFor(format, dist)) assert.ok(osvBasesFor(format).includes(ecosystem.split(':')[0] as string), ecosystem);
    }
  });

  it('the format-specific functions agree with osvEcosystemsFor', () => {
    assert.deepEqual(debianEcosystems('bookworm'), osvEcosystemsFor('debian', 'bookworm'));
    assert.deepEqual(rpmEcosystems('el/9'), osvEcosystemsFor('rpm', 'el/9'));
  });

  it('reads the source package and version from a control file', () => {
    assert.deepEqual(debianSource({ Package: 'libssl3', Version: '3.0.9-1', Source: 'openssl' }), { name: 'openssl', version: '3.0.9-1' });
    assert.deepEqual(debianSource({ Package: 'libssl3', Version: '3.0.9-1+b1', Source: 'openssl (3.0.9-1)' }), { name: 'openssl', version: '3.0.9-1' });
    assert.deepEqual(debianSource({ package: 'hello', version: '2.10-3' }), { name: 'hello', version: '2.10-3' });
    assert.equal(debianSource({ Package: 'x', Version: '1', Source: 'bad source name!' }), undefined);
    assert.equal(debianSource({ Version: '1' }), undefined);
  });
});
