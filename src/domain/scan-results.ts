import type { Db } from '../store/db/schema.js';
import { nowIso } from './time.js';

/**
 * Stored analyzer results keyed by (content sha256, analyzer id, analyzer version): the same
 * bytes uploaded to another repository, or rescanned, are not analyzed twice.
 */
export function createScanResults(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Every stored analyzer result for one content digest. */
    async getAll<T>(sha256: string): Promise<{ analyzer: string; version: number; findings: T[] }[]> {
      const rows = await db.selectFrom('scan_results').select(['analyzer', 'analyzer_version', 'findings']).where('sha256', '=', sha256).execute();
      return rows.map((row) => ({ analyzer: row.analyzer, version: row.analyzer_version, findings: JSON.parse(row.findings) as T[] }));
    },
    /** Stores several analyzers' results for one digest in one statement; results already stored stay. */
    async putAll(sha256: string, results: readonly { analyzer: string; version: number; findings: readonly unknown[] }[]): Promise<void> {
      if (results.length === 0) return;
      const createdAt = nowIso();
      await db
        .insertInto('scan_results')
        .values(results.map((r) => ({ sha256, analyzer: r.analyzer, analyzer_version: r.version, findings: JSON.stringify(r.findings), created_at: createdAt })))
        .onConflict((oc) => oc.columns(['sha256', 'analyzer', 'analyzer_version']).doNothing())
        .execute();
    },
    /**
     * Records that `analyzerSet` (e.g. `malware@2,secrets@1`) now evaluates the stored packages.
     * True for exactly one caller when the set changed (or was never recorded): that node runs
     * the rescan, however many nodes start at once.
     */
    async claimAnalyzerSet(analyzerSet: string): Promise<boolean> {
      const key = 'analyzers';
      const current = await db.selectFrom('gate_state').select('value').where('key', '=', key).executeTakeFirst();
      if (current?.value === analyzerSet) return false;
      if (!current) {
        const inserted = await db
          .insertInto('gate_state')
          .values({ key, value: analyzerSet, updated_at: nowIso() })
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst();
        return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
      }
      const updated = await db
        .updateTable('gate_state')
        .set({ value: analyzerSet, updated_at: nowIso() })
        .where('key', '=', key)
        .where('value', '=', current.value)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
    /** Forgets the recorded analyzer set, so the next start evaluates everything again (an interrupted rescan). */
    async forgetAnalyzerSet(): Promise<void> {
      await db.deleteFrom('gate_state').where('key', '=', 'analyzers').execute();
    },
  };
}

export type ScanResults = ReturnType<typeof createScanResults>;
