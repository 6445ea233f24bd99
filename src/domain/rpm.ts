import type { Db, Tx } from '../store/db/schema.js';
import { blockRanges, blockSignatures as signaturesOf, blocksOfPackages, type BlockSignatureRow } from './index-blocks.js';
import { nowIso } from './time.js';

export interface RpmEntryInput {
  repoId: number;
  versionId: number;
  dist: string;
  arch: string;
  location: string;
  primaryXml: string;
  filelistsXml: string;
  otherXml: string;
}

export interface RpmIndexEntry {
  id: number;
  /** The package's name, to find its blocks again when it changes. */
  name: string;
  primaryXml: string;
  filelistsXml: string;
  otherXml: string;
}

/**
 * Where RPM versions are listed: one row per distribution (`el/9`) that lists a version, with its
 * rpm-md elements. Only published versions reach the metadata; a quarantined one waits.
 */
export function createRpm(deps: { db: Db }) {
  const { db } = deps;

  async function addEntry(tx: Tx | Db, input: RpmEntryInput): Promise<void> {
    await tx
      .insertInto('rpm_entries')
      .values({
        repo_id: input.repoId,
        version_id: input.versionId,
        dist: input.dist,
        arch: input.arch,
        location: input.location,
        primary_xml: input.primaryXml,
        filelists_xml: input.filelistsXml,
        other_xml: input.otherXml,
        created_at: nowIso(),
      })
      .execute();
  }

  async function isListed(repoId: number, versionId: number, dist: string): Promise<boolean> {
    const row = await db.selectFrom('rpm_entries').select('id').where('repo_id', '=', repoId).where('version_id', '=', versionId).where('dist', '=', dist).executeTakeFirst();
    return Boolean(row);
  }

  function blockSignatures(repoId: number, dist: string, blockSize: number, blocks?: readonly number[]): Promise<BlockSignatureRow[]> {
    return signaturesOf(db, 'rpm_entries', repoId, dist, blockSize, blocks);
  }

  /** The blocks that list any version of the named packages in a distribution. */
  function blocksOf(repoId: number, dist: string, names: readonly string[], blockSize: number): Promise<number[]> {
    return blocksOfPackages(db, 'rpm_entries', repoId, dist, names, blockSize);
  }

  /** Every distribution that lists a version, in the order they were added. */
  async function distsOf(versionId: number): Promise<string[]> {
    const rows = await db.selectFrom('rpm_entries').select('dist').where('version_id', '=', versionId).orderBy('id').execute();
    return [...new Set(rows.map((row) => row.dist))];
  }

  /** The published entries of the given blocks of one distribution, in id order. */
  async function blockEntries(repoId: number, dist: string, blocks: readonly number[], blockSize: number): Promise<RpmIndexEntry[]> {
    if (blocks.length === 0) return [];
    const rows = await db
      .selectFrom('rpm_entries')
      .innerJoin('versions', 'versions.id', 'rpm_entries.version_id')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select(['packages.name', 'rpm_entries.id', 'rpm_entries.primary_xml', 'rpm_entries.filelists_xml', 'rpm_entries.other_xml'])
      .where('rpm_entries.repo_id', '=', repoId)
      .where('rpm_entries.dist', '=', dist)
      .where((eb) => eb.or(blockRanges(blocks, blockSize).map(([from, to]) => eb.and([eb('rpm_entries.id', '>=', from), eb('rpm_entries.id', '<', to)]))))
      .where('versions.status', '=', 'published')
      .orderBy('rpm_entries.id')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, primaryXml: row.primary_xml, filelistsXml: row.filelists_xml, otherXml: row.other_xml }));
  }

  /** The stored file behind a location of a published version, or null. */
  async function packageFile(repoId: number, dist: string, location: string): Promise<{ sha256: string; size: number } | null> {
    const row = await db
      .selectFrom('rpm_entries')
      .innerJoin('versions', 'versions.id', 'rpm_entries.version_id')
      .innerJoin('files', 'files.version_id', 'rpm_entries.version_id')
      .select(['files.sha256', 'files.size'])
      .where('rpm_entries.repo_id', '=', repoId)
      .where('rpm_entries.dist', '=', dist)
      .where('rpm_entries.location', '=', location)
      .where('versions.status', '=', 'published')
      .executeTakeFirst();
    return row ? { sha256: row.sha256, size: Number(row.size) } : null;
  }

  return { addEntry, isListed, distsOf, blockSignatures, blocksOf, blockEntries, packageFile };
}

export type Rpm = ReturnType<typeof createRpm>;
