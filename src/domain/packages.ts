import { type ExpressionBuilder, sql } from 'kysely';
import { isUniqueViolation } from '../store/db/connect.js';
import { prepareQuery } from '../store/db/prepared.js';
import type { BlobDigests } from '../store/blobs/blob-store.js';
import type { Database, Db, Tx } from '../store/db/schema.js';
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

export type VersionStatus = 'published' | 'quarantined';

/** What the security gate decided for a version. */
export interface GateRecord {
  verdict: string;
  /** Findings with the action policy gave each; JSON as the gate produced it. */
  findings: unknown[];
  /** Dist-tags to apply when a quarantined version is approved. */
  pendingTags?: Record<string, string>;
  /** Why it is quarantined, for clients that ask for it. */
  reasons?: string[];
  failures?: unknown[];
  review?: { decision: 'approve'; by: string; at: string; reason: string };
}

export interface StoredVersion {
  version: string;
  metadata: Record<string, unknown>;
  deprecated: string | null;
  /** Set when the version was yanked: resolvers no longer pick it, exact pins still fetch it. */
  yanked: { at: string; reason: string } | null;
  publisher: string;
  createdAt: string;
  status: VersionStatus;
  gate: GateRecord;
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

/** A new version with its one file, as formats hand it to publish. */
export interface PublishInput {
  version: string;
  metadata: Record<string, unknown>;
  file: { filename: string; digests: BlobDigests };
  distTags: Record<string, string>;
  /** A tag that must exist after the publish; set to this version when the package lacks it (npm: `latest`). */
  defaultTag?: string;
  details?: Record<string, unknown>;
  /** The gate's decision; a quarantined version is stored invisible and its tags wait for approval. */
  gate?: GateRecord & { status: VersionStatus };
  /** Format-specific rows written in the same transaction (e.g. APT index entries). */
  within?: (tx: Tx, ids: { packageId: number; versionId: number }) => Promise<void>;
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
type RefParams = { repoId: number; format: string; name: string };
const refParams = (ref: PackageRef): RefParams => ({ repoId: ref.repo.id, format: ref.format, name: ref.name });

export function createPackages(deps: { db: Db; audit: AuditLog; changes: ChangeBus }) {
  const { db, audit, changes } = deps;

  // The statements of every download, publish and remote fetch, compiled once (see prepareQuery).
  const REF = ['repoId', 'format', 'name'] as const;
  const q = {
    packageId: prepareQuery<RefParams, { id: number }>(REF, (d, p) =>
      d.selectFrom('packages').select('id').where('repo_id', '=', p.repoId).where('format', '=', p.format).where('name', '=', p.name),
    ),
    packageRow: prepareQuery(REF, (d, p: RefParams) =>
      d.selectFrom('packages').selectAll().where('repo_id', '=', p.repoId).where('format', '=', p.format).where('name', '=', p.name),
    ),
    publishedVersions: prepareQuery(['packageId'], (d, p: { packageId: number }) =>
      d.selectFrom('versions').selectAll().where('package_id', '=', p.packageId).where('status', '=', 'published').orderBy('id'),
    ),
    allVersions: prepareQuery(['packageId'], (d, p: { packageId: number }) => d.selectFrom('versions').selectAll().where('package_id', '=', p.packageId).orderBy('id')),
    files: prepareQuery(['packageId'], (d, p: { packageId: number }) => d.selectFrom('files').selectAll().where('package_id', '=', p.packageId).orderBy('id')),
    tags: prepareQuery(['packageId'], (d, p: { packageId: number }) => d.selectFrom('dist_tags').selectAll().where('package_id', '=', p.packageId)),
    retired: prepareQuery(['packageId'], (d, p: { packageId: number }) => d.selectFrom('retired_versions').select('version').where('package_id', '=', p.packageId)),
    liveVersion: prepareQuery(['packageId', 'version'], (d, p: { packageId: number; version: string }) =>
      d.selectFrom('versions').select(['id', 'status']).where('package_id', '=', p.packageId).where('version', '=', p.version),
    ),
    retiredVersion: prepareQuery(['packageId', 'version'], (d, p: { packageId: number; version: string }) =>
      d.selectFrom('retired_versions').select('version').where('package_id', '=', p.packageId).where('version', '=', p.version),
    ),
    file: prepareQuery([...REF, 'filename'], (d, p: RefParams & { filename: string }) =>
      d
        .selectFrom('files')
        .innerJoin('packages', 'packages.id', 'files.package_id')
        .innerJoin('versions', 'versions.id', 'files.version_id')
        .select(['files.filename', 'files.sha256', 'files.sha512', 'files.sha1', 'files.md5', 'files.size', 'versions.version', 'versions.status', 'versions.verdict', 'versions.findings', 'versions.gate'])
        .where('packages.repo_id', '=', p.repoId)
        .where('packages.format', '=', p.format)
        .where('packages.name', '=', p.name)
        .where('files.filename', '=', p.filename),
    ),
    upsertPackage: prepareQuery([...REF, 'at'], (d, p: RefParams & { at: string }) =>
      d
        .insertInto('packages')
        .values({ repo_id: p.repoId, format: p.format, name: p.name, rev: 1, created_at: p.at, updated_at: p.at })
        .onConflict((oc) => oc.columns(['repo_id', 'format', 'name']).doUpdateSet({ rev: sql<number>`packages.rev + 1`, updated_at: p.at }))
        .returning('id'),
    ),
    // No row back: the version was unpublished and may never be used again.
    insertVersion: prepareQuery(
      ['packageId', 'version', 'metadata', 'publisher', 'at', 'status', 'verdict', 'findings', 'gate'],
      (d, p: { packageId: number; version: string; metadata: string; publisher: string; at: string; status: VersionStatus; verdict: string; findings: string; gate: string | null }) =>
        d
          .insertInto('versions')
          .columns(['package_id', 'version', 'metadata', 'deprecated', 'publisher', 'created_at', 'status', 'verdict', 'findings', 'gate'])
          .expression(
            d
              .selectNoFrom((eb) => [
                eb.val(p.packageId).as('package_id'),
                eb.val(p.version).as('version'),
                eb.val(p.metadata).as('metadata'),
                eb.val(null).as('deprecated'),
                eb.val(p.publisher).as('publisher'),
                eb.val(p.at).as('created_at'),
                eb.val(p.status).as('status'),
                eb.val(p.verdict).as('verdict'),
                eb.val(p.findings).as('findings'),
                eb.val(p.gate).as('gate'),
              ])
              .where((eb) =>
                eb.not(eb.exists(eb.selectFrom('retired_versions').select('retired_versions.version').where('retired_versions.package_id', '=', p.packageId).where('retired_versions.version', '=', p.version))),
              ),
          )
          .returning('id'),
    ),
    insertFile: prepareQuery(
      ['packageId', 'versionId', 'filename', 'sha256', 'sha512', 'sha1', 'md5', 'size', 'at'],
      (d, p: { packageId: number; versionId: number; filename: string; sha256: string; sha512: string; sha1: string; md5: string; size: number; at: string }) =>
        d.insertInto('files').values({ package_id: p.packageId, version_id: p.versionId, filename: p.filename, sha256: p.sha256, sha512: p.sha512, sha1: p.sha1, md5: p.md5, size: p.size, created_at: p.at }),
    ),
    upsertTag: prepareQuery(['packageId', 'tag', 'version', 'at'], (d, p: { packageId: number; tag: string; version: string; at: string }) =>
      d
        .insertInto('dist_tags')
        .values({ package_id: p.packageId, tag: p.tag, version: p.version, updated_at: p.at })
        .onConflict((oc) => oc.columns(['package_id', 'tag']).doUpdateSet({ version: p.version, updated_at: p.at })),
    ),
    defaultTag: prepareQuery(['packageId', 'tag', 'version', 'at'], (d, p: { packageId: number; tag: string; version: string; at: string }) =>
      d
        .insertInto('dist_tags')
        .values({ package_id: p.packageId, tag: p.tag, version: p.version, updated_at: p.at })
        .onConflict((oc) => oc.columns(['package_id', 'tag']).doNothing()),
    ),
  };

  async function findId(dbOrTx: Db | Tx, ref: PackageRef): Promise<number | null> {
    return (await q.packageId.first(dbOrTx, refParams(ref)))?.id ?? null;
  }

  async function bump(tx: Tx, packageId: number): Promise<void> {
    await tx
      .updateTable('packages')
      .set({ rev: sql<number>`rev + 1`, updated_at: nowIso() })
      .where('id', '=', packageId)
      .execute();
  }

  /** A package as readers see it: quarantined versions are left out unless asked for. */
  async function load(ref: PackageRef, options: { includeQuarantined?: boolean } = {}): Promise<StoredPackage | null> {
    const pkg = await q.packageRow.first(db, refParams(ref));
    if (!pkg) return null;
    const byPackage = { packageId: pkg.id };
    const [versions, files, tags, retired] = await Promise.all([
      (options.includeQuarantined ? q.allVersions : q.publishedVersions).rows(db, byPackage),
      q.files.rows(db, byPackage),
      q.tags.rows(db, byPackage),
      q.retired.rows(db, byPackage),
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
        yanked: v.yanked_at === null ? null : { at: v.yanked_at, reason: v.yank_reason ?? '' },
        publisher: v.publisher,
        createdAt: v.created_at,
        status: v.status,
        gate: readGate(v),
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
  async function versionState(ref: PackageRef, version: string): Promise<'exists' | 'quarantined' | 'retired' | null> {
    const packageId = await findId(db, ref);
    if (packageId === null) return null;
    const [live, retired] = await Promise.all([q.liveVersion.first(db, { packageId, version }), q.retiredVersion.first(db, { packageId, version })]);
    if (live) return live.status === 'quarantined' ? 'quarantined' : 'exists';
    return retired ? 'retired' : null;
  }

  /** A file by its name within a package, for downloads. */
  async function findFile(ref: PackageRef, filename: string): Promise<(StoredFile & { version: string; status: VersionStatus; reasons: string[] }) | null> {
    const row = await q.file.first(db, { ...refParams(ref), filename });
    if (!row) return null;
    const { status, verdict: _verdict, findings: _findings, gate: _gate, ...file } = row;
    return { ...file, size: Number(row.size), status, reasons: status === 'quarantined' ? (readGate(row).reasons ?? []) : [] };
  }

  /** The rows of one publish, inside a caller's transaction (see publish and publishMany). */
  async function publishIn(tx: Tx, actor: Actor, ref: PackageRef, input: PublishInput, at: string): Promise<void> {
    const status = input.gate?.status ?? 'published';
    // Creates the package or bumps its revision (taking its row lock) in one statement.
    const created = await q.upsertPackage.first(tx, { ...refParams(ref), at });
    if (!created) throw new Error(`no package row for ${ref.name}`);
    const packageId = created.id;
    const version = await q.insertVersion.first(tx, {
      packageId,
      version: input.version,
      metadata: JSON.stringify(input.metadata),
      publisher: actor.name,
      at,
      status,
      verdict: input.gate?.verdict ?? 'allow',
      findings: JSON.stringify(input.gate?.findings ?? []),
      gate: input.gate ? JSON.stringify(gateExtras(input.gate, status === 'quarantined' ? pendingTags(input) : undefined)) : null,
    });
    if (!version) throw new StockadeError('VERSION_REUSED', [ref.name, input.version]);
    const d = input.file.digests;
    await q.insertFile.execute(tx, { packageId, versionId: version.id, filename: input.file.filename, sha256: d.sha256, sha512: d.sha512, sha1: d.sha1, md5: d.md5, size: d.size, at });
    if (input.within) await input.within(tx, { packageId, versionId: version.id });
    if (status === 'published') for (const [tag, tagged] of Object.entries(input.distTags)) await upsertTag(tx, packageId, tag, tagged);
    if (status === 'published' && input.defaultTag && !(input.defaultTag in input.distTags)) {
      await q.defaultTag.execute(tx, { packageId, tag: input.defaultTag, version: input.version, at });
    }
    await audit.record(tx, actor, {
      action: status === 'quarantined' ? 'package.quarantine' : 'package.publish',
      target: target(ref, input.version),
      details: {
        sha256: d.sha256,
        size: d.size,
        distTags: input.distTags,
        ...(input.gate ? { verdict: input.gate.verdict, reasons: input.gate.reasons ?? [] } : {}),
        ...(input.details ?? {}),
      },
    });
  }

  /**
   * Records a new version with its file and tags. Exactly one of several concurrent publishes of
   * the same version wins; the others get VERSION_EXISTS.
   */
  async function publish(actor: Actor, ref: PackageRef, input: PublishInput): Promise<void> {
    const at = nowIso();
    try {
      await db.transaction().execute((tx) => publishIn(tx, actor, ref, input, at));
    } catch (error) {
      if (isUniqueViolation(error)) throw new StockadeError('VERSION_EXISTS', [ref.name, input.version]);
      throw error;
    }
    changes.publish('package', packageChangeKey(ref));
  }

  /**
   * Records many new versions in one transaction (bulk imports): one commit instead of one per
   * file. Each publish runs under its own savepoint, so one that fails (a version taken meanwhile,
   * a retired version) is rolled back alone and reported in its slot; the others are kept.
   */
  async function publishMany(actor: Actor, items: readonly { ref: PackageRef; input: PublishInput }[]): Promise<(Error | null)[]> {
    const at = nowIso();
    const outcomes: (Error | null)[] = items.map(() => null);
    await db.transaction().execute(async (tx) => {
      for (const [i, { ref, input }] of items.entries()) {
        await sql`savepoint publish_item`.execute(tx);
        try {
          await publishIn(tx, actor, ref, input, at);
          await sql`release savepoint publish_item`.execute(tx);
        } catch (error) {
          await sql`rollback to savepoint publish_item`.execute(tx);
          await sql`release savepoint publish_item`.execute(tx);
          outcomes[i] = isUniqueViolation(error) ? new StockadeError('VERSION_EXISTS', [ref.name, input.version]) : error instanceof Error ? error : new Error(String(error));
        }
      }
    });
    for (const [i, { ref }] of items.entries()) if (outcomes[i] === null) changes.publish('package', packageChangeKey(ref));
    return outcomes;
  }

  /**
   * Adds a file to an existing version, for formats whose versions hold several files (PyPI: an
   * sdist and wheels for several platforms). `metadata` rewrites the version's metadata from its
   * current value, under a lock on the package row, so concurrent additions never lose each
   * other's changes. The gate record becomes the worse of the two: a quarantined file hides the
   * whole version until it is reviewed, and the findings of both are kept. A file name that is
   * already taken (also by a concurrent upload) is FILE_EXISTS.
   */
  async function addFile(
    actor: Actor,
    ref: PackageRef,
    input: {
      version: string;
      file: { filename: string; digests: BlobDigests };
      metadata?: (current: Record<string, unknown>) => Record<string, unknown>;
      gate?: GateRecord & { status: VersionStatus };
      compare: VersionCompare;
      details?: Record<string, unknown>;
    },
  ): Promise<{ status: VersionStatus }> {
    const at = nowIso();
    try {
      const status = await mutate(ref, async (tx, packageId) => {
        // mutate() has not bumped yet: take the row lock first, so the read below sees every earlier addition.
        await bump(tx, packageId);
        const row = await tx.selectFrom('versions').selectAll().where('package_id', '=', packageId).where('version', '=', input.version).executeTakeFirst();
        if (!row) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${input.version}`]);
        const before = readGate(row);
        const incoming = input.gate;
        const quarantine = row.status === 'quarantined' || incoming?.status === 'quarantined';
        const status: VersionStatus = quarantine ? 'quarantined' : 'published';
        const verdict = incoming && verdictRank(incoming.verdict) > verdictRank(before.verdict) ? incoming.verdict : before.verdict;
        const findings = [...before.findings, ...(incoming?.findings ?? [])];
        const { verdict: _v, findings: _f, ...extras } = before;
        const record: Omit<GateRecord, 'verdict' | 'findings'> = { ...extras };
        const reasons = [...(before.reasons ?? []), ...(incoming?.reasons ?? [])].slice(0, 20);
        if (reasons.length > 0) record.reasons = reasons;
        const failures = [...(before.failures ?? []), ...(incoming?.failures ?? [])];
        if (failures.length > 0) record.failures = failures;
        // An approval covered the files it saw; a newly quarantined file needs its own review.
        if (status === 'quarantined' && row.status === 'published') delete record.review;
        const metadata = input.metadata ? input.metadata(JSON.parse(row.metadata) as Record<string, unknown>) : undefined;
        await tx
          .updateTable('versions')
          .set({
            status,
            verdict,
            findings: JSON.stringify(findings),
            gate: JSON.stringify(record),
            ...(metadata ? { metadata: JSON.stringify(metadata) } : {}),
          })
          .where('id', '=', row.id)
          .execute();
        const d = input.file.digests;
        await tx
          .insertInto('files')
          .values({ package_id: packageId, version_id: row.id, filename: input.file.filename, sha256: d.sha256, sha512: d.sha512, sha1: d.sha1, md5: d.md5, size: d.size, created_at: at })
          .execute();
        if (status !== row.status) await retargetTags(tx, packageId, input.compare);
        await audit.record(tx, actor, {
          action: incoming?.status === 'quarantined' ? 'package.quarantine' : 'package.add-file',
          target: target(ref, input.version),
          details: {
            filename: input.file.filename,
            sha256: d.sha256,
            size: d.size,
            ...(incoming ? { verdict: incoming.verdict, reasons: incoming.reasons ?? [] } : {}),
            ...(input.details ?? {}),
          },
        });
        return status;
      });
      return { status };
    } catch (error) {
      if (isUniqueViolation(error)) throw new StockadeError('FILE_EXISTS', [input.file.filename]);
      throw error;
    }
  }

  async function upsertTag(tx: Tx, packageId: number, tag: string, version: string): Promise<void> {
    await q.upsertTag.execute(tx, { packageId, tag, version, at: nowIso() });
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
   * Yanks a version (`reason` may be empty) or, with `reason` null, takes the yank back. Yanking
   * again replaces the reason. The files stay; each format decides what a yank hides.
   */
  async function yank(actor: Actor, ref: PackageRef, version: string, reason: string | null): Promise<void> {
    await mutate(ref, async (tx, packageId) => {
      const result = await tx
        .updateTable('versions')
        .set(reason === null ? { yanked_at: null, yank_reason: null } : { yanked_at: nowIso(), yank_reason: reason })
        .where('package_id', '=', packageId)
        .where('version', '=', version)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${version}`]);
      await audit.record(tx, actor, {
        action: reason === null ? 'package.unyank' : 'package.yank',
        target: target(ref, version),
        details: reason ? { reason } : {},
      });
    });
  }

  /**
   * Removes versions (all when `versions` is null). In a hosted repository removed versions can
   * never be published again; in a remote repository removal evicts cached copies, which the next
   * request fetches from the upstream again. Tags that pointed at them move to the highest
   * remaining version or disappear.
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
      const evict = ref.repo.kind === 'remote';
      for (const v of doomed) {
        await tx.deleteFrom('versions').where('id', '=', v.id).execute();
        if (evict) continue;
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
        action: evict ? 'package.evict' : versions === null ? 'package.unpublish' : 'package.unpublish-version',
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
      .where((eb) => eb.exists(publishedVersionOf(eb)));
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
      .where((eb) => eb.exists(publishedVersionOf(eb)))
      .orderBy('format')
      .orderBy('name');
    if (format) q = q.where('format', '=', format);
    return q.execute();
  }

  /** Moves tags off versions readers can no longer see, as unpublish does. */
  async function retargetTags(tx: Tx, packageId: number, compare: VersionCompare): Promise<void> {
    const visible = await tx.selectFrom('versions').select('version').where('package_id', '=', packageId).where('status', '=', 'published').execute();
    const remaining = visible.map((v) => v.version).sort(compare);
    const tags = await tx.selectFrom('dist_tags').selectAll().where('package_id', '=', packageId).execute();
    for (const tag of tags) {
      if (remaining.includes(tag.version)) continue;
      const fallback = remaining[remaining.length - 1];
      if (tag.tag === 'latest' && fallback) await upsertTag(tx, packageId, 'latest', fallback);
      else await tx.deleteFrom('dist_tags').where('package_id', '=', packageId).where('tag', '=', tag.tag).execute();
    }
  }

  /** Quarantined versions of a repository (or of every repository), oldest first, for review. */
  async function listQuarantined(repo?: RepoInfo) {
    let q = db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select(['packages.repo_id', 'packages.format', 'packages.name', 'versions.version', 'versions.verdict', 'versions.findings', 'versions.gate', 'versions.publisher', 'versions.created_at'])
      .where('versions.status', '=', 'quarantined')
      .orderBy('versions.id');
    if (repo) q = q.where('packages.repo_id', '=', repo.id);
    const rows = await q.execute();
    return rows.map((r) => ({
      repoId: r.repo_id,
      format: r.format,
      name: r.name,
      version: r.version,
      publisher: r.publisher,
      createdAt: r.created_at,
      gate: readGate(r),
    }));
  }

  /**
   * A reviewer's decision on a quarantined version: approve makes it visible and applies the tags
   * its publish asked for; reject deletes it (the findings stay in the audit log).
   */
  async function review(
    actor: Actor,
    ref: PackageRef,
    input: { version: string; decision: 'approve' | 'reject'; reason: string; compare: VersionCompare },
  ): Promise<void> {
    await mutate(ref, async (tx, packageId) => {
      const row = await tx.selectFrom('versions').selectAll().where('package_id', '=', packageId).where('version', '=', input.version).executeTakeFirst();
      if (!row) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${input.version}`]);
      if (row.status !== 'quarantined') throw new StockadeError('CONFLICT', [`${ref.name}@${input.version} is not quarantined`]);
      const gate = readGate(row);
      if (input.decision === 'reject') {
        await tx.deleteFrom('versions').where('id', '=', row.id).execute();
      } else {
        const { pendingTags: tags = {}, verdict: _verdict, findings: _findings, ...rest } = gate;
        const approved = { ...rest, review: { decision: 'approve' as const, by: actor.name, at: nowIso(), reason: input.reason } };
        delete approved.reasons;
        await tx.updateTable('versions').set({ status: 'published', gate: JSON.stringify(approved) }).where('id', '=', row.id).execute();
        const current = await tx.selectFrom('dist_tags').selectAll().where('package_id', '=', packageId).execute();
        for (const [tag, version] of Object.entries(tags)) {
          const existing = current.find((t) => t.tag === tag);
          // A newer version published while this one waited keeps its tag.
          if (existing && input.compare(existing.version, version) > 0) continue;
          await upsertTag(tx, packageId, tag, version);
        }
      }
      await audit.record(tx, actor, {
        action: input.decision === 'approve' ? 'package.review.approve' : 'package.review.reject',
        target: target(ref, input.version),
        details: { reason: input.reason, findings: summarizeFindings(JSON.parse(row.findings) as unknown[]) },
      });
    });
  }

  /**
   * Applies a new gate decision to a stored version (a rescan after new advisories or analyzer
   * versions). A version that becomes quarantined disappears from indexes at once.
   */
  async function regate(
    actor: Actor,
    ref: PackageRef,
    input: { version: string; gate: GateRecord & { status: VersionStatus }; compare: VersionCompare; why: string },
  ): Promise<boolean> {
    return mutate(ref, async (tx, packageId) => {
      const row = await tx.selectFrom('versions').selectAll().where('package_id', '=', packageId).where('version', '=', input.version).executeTakeFirst();
      if (!row) throw new StockadeError('NOT_FOUND', [`version ${ref.name}@${input.version}`]);
      const before = readGate(row);
      // An approval stands until the findings become more serious than the ones approved.
      const status = row.status === 'published' && input.gate.status === 'quarantined' && before.review && before.verdict === input.gate.verdict ? 'published' : input.gate.status;
      const changed = status !== row.status || input.gate.verdict !== row.verdict || JSON.stringify(input.gate.findings) !== row.findings;
      if (!changed) return false;
      const record: Omit<GateRecord, 'verdict' | 'findings'> = gateExtras(input.gate, undefined);
      if (before.review) record.review = before.review;
      await tx
        .updateTable('versions')
        .set({ status, verdict: input.gate.verdict, findings: JSON.stringify(input.gate.findings), gate: JSON.stringify(record) })
        .where('id', '=', row.id)
        .execute();
      if (status !== row.status) await retargetTags(tx, packageId, input.compare);
      await audit.record(tx, actor, {
        action: 'package.rescan',
        target: target(ref, input.version),
        details: { why: input.why, before: { status: row.status, verdict: row.verdict }, after: { status, verdict: input.gate.verdict }, reasons: input.gate.reasons ?? [] },
      });
      return true;
    });
  }

  /**
   * Every stored version of the named packages of a format, for rescans; without names, of all
   * its packages (OS advisories name source packages, which only the versions' metadata knows).
   */
  async function versionsNamed(format: string, names?: readonly string[]) {
    if (names?.length === 0) return [];
    let query = db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .innerJoin('files', 'files.version_id', 'versions.id')
      .select(['versions.id as version_id', 'packages.repo_id', 'packages.name', 'versions.version', 'versions.metadata', 'versions.status', 'files.sha256', 'files.filename', 'files.size'])
      .where('packages.format', '=', format);
    if (names !== undefined) query = query.where('packages.name', 'in', names);
    const rows = await query.execute();
    return rows.map((r) => ({ ...r, size: Number(r.size) }));
  }

  /** Every package of a repository, including those whose only versions are quarantined (rescans). */
  async function listAllNames(repo: RepoInfo) {
    return db.selectFrom('packages').select(['format', 'name']).where('repo_id', '=', repo.id).orderBy('format').orderBy('name').execute();
  }

  /** Names an owner already publishes in a format, across its repositories (typosquat exemptions). */
  async function namesOfOwner(ownerId: number, format: string): Promise<string[]> {
    const rows = await db
      .selectFrom('packages')
      .innerJoin('repos', 'repos.id', 'packages.repo_id')
      .select('packages.name')
      .distinct()
      .where('repos.owner_id', '=', ownerId)
      .where('packages.format', '=', format)
      .execute();
    return rows.map((r) => r.name);
  }

  return {
    load,
    currentRev,
    namesOfOwner,
    versionState,
    findFile,
    publish,
    publishMany,
    addFile,
    setDistTag,
    removeDistTag,
    deprecate,
    yank,
    unpublish,
    search,
    listNames,
    listAllNames,
    listQuarantined,
    review,
    regate,
    versionsNamed,
  };
}

/** A visible version of the package row in scope: packages whose versions are all quarantined or gone are hidden. */
function publishedVersionOf(eb: ExpressionBuilder<Database, 'packages'>) {
  return eb.selectFrom('versions').select('versions.id').whereRef('versions.package_id', '=', 'packages.id').where('versions.status', '=', 'published');
}

/** allow < warn < quarantine < anything else (block never reaches storage). */
function verdictRank(verdict: string): number {
  const order = ['allow', 'warn', 'quarantine'];
  const at = order.indexOf(verdict);
  return at < 0 ? order.length : at;
}

function readGate(row: { verdict: string; findings: string; gate: string | null }): GateRecord {
  const extras = row.gate ? (JSON.parse(row.gate) as Omit<GateRecord, 'verdict' | 'findings'>) : {};
  return { ...extras, verdict: row.verdict, findings: JSON.parse(row.findings) as unknown[] };
}

/** What goes into the `gate` column: everything but the verdict and findings, which have their own. */
function gateExtras(gate: GateRecord & { status?: VersionStatus }, pending: Record<string, string> | undefined) {
  const { verdict: _v, findings: _f, status: _s, ...extras } = gate;
  return pending ? { ...extras, pendingTags: pending } : extras;
}

function pendingTags(input: { version: string; distTags: Record<string, string>; defaultTag?: string }): Record<string, string> {
  const tags = { ...input.distTags };
  if (input.defaultTag && !(input.defaultTag in tags)) tags[input.defaultTag] = input.version;
  return tags;
}

/** Rule ids and locations only: enough for the audit trail without copying evidence around. */
function summarizeFindings(findings: unknown[]): { rule: string; file?: string; line?: number }[] {
  return findings.slice(0, 50).map((f) => {
    const finding = f as { rule?: unknown; location?: { file?: unknown; line?: unknown } };
    const entry: { rule: string; file?: string; line?: number } = { rule: String(finding.rule ?? '') };
    if (typeof finding.location?.file === 'string') entry.file = finding.location.file;
    if (typeof finding.location?.line === 'number') entry.line = finding.location.line;
    return entry;
  });
}

export type Packages = ReturnType<typeof createPackages>;
