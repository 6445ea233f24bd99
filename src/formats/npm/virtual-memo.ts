import type { ChangeBus } from '../../domain/changes.js';
import type { RepoInfo } from '../../domain/repos.js';
import type { RenderedDoc } from './cache.js';
import { FORMAT } from './publish.js';

/** A packument a virtual repository served, ready to send again. */
export interface MemoPackument {
  doc: RenderedDoc;
  contentType: string;
  /** Until when it may be sent without asking anything: the upstream copy's TTL, the next cooldown expiry. */
  until: number;
  /** Rendered from a remote member's upstream copy (answered with `x-stockade-upstream: hit`); set from the sources. */
  fromUpstream: boolean;
}

/** The members an answer was derived from. */
export interface MemoSources {
  /** The remote member the name resolved to; null for a private name, merged from the hosted members. */
  member: RepoInfo | null;
  /** The hosted members whose packages made, or would have made, the name private. */
  hostedIds: number[];
}

interface Entry<V> {
  value: V;
  until: number;
  name: string;
  memberId: number | null;
  hostedIds: number[];
  /** The remote member's package changed since: a new verdict may hide a version. */
  dirty: boolean;
}

const MAX_ENTRIES = 10_000;
/** Answers are re-checked at least this often even when nothing announced a change. */
const MAX_AGE_MS = 60_000;
const PACKAGE_KEY = /^(\d+):([^:]+):(.+)$/;

/**
 * What a virtual repository answered, per node, so a warm install reads packuments and tarball
 * owners from memory: no protection, metadata or verdict queries. A name that resolves to a remote
 * member has one owner for all its files; a private name has one per file (the first hosted member
 * that stores it). Changes drop or suspend answers:
 *
 * - a repository, membership, claim, upstream setting or policy change, or a change to a whole
 *   repository, drops everything;
 * - a change to a package in a hosted member drops the answers for that name (it may now be
 *   private, or have another version or owner);
 * - a change to the package in the remote member suspends them (a new verdict may hide a version),
 *   unless the remote repository itself vouches that the change was a version stored as published
 *   and nothing else happened to the package meanwhile (`expectStore`).
 *
 * The upstream TTL and cooldown expiries bound each answer's life. A stamp taken before the full
 * path runs keeps an answer that raced with a change out.
 */
export function createVirtualMemo(changes: ChangeBus) {
  const packuments = new Map<string, Entry<MemoPackument>>();
  const owners = new Map<string, Entry<RepoInfo>>();
  /** Keys of both maps per package name. */
  const byName = new Map<string, Set<string>>();
  /** Package changes seen per `${repoId}\n${name}`, and per name. */
  const changeCounts = new Map<string, number>();
  const nameCounts = new Map<string, number>();
  let generation = 0;

  function clear(): void {
    generation++;
    packuments.clear();
    owners.clear();
    byName.clear();
    changeCounts.clear();
    nameCounts.clear();
  }

  function entryOf(key: string): Entry<unknown> | undefined {
    return packuments.get(key) ?? owners.get(key);
  }

  function drop(key: string): void {
    const entry = entryOf(key);
    packuments.delete(key);
    owners.delete(key);
    if (entry) byName.get(entry.name)?.delete(key);
  }

  changes.subscribe((topic, key) => {
    if (topic === 'repo' || topic === 'policy') return clear();
    if (topic !== 'package') return;
    const match = PACKAGE_KEY.exec(key);
    if (!match) return clear();
    if (match[2] !== FORMAT) return;
    const repoId = Number(match[1]);
    const name = match[3] as string;
    const counter = `${repoId}\n${name}`;
    changeCounts.set(counter, (changeCounts.get(counter) ?? 0) + 1);
    nameCounts.set(name, (nameCounts.get(name) ?? 0) + 1);
    if (changeCounts.size > MAX_ENTRIES * 4) clear();
    for (const memoKey of [...(byName.get(name) ?? [])]) {
      const entry = entryOf(memoKey);
      if (!entry) continue;
      if (entry.hostedIds.includes(repoId)) drop(memoKey);
      else if (entry.memberId === repoId) entry.dirty = true;
    }
  });

  function put<V>(map: Map<string, Entry<V>>, key: string, entry: Entry<V>): void {
    if (map.has(key)) drop(key);
    if (map.size >= MAX_ENTRIES) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) drop(oldest);
    }
    map.set(key, entry);
    let keys = byName.get(entry.name);
    if (!keys) byName.set(entry.name, (keys = new Set()));
    keys.add(key);
  }

  function live<V>(map: Map<string, Entry<V>>, key: string): V | undefined {
    const entry = map.get(key);
    if (!entry || entry.dirty) return undefined;
    if (entry.until > Date.now()) return entry.value;
    drop(key);
    return undefined;
  }

  const packumentKey = (repo: RepoInfo, name: string, corgi: boolean, registryUrl: string) => `p\n${repo.id}\n${name}\n${corgi ? 'c' : 'f'}\n${registryUrl}`;
  const ownerKey = (repo: RepoInfo, name: string) => `o\n${repo.id}\n${name}`;
  const fileOwnerKey = (repo: RepoInfo, name: string, filename: string) => `f\n${repo.id}\n${name}\n${filename}`;
  const stampOf = (name: string) => `${generation}:${nameCounts.get(name) ?? 0}`;

  return {
    /** Taken before the full path runs; an answer is remembered only if nothing changed since. */
    stamp: stampOf,

    packument(repo: RepoInfo, name: string, corgi: boolean, registryUrl: string): MemoPackument | undefined {
      return live(packuments, packumentKey(repo, name, corgi, registryUrl));
    },

    rememberPackument(stamp: string, repo: RepoInfo, name: string, corgi: boolean, registryUrl: string, answer: Omit<MemoPackument, 'fromUpstream'>, sources: MemoSources): void {
      if (stamp !== stampOf(name)) return;
      const until = Math.min(answer.until, Date.now() + MAX_AGE_MS);
      const value = { ...answer, fromUpstream: sources.member !== null };
      put(packuments, packumentKey(repo, name, corgi, registryUrl), { value, until, name, memberId: sources.member?.id ?? null, hostedIds: sources.hostedIds, dirty: false });
    },

    /** The member a file comes from: a remote member for all of a name's files, or a hosted member per file. */
    owner(repo: RepoInfo, name: string, filename: string): RepoInfo | undefined {
      return live(owners, ownerKey(repo, name)) ?? live(owners, fileOwnerKey(repo, name, filename));
    },

    /** Remembers the remote member every file of `name` comes from. */
    rememberRemoteOwner(stamp: string, repo: RepoInfo, name: string, sources: MemoSources & { member: RepoInfo }): void {
      if (stamp !== stampOf(name)) return;
      put(owners, ownerKey(repo, name), { value: sources.member, until: Date.now() + MAX_AGE_MS, name, memberId: sources.member.id, hostedIds: sources.hostedIds, dirty: false });
    },

    /** Remembers the hosted member a file of a private name comes from. */
    rememberFileOwner(stamp: string, repo: RepoInfo, name: string, filename: string, owner: RepoInfo, hostedIds: number[]): void {
      if (stamp !== stampOf(name)) return;
      put(owners, fileOwnerKey(repo, name, filename), { value: owner, until: Date.now() + MAX_AGE_MS, name, memberId: null, hostedIds, dirty: false });
    },

    /**
     * Called by a remote repository before it stores a file of `name`: the returned function,
     * told the stored version was published (visible), restores the answers that storing
     * suspended, when that store was the only change to the package in between.
     */
    expectStore(remote: RepoInfo, name: string): (published: boolean) => void {
      const counter = `${remote.id}\n${name}`;
      const before = changeCounts.get(counter) ?? 0;
      const seenGeneration = generation;
      return (published) => {
        if (!published || generation !== seenGeneration || (changeCounts.get(counter) ?? 0) !== before + 1) return;
        for (const memoKey of byName.get(name) ?? []) {
          const entry = entryOf(memoKey);
          if (entry?.memberId === remote.id) entry.dirty = false;
        }
      };
    },
  };
}

export type VirtualMemo = ReturnType<typeof createVirtualMemo>;
