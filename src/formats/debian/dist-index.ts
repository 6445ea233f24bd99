import type { Domain } from '../../domain/index.js';
import type { AptIndexEntry } from '../../domain/apt.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { BLOCK_SIZE, BlockDocument, BlockTracker, type IndexSnapshot } from '../block-index.js';
import type { Refreshable } from '../index-cache.js';
import { type IndexFile, releaseText } from './apt-index.js';

/** Architectures every distribution lists, so `Architecture: all` packages reach common machines. */
const DEFAULT_ARCHITECTURES = ['amd64', 'arm64'];
const DEFAULT_COMPONENT = 'main';

export interface DistSnapshot {
  /** Index files by path relative to `dists/<dist>/`; plain files are joined on first read. */
  files: Map<string, () => Buffer>;
  byHash: Map<string, () => Buffer>;
  release: string;
  inRelease: string;
  releaseGpg: string;
}

/** Counts per key, so a set can be kept up to date as blocks come and go. */
class Tally {
  private readonly counts = new Map<string, number>();
  add(key: string, delta: number): void {
    const next = (this.counts.get(key) ?? 0) + delta;
    if (next === 0) this.counts.delete(key);
    else this.counts.set(key, next);
  }
  keys(): string[] {
    return [...this.counts.keys()];
  }
}

/**
 * One distribution's APT indexes on this node, kept up to date block by block: a refresh asks
 * the database which blocks changed (only those of the changed packages, when it knows them),
 * reads only those entries, and recompresses and rehashes only from the first changed block on.
 * Release is rendered and signed again on every change.
 */
export class AptDistIndex implements Refreshable<DistSnapshot> {
  private readonly tracker: BlockTracker<AptIndexEntry>;
  private readonly documents = new Map<string, BlockDocument>();
  private readonly archs = new Tally();
  private readonly components = new Tally();
  private snapshot: DistSnapshot | null = null;

  constructor(
    private readonly domain: Domain,
    private readonly repo: RepoInfo,
    private readonly dist: string,
  ) {
    const { apt } = domain;
    this.tracker = new BlockTracker<AptIndexEntry>({
      signatures: (blocks) => apt.blockSignatures(repo.id, dist, BLOCK_SIZE, blocks),
      blocksOf: (names) => apt.blocksOf(repo.id, dist, names, BLOCK_SIZE),
      entries: (blocks) => apt.blockEntries(repo.id, dist, blocks, BLOCK_SIZE),
    });
  }

  async refresh(names: ReadonlySet<string> | null): Promise<DistSnapshot> {
    const { changed, before, after } = await this.tracker.update(names);
    if (this.tracker.isEmpty) throw new StockadeError('NOT_FOUND', [`distribution ${this.dist}`]);
    if (changed.length === 0 && this.snapshot) return this.snapshot;
    for (const block of changed) {
      for (const old of before.get(block) ?? []) this.count(old, -1);
      for (const entry of after.get(block) ?? []) this.count(entry, 1);
    }

    const archs = [...new Set([...DEFAULT_ARCHITECTURES, ...this.archs.keys().filter((arch) => arch !== 'all')])].sort();
    const components = [...new Set([DEFAULT_COMPONENT, ...this.components.keys()])].sort();
    const wanted = new Set(components.flatMap((component) => archs.map((arch) => `${component}/binary-${arch}`)));
    for (const path of this.documents.keys()) if (!wanted.has(path)) this.documents.delete(path);
    for (const path of wanted) {
      const [component, binary] = path.split('/') as [string, string];
      const arch = binary.slice('binary-'.length);
      let document = this.documents.get(path);
      // A new index gets every block; an existing one only the changed blocks.
      const blocks = document ? changed : [...this.tracker.blocks.keys()];
      if (!document) this.documents.set(path, (document = new BlockDocument()));
      for (const block of blocks) {
        const stanzas = (this.tracker.blocks.get(block) ?? []).filter((e) => e.component === component && (e.arch === arch || e.arch === 'all'));
        document.setBlock(block, Buffer.from(stanzas.map((e) => `${e.stanza}\n`).join('')));
      }
    }

    this.snapshot = await this.render(archs, components);
    return this.snapshot;
  }

  private count(entry: AptIndexEntry, delta: number): void {
    this.archs.add(entry.arch, delta);
    this.components.add(entry.component, delta);
  }

  private async render(archs: string[], components: string[]): Promise<DistSnapshot> {
    const files = new Map<string, () => Buffer>();
    const byHash = new Map<string, () => Buffer>();
    const described: IndexFile[] = [];
    for (const [path, document] of this.documents) {
      const snapshot: IndexSnapshot = document.snapshot();
      const base = `${path}/Packages`;
      const gzip = snapshot.gzip;
      for (const [name, digests, read] of [
        [base, snapshot.plainDigests, snapshot.plain],
        [`${base}.gz`, snapshot.gzipDigests, () => gzip],
      ] as const) {
        files.set(name, read);
        byHash.set(digests.sha256, read);
        described.push({ path: name, ...digests });
      }
    }
    // The newest listing's time: every node renders the same Release for the same entries.
    const newest = this.tracker.newest();
    const release = releaseText({
      origin: this.repo.path,
      label: this.repo.path,
      suite: this.dist,
      codename: this.dist,
      date: new Date(newest),
      architectures: archs,
      components,
      description: this.repo.description || `Stockade repository ${this.repo.path}`,
      files: described,
    });
    const [inRelease, releaseGpg] = await Promise.all([this.domain.repoKeys.clearsign(this.repo, release), this.domain.repoKeys.detachedSign(this.repo, release)]);
    return { files, byHash, release, inRelease, releaseGpg };
  }
}
