import { sql } from 'kysely';
import { isUniqueViolation } from '../store/db/connect.js';
import type { BlobDigests } from '../store/blobs/blob-store.js';
import type { Db, Tx } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import type { ChangeBus } from './changes.js';
import type { RepoInfo } from './repos.js';
import { nowIso } from './time.js';

export interface PackageRef {
  repo: RepoInfo;
  format: string;
  name: string;
}

export interface StoredFile {
  filename: string;
  sha256: string;
  sha512: string;
  sha1: string;
  md5: string;
  size: number;
}

export interface StoredVersion {
  version: string;
  metadata: Record<string, unknown>;
  deprecated: string | null;
  publisher: string;
  createdAt: string;
  files: StoredFile[];
}

export interface StoredPackage {
  id: number;
  name: string;
  rev: number;
  createdAt: string;
  updatedAt: string;
  versions: StoredVersion[];
  distTags: Record<string, string>;
  retired: string[];
}

export type VersionCompare = (a: string, b: string) => number;

/** The cache key other nodes receive when a package changes. */
export function packageChangeKey(ref: { repo: { id: number }; format: string; name: string }): string {
  return `${ref.repo.id}:${ref.format}:${ref.name}`;
}

const target = (ref: PackageRef, version?: string) => `package:${ref.repo.path}/${ref.format}/${ref.name}${version ? `@${version}` : ''}`;

/**
 * Format-neutral storage of packages, versions, files and tags. Every write is one transaction
 * with its audit entry; races between nodes are settled by unique constraints, never by locks in
 * process memory.
 */
export function createPackages(deps: { db: Db; audit: AuditLog; changes: ChangeBus }) {
  const { db, audit, changes } = deps;

  async function findId(dbOrTx: Db | Tx, ref: PackageRef): Promise<number | null> {
    const row = await dbOrTx
      .selectFrom('packages')
      .select('id')
      .where('repo_id', '=', ref.repo.id)
      .where('format', '=', ref.format)
      .where('name', '=', ref.name)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  async function bump(tx: Tx, packageId: number): Promise<void> {
    await tx
      .updateTable('packages')
      .set({ rev: sql<number>`rev + 1`, updated_at: nowIso() })
      .where('id', '=', packageId)
      .execute();
  }

  async function load(ref: PackageRef): Promise<StoredPackage | null> {
    const pkg = await db
      .selectFrom('packages')
      .selectAll()
      .where('repo_id', '=', ref.repo.id)
      .where('format', '=', ref.format)
      .where('name', '=', ref.name)
      .executeTakeFirst();
    if (!pkg) return null;
    const [versions, files, tags, retired] = await Promise.all([
      db.selectFrom('versions').selectAll().where('package_id', '=', pkg.id).orderBy('id').execute(),
      db.selectFrom('files').selectAll().where('package_id', '=', pkg.id).orderBy('id').execute(),
      db.selectFrom('dist_tags').selectAll().where('package_id', '=', pkg.id).execute(),
      db.selectFrom('retired_versions').select('version').where('package_id', '=', pkg.id).execute(),
    ]);
    const filesByVersion = new Map<number, StoredFile[]>();
    for (const f of files) {
      const list = filesByVersion.get(f.version_id) ?? [];
      list.push({ filename: f.filename, sha256: f.sha256, sha512: f.sha512, sha1: f.sha1, md5: f.md5, size: Number(f.size) });
      filesByVersion.set(f.version_id, list);
    }
    const distTags: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const t of tags) distTags[t.tag] = t.version;
    return {
      id: pkg.id,
      name: pkg.name,
      rev: Number(pkg.rev),
      createdAt: pkg.created_at,
      updatedAt: pkg.updated_at,
      versions: versions.map((v) => ({
        version: v.version,
        metadata: JSON.parse(v.metadata) as Record<string, unknown>,
        deprecated: v.deprecated,
        publisher: v.publisher,
        createdAt: v.created_at,
        files: filesByVersion.get(v.id) ?? [],
      })),
      distTags,
      retired: retired.map((r) => r.version),
    };
  }

  /** The package's revision (bumped on every change), or null when it does not exist: a cheap freshness check. */
  async function currentRev(ref: PackageRef): Promise<number | null> {
    const row = await db
      .selectFrom('packages')
      .select('rev')
      .where('repo_id', '=', ref.repo.id)
      .where('format', '=', ref.format)
      .where('name', '=', ref.name)
      .executeTakeFirst();
    return row ? Number(row.rev) : null;
  }

  /**
   * Whether a version is live, was unpublished, or never existed. Publishing checks this before it
   * stores any bytes; the unique constraint still settles races between concurrent publishes.
   */
  async function versionState(ref: PackageRef, version: string): Promise<'exists' | 'retired' | null> {
    const packageId = await findId(db, ref);
    if (packageId === null) return null;
    const [live, retired] = await Promise.all([
      db.selectFrom('versions').select('id').where('package_id', '=', packageId).where('version', '=', version).executeTakeFirst(),
      db.selectFrom('retired_versions').select('version').where('package_id', '=', packageId).where('version', '=', version).executeTakeFirst(),
    ]);
    return live ? 'exists' : retired ? 'retired' : null;
  }

  /** A file by its name within a package, for downloads. */
  async function findFile(ref: PackageRef, filename: string): Promise<(StoredFile & { version: string }) | null> {
    const row = await db
      .selectFrom('files')
      .innerJoin('packages', 'packages.id', 'files.package_id')
      .innerJoin('versions', 'versions.id', 'files.version_id')
      .select(['files.filename', 'files.sha256', 'files.sha512', 'files.sha1', 'files.md5', 'files.size', 'versions.version'])
      .where('packages.repo_id', '=', ref.repo.id)
      .where('packages.format', '=', ref.format)
      .where('packages.name', '=', ref.name)
      .where('files.filename', '=', filename)
      .executeTakeFirst();
    return row ? { ...row, size: Number(row.size) } : null;
  }

  /**
   * Records a new version with its file and tags. Exactly one of several concurrent publishes of
   * the same version wins; the others get VERSION_EXISTS.
   */
  async function publish(
    actor: Actor,
    ref: PackageRef,
    input: {
      version: string;
      metadata: Record<string, unknown>;
      file: { filename: string; digests: BlobDigests };
      distTags: Record<string, string>;
      /** A tag that must exist after the publish; set to this version when the package lacks it (npm: `latest`). */
      defaultTag?: string;
      details?: Record<string, unknown>;
    },
  ): Promise<void> {
    const at = nowIso();
    try {
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('packages')
          .values({ repo_id: ref.repo.id, format: ref.format, name: ref.name, rev: 1, created_at: at, updated_at: at })
          .onConflict((oc) => oc.columns(['repo_id', 'format', 'name']).doNothing())
          .execute();
        const packageId = await findId(tx, ref);
        if (packageId === null) throw new StockadeError('INTERNAL');
        const retired = await tx
          .selectFrom('retired_versions')
          .select('version')
          .where('package_id', '=', packageId)
          .where('version', '=', input.version)
          .executeTakeFirst();
        if (retired) throw new StockadeError('VERSION_REUSED', [ref.name, input.version]);
        const version = await tx
          .insertInto('versions')
          .values({ package_id: packageId, version: input.version, metadata: JSON.stringify(input.metadata), deprecated: null, publisher: actor.name, created_at: at })
          .returning('id')
          .executeTakeFirstOrThrow();
        const d = input.file.digests;
        await tx
          .insertInto('files')
          .values({ package_id: packageId, version_id: version.id, filename: input.file.filename, sha256: d.sha256, sha512: d.sha512, sha1: d.sha1, md5: d.md5, size: d.size, created_at: at })
          .execute();
        for (const [tag, tagged] of Object.entries(input.distTags)) await upsertTag(tx, packageId, tag, tagged);
        if (input.defaultTag && !(input.defaultTag in input.distTags)) {
          await tx
            .insertInto('dist_tags')
            .values({ package_id: packageId, tag: input.defaultTag, version: input.version, updated_at: at })
            .onConflict((oc) => oc.columns(['package_id', 'tag']).doNothing())
            .execute();
        }
        await bump(tx, packageId);
        await audit.record(tx, actor, {
          action: 'package.publish',
          target: target(ref, input.version),
          details: { sha256: d.sha256, size: d.size, distTags: input.distTags, ...(input.details ?? {}) },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new StockadeError('VERSION_EXISTS', [ref.name, input.version]);
      throw error;
    }
    changes.publish('package', packageChangeKey(ref));
  }

  async function upsertTag(tx: Tx, packageId: number, tag: string, version: string): Promise<void> {
    await tx
      .insertInto('dist_tags')
      .values({ package_id: packageId, tag, version, updated_at: nowIso() })
      .onConflict((oc) => oc.columns(['package_id', 'tag']).doUpdateSet({ version, updated_at: nowIso() }))
      .execute();
  }

  /** Runs `change` in a transaction on an existing package, bumps its revision and announces it. */
  async function mutate<T>(ref: PackageRef, change: (tx: Tx, packageId: number) => Promise<T>): Promise<T> {
    const result = await db.transaction().execute(async (tx) => {
      const packageId = await findId(tx, ref);
      if (packageId === null) throw new StockadeError('NOT_FOUND', [`package ${ref.name}`]);
      const value = await change(tx, packageId);
      await bump(tx, packageId);
      return value;
    });
    changes.publish('package', packageChangeKey(ref));
    return result;
  }

  async function versionExists(tx: Tx, packageId: number, version: string): Promise<boolean> {
    const row = await tx.selectFrom('versions').select('id').where('package_id', '=', packageId).where('version', '=', version).executeTakeFirst();
    return Boolean(row);
  }

  async function setDistTag(actor: Actor, ref: PackageRef, tag: string, version: string): Promise<void> {
    await mutate(ref, async (tx, packageId) => {
      if (!(await versionExists(tx, packageId, version))) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${version}`]);
      await upsertTag(tx, packageId, tag, version);
      await audit.record(tx, actor, { action: 'package.dist-tag.set', target: target(ref), details: { tag, version } });
    });
  }

  async function removeDistTag(actor: Actor, ref: PackageRef, tag: string): Promise<void> {
    await mutate(ref, async (tx, packageId) => {
      const result = await tx.deleteFrom('dist_tags').where('package_id', '=', packageId).where('tag', '=', tag).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw new StockadeError('UNKNOWN_DIST_TAG', [tag, ref.name]);
      await audit.record(tx, actor, { action: 'package.dist-tag.remove', target: target(ref), details: { tag } });
    });
  }

  /** Sets (message) or clears (null) the deprecation of each listed version. */
  async function deprecate(actor: Actor, ref: PackageRef, messages: Record<string, string | null>): Promise<void> {
    await mutate(ref, async (tx, packageId) => {
      for (const [version, message] of Object.entries(messages)) {
        const result = await tx
          .updateTable('versions')
          .set({ deprecated: message })
          .where('package_id', '=', packageId)
          .where('version', '=', version)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${version}`]);
        await audit.record(tx, actor, {
          action: message === null ? 'package.undeprecate' : 'package.deprecate',
          target: target(ref, version),
          details: message === null ? {} : { message },
        });
      }
    });
  }

  /**
   * Removes versions (all when `versions` is null). Removed versions can never be published again,
   * and tags that pointed at them move to the highest remaining version or disappear.
   */
  async function unpublish(actor: Actor, ref: PackageRef, versions: string[] | null, compare: VersionCompare): Promise<string[]> {
    return mutate(ref, async (tx, packageId) => {
      const existing = await tx.selectFrom('versions').select(['id', 'version']).where('package_id', '=', packageId).execute();
      const doomed = versions === null ? existing : existing.filter((v) => versions.includes(v.version));
      if (versions !== null) {
        const missing = versions.filter((v) => !existing.some((e) => e.version === v));
        if (missing.length) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${missing[0]}`]);
      }
      const at = nowIso();
      for (const v of doomed) {
        await tx.deleteFrom('versions').where('id', '=', v.id).execute();
        await tx
          .insertInto('retired_versions')
          .values({ package_id: packageId, version: v.version, retired_at: at })
          .onConflict((oc) => oc.columns(['package_id', 'version']).doNothing())
          .execute();
      }
      const remaining = existing.filter((e) => !doomed.includes(e)).map((e) => e.version).sort(compare);
      const tags = await tx.selectFrom('dist_tags').selectAll().where('package_id', '=', packageId).execute();
      for (const tag of tags) {
        if (remaining.includes(tag.version)) continue;
        const fallback = remaining[remaining.length - 1];
        if (tag.tag === 'latest' && fallback) await upsertTag(tx, packageId, 'latest', fallback);
        else await tx.deleteFrom('dist_tags').where('package_id', '=', packageId).where('tag', '=', tag.tag).execute();
      }
      await audit.record(tx, actor, {
        action: versions === null ? 'package.unpublish' : 'package.unpublish-version',
        target: target(ref),
        details: { versions: doomed.map((v) => v.version) },
      });
      return doomed.map((v) => v.version);
    });
  }

  /** Names in a repository matching `text` (substring, case-insensitive), for search endpoints. */
  async function search(repo: RepoInfo, format: string, input: { text: string; from: number; size: number }) {
    const pattern = `%${input.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const base = db
      .selectFrom('packages')
      .where('repo_id', '=', repo.id)
      .where('format', '=', format)
      .where(sql<boolean>`lower(name) like ${pattern} escape '\\'`)
      .where((eb) => eb.exists(eb.selectFrom('versions').select('versions.id').whereRef('versions.package_id', '=', 'packages.id')));
    const [rows, total] = await Promise.all([
      base.select(['name', 'updated_at']).orderBy('name').limit(input.size).offset(input.from).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { names: rows.map((r) => ({ name: r.name, updatedAt: r.updated_at })), total: Number(total.n) };
  }

  async function listNames(repo: RepoInfo, format?: string) {
    let q = db
      .selectFrom('packages')
      .select(['format', 'name', 'updated_at'])
      .where('repo_id', '=', repo.id)
      // A package whose versions were all unpublished keeps its row (retired versions) but is gone for readers.
      .where((eb) => eb.exists(eb.selectFrom('versions').select('versions.id').whereRef('versions.package_id', '=', 'packages.id')))
      .orderBy('format')
      .orderBy('name');
    if (format) q = q.where('format', '=', format);
    return q.execute();
  }

  return { load, currentRev, versionState, findFile, publish, setDistTag, removeDistTag, deprecate, unpublish, search, listNames };
}

export type Packages = ReturnType<typeof createPackages>;
