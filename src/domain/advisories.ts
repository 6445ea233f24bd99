import { prepareQuery } from '../store/db/prepared.js';
import type { Db } from '../store/db/schema.js';
import { nowIso } from './time.js';

/** One advisory as stored: the normalized document plus the columns matching and listing need. */
export interface AdvisoryRow {
  id: string;
  modified: string;
  withdrawn: string | null;
  malicious: boolean;
  severity: string;
  summary: string;
  /** The normalized advisory, opaque to this layer. */
  document: unknown;
  /** (ecosystem, name) pairs the advisory affects. */
  packages: { ecosystem: string; name: string }[];
}

export interface ImportTally {
  added: number;
  updated: number;
  unchanged: number;
  /** `ecosystem\0name` of every package whose advisories changed: what a rescan must revisit. */
  touched: Set<string>;
}

const BATCH = 200;

/** The advisory database: OSV records by id, indexed by the packages they name. */
export function createAdvisories(deps: { db: Db }) {
  const { db } = deps;

  /** Inserts or replaces advisories; a record whose `modified` and content are unchanged is skipped. */
  async function upsert(rows: readonly AdvisoryRow[], source: string): Promise<ImportTally> {
    const tally: ImportTally = { added: 0, updated: 0, unchanged: 0, touched: new Set() };
    for (let start = 0; start < rows.length; start += BATCH) {
      const batch = rows.slice(start, start + BATCH);
      await db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('advisories')
          .select(['id', 'document'])
          .where('id', 'in', batch.map((r) => r.id))
          .execute();
        const known = new Map(existing.map((e) => [e.id, e.document]));
        const at = nowIso();
        for (const row of batch) {
          const document = JSON.stringify(row.document);
          const previous = known.get(row.id);
          if (previous === document) {
            tally.unchanged++;
            continue;
          }
          if (previous !== undefined) {
            // Packages the old version named are touched too: they may no longer be affected.
            const old = await tx.selectFrom('advisory_packages').select(['ecosystem', 'name']).where('advisory_id', '=', row.id).execute();
            for (const p of old) tally.touched.add(`${p.ecosystem}\0${p.name}`);
            await tx.deleteFrom('advisory_packages').where('advisory_id', '=', row.id).execute();
            await tx
              .updateTable('advisories')
              .set({ modified: row.modified, withdrawn: row.withdrawn, malicious: row.malicious ? 1 : 0, severity: row.severity, summary: row.summary, document, source, imported_at: at })
              .where('id', '=', row.id)
              .execute();
            tally.updated++;
          } else {
            await tx
              .insertInto('advisories')
              .values({ id: row.id, modified: row.modified, withdrawn: row.withdrawn, malicious: row.malicious ? 1 : 0, severity: row.severity, summary: row.summary, document, source, imported_at: at })
              .execute();
            tally.added++;
          }
          const unique = new Map(row.packages.map((p) => [`${p.ecosystem}\0${p.name}`, p]));
          if (unique.size > 0) {
            await tx
              .insertInto('advisory_packages')
              .values([...unique.values()].map((p) => ({ advisory_id: row.id, ecosystem: p.ecosystem, name: p.name })))
              .execute();
          }
          for (const key of unique.keys()) tally.touched.add(key);
        }
      });
    }
    return tally;
  }

  // The gate asks this for every artifact: compiled once (see prepareQuery).
  const advisoriesOf = prepareQuery(['ecosystem', 'name'], (d, p: { ecosystem: string; name: string }) =>
    d
      .selectFrom('advisory_packages')
      .innerJoin('advisories', 'advisories.id', 'advisory_packages.advisory_id')
      .select(['advisories.id', 'advisories.withdrawn', 'advisories.document'])
      .where('advisory_packages.ecosystem', '=', p.ecosystem)
      .where('advisory_packages.name', '=', p.name)
      .orderBy('advisories.id'),
  );

  /** Every advisory naming a package, withdrawn ones included (callers decide). */
  async function forPackage(ecosystem: string, name: string): Promise<{ id: string; withdrawn: string | null; document: unknown }[]> {
    const rows = await advisoriesOf.rows(db, { ecosystem, name });
    return rows.map((r) => ({ id: r.id, withdrawn: r.withdrawn, document: JSON.parse(r.document) as unknown }));
  }

  async function count(): Promise<{ total: number; malicious: number; withdrawn: number }> {
    const row = await db
      .selectFrom('advisories')
      .select((eb) => [
        eb.fn.countAll<number>().as('total'),
        eb.fn.sum<number>('malicious').as('malicious'),
        eb.fn.count<number>('withdrawn').as('withdrawn'),
      ])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), malicious: Number(row.malicious ?? 0), withdrawn: Number(row.withdrawn) };
  }

  return { upsert, forPackage, count };
}

export type Advisories = ReturnType<typeof createAdvisories>;
