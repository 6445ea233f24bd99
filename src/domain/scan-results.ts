import { prepareQuery, type PreparedQuery } from '../store/db/prepared.js';
import type { Db } from '../store/db/schema.js';
import { nowIso } from './time.js';

/**
 * Stored analyzer results keyed by (content sha256, analyzer id, analyzer version): the same
 * bytes uploaded to another repository, or rescanned, are not analyzed twice.
 */
type ScanRow = { sha256: string; analyzer: string; analyzer_version: number; findings: string; created_at: string };

export function createScanResults(deps: { db: Db }) {
  const { db } = deps;
  // The gate reads and writes these for every artifact: compiled once (see prepareQuery), the
  // insert once per number of rows.
  const stored = prepareQuery(['sha256'], (d, p: { sha256: string }) => d.selectFrom('scan_results').select(['analyzer', 'analyzer_version', 'findings']).where('sha256', '=', p.sha256));
  const inserts = new Map<number, PreparedQuery<Record<string, string | number>, unknown>>();
  const COLUMNS = ['sha256', 'analyzer', 'analyzer_version', 'findings', 'created_at'] as const;
  function insertOf(count: number) {
    let prepared = inserts.get(count);
    if (!prepared) {
      const names = Array.from({ length: count }, (_, i) => COLUMNS.map((c) => `${c}${i}`)).flat();
      prepared = prepareQuery(names, (d, p: Record<string, string | number>) =>
        d
          .insertInto('scan_results')
          .values(Array.from({ length: count }, (_, i) => Object.fromEntries(COLUMNS.map((c) => [c, p[`${c}${i}`]])) as ScanRow))
          .onConflict((oc) => oc.columns(['sha256', 'analyzer', 'analyzer_version']).doNothing()),
      );
      inserts.set(count, prepared);
    }
    return prepared;
  }
  return {
    /** Every stored analyzer result for one content digest. */
    async getAll<T>(sha256: string): Promise<{ analyzer: string; version: number; findings: T[] }[]> {
      const rows = await stored.rows(db, { sha256 });
      return rows.map((row) => ({ analyzer: row.analyzer, version: row.analyzer_version, findings: JSON.parse(row.findings) as T[] }));
    },
    /** Stores several analyzers' results for one digest in one statement; results already stored stay. */
    async putAll(sha256: string, results: readonly { analyzer: string; version: number; findings: readonly unknown[] }[]): Promise<void> {
      if (results.length === 0) return;
      const createdAt = nowIso();
      const params: Record<string, string | number> = {};
      results.forEach((r, i) => {
        const row: ScanRow = { sha256, analyzer: r.analyzer, analyzer_version: r.version, findings: JSON.stringify(r.findings), created_at: createdAt };
        for (const c of COLUMNS) params[`${c}${i}`] = row[c];
      });
      await insertOf(results.length).execute(db, params);
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
