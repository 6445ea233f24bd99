import type { ChangeBus } from '../../domain/changes.js';
import type { RepoInfo } from '../../domain/repos.js';
import type { RenderedDoc } from './cache.js';

/** A packument a virtual repository served from a remote member, ready to send again. */
export interface MemoPackument {
  doc: RenderedDoc;
  contentType: string;
  /** Until when it may be sent without asking anything: the upstream copy's TTL, the next cooldown expiry. */
  until: number;
}

const MAX_ENTRIES = 10_000;
/** Answers are re-checked at least this often even when nothing announced a change. */
const MAX_AGE_MS = 60_000;

/**
 * What a virtual repository answered for names that resolve to a remote member, per node, so a
 * warm install reads packuments and tarball owners from memory: no protection, metadata or
 * verdict queries. Anything that could change an answer (a package stored, quarantined, released
 * or removed in any repository, a repository, membership, claim, upstream setting or policy
 * change) drops every entry; the upstream TTL and cooldown expiries bound each entry's life. A
 * `generation` taken before the full path runs keeps an answer that raced with a change out.
 */
export function createVirtualMemo(changes: ChangeBus) {
  const packuments = new Map<string, MemoPackument>();
  const owners = new Map<string, { member: RepoInfo; until: number }>();
  let generation = 0;
  changes.subscribe((topic) => {
    if (topic !== 'package' && topic !== 'repo' && topic !== 'policy') return;
    generation++;
    packuments.clear();
    owners.clear();
  });

  function put<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= MAX_ENTRIES) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, value);
  }

  const packumentKey = (repo: RepoInfo, name: string, corgi: boolean, registryUrl: string) => `${repo.id}\n${name}\n${corgi ? 'c' : 'f'}\n${registryUrl}`;

  return {
    generation: () => generation,

    packument(repo: RepoInfo, name: string, corgi: boolean, registryUrl: string): MemoPackument | undefined {
      const key = packumentKey(repo, name, corgi, registryUrl);
      const hit = packuments.get(key);
      if (!hit) return undefined;
      if (hit.until > Date.now()) return hit;
      packuments.delete(key);
      return undefined;
    },

    rememberPackument(seen: number, repo: RepoInfo, name: string, corgi: boolean, registryUrl: string, answer: MemoPackument): void {
      if (seen !== generation) return;
      put(packuments, packumentKey(repo, name, corgi, registryUrl), { ...answer, until: Math.min(answer.until, Date.now() + MAX_AGE_MS) });
    },

    /** The remote member a name's files come from. */
    owner(repo: RepoInfo, name: string): RepoInfo | undefined {
      const key = `${repo.id}\n${name}`;
      const hit = owners.get(key);
      if (!hit) return undefined;
      if (hit.until > Date.now()) return hit.member;
      owners.delete(key);
      return undefined;
    },

    rememberOwner(seen: number, repo: RepoInfo, name: string, member: RepoInfo): void {
      if (seen !== generation) return;
      put(owners, `${repo.id}\n${name}`, { member, until: Date.now() + MAX_AGE_MS });
    },
  };
}

export type VirtualMemo = ReturnType<typeof createVirtualMemo>;
