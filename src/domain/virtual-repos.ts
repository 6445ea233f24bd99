import type { Db, Tx } from '../store/db/schema.js';
import { isUniqueViolation } from '../store/db/connect.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import { type ChangeBus, TtlCache } from './changes.js';
import type { RepoInfo, Repos } from './repos.js';
import { nowIso } from './time.js';

/** Formats a virtual repository can merge today. */
export const VIRTUAL_FORMATS = ['npm', 'pypi', 'rubygems'] as const;
export const MAX_MEMBERS = 50;
export const MAX_CLAIMS = 500;

/** A virtual repository as callers see it. */
export interface VirtualSettings {
  format: string;
  /** In resolution order. */
  members: { path: string; kind: 'hosted' | 'remote'; visibility: 'public' | 'private' }[];
  claims: string[];
  updatedAt: string;
}

export interface VirtualInput {
  format?: string;
  members: string[];
  claims?: string[];
}

/** The resolved form used on every read: member repositories in order. */
export interface VirtualView {
  repo: RepoInfo;
  format: string;
  members: RepoInfo[];
  claims: string[];
}

export interface Collision {
  name: string;
  remote: string;
  reason: string;
  upstream: Record<string, unknown>;
  seenAt: string;
}

/**
 * The form in which a format compares names for claims: npm and RubyGems case-insensitively
 * (npm's registry treats case as one name; gem names differing only in case are refused by
 * hosted repositories), PyPI after PEP 503 normalization (`Acme_Tools` and `acme.tools` are one
 * project).
 */
export function claimForm(format: string, name: string): string {
  const lower = name.toLowerCase();
  return format === 'pypi' ? lower.replace(/[-_.]+/g, '-') : lower;
}

const CLAIM_SYNTAX: Record<string, { pattern: RegExp; hint: string }> = {
  npm: {
    pattern: /^(?:@[a-z0-9][a-z0-9._-]{0,213}\/\*|@[a-z0-9][a-z0-9._-]{0,213}\/[a-z0-9._-]{0,213}\*?|[a-z0-9][a-z0-9._-]{0,213}\*?)$/,
    hint: '@scope/*, a name prefix ending in * (acme-*, acme.*) or an exact package name',
  },
  pypi: { pattern: /^[a-z0-9][a-z0-9-]{0,199}\*?$/, hint: 'a project name prefix ending in * (acme-*, acme.* and acme_* are one claim) or an exact project name' },
  rubygems: { pattern: /^[a-z0-9_][a-z0-9._-]{0,199}\*?$/, hint: 'a gem name prefix ending in * (acme-*, acme_*) or an exact gem name' },
};

/** Checks and normalizes one namespace claim for a format (see claimForm): a prefix ending in `*` or an exact name; npm also `@scope/*`. */
export function normalizeClaim(raw: string, format = 'npm'): string {
  const trimmed = raw.trim();
  const wildcard = trimmed.endsWith('*');
  const claim = claimForm(format, wildcard ? trimmed.slice(0, -1) : trimmed) + (wildcard ? '*' : '');
  const syntax = CLAIM_SYNTAX[format] ?? CLAIM_SYNTAX.npm;
  if (!syntax?.pattern.test(claim)) {
    throw new StockadeError('VALIDATION_FAILED', [`claim "${raw.slice(0, 100)}" must be ${syntax?.hint ?? 'a name or prefix'}`]);
  }
  return claim;
}

/** The claim that covers `name` in a format, if any. */
export function matchingClaim(claims: string[], name: string, format = 'npm'): string | undefined {
  const form = claimForm(format, name);
  return claims.find((claim) => (claim.endsWith('*') ? form.startsWith(claim.slice(0, -1)) : form === claim));
}

/**
 * Virtual repositories. Members must belong to the same owner as the virtual repository (so a
 * virtual repository never reaches into another owner's packages), be hosted or remote (no
 * nesting), and a public virtual repository may only have public members.
 */
export function createVirtualRepos(deps: { db: Db; audit: AuditLog; changes: ChangeBus; repos: Repos }) {
  const { db, audit, changes, repos } = deps;
  const views = new TtlCache<VirtualView | null>({ ttlMs: 30_000, max: 5_000 });
  const containing = new TtlCache<number[]>({ ttlMs: 30_000, max: 20_000 });
  changes.subscribe((topic) => {
    if (topic === 'repo') {
      views.clear();
      containing.clear();
    }
  });

  async function resolveMembers(virtualRepo: { owner: string; visibility: 'public' | 'private' }, paths: string[]): Promise<RepoInfo[]> {
    if (!Array.isArray(paths) || paths.length === 0) throw new StockadeError('VALIDATION_FAILED', ['a virtual repository needs at least one member']);
    if (paths.length > MAX_MEMBERS) throw new StockadeError('VALIDATION_FAILED', [`a virtual repository has at most ${MAX_MEMBERS} members`]);
    const out: RepoInfo[] = [];
    for (const path of paths) {
      const [owner, name, extra] = String(path).split('/');
      if (!owner || !name || extra !== undefined) throw new StockadeError('VALIDATION_FAILED', [`member "${String(path).slice(0, 200)}" must be owner/repo`]);
      if (owner !== virtualRepo.owner) throw new StockadeError('VALIDATION_FAILED', [`member ${path} belongs to another owner: members must be repositories of ${virtualRepo.owner}`]);
      const member = await repos.get(owner, name);
      if (!member) throw new StockadeError('VALIDATION_FAILED', [`member ${path} does not exist`]);
      if (member.kind === 'virtual') throw new StockadeError('VALIDATION_FAILED', [`member ${path} is virtual: members must be hosted or remote repositories`]);
      if (out.some((m) => m.id === member.id)) throw new StockadeError('VALIDATION_FAILED', [`member ${path} is listed twice`]);
      if (virtualRepo.visibility === 'public' && member.visibility === 'private') {
        throw new StockadeError('VALIDATION_FAILED', [`member ${path} is private: a public virtual repository may only merge public members`]);
      }
      out.push(member);
    }
    return out;
  }

  async function checkFormat(tx: Tx, members: RepoInfo[], format: string): Promise<void> {
    if (!(VIRTUAL_FORMATS as readonly string[]).includes(format)) {
      throw new StockadeError('VALIDATION_FAILED', [`virtual repositories support the formats ${VIRTUAL_FORMATS.join(', ')}`]);
    }
    for (const member of members.filter((m) => m.kind === 'remote')) {
      const upstream = await tx.selectFrom('remote_upstreams').select('format').where('repo_id', '=', member.id).executeTakeFirst();
      if (upstream?.format !== format) throw new StockadeError('VALIDATION_FAILED', [`member ${member.path} mirrors ${upstream?.format ?? 'nothing'}, not ${format}`]);
    }
  }

  async function write(tx: Tx, repoId: number, members: RepoInfo[], claims: string[]): Promise<void> {
    await tx.deleteFrom('virtual_members').where('virtual_repo_id', '=', repoId).execute();
    await tx.deleteFrom('virtual_claims').where('virtual_repo_id', '=', repoId).execute();
    if (members.length > 0) await tx.insertInto('virtual_members').values(members.map((m, position) => ({ virtual_repo_id: repoId, member_repo_id: m.id, position }))).execute();
    if (claims.length > 0) await tx.insertInto('virtual_claims').values(claims.map((pattern) => ({ virtual_repo_id: repoId, pattern }))).execute();
  }

  function claimsOf(raw: string[] | undefined, format: string): string[] {
    const list = raw ?? [];
    if (list.length > MAX_CLAIMS) throw new StockadeError('VALIDATION_FAILED', [`a virtual repository has at most ${MAX_CLAIMS} claims`]);
    return [...new Set(list.map((claim) => normalizeClaim(claim, format)))];
  }

  /**
   * Validates a new virtual repository's settings before the repository row exists, and returns
   * the writer to run inside the creating transaction (see repos.create `within`).
   */
  async function prepare(owner: string, visibility: 'public' | 'private', input: VirtualInput) {
    const ownerRow = await db.selectFrom('owners').select('id').where('name', '=', owner).executeTakeFirst();
    if (!ownerRow) throw new StockadeError('NOT_FOUND', [`owner ${owner}`]);
    const members = await resolveMembers({ owner, visibility }, input.members);
    const format = input.format ?? 'npm';
    const claims = claimsOf(input.claims, format);
    return async (tx: Tx, repoId: number) => {
      await checkFormat(tx, members, format);
      await tx.insertInto('virtual_repos').values({ repo_id: repoId, format, updated_at: nowIso() }).execute();
      await write(tx, repoId, members, claims);
      return { virtual: { format, members: members.map((m) => m.path), claims } };
    };
  }

  async function view(repo: RepoInfo): Promise<VirtualView | null> {
    const cached = views.get(String(repo.id));
    if (cached !== undefined) return cached;
    const row = await db.selectFrom('virtual_repos').select(['format']).where('repo_id', '=', repo.id).executeTakeFirst();
    let result: VirtualView | null = null;
    if (row) {
      const memberRows = await db.selectFrom('virtual_members').select('member_repo_id').where('virtual_repo_id', '=', repo.id).orderBy('position').execute();
      const members: RepoInfo[] = [];
      for (const m of memberRows) {
        const info = await repos.getById(m.member_repo_id);
        if (info) members.push(info);
      }
      const claims = (await db.selectFrom('virtual_claims').select('pattern').where('virtual_repo_id', '=', repo.id).orderBy('pattern').execute()).map((c) => c.pattern);
      result = { repo, format: row.format, members, claims };
    }
    views.set(String(repo.id), result);
    return result;
  }

  async function requireView(repo: RepoInfo): Promise<VirtualView> {
    const found = repo.kind === 'virtual' ? await view(repo) : null;
    if (!found) throw new StockadeError('NOT_FOUND', [`members of ${repo.path} (only a virtual repo has members)`]);
    return found;
  }

  async function get(repo: RepoInfo): Promise<VirtualSettings> {
    const v = await requireView(repo);
    const row = await db.selectFrom('virtual_repos').select('updated_at').where('repo_id', '=', repo.id).executeTakeFirstOrThrow();
    return {
      format: v.format,
      members: v.members.map((m) => ({ path: m.path, kind: m.kind as 'hosted' | 'remote', visibility: m.visibility })),
      claims: v.claims,
      updatedAt: row.updated_at,
    };
  }

  /** Replaces the members (and, when given, the claims) of a virtual repository. */
  async function update(actor: Actor, repo: RepoInfo, input: { members: string[]; claims?: string[] }): Promise<VirtualSettings> {
    const current = await requireView(repo);
    const members = await resolveMembers(repo, input.members);
    const claims = input.claims === undefined ? current.claims : claimsOf(input.claims, current.format);
    await db.transaction().execute(async (tx) => {
      await checkFormat(tx, members, current.format);
      await write(tx, repo.id, members, claims);
      await tx.updateTable('virtual_repos').set({ updated_at: nowIso() }).where('repo_id', '=', repo.id).execute();
      await audit.record(tx, actor, {
        action: 'repo.members.update',
        target: `repo:${repo.path}`,
        details: { before: current.members.map((m) => m.path), members: members.map((m) => m.path), ...(input.claims !== undefined ? { claimsBefore: current.claims, claims } : {}) },
      });
    });
    changes.publish('repo', repo.path);
    return get(repo);
  }

  /** Ids of the virtual repositories that list `memberId`. */
  async function containingIds(memberId: number): Promise<number[]> {
    const cached = containing.get(String(memberId));
    if (cached !== undefined) return cached;
    const rows = await db.selectFrom('virtual_members').select('virtual_repo_id').where('member_repo_id', '=', memberId).execute();
    const ids = rows.map((r) => r.virtual_repo_id);
    containing.set(String(memberId), ids);
    return ids;
  }

  /**
   * Records that `remote` offers `name`, which `virtual` keeps private; once per
   * (virtual, name, remote), with a `repo.collision` audit event. True when newly recorded.
   */
  async function recordCollision(input: { virtual: RepoInfo; remote: RepoInfo; name: string; reason: string; upstream: Record<string, unknown> }): Promise<boolean> {
    const seen = await db
      .selectFrom('virtual_collisions')
      .select('id')
      .where('virtual_repo_id', '=', input.virtual.id)
      .where('name', '=', input.name)
      .where('remote_repo_id', '=', input.remote.id)
      .executeTakeFirst();
    if (seen) return false;
    try {
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('virtual_collisions')
          .values({ virtual_repo_id: input.virtual.id, name: input.name, remote_repo_id: input.remote.id, reason: input.reason, upstream_versions: JSON.stringify(input.upstream), seen_at: nowIso() })
          .execute();
        await audit.record(tx, { name: 'system', ip: null }, {
          action: 'repo.collision',
          target: `repo:${input.virtual.path}`,
          details: { name: input.name, remote: input.remote.path, reason: input.reason, upstream: input.upstream },
        });
      });
    } catch (error) {
      // Another request or node recorded it first.
      if (isUniqueViolation(error)) return false;
      throw error;
    }
    return true;
  }

  async function collisions(repo: RepoInfo): Promise<Collision[]> {
    await requireView(repo);
    const rows = await db
      .selectFrom('virtual_collisions')
      .innerJoin('repos', 'repos.id', 'virtual_collisions.remote_repo_id')
      .innerJoin('owners', 'owners.id', 'repos.owner_id')
      .select(['virtual_collisions.name', 'virtual_collisions.reason', 'virtual_collisions.upstream_versions', 'virtual_collisions.seen_at', 'owners.name as owner', 'repos.name as repo'])
      .where('virtual_collisions.virtual_repo_id', '=', repo.id)
      .orderBy('virtual_collisions.id', 'desc')
      .execute();
    return rows.map((r) => ({ name: r.name, remote: `${r.owner}/${r.repo}`, reason: r.reason, upstream: JSON.parse(r.upstream_versions) as Record<string, unknown>, seenAt: r.seen_at }));
  }

  return { prepare, view, get, update, containingIds, recordCollision, collisions };
}

export type VirtualRepos = ReturnType<typeof createVirtualRepos>;
