import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  describeRanges,
  fixedVersions,
  isAffected,
  readAdvisories,
  readAdvisoryText,
  type Advisory,
  type ReadItem,
  type ReadOptions,
} from '../../../src/security/advisories/index.js';
import { ZipArchive } from '../../../src/security/advisories/zip.js';
import { semverScheme } from '../../../src/security/versions/index.js';
import { rubyGemsScheme } from '../../../src/security/versions/rubygems.js';
import { makeZip, type ZipEntryInput } from './zip-writer.js';

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../data/advisories');

async function readAll(path: string, options?: ReadOptions): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  for await (const item of readAdvisories(path, options)) items.push(item);
  return items;
}

interface Tally {
  advisories: number;
  errors: number;
  skipped: number;
  warned: number;
  withdrawn: number;
  malicious: number;
}

function tally(items: ReadItem[]): Tally {
  return {
    advisories: items.filter((i) => i.advisory).length,
    errors: items.filter((i) => i.error).length,
    skipped: items.filter((i) => i.skipped).length,
    warned: items.filter((i) => i.warnings).length,
    withdrawn: items.filter((i) => i.advisory?.withdrawn).length,
    malicious: items.filter((i) => i.advisory?.malicious).length,
  };
}

/** Names of the advisory files (.json/.yaml/.yml, not hidden) in an archive. */
async function advisoryEntries(path: string): Promise<string[]> {
  const archive = await ZipArchive.open(path);
  const names: string[] = [];
  try {
    for await (const item of archive.entries()) {
      if (/\.(json|ya?ml)$/.test(item.name) && !item.name.split('/').some((p) => p.startsWith('.'))) names.push(item.name);
    }
  } finally {
    archive.close();
  }
  return names;
}

function bySource(items: ReadItem[]): Map<string, Advisory> {
  return new Map(items.filter((i) => i.advisory).map((i) => [i.source, i.advisory!]));
}

function check(advisory: Advisory | undefined, scheme: typeof semverScheme | undefined, yes: string[], no: string[]): void {
  assert.ok(advisory, 'advisory read');
  const affected = advisory.affected[0]!;
  for (const v of yes) assert.equal(isAffected(affected, v, scheme), true, `${advisory.id}: ${v} should be affected`);
  for (const v of no) assert.equal(isAffected(affected, v, scheme), false, `${advisory.id}: ${v} should not be affected`);
}

describe('importing the real advisory databases', () => {
  const items: Record<string, ReadItem[]> = {};
  before(async () => {
    for (const name of ['pypa', 'rubysec', 'nodejs-security-wg']) items[name] = await readAll(join(DATA, `${name}.zip`));
  });

  it('pypa: 2,661 OSV YAML records, all read; 2 fixed versions that are not PEP 440 dropped with a warning', async () => {
    assert.deepEqual(tally(items.pypa!), { advisories: 2661, errors: 0, skipped: 0, warned: 9, withdrawn: 10, malicious: 0 });
    const entries = await advisoryEntries(join(DATA, 'pypa.zip'));
    assert.equal(entries.length, 2661);
    assert.deepEqual(items.pypa!.map((i) => i.source), entries, 'one item per file, in archive order');
    // packaging.version.Version refuses both fixed versions too (InvalidVersion); the records stay,
    // their ranges open-ended, so the advisory is reported rather than lost.
    const warnings = items.pypa!.flatMap((i) => i.warnings ?? []);
    assert.deepEqual(
      warnings.filter((w) => w.includes('event dropped')),
      [
        'affected[0].ranges[1].events[1].fixed: "0.2.0-n653" is not a valid PyPI version; event dropped',
        'affected[0].ranges[0].events[1].fixed: "2019-09-12" is not a valid PyPI version; event dropped',
      ],
    );
    // The others: abbreviated or suffixed GIT commit hashes (7), a stray comma in an alias (1).
    assert.equal(warnings.filter((w) => w.includes('is not a full-length git commit hash')).length, 7);
    assert.equal(warnings.filter((w) => w.includes('is not a valid identifier; dropped')).length, 1);
  });

  it('rubysec: 1,234 advisories converted, 13 with an approximated range', async () => {
    assert.deepEqual(tally(items.rubysec!), { advisories: 1234, errors: 0, skipped: 0, warned: 13, withdrawn: 0, malicious: 0 });
    assert.equal((await advisoryEntries(join(DATA, 'rubysec.zip'))).length, 1234);
    for (const item of items.rubysec!) {
      assert.equal(item.format, 'rubysec');
      for (const w of item.warnings ?? []) assert.match(w, /OSV cannot start a range just after it/);
    }
    assert.equal(new Set(items.rubysec!.map((i) => i.advisory?.id)).size, 1234, 'ids are unique');
  });

  it('nodejs-security-wg: 467 advisories converted, the index skipped', async () => {
    assert.deepEqual(tally(items['nodejs-security-wg']!), { advisories: 467, errors: 0, skipped: 1, warned: 2, withdrawn: 0, malicious: 2 });
    assert.equal((await advisoryEntries(join(DATA, 'nodejs-security-wg.zip'))).length, 468); // 467 + index.json
    const index = items['nodejs-security-wg']!.find((i) => i.skipped);
    assert.equal(index?.source, 'vuln/npm/index.json');
    assert.equal(index?.skipped, 'index of 467 advisories; 467 of them already read from their own files');
    assert.deepEqual(
      items['nodejs-security-wg']!.filter((i) => i.warnings).map((i) => [i.source, i.warnings]),
      [
        ['vuln/npm/12.json', ['cves: "CVE-2014-4671A" is not a CVE id; dropped']],
        ['vuln/npm/504.json', ['cvss_vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U" is not a CVSS vector; ignored']],
      ],
    );
  });

  // Each case below was checked by reading the advisory file itself.
  it('npm: sails NSWG-ECO-148 "<=0.12.7"', () => {
    const advisory = bySource(items['nodejs-security-wg']!).get('vuln/npm/148.json');
    assert.equal(advisory?.id, 'NSWG-ECO-148');
    assert.equal(advisory?.affected[0]?.name, 'sails');
    assert.equal(advisory?.severity, 'high'); // CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N = 8.2
    check(advisory, semverScheme, ['0.12.7', '0.12.0', '0.9.16'], ['0.12.8', '1.0.0']);
    assert.equal(describeRanges(advisory!.affected[0]!), '<=0.12.7');
  });

  it('npm: hoek NSWG-ECO-367 "<5.0.3 >=5.0.0 || < 4.2.1"', () => {
    const advisory = bySource(items['nodejs-security-wg']!).get('vuln/npm/367.json');
    assert.deepEqual(advisory?.aliases, ['CVE-2018-3728']);
    assert.equal(advisory?.severity, 'low'); // 2.5
    check(advisory, semverScheme, ['4.2.0', '2.16.3', '5.0.0', '5.0.2'], ['4.2.1', '4.9.9', '5.0.3', '6.0.0']);
    assert.deepEqual(fixedVersions(advisory!.affected[0]!), ['4.2.1', '5.0.3']);
  });

  it('npm: mapbox.js NSWG-ECO-49 "<1.6.5 || < 2.1.7 > 2.0.0"', () => {
    const advisory = bySource(items['nodejs-security-wg']!).get('vuln/npm/49.json');
    check(advisory, semverScheme, ['1.6.4', '1.0.0', '2.0.1', '2.1.6'], ['1.6.5', '1.9.0', '2.0.0', '2.1.7', '3.0.0']);
  });

  it('npm: eslint-scope NSWG-ECO-450, the malicious 3.7.2 only', () => {
    const advisory = bySource(items['nodejs-security-wg']!).get('vuln/npm/450.json');
    assert.equal(advisory?.malicious, true);
    assert.equal(advisory?.severity, 'critical'); // 10.0
    check(advisory, semverScheme, ['3.7.2'], ['3.7.1', '3.7.3', '4.0.0']);
  });

  it('npm: express-restify-mongoose NSWG-ECO-92 "<= 2.4.2 || >= 3.0.0 <=3.0.1"', () => {
    const advisory = bySource(items['nodejs-security-wg']!).get('vuln/npm/92.json');
    check(advisory, semverScheme, ['2.4.2', '1.0.0', '3.0.0', '3.0.1'], ['2.5.0', '3.0.2', '3.1.0']);
    assert.equal(describeRanges(advisory!.affected[0]!), '<=2.4.2, >=3.0.0 <=3.0.1');
  });

  it('npm: flatmap-stream NSWG-ECO-477, every version, malicious', () => {
    const advisory = bySource(items['nodejs-security-wg']!).get('vuln/npm/477.json');
    assert.equal(advisory?.malicious, true);
    check(advisory, semverScheme, ['0.1.0', '0.1.1', '9.9.9'], []);
  });

  it('RubyGems: resque CVE-2023-50725, patched ">= 2.2.1"', () => {
    const advisory = bySource(items.rubysec!).get('gems/resque/CVE-2023-50725.yml');
    assert.equal(advisory?.id, 'RUBYSEC-resque-CVE-2023-50725');
    assert.deepEqual(advisory?.aliases, ['CVE-2023-50725', 'GHSA-gc3j-vvwf-4rp8']);
    assert.equal(advisory?.severity, 'medium'); // cvss_v3 6.3
    check(advisory, rubyGemsScheme, ['1.27.4', '2.0.0', '2.2.0', '2.2.1.rc1'], ['2.2.1', '2.3.0', '3.0']);
  });

  it('RubyGems: actionmailer CVE-2024-47889, four patched branches, unaffected "< 3.0.0"', () => {
    const advisory = bySource(items.rubysec!).get('gems/actionmailer/CVE-2024-47889.yml');
    assert.equal(advisory?.severity, 'medium'); // cvss_v4 6.6
    check(
      advisory,
      rubyGemsScheme,
      ['3.0.0', '5.2.8', '6.1.7.8', '7.0.8', '7.0.8.4', '7.1.0', '7.1.4', '7.2.0', '7.2.1'],
      ['2.3.18', '6.1.7.9', '6.1.7.10', '7.0.8.5', '7.0.9', '7.1.4.1', '7.1.5', '7.2.1.1', '7.2.2', '8.0.0'],
    );
    assert.equal(describeRanges(advisory!.affected[0]!), '>=3.0.0 <6.1.7.9, >=6.1.8.A <7.0.8.5, >=7.1.A <7.1.4.1, >=7.2.A <7.2.1.1');
  });

  it('RubyGems: actionpack CVE-2012-3424, unaffected ">= 2.3.5, <= 2.3.14" (approximated)', () => {
    const advisory = bySource(items.rubysec!).get('gems/actionpack/CVE-2012-3424.yml');
    check(advisory, rubyGemsScheme, ['2.3.4', '2.3.15', '3.0.15', '3.1.6', '3.2.6'], ['2.3.5', '2.3.10', '3.0.16', '3.0.20', '3.1.7', '3.2.7', '4.0.0']);
    // 2.3.14 is unaffected, but OSV cannot start a range just after it: reported as affected.
    assert.equal(isAffected(advisory!.affected[0]!, '2.3.14', rubyGemsScheme), true);
  });

  it('RubyGems: rack CVE-2018-16470, unaffected "<= 2.0.3", patched ">= 2.0.6"', () => {
    const advisory = bySource(items.rubysec!).get('gems/rack/CVE-2018-16470.yml');
    assert.equal(advisory?.severity, 'high'); // cvss_v3 7.5
    check(advisory, rubyGemsScheme, ['2.0.4', '2.0.5'], ['1.6.11', '2.0.1', '2.0.6', '2.1.0']);
  });

  it('PyPI: jinja2 PYSEC-2019-217 by its versions list (no PyPI scheme yet)', () => {
    const advisory = bySource(items.pypa!).get('vulns/jinja2/PYSEC-2019-217.yaml');
    check(advisory, undefined, ['2.10', '2.9.6', '2.0rc1'], ['2.10.1', '2.11.0', '3.0.0']);
    assert.deepEqual(fixedVersions(advisory!.affected[0]!), ['2.10.1']);
  });

  it('PyPI: withdrawn records are kept and flagged', () => {
    const advisory = bySource(items.pypa!).get('vulns/redis/PYSEC-2023-73.yaml');
    assert.equal(advisory?.withdrawn, '2023-06-06T10:37:00Z');
  });
});

describe('reading folders and files', () => {
  let dir: string;
  const osv = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id, modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: ['1.0.0'] }], ...extra });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockade-advisories-'));
    await mkdir(join(dir, 'sub/deeper'), { recursive: true });
    await mkdir(join(dir, '.git'), { recursive: true });
    await writeFile(join(dir, 'b.json'), osv('GHSA-b'));
    await writeFile(join(dir, 'a.json'), osv('GHSA-a'));
    await writeFile(join(dir, 'list.json'), `[${osv('GHSA-c')}, {"id": "GHSA-d"}, ${osv('GHSA-a')}]`);
    await writeFile(join(dir, 'sub/bad.yaml'), 'id: GHSA-e\nmodified: [unclosed\n');
    await writeFile(join(dir, 'sub/deeper/x.yml'), 'id: GHSA-f\nmodified: 2024-01-01T00:00:00Z\n');
    await writeFile(join(dir, 'sub/dup.yaml'), 'id: a\nid: b\n');
    await writeFile(join(dir, 'sub/bomb.yaml'), `a: &a ["x","x","x","x","x","x","x","x","x","x"]\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [${Array(10).fill(i === 0 ? '*a' : `*b${i - 1}`).join(',')}]`).join('\n')}\n`);
    await writeFile(join(dir, 'sub/empty.yaml'), '');
    await writeFile(join(dir, 'sub/other.json'), '{"hello": "world"}');
    await writeFile(join(dir, 'notes.txt'), 'not an advisory');
    await writeFile(join(dir, '.git/config.json'), '{}');
    await writeFile(join(dir, 'huge.json'), osv('GHSA-huge', { details: 'x'.repeat(2000) }));
    await symlink(join(dir, 'a.json'), join(dir, 'link.json'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('walks in name order, reports every file, skips hidden files and symlinks', async () => {
    const items = await readAll(dir, { maxFileBytes: 1500 });
    assert.deepEqual(
      items.map((i) => [i.source, i.advisory?.id ?? i.error ?? i.skipped]),
      [
        ['a.json', 'GHSA-a'],
        ['b.json', 'GHSA-b'],
        ['huge.json', 'larger than the limit of 1500 bytes'],
        ['link.json', 'symbolic link, not followed'],
        ['list.json#0', 'GHSA-c'],
        ['list.json#1', 'GHSA-d: modified: missing'],
        ['list.json#2', 'GHSA-a'],
        ['sub/bad.yaml', items[7]?.error],
        ['sub/bomb.yaml', items[8]?.error],
        ['sub/deeper/x.yml', 'GHSA-f'],
        ['sub/dup.yaml', items[10]?.error],
        ['sub/empty.yaml', 'empty YAML file'],
        ['sub/other.json', items[12]?.error],
      ],
    );
    assert.match(items[7]!.error!, /^not valid YAML: /);
    assert.match(items[8]!.error!, /^not valid YAML: .*[Aa]lias/);
    assert.match(items[10]!.error!, /^not valid YAML: .*unique/);
    assert.match(items[12]!.error!, /^not an advisory: expected an OSV record/);
    assert.deepEqual(items[6]!.warnings, ['GHSA-a was already read from a.json']);
  });

  it('reads a single file, JSON or YAML', async () => {
    assert.equal((await readAll(join(dir, 'sub/deeper/x.yml')))[0]?.advisory?.id, 'GHSA-f');
    assert.equal((await readAll(join(dir, 'list.json'))).length, 3);
    assert.match((await readAll(join(dir, 'missing.json')))[0]?.error ?? '', /ENOENT/);
  });

  it('reads content handed over directly', () => {
    const [item] = readAdvisoryText('upload.yaml', 'id: GHSA-g\nmodified: "2024-01-01T00:00:00Z"\naffected: []\n');
    assert.equal(item?.advisory?.id, 'GHSA-g');
    assert.match(readAdvisoryText('x.json', '{"id": ')[0]?.error ?? '', /^not valid JSON/);
  });

  it('reads the Node.js WG index alone when its files are not there', () => {
    const index = { '7': { id: 7, module_name: 'm', vulnerable_versions: '<1.0.0', created_at: '2016-01-01', updated_at: '2016-01-02', title: 't' } };
    const items = readAdvisoryText('index.json', JSON.stringify(index));
    assert.deepEqual(items.map((i) => [i.source, i.advisory?.id]), [['index.json#7', 'NSWG-ECO-7']]);
  });
});

describe('hostile zip archives', () => {
  let dir: string;
  const good = JSON.stringify({ id: 'GHSA-ok', modified: '2024-01-01T00:00:00Z' });
  async function zipFile(name: string, entries: ZipEntryInput[]): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, makeZip(entries));
    return path;
  }
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockade-zips-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses entries that climb out or are absolute, reads the rest', async () => {
    const path = await zipFile('traversal.zip', [
      { name: '../evil.json', data: good },
      { name: '/etc/evil.json', data: good },
      { name: 'a/../../evil.json', data: good },
      { name: 'C:/evil.json', data: good },
      { name: 'a\\..\\..\\evil.json', data: good },
      { name: 'ok/a.json', data: good },
      { name: 'link.json', data: 'ok/a.json', mode: 0o120777 },
    ]);
    const items = await readAll(path);
    assert.deepEqual(
      items.map((i) => [i.source, i.advisory?.id ?? i.error]),
      [
        ['../evil.json', 'refused: path climbs out of the archive (..)'],
        ['/etc/evil.json', 'refused: absolute path'],
        ['a/../../evil.json', 'refused: path climbs out of the archive (..)'],
        ['C:/evil.json', 'refused: absolute path'],
        ['a/../../evil.json', 'refused: path climbs out of the archive (..)'],
        ['ok/a.json', 'GHSA-ok'],
        ['link.json', 'refused: symbolic link'],
      ],
    );
  });

  it('refuses a zip bomb by its compression ratio', async () => {
    const path = await zipFile('bomb.zip', [
      { name: 'bomb.json', data: Buffer.alloc(20 * 1024 * 1024, 0x20) },
      { name: 'a.json', data: good },
    ]);
    const items = await readAll(path);
    assert.match(items[0]?.error ?? '', /^compression ratio \d+:1 is above the limit of 200:1$/);
    assert.equal(items[1]?.advisory?.id, 'GHSA-ok');
  });

  it('refuses entries over the size limit, and entries whose data outgrows the declared size', async () => {
    const path = await zipFile('sizes.zip', [
      { name: 'big.json', data: JSON.stringify({ id: 'GHSA-big', modified: '2024-01-01T00:00:00Z', details: 'y'.repeat(5000) }) },
      { name: 'liar.json', data: good, declaredSize: 10 },
      { name: 'a.json', data: good },
    ]);
    const items = await readAll(path, { zip: { maxEntryBytes: 4096 } });
    assert.match(items[0]?.error ?? '', /more than the limit of 4096/);
    assert.ok(items[1]?.error, 'the lying entry is refused');
    assert.equal(items[2]?.advisory?.id, 'GHSA-ok');
  });

  it('stops at the total size limit', async () => {
    // 49 bytes each: four fit in 200.
    const entries = Array.from({ length: 10 }, (_, i) => ({ name: `${i}.json`, data: JSON.stringify({ id: `GHSA-${i}`, modified: '2024-01-01T00:00:00Z' }) }));
    assert.equal(entries[0]!.data.length, 49);
    const items = await readAll(await zipFile('total.zip', entries), { zip: { maxTotalBytes: 200 } });
    assert.equal(items.filter((i) => i.advisory).length, 4);
    assert.match(items.at(-1)?.error ?? '', /^stopped reading: the archive unpacks to more than the limit of 200 bytes$/);
  });

  it('refuses an archive with too many entries', async () => {
    const path = await zipFile('many.zip', Array.from({ length: 5 }, (_, i) => ({ name: `${i}.json`, data: good })));
    const items = await readAll(path, { zip: { maxEntries: 4 } });
    assert.deepEqual(items.map((i) => i.error), ['cannot read the zip archive: the archive has 5 entries, more than the limit of 4']);
  });

  it('reports a corrupt archive', async () => {
    const path = join(dir, 'corrupt.zip');
    await writeFile(path, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 1)]));
    const items = await readAll(path);
    assert.equal(items.length, 1);
    assert.match(items[0]?.error ?? '', /^cannot read the zip archive: /);
  });

  it('reports malformed YAML inside an archive and goes on', async () => {
    const path = await zipFile('yaml.zip', [
      { name: 'bad.yaml', data: 'id: [\n' },
      { name: 'tabs.yml', data: 'gem: x\n\tdate: 2020-01-01\n' },
      { name: 'good.yaml', data: 'id: GHSA-y\nmodified: 2024-01-01T00:00:00Z\n' },
    ]);
    const items = await readAll(path);
    assert.match(items[0]?.error ?? '', /^not valid YAML/);
    assert.match(items[1]?.error ?? '', /^not valid YAML/);
    assert.equal(items[2]?.advisory?.id, 'GHSA-y');
  });
});
