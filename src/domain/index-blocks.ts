import { sql } from 'kysely';
import type { Db } from '../store/db/schema.js';

/** One block of index entries as the database sees it; see formats/block-index.ts. */
export interface BlockSignatureRow {
  block: number;
  count: number;
  sum: number;
  sumSquares: number;
  newest: string;
}

/** Tables listing package versions in a repository's OS indexes, one row per listing. */
export type IndexTable = 'apt_entries' | 'rpm_entries';

/**
 * Per block of `blockSize` entry ids: how many published entries it holds and checksums of their
 * ids. One grouped scan over integers, so a node learns which blocks changed without reading
 * any entry's text; `blocks` limits it to those blocks (a change to known packages).
 */
export async function blockSignatures(db: Db, table: IndexTable, repoId: number, dist: string, blockSize: number, blocks?: readonly number[]): Promise<BlockSignatureRow[]> {
  if (blocks !== undefined && blocks.length === 0) return [];
  const only =
    blocks === undefined
      ? sql``
      : sql`and (${sql.join(
          blockRanges(blocks, blockSize).map(([from, to]) => sql`(e.id >= ${from} and e.id < ${to})`),
          sql` or `,
        )})`;
  const result = await sql<{ block: number | string; n: number | string; total: number | string; squares: number | string; newest: string }>`
    select e.id / ${sql.lit(blockSize)} as block, count(*) as n, sum(e.id) as total,
           sum(cast(e.id as bigint) * e.id) as squares, max(e.created_at) as newest
    from ${sql.table(table)} e
    join versions v on v.id = e.version_id
    where e.repo_id = ${repoId} and e.dist = ${dist} and v.status = 'published' ${only}
    group by e.id / ${sql.lit(blockSize)}
    order by 1`.execute(db);
  return result.rows.map((row) => ({
    block: Number(row.block),
    count: Number(row.n),
    sum: Number(row.total),
    sumSquares: Number(row.squares),
    newest: row.newest,
  }));
}

/** The blocks holding listings (published or not) of the named packages in one distribution. */
export async function blocksOfPackages(db: Db, table: IndexTable, repoId: number, dist: string, names: readonly string[], blockSize: number): Promise<number[]> {
  if (names.length === 0) return [];
  const result = await sql<{ block: number | string }>`
    select distinct e.id / ${sql.lit(blockSize)} as block
    from ${sql.table(table)} e
    join versions v on v.id = e.version_id
    join packages p on p.id = v.package_id
    where e.repo_id = ${repoId} and e.dist = ${dist} and p.name in (${sql.join(names)})`.execute(db);
  return result.rows.map((row) => Number(row.block));
}

/** The id ranges of the given blocks, as `id >= from and id < to` pairs for one query. */
export function blockRanges(blocks: readonly number[], blockSize: number): Array<[number, number]> {
  return blocks.map((block) => [block * blockSize, (block + 1) * blockSize]);
}
