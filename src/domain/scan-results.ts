import type { Db } from '../store/db/schema.js';
import { nowIso } from './time.js';

/**
 * Stored analyzer results keyed by (content sha256, analyzer id, analyzer version): the same
 * bytes uploaded to another repository, or rescanned, are not analyzed twice.
 */
export function createScanResults(deps: { db: Db }) {
  const { db } = deps;
  return {
    async get<T>(sha256: string, analyzer: string, version: number): Promise<T[] | undefined> {
      const row = await db
        .selectFrom('scan_results')
        .select('findings')
        .where('sha256', '=', sha256)
        .where('analyzer', '=', analyzer)
        .where('analyzer_version', '=', version)
        .executeTakeFirst();
      return row ? (JSON.parse(row.findings) as T[]) : undefined;
    },
    async put(sha256: string, analyzer: string, version: number, findings: readonly unknown[]): Promise<void> {
      await db
        .insertInto('scan_results')
        .values({ sha256, analyzer, analyzer_version: version, findings: JSON.stringify(findings), created_at: nowIso() })
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
