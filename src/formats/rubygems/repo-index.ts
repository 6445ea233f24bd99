import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { ChangeBus } from '../../domain/changes.js';
import type { Domain } from '../../domain/index.js';
import type { StoredPackage } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { rubyGemsScheme } from '../../security/versions/rubygems.js';
import { infoFile, namesFile, versionsFile } from './compact-index.js';
import { quickSpecRz, type SpecTuple, specsIndexGz } from './marshal.js';
import { compareVersionKeys, FORMAT, type GemVersionRecord } from './publish.js';

/**
 * A repository's gem indexes on this node: the Marshal index (`specs.4.8.gz`, `latest_specs`,
 * `prerelease_specs`, quick specs) and the compact index (`/versions`, `/info/NAME`, `/names`).
 * Built from the versions readers may see (published, not yanked), rendered lazily and kept
 * until the repository's gems change. Whether they changed is asked of the database (the count
 * and revisions of its gem packages) after a change announced on the bus, after a while, or on
 * every request when several nodes share a PostgreSQL database, so no node serves an index older
 * than a push another node acknowledged.
 */

export interface GemEntry {
  name: string;
  /** Stored version key: `1.0.0` or `1.0.0-x86_64-linux`. */
  key: string;
  version: string;
  platform: string;
  prerelease: boolean;
  filename: string;
  sha256: string;
  size: number;
  record: GemVersionRecord;
}

export interface PackageState {
  rev: number;
  /** Visible versions, oldest version first. */
  entries: GemEntry[];
  info: { body: Buffer; md5: string } | null;
}

/** An immutable view of one state of the repository, with documents rendered on first use. */
export class GemIndexSnapshot {
  readonly #docs = new Map<string, { body: Buffer; etag: string }>();

  constructor(
    /** Gems with at least one visible version, by name. */
    readonly packages: ReadonlyMap<string, PackageState>,
    readonly createdAt: string,
    readonly byFilename: ReadonlyMap<string, GemEntry>,
  ) {}

  #doc(key: string, render: () => Buffer): { body: Buffer; etag: string } {
    let doc = this.#docs.get(key);
    if (!doc) {
      const body = render();
      doc = { body, etag: `"${createHash('md5').update(body).digest('hex')}"` };
      this.#docs.set(key, doc);
    }
    return doc;
  }

  #names(): string[] {
    return [...this.packages.keys()].sort();
  }

  #tuples(which: (entry: GemEntry) => boolean): SpecTuple[] {
    const tuples: SpecTuple[] = [];
    for (const name of this.#names()) {
      for (const e of this.packages.get(name)?.entries ?? []) if (which(e)) tuples.push([e.name, e.version, e.platform]);
    }
    return tuples;
  }

  specs() {
    return this.#doc('specs', () => specsIndexGz(this.#tuples((e) => !e.prerelease)));
  }

  prereleaseSpecs() {
    return this.#doc('prerelease', () => specsIndexGz(this.#tuples((e) => e.prerelease)));
  }

  /** The highest released version of each name and platform (RubyGems' `_latest_specs`). */
  latestSpecs() {
    return this.#doc('latest', () => {
      const latest = new Map<string, GemEntry>();
      for (const name of this.#names()) {
        for (const e of this.packages.get(name)?.entries ?? []) {
          if (e.prerelease) continue;
          const key = `${e.name}\0${e.platform}`;
          const current = latest.get(key);
          if (!current || rubyGemsScheme.compare(e.version, current.version) > 0) latest.set(key, e);
        }
      }
      return specsIndexGz([...latest.values()].map((e): SpecTuple => [e.name, e.version, e.platform]));
    });
  }

  /** `quick/Marshal.4.8/NAME-KEY.gemspec.rz`, or undefined for a gem that is not visible. */
  quickSpec(fullName: string): Buffer | undefined {
    const entry = this.byFilename.get(`${fullName}.gem`);
    if (!entry) return undefined;
    return this.#doc(`quick:${fullName}`, () => quickSpecRz({ name: entry.name, ...entry.record.spec })).body;
  }

  versions() {
    return this.#doc('versions', () => {
      const gems = this.#names().map((name) => {
        const state = this.packages.get(name) as PackageState;
        return { name, keys: state.entries.map((e) => e.key), infoMd5: infoOf(state).md5 };
      });
      return Buffer.from(versionsFile(this.createdAt, gems));
    });
  }

  info(name: string): { body: Buffer; etag: string } | undefined {
    const state = this.packages.get(name);
    if (!state) return undefined;
    const info = infoOf(state);
    return { body: info.body, etag: `"${info.md5}"` };
  }

  names() {
    return this.#doc('names', () => Buffer.from(namesFile(this.#names())));
  }
}

function infoOf(state: PackageState): { body: Buffer; md5: string } {
  if (!state.info) {
    const body = Buffer.from(
      infoFile(
        state.entries.map((e) => ({
          key: e.key,
          dependencies: e.record.spec.dependencies.filter((d) => d.type === 'runtime'),
          sha256: e.sha256,
          requiredRubyVersion: e.record.spec.requiredRubyVersion,
          requiredRubygemsVersion: e.record.spec.requiredRubygemsVersion,
        })),
      ),
    );
    state.info = { body, md5: createHash('md5').update(body).digest('hex') };
  }
  return state.info;
}

/** The visible versions of a loaded package, in version order. */
export function entriesOf(pkg: StoredPackage): GemEntry[] {
  const entries: GemEntry[] = [];
  for (const v of pkg.versions) {
    const file = v.files[0];
    const record = v.metadata as unknown as GemVersionRecord;
    if (v.status !== 'published' || v.yanked || !file || !record.spec) continue;
    entries.push({
      name: pkg.name,
      key: v.version,
      version: record.spec.version,
      platform: record.spec.platform,
      prerelease: record.spec.prerelease,
      filename: file.filename,
      sha256: file.sha256,
      size: file.size,
      record,
    });
  }
  return entries.sort((a, b) => compareVersionKeys(a.key, b.key));
}

/** How long a node trusts its index without asking the database, when no change was announced. */
const MAX_UNCHECKED_MS = 30_000;
/** Packages loaded at once while a repository's index is (re)built. */
const LOAD_CONCURRENCY = 8;

class RepoIndexState {
  packages = new Map<string, PackageState>();
  fingerprint: string | null = null;
  snapshot: GemIndexSnapshot | null = null;
  checkedAt = 0;
  dirty = true;
  pending: Promise<GemIndexSnapshot> | null = null;
}

export function createGemIndexes(domain: Domain, changes: ChangeBus, options: { sharedDatabase: boolean }) {
  const states = new Map<number, RepoIndexState>();

  changes.subscribe((topic, key) => {
    if (topic === 'repo') {
      // A repository deleted or recreated under the same id range: start over.
      states.clear();
      return;
    }
    if (topic !== 'package') return;
    const [repoId, format] = key.split(':');
    for (const [id, state] of states) {
      if (key === '*' || (String(id) === repoId && (format === '*' || format === FORMAT))) state.dirty = true;
    }
  });

  async function fingerprintOf(repo: RepoInfo): Promise<{ fingerprint: string; createdAt: string | null }> {
    const row = await domain.db
      .selectFrom('packages')
      .select([sql<number>`count(*)`.as('n'), sql<number | string | null>`sum(rev)`.as('revs'), sql<string | null>`max(updated_at)`.as('updated'), sql<string | null>`min(created_at)`.as('created')])
      .where('repo_id', '=', repo.id)
      .where('format', '=', FORMAT)
      .executeTakeFirstOrThrow();
    return { fingerprint: `${Number(row.n)}:${Number(row.revs ?? 0)}:${row.updated ?? ''}`, createdAt: row.created };
  }

  async function rebuild(repo: RepoInfo, state: RepoIndexState): Promise<GemIndexSnapshot> {
    const { fingerprint, createdAt } = await fingerprintOf(repo);
    if (state.snapshot && fingerprint === state.fingerprint) return state.snapshot;
    const rows = await domain.db.selectFrom('packages').select(['name', 'rev']).where('repo_id', '=', repo.id).where('format', '=', FORMAT).execute();
    const listed = new Map(rows.map((r) => [r.name, Number(r.rev)]));
    for (const name of state.packages.keys()) if (!listed.has(name)) state.packages.delete(name);
    const stale = [...listed].filter(([name, rev]) => state.packages.get(name)?.rev !== rev).map(([name]) => name);
    for (let i = 0; i < stale.length; i += LOAD_CONCURRENCY) {
      await Promise.all(
        stale.slice(i, i + LOAD_CONCURRENCY).map(async (name) => {
          const pkg = await domain.packages.load({ repo, format: FORMAT, name });
          if (!pkg) state.packages.delete(name);
          else state.packages.set(name, { rev: pkg.rev, entries: entriesOf(pkg), info: null });
        }),
      );
    }
    const visible = new Map<string, PackageState>();
    const byFilename = new Map<string, GemEntry>();
    for (const [name, pkg] of state.packages) {
      if (pkg.entries.length === 0) continue;
      visible.set(name, pkg);
      for (const e of pkg.entries) byFilename.set(e.filename, e);
    }
    state.fingerprint = fingerprint;
    state.snapshot = new GemIndexSnapshot(visible, isoSeconds(createdAt), byFilename);
    return state.snapshot;
  }

  return {
    /** The repository's current index snapshot. */
    async current(repo: RepoInfo): Promise<GemIndexSnapshot> {
      let state = states.get(repo.id);
      if (!state) {
        state = new RepoIndexState();
        states.set(repo.id, state);
      }
      const fresh = !options.sharedDatabase && !state.dirty && Date.now() - state.checkedAt < MAX_UNCHECKED_MS;
      if (state.snapshot && fresh) return state.snapshot;
      if (state.pending && !state.dirty) return state.pending;
      if (state.pending) await state.pending.catch(() => undefined);
      const target = state;
      target.dirty = false;
      const startedAt = Date.now();
      const pending = rebuild(repo, target).then(
        (snapshot) => {
          target.checkedAt = startedAt;
          if (target.pending === pending) target.pending = null;
          return snapshot;
        },
        (error: unknown) => {
          if (target.pending === pending) target.pending = null;
          // A failed rebuild may have loaded part of the packages: start over next time.
          states.delete(repo.id);
          throw error;
        },
      );
      target.pending = pending;
      return pending;
    },
  };
}

export type GemIndexes = ReturnType<typeof createGemIndexes>;

/** `2024-01-02T03:04:05Z` from a stored timestamp; the epoch for an empty repository. */
function isoSeconds(at: string | null): string {
  const time = at === null ? 0 : Date.parse(at);
  return new Date(Number.isNaN(time) ? 0 : time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
