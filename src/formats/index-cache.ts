import type { ChangeBus } from '../domain/changes.js';

/**
 * Per-node upkeep of a repository's incrementally built indexes: one refresher per distribution,
 * at most one refresh running at a time, and index files of earlier states kept fetchable by
 * hash for clients that read an older Release or repomd.xml.
 */

/**
 * How long a node trusts its indexes without comparing every block with the database, when no
 * change was announced: the net under lost notifications, not the way changes arrive.
 */
const MAX_UNCHECKED_MS = 30_000;
/** Earlier index files kept by hash per node. */
const RETAINED_FILES = 64;

export interface Refreshable<Snapshot> {
  /**
   * Brings the state up to date with the database and returns its snapshot: only what concerns
   * the named packages, or everything when `names` is null.
   */
  refresh(names: ReadonlySet<string> | null): Promise<Snapshot>;
}

class Entry<Snapshot> {
  snapshot: Snapshot | null = null;
  pending: Promise<Snapshot> | null = null;
  dirty = true;
  /** Packages announced as changed since the last refresh; null when unknown (check everything). */
  changedNames: Set<string> | null = null;
  checkedAt = 0;
  constructor(readonly state: Refreshable<Snapshot>) {}
}

export class IndexCache<Snapshot> {
  private readonly entries = new Map<string, Entry<Snapshot>>();
  private readonly retained = new Map<string, () => Buffer>();

  constructor(private readonly filesOf: (snapshot: Snapshot) => Iterable<[string, () => Buffer]>) {}

  /**
   * A change was announced: the states under `prefix` ask the database on their next use, about
   * the named package only when the announcement named one.
   */
  markDirty(prefix = '', name?: string): void {
    for (const [key, entry] of this.entries) {
      if (!key.startsWith(prefix)) continue;
      if (name === undefined) entry.changedNames = null;
      else if (!entry.dirty) entry.changedNames = new Set([name]);
      // Already waiting: add the name, unless everything is to be checked anyway.
      else entry.changedNames?.add(name);
      entry.dirty = true;
    }
  }

  /** Forgets the states whose key passes `which` (a repository renamed or deleted, or its key rotated). */
  drop(which: (key: string) => boolean = () => true): void {
    for (const key of [...this.entries.keys()]) if (which(key)) this.entries.delete(key);
  }

  /** The current snapshot: checked against the database after an announced change, or when old. */
  async current(key: string, create: () => Refreshable<Snapshot>): Promise<Snapshot> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = new Entry(create());
      this.entries.set(key, entry);
    }
    if (entry.pending) {
      if (!entry.dirty) return entry.pending;
      // A change was announced while this refresh ran; it may not include it.
      await entry.pending.catch(() => undefined);
      return this.current(key, create);
    }
    const old = Date.now() - entry.checkedAt > MAX_UNCHECKED_MS;
    if (entry.snapshot && !entry.dirty && !old) return entry.snapshot;
    const target = entry;
    // The first refresh and the periodic one compare everything; others only what was announced.
    const names = target.snapshot === null || old ? null : target.changedNames;
    target.dirty = false;
    target.changedNames = null;
    const startedAt = Date.now();
    const pending = target.state.refresh(names).then(
      (snapshot) => {
        if (target.snapshot && target.snapshot !== snapshot) this.retain(target.snapshot);
        target.snapshot = snapshot;
        if (names === null) target.checkedAt = startedAt;
        target.pending = null;
        return snapshot;
      },
      (error: unknown) => {
        target.pending = null;
        target.dirty = true;
        // A failed refresh leaves the state half updated: start over next time.
        this.entries.delete(key);
        throw error;
      },
    );
    target.pending = pending;
    return pending;
  }

  /** An index file of an earlier state of this node, by its SHA-256. */
  retainedFile(sha256: string): Buffer | undefined {
    return this.retained.get(sha256)?.();
  }

  private retain(snapshot: Snapshot): void {
    for (const [sha, read] of this.filesOf(snapshot)) {
      this.retained.delete(sha);
      this.retained.set(sha, read);
    }
    while (this.retained.size > RETAINED_FILES) this.retained.delete(this.retained.keys().next().value as string);
  }
}

/**
 * An index cache for one format that follows the change bus: a package change marks the states
 * of its repository, naming the package; a new signing key, or a repository renamed, described
 * anew or deleted, changes its signed files, so its states start over.
 */
export function indexCacheFor<Snapshot extends { byHash: Map<string, () => Buffer> }>(changes: ChangeBus, format: string): IndexCache<Snapshot> {
  const indexes = new IndexCache<Snapshot>((snapshot) => snapshot.byHash);
  changes.subscribe((topic, key) => {
    if (topic === 'package') {
      // `repoId:format:name`, `repoId:*` for a whole repository, or `*`.
      const [repoId, keyFormat, ...name] = key.split(':');
      if (key === '*') indexes.markDirty();
      else if (keyFormat === '*') indexes.markDirty(`${repoId}:`);
      else if (keyFormat === format) indexes.markDirty(`${repoId}:`, name.join(':'));
    } else if (topic === 'repo-key') {
      indexes.drop(key === '*' ? undefined : (k) => k.startsWith(`${key}:`));
    } else if (topic === 'repo') {
      // Keyed by path (`owner/name`); creating a repository leaves every other one's indexes alone.
      indexes.drop(key === '*' ? undefined : (k) => k.includes(`:${key}:`));
    }
  });
  return indexes;
}

/** The key of one distribution's state: repository id and path (both announce changes), distribution. */
export function indexKey(repo: { id: number; path: string }, dist: string): string {
  return `${repo.id}:${repo.path}:${dist}`;
}
