import type { Db, Tx } from '../store/db/schema.js';
import { blockRanges, blockSignatures as signaturesOf, blocksOfPackages, type BlockSignatureRow } from './index-blocks.js';
import { nowIso } from './time.js';

export interface AptEntryInput {
  repoId: number;
  versionId: number;
  dist: string;
  component: string;
  arch: string;
  poolPath: string;
  stanza: string;
}

export interface AptIndexEntry {
  id: number;
  /** The package's name, to find its blocks again when it changes. */
  name: string;
  component: string;
  arch: string;
  stanza: string;
  createdAt: string;
}

/**
 * Where Debian package versions are listed: one row per distribution and component that lists a
 * version. Only published versions reach the indexes; a quarantined one waits for approval.
 */
export function createApt(deps: { db: Db }) {
  const { db } = deps;

  async function addEntry(tx: Tx | Db, input: AptEntryInput): Promise<void> {
    await tx
      .insertInto('apt_entries')
      .values({
        repo_id: input.repoId,
        version_id: input.versionId,
        dist: input.dist,
        component: input.component,
        arch: input.arch,
        pool_path: input.poolPath,
        stanza: input.stanza,
        created_at: nowIso(),
      })
      .execute();
  }

  /** Whether a version is already listed in this distribution and component. */
  async function isListed(repoId: number, versionId: number, dist: string, component: string): Promise<boolean> {
    const row = await db
      .selectFrom('apt_entries')
      .select('id')
      .where('repo_id', '=', repoId)
      .where('version_id', '=', versionId)
      .where('dist', '=', dist)
      .where('component', '=', component)
      .executeTakeFirst();
    return Boolean(row);
  }

  /** Which blocks of a distribution's entries hold what; see formats/block-index.ts. */
  function blockSignatures(repoId: number, dist: string, blockSize: number, blocks?: readonly number[]): Promise<BlockSignatureRow[]> {
    return signaturesOf(db, 'apt_entries', repoId, dist, blockSize, blocks);
  }

  /** The blocks that list any version of the named packages in a distribution. */
  function blocksOf(repoId: number, dist: string, names: readonly string[], blockSize: number): Promise<number[]> {
    return blocksOfPackages(db, 'apt_entries', repoId, dist, names, blockSize);
  }

  /** Every distribution that lists a version, in the order they were added. */
  async function distsOf(versionId: number): Promise<string[]> {
    const rows = await db.selectFrom('apt_entries').select('dist').where('version_id', '=', versionId).orderBy('id').execute();
    return [...new Set(rows.map((row) => row.dist))];
  }

  /** The published entries of the given blocks of one distribution, in id order. */
  async function blockEntries(repoId: number, dist: string, blocks: readonly number[], blockSize: number): Promise<AptIndexEntry[]> {
    if (blocks.length === 0) return [];
    const rows = await db
      .selectFrom('apt_entries')
      .innerJoin('versions', 'versions.id', 'apt_entries.version_id')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select(['packages.name', 'apt_entries.id', 'apt_entries.component', 'apt_entries.arch', 'apt_entries.stanza', 'apt_entries.created_at'])
      .where('apt_entries.repo_id', '=', repoId)
      .where('apt_entries.dist', '=', dist)
      .where((eb) => eb.or(blockRanges(blocks, blockSize).map(([from, to]) => eb.and([eb('apt_entries.id', '>=', from), eb('apt_entries.id', '<', to)]))))
      .where('versions.status', '=', 'published')
      .orderBy('apt_entries.id')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, component: row.component, arch: row.arch, stanza: row.stanza, createdAt: row.created_at }));
  }

  /** The stored file behind a pool path of a published version, or null. */
  async function poolFile(repoId: number, poolPath: string): Promise<{ sha256: string; size: number } | null> {
    const row = await db
      .selectFrom('apt_entries')
      .innerJoin('versions', 'versions.id', 'apt_entries.version_id')
      .innerJoin('files', 'files.version_id', 'apt_entries.version_id')
      .select(['files.sha256', 'files.size'])
      .where('apt_entries.repo_id', '=', repoId)
      .where('apt_entries.pool_path', '=', poolPath)
      .where('versions.status', '=', 'published')
      .executeTakeFirst();
    return row ? { sha256: row.sha256, size: Number(row.size) } : null;
  }

  /** The version id of a stored version, to list it in another distribution. */
  async function versionId(repoId: number, format: string, name: string, version: string): Promise<number | null> {
    const row = await db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select('versions.id')
      .where('packages.repo_id', '=', repoId)
      .where('packages.format', '=', format)
      .where('packages.name', '=', name)
      .where('versions.version', '=', version)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  return { addEntry, isListed, distsOf, blockSignatures, blocksOf, blockEntries, poolFile, versionId };
}

export type Apt = ReturnType<typeof createApt>;
