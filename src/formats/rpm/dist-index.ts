import type { Domain } from '../../domain/index.js';
import type { RpmIndexEntry } from '../../domain/rpm.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { BLOCK_SIZE, BlockDocument, type BlockSignature, changedBlocks } from '../block-index.js';
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
  private readonly signatures = new Map<number, BlockSignature>();
  private readonly documents = DOCUMENTS.map((d) => ({ ...d, document: new BlockDocument(Buffer.from(d.open), Buffer.from(d.close)) }));
  private snapshot: RepodataSnapshot | null = null;

  constructor(
    private readonly domain: Domain,
    private readonly repo: RepoInfo,
    private readonly dist: string,
  ) {}

  async refresh(): Promise<RepodataSnapshot> {
    const { rpm } = this.domain;
    const signatures = await rpm.blockSignatures(this.repo.id, this.dist, BLOCK_SIZE);
    if (signatures.length === 0) throw new StockadeError('NOT_FOUND', [`distribution ${this.dist}`]);
    const changed = changedBlocks(this.signatures, signatures);
    if (changed.length === 0 && this.snapshot) return this.snapshot;

    const entries = await rpm.blockEntries(this.repo.id, this.dist, changed, BLOCK_SIZE);
    const fresh = new Map<number, RpmIndexEntry[]>(changed.map((block) => [block, []]));
    for (const entry of entries) fresh.get(Math.floor(entry.id / BLOCK_SIZE))?.push(entry);
    for (const { document, text } of this.documents) {
      for (const [block, list] of fresh) document.setBlock(block, Buffer.from(list.map(text).join('')));
    }
    this.signatures.clear();
    for (const signature of signatures) this.signatures.set(signature.block, signature);

    // The newest listing's time: every node renders the same repomd.xml for the same entries.
    const newest = signatures.reduce((latest, s) => (s.newest > latest ? s.newest : latest), new Date(0).toISOString());
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
