import type { AdvisoryRow, ImportTally } from '../domain/advisories.js';
import type { Domain } from '../domain/index.js';
import type { Advisory } from './advisories/types.js';

export interface AdvisoryImportReport extends ImportTally {
  /** Files (or archive entries) read. */
  files: number;
  /** Files that could not be used, each with its reason; the import went on without them. */
  errors: { source: string; error: string }[];
  /** Files deliberately passed over (indexes, links), each with why. */
  skipped: { source: string; why: string }[];
}

const BATCH = 500;

function toRow(advisory: Advisory): AdvisoryRow {
  return {
    id: advisory.id,
    modified: advisory.modified,
    withdrawn: advisory.withdrawn ?? null,
    malicious: advisory.malicious,
    severity: advisory.severity,
    summary: advisory.summary,
    document: advisory,
    packages: advisory.affected.map((a) => ({ ecosystem: a.ecosystem, name: a.name })),
  };
}

/**
 * Stores advisories as they are read, in batches. A malformed file is reported and skipped;
 * `touched` names every package whose advisories changed, for the rescan that follows.
 */
export async function importAdvisories(
  domain: Domain,
  entries: AsyncIterable<{ source: string; advisory?: Advisory; error?: string; skipped?: string }>,
  source: string,
): Promise<AdvisoryImportReport> {
  const report: AdvisoryImportReport = { files: 0, added: 0, updated: 0, unchanged: 0, touched: new Set(), errors: [], skipped: [] };
  let batch = new Map<string, AdvisoryRow>();
  const flush = async () => {
    if (batch.size === 0) return;
    const tally = await domain.advisories.upsert([...batch.values()], source);
    report.added += tally.added;
    report.updated += tally.updated;
    report.unchanged += tally.unchanged;
    for (const key of tally.touched) report.touched.add(key);
    batch = new Map();
  };
  for await (const entry of entries) {
    report.files++;
    if (entry.advisory) {
      // The same id twice in one import: the later record wins, as a later file would.
      batch.set(entry.advisory.id, toRow(entry.advisory));
      if (batch.size >= BATCH) await flush();
    } else if (entry.skipped !== undefined) {
      report.skipped.push({ source: entry.source, why: entry.skipped });
    } else {
      report.errors.push({ source: entry.source, error: entry.error ?? 'unreadable' });
    }
  }
  await flush();
  return report;
}
