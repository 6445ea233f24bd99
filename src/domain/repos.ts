import { isUniqueViolation } from '../store/db/connect.js';
import type { Db, Tx } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import { nowIso } from './time.js';

export interface RepoInfo {
  id: number;
  ownerId: number;
  owner: string;
  name: string;
  /** `owner/name` */
  path: string;
  visibility: 'public' | 'private';
  /** hosted: packages are published here; remote: a cache of one upstream; virtual: an ordered merge of hosted and remote members. */
  kind: RepoKind;
  description: string;
  createdAt: string;
}

export type RepoKind = 'hosted' | 'remote' | 'virtual';

const REPO_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$/;

/** Only hosted repositories take uploads: a remote one mirrors its upstream, a virtual one merges its members. */
export function assertHosted(repo: RepoInfo): void {
  if (repo.kind === 'remote') throw new StockadeError('REMOTE_READ_ONLY', [repo.path]);
  if (repo.kind === 'virtual') throw new StockadeError('VIRTUAL_READ_ONLY', [repo.path, 'one of its hosted members']);
}

export function assertRepoName(name: string): void {
  if (!REPO_NAME.test(name) || name.includes('..')) {
    throw new StockadeError('VALIDATION_FAILED', [
      `repository name "${name}" must be 1-100 lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit`,
    ]);
  }
}

export function createRepos(deps: { db: Db; audit: AuditLog; changes: ChangeBus }) {
  const { db, audit, changes } = deps;
  // Every request resolves its repository; a per-node cache keeps that off the database.
  const byPath = new TtlCache<RepoInfo | null>({ ttlMs: 30_000, max: 20_000 });
  const byId = new TtlCache<RepoInfo | null>({ ttlMs: 30_000, max: 20_000 });
  changes.subscribe((topic) => {
    if (topic === 'repo') {
      byPath.clear();
      byId.clear();
    }
  });

  const select = () =>
    db
      .selectFrom('repos')
      .innerJoin('owners', 'owners.id', 'repos.owner_id')
      .selectAll('repos')
      .select('owners.name as owner');

  type Row = Awaited<ReturnType<ReturnType<typeof select>['executeTakeFirstOrThrow']>>;
  const toInfo = (row: Row): RepoInfo => ({
    id: row.id,
    ownerId: row.owner_id,
    owner: row.owner,
    name: row.name,
    path: `${row.owner}/${row.name}`,
    visibility: row.visibility,
    kind: row.kind,
    description: row.description,
    createdAt: row.created_at,
  });

  async function create(
    actor: Actor,
    input: {
      owner: string;
      name: string;
      visibility?: 'public' | 'private';
      description?: string;
      kind?: RepoKind;
      /** Rows of the new repository's kind (a remote's upstream), written in the same transaction. */
      within?: (tx: Tx, repoId: number) => Promise<Record<string, unknown>>;
    },
  ): Promise<RepoInfo> {
    assertRepoName(input.name);
    const visibility = input.visibility ?? 'private';
    const kind = input.kind ?? 'hosted';
    if (kind === 'virtual' && !input.within) throw new StockadeError('VALIDATION_FAILED', ['a virtual repository needs members']);
    if (kind === 'remote' && !input.within) throw new StockadeError('VALIDATION_FAILED', ['a remote repository needs upstream settings']);
    try {
      await db.transaction().execute(async (tx) => {
        const owner = await tx.selectFrom('owners').select('id').where('name', '=', input.owner).executeTakeFirst();
        if (!owner) throw new StockadeError('NOT_FOUND', [`owner ${input.owner}`]);
        const created = await tx
          .insertInto('repos')
          .values({ owner_id: owner.id, name: input.name, visibility, kind, description: input.description ?? '', created_at: nowIso() })
          .returning('id')
          .executeTakeFirstOrThrow();
        const extra = input.within ? await input.within(tx, created.id) : {};
        await audit.record(tx, actor, { action: 'repo.create', target: `repo:${input.owner}/${input.name}`, details: kind === 'hosted' ? { visibility } : { visibility, kind, ...extra } });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new StockadeError('REPO_EXISTS', [`${input.owner}/${input.name}`]);
      throw error;
    }
    changes.publish('repo', `${input.owner}/${input.name}`);
    const repo = await get(input.owner, input.name);
    if (!repo) throw new StockadeError('INTERNAL');
    return repo;
  }

  async function get(owner: string, name: string): Promise<RepoInfo | null> {
    const key = `${owner}/${name}`;
    const cached = byPath.get(key);
    if (cached !== undefined) return cached;
    const row = await select().where('owners.name', '=', owner).where('repos.name', '=', name).executeTakeFirst();
    const repo = row ? toInfo(row) : null;
    byPath.set(key, repo);
    return repo;
  }

  /** The cached repository without a query: undefined when this node has not looked it up lately. */
  function peek(owner: string, name: string): RepoInfo | null | undefined {
    return byPath.get(`${owner}/${name}`);
  }

  async function getById(id: number): Promise<RepoInfo | null> {
    const cached = byId.get(String(id));
    if (cached !== undefined) return cached;
    const row = await select().where('repos.id', '=', id).executeTakeFirst();
    const repo = row ? toInfo(row) : null;
    byId.set(String(id), repo);
    return repo;
  }

  async function list(filter: { owner?: string } = {}): Promise<RepoInfo[]> {
    let q = select().orderBy('owners.name').orderBy('repos.name');
    if (filter.owner) q = q.where('owners.name', '=', filter.owner);
    return (await q.execute()).map(toInfo);
  }

  async function update(actor: Actor, repo: RepoInfo, input: { visibility?: 'public' | 'private'; description?: string }): Promise<RepoInfo> {
    await db.transaction().execute(async (tx) => {
      const set: { visibility?: 'public' | 'private'; description?: string } = {};
      if (input.visibility) set.visibility = input.visibility;
      if (input.description !== undefined) set.description = input.description;
      if (Object.keys(set).length === 0) return;
      await tx.updateTable('repos').set(set).where('id', '=', repo.id).execute();
      await audit.record(tx, actor, { action: 'repo.update', target: `repo:${repo.path}`, details: set });
    });
    changes.publish('repo', repo.path);
    return (await getById(repo.id)) ?? repo;
  }

  async function remove(actor: Actor, repo: RepoInfo): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('repos').where('id', '=', repo.id).execute();
      await audit.record(tx, actor, { action: 'repo.delete', target: `repo:${repo.path}` });
    });
    changes.publish('repo', repo.path);
    changes.publish('package', `${repo.id}:*`);
  }

  return { create, get, peek, getById, list, update, remove };
}

export type Repos = ReturnType<typeof createRepos>;
