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
  };
}

export type ScanResults = ReturnType<typeof createScanResults>;
