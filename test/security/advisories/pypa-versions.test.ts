import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAffected, readAdvisories, type Advisory, type AffectedPackage } from '../../../src/security/advisories/index.js';
import { pep440Scheme } from '../../../src/security/versions/pep440.js';

// pypa/advisory-database records carry both ECOSYSTEM ranges and the explicit `versions` list
// osv.dev derived from them. Our PEP 440 evaluation of the ranges must reach the same answer for
// every listed version; where it does not, the record itself contradicts itself, and each such
// version is named below with the reason. Matching still honours the list (OSV: a version is
// affected when listed OR in a range), so none of these is missed by the gate.

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../data/advisories');
const PYTHON = '/usr/bin/python3';

/**
 * Listed versions the ranges of their own record leave out, all checked by hand against the
 * record and PEP 440 (packaging agrees with every comparison).
 */
const UPSTREAM_DISAGREEMENTS: Record<string, { versions: string[]; why: string }> = {
  'PYSEC-2023-61': {
    versions: ['3.2a1', '3.2b1', '3.2rc1', '4.2a1', '4.2b1', '4.2rc1'],
    why: 'ranges start at "3.2" and "4.2", but pre-releases sort before their release (PEP 440), so the list adds them',
  },
  'PYSEC-2023-177': {
    versions: ['23.9.0', '23.9.0.post1'],
    why: 'the list names the fixed version 23.9.0 and a post-release of it',
  },
  'PYSEC-2021-114': {
    versions: ['2.11.6'],
    why: 'one range holds two overlapping stretches (0–2.11.6 and 2.11–2.11.7); evaluated in version order, fixed 2.11.6 ends them at 2.11.6',
  },
};

interface Listed {
  advisory: Advisory;
  entry: AffectedPackage;
}

describe('pypa: ranges agree with the listed versions', () => {
  const both: Listed[] = [];
  let records = 0;
  before(async () => {
    const ids = new Set<string>();
    for await (const item of readAdvisories(join(DATA, 'pypa.zip'))) {
      const advisory = item.advisory;
      if (!advisory) continue;
      for (const entry of advisory.affected) {
        if (entry.ecosystem !== 'PyPI' || entry.versions.length === 0 || !entry.ranges.some((r) => r.type === 'ECOSYSTEM')) continue;
        both.push({ advisory, entry });
        ids.add(advisory.id);
      }
    }
    records = ids.size;
  });

  it('every valid listed version is inside the ranges, but for the named upstream contradictions', (t) => {
    let checked = 0;
    const outside: Record<string, string[]> = {};
    for (const { advisory, entry } of both) {
      const rangesOnly: AffectedPackage = { ...entry, versions: [] };
      for (const v of entry.versions) {
        if (!pep440Scheme.isValid(v)) continue;
        checked++;
        if (!isAffected(rangesOnly, v, pep440Scheme)) (outside[advisory.id] ??= []).push(v);
      }
    }
    t.diagnostic(`${records} records (${both.length} affected entries) with ranges and versions; ${checked} listed versions evaluated`);
    assert.ok(records >= 2600 && checked > 140_000, `${records} records, ${checked} versions`);
    assert.deepEqual(
      outside,
      Object.fromEntries(Object.entries(UPSTREAM_DISAGREEMENTS).map(([id, d]) => [id, d.versions])),
    );
  });

  it('the contradictions are still reported: the list is matched too', () => {
    for (const [id, { versions }] of Object.entries(UPSTREAM_DISAGREEMENTS)) {
      const found = both.find((b) => b.advisory.id === id);
      assert.ok(found, id);
      for (const v of versions) assert.equal(isAffected(found.entry, v, pep440Scheme), true, `${id} ${v}`);
    }
  });

  it('listed versions that are not PEP 440 are matched only verbatim, and packaging refuses them too', () => {
    const invalid = new Map<string, Listed>();
    for (const listed of both) for (const v of listed.entry.versions) if (!pep440Scheme.isValid(v)) invalid.set(`${listed.advisory.id} ${v}`, listed);
    // Legacy versions from before PEP 440: `0.7.1.fix1`, `2.0.0-final`, `0.3m1`, dates, `trunk`.
    assert.equal(invalid.size, 108);
    for (const [key, { entry }] of invalid) {
      const v = key.slice(key.indexOf(' ') + 1);
      assert.equal(isAffected(entry, v, pep440Scheme), true, `${key}: listed, so affected`);
      // Nothing else is drawn into them: ranges read no invalid version.
      assert.equal(isAffected({ ...entry, versions: [] }, v, pep440Scheme), false, key);
    }
    const unique = [...new Set([...invalid.keys()].map((k) => k.slice(k.indexOf(' ') + 1)))];
    const check = 'import sys\nfrom packaging.version import Version\nfor line in sys.stdin:\n  v = bytes.fromhex(line.strip()).decode()\n  try:\n    Version(v); print(1)\n  except Exception:\n    print(0)\n';
    const run = spawnSync(PYTHON, ['-I', '-c', check], { input: unique.map((v) => Buffer.from(v).toString('hex')).join('\n') + '\n', encoding: 'utf8' });
    assert.equal(run.status, 0, `${PYTHON} with packaging is needed (bash scripts/ensure-clients.sh): ${run.stderr}`);
    const accepted = run.stdout.trim().split('\n').map((line, i) => (line === '1' ? unique[i] : undefined)).filter((v) => v !== undefined);
    assert.deepEqual(accepted, [], 'packaging accepts none of them either');
  });
});
