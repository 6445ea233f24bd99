import type { Domain } from '../../domain/index.js';
import type { RpmIndexEntry } from '../../domain/rpm.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { BLOCK_SIZE, BlockDocument, BlockTracker } from '../block-index.js';
import type { Refreshable } from '../index-cache.js';
import { FILELISTS_CLOSE, FILELISTS_OPEN, OTHER_CLOSE, OTHER_OPEN, PRIMARY_CLOSE, PRIMARY_OPEN, type RepomdEntry, repomdXml } from './repodata.js';

export interface RepodataSnapshot {
  repomd: string;
  /** Armored detached signature of repomd.xml, for `repo_gpgcheck=1`. */
  repomdAsc: string;
  /** `repodata/<sha256>-primary.xml.gz` and the others, by file name below `repodata/`. */
  files: Map<string, () => Buffer>;
  byHash: Map<string, () => Buffer>;
}

const DOCUMENTS = [
  { type: 'primary', open: PRIMARY_OPEN, close: PRIMARY_CLOSE, text: (e: RpmIndexEntry) => e.primaryXml },
  { type: 'filelists', open: FILELISTS_OPEN, close: FILELISTS_CLOSE, text: (e: RpmIndexEntry) => e.filelistsXml },
  { type: 'other', open: OTHER_OPEN, close: OTHER_CLOSE, text: (e: RpmIndexEntry) => e.otherXml },
] as const;

/**
 * One distribution's rpm-md metadata on this node, kept up to date block by block like the APT
 * indexes (see block-index.ts). File names carry their SHA-256, as createrepo's unique metadata
 * names do, so a client holding an older repomd.xml still finds the files it names.
 */
export class RpmDistIndex implements Refreshable<RepodataSnapshot> {
  private readonly tracker: BlockTracker<RpmIndexEntry>;
  private readonly documents = DOCUMENTS.map((d) => ({ ...d, document: new BlockDocument(Buffer.from(d.open), Buffer.from(d.close)) }));
  private snapshot: RepodataSnapshot | null = null;

  constructor(
    private readonly domain: Domain,
    private readonly repo: RepoInfo,
    private readonly dist: string,
  ) {
    const { rpm } = domain;
    this.tracker = new BlockTracker<RpmIndexEntry>({
      signatures: (blocks) => rpm.blockSignatures(repo.id, dist, BLOCK_SIZE, blocks),
      blocksOf: (names) => rpm.blocksOf(repo.id, dist, names, BLOCK_SIZE),
      entries: (blocks) => rpm.blockEntries(repo.id, dist, blocks, BLOCK_SIZE),
    });
  }

  async refresh(names: ReadonlySet<string> | null): Promise<RepodataSnapshot> {
    const { changed, after } = await this.tracker.update(names);
    if (this.tracker.isEmpty) throw new StockadeError('NOT_FOUND', [`distribution ${this.dist}`]);
    if (changed.length === 0 && this.snapshot) return this.snapshot;
    for (const { document, text } of this.documents) {
      for (const [block, list] of after) document.setBlock(block, Buffer.from(list.map(text).join('')));
    }

    // The newest listing's time: every node renders the same repomd.xml for the same entries.
    const newest = this.tracker.newest();
    const timestamp = Math.floor(new Date(newest).getTime() / 1000);
    const files = new Map<string, () => Buffer>();
    const byHash = new Map<string, () => Buffer>();
    const described: RepomdEntry[] = [];
    for (const { type, document } of this.documents) {
      const snapshot = document.snapshot();
      const gzip = snapshot.gzip;
      const name = `${snapshot.gzipDigests.sha256}-${type}.xml.gz`;
      files.set(name, () => gzip);
      byHash.set(snapshot.gzipDigests.sha256, () => gzip);
      described.push({
        type,
        checksum: snapshot.gzipDigests.sha256,
        openChecksum: snapshot.plainDigests.sha256,
        size: snapshot.gzipDigests.size,
        openSize: snapshot.plainDigests.size,
        timestamp,
        location: `repodata/${name}`,
      });
    }
    const repomd = repomdXml({ revision: String(timestamp), entries: described });
    const repomdAsc = await this.domain.repoKeys.detachedSign(this.repo, repomd);
    this.snapshot = { repomd, repomdAsc, files, byHash };
    return this.snapshot;
  }
}
