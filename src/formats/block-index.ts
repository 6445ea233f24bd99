/**
 * Repository indexes (APT `Packages`, rpm-md `primary.xml`, …) that change by one package at a
 * time without being rebuilt. Entries are grouped into blocks by their database id
 * (`id / BLOCK_SIZE`); a document is a fixed head, the text of each block in block order and a
 * fixed tail. A change touches one block, so only that block is recompressed and only the bytes
 * from that block on are hashed again; for an upload that is the last block.
 *
 * The compressed form is a gzip file of several members, one per block (gzip readers, zlib's
 * gzread included, read concatenated members as one stream). Every byte depends only on which
 * entries are visible, never on the order in which a node learned of them, so every node renders
 * identical files and a client may fetch `InRelease` from one node and `by-hash/…` from another.
 */
import { createHash, type Hash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const BLOCK_SIZE = 64;

/** What identifies the visible entries of one block: ids are never reused, entries never change. */
export interface BlockSignature {
  block: number;
  count: number;
  sum: number;
  sumSquares: number;
  /** Newest `created_at` in the block (ISO text). */
  newest: string;
}

export function sameSignature(a: BlockSignature | undefined, b: BlockSignature | undefined): boolean {
  if (!a || !b) return a === b;
  return a.count === b.count && a.sum === b.sum && a.sumSquares === b.sumSquares && a.newest === b.newest;
}

/** Blocks whose visible entries differ between two signature sets (added, changed or emptied). */
export function changedBlocks(known: ReadonlyMap<number, BlockSignature>, current: readonly BlockSignature[]): number[] {
  const changed = new Set<number>();
  const seen = new Set<number>();
  for (const signature of current) {
    seen.add(signature.block);
    if (!sameSignature(known.get(signature.block), signature)) changed.add(signature.block);
  }
  for (const block of known.keys()) if (!seen.has(block)) changed.add(block);
  return [...changed].sort((a, b) => a - b);
}

export interface FileDigests {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

const ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;

/**
 * Digests of a sequence of chunks that is edited in place. `states[i]` holds the hash states
 * after chunks `0..i-1`, so after an edit at position p hashing restarts at p.
 */
class ChunkedDigest {
  private states: Hash[][] = [];
  private sizes: number[] = [];

  invalidateFrom(position: number): void {
    if (this.states.length > position + 1) {
      this.states.length = position + 1;
      this.sizes.length = position + 1;
    }
  }

  digest(chunks: readonly Buffer[]): FileDigests {
    if (this.states.length === 0) {
      this.states.push(ALGORITHMS.map((algorithm) => createHash(algorithm)));
      this.sizes.push(0);
    }
    const start = Math.min(this.states.length - 1, chunks.length);
    let hashes = (this.states[start] as Hash[]).map((h) => h.copy());
    let size = this.sizes[start] as number;
    for (let i = start; i < chunks.length; i++) {
      const chunk = chunks[i] as Buffer;
      for (const h of hashes) h.update(chunk);
      size += chunk.length;
      // A checkpoint after every chunk but the last: the last (the tail) changes with everything.
      if (i < chunks.length - 1) {
        this.states[i + 1] = hashes;
        this.sizes[i + 1] = size;
        hashes = hashes.map((h) => h.copy());
      }
    }
    const [md5, sha1, sha256] = hashes.map((h) => h.digest('hex')) as [string, string, string];
    return { size, md5, sha1, sha256 };
  }
}

/** gzip with the header's time left at 0, so equal input gives equal bytes on every node. */
export function gzipMember(data: Buffer): Buffer {
  return gzipSync(data, { level: 6 });
}

/**
 * One index file built from blocks, in plain and gzip form. Not shared between requests while
 * it changes: callers take `snapshot()` results, which are immutable.
 */
export class BlockDocument {
  private readonly blocks = new Map<number, { text: Buffer; gzip: Buffer | null }>();
  private order: number[] = [];
  private readonly plainDigest = new ChunkedDigest();
  private readonly gzipDigest = new ChunkedDigest();
  private readonly headGzip: Buffer | null;
  private readonly tailGzip: Buffer | null;

  constructor(
    private readonly head: Buffer = Buffer.alloc(0),
    private readonly tail: Buffer = Buffer.alloc(0),
  ) {
    this.headGzip = head.length > 0 ? gzipMember(head) : null;
    this.tailGzip = tail.length > 0 ? gzipMember(tail) : null;
  }

  get blockCount(): number {
    return this.order.length;
  }

  /** Replaces a block's text; an empty text removes the block. */
  setBlock(block: number, text: Buffer): void {
    const had = this.blocks.has(block);
    let position = this.positionOf(block);
    if (text.length === 0) {
      if (!had) return;
      this.blocks.delete(block);
      this.order.splice(position, 1);
    } else {
      const previous = this.blocks.get(block);
      if (previous && previous.text.equals(text)) return;
      this.blocks.set(block, { text, gzip: null });
      if (!had) this.order.splice(position, 0, block);
    }
    // Chunk 0 is the head, so block at position p is chunk p + 1.
    position += 1;
    this.plainDigest.invalidateFrom(position);
    this.gzipDigest.invalidateFrom(position);
  }

  /** Index of `block` in `order`, or where it would be inserted. */
  private positionOf(block: number): number {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.order[middle] as number) < block) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private plainChunks(): Buffer[] {
    return [this.head, ...this.order.map((block) => this.blocks.get(block)?.text as Buffer), this.tail];
  }

  private gzipChunks(): Buffer[] {
    const members = this.order.map((block) => {
      const entry = this.blocks.get(block) as { text: Buffer; gzip: Buffer | null };
      entry.gzip ??= gzipMember(entry.text);
      return entry.gzip;
    });
    // An empty document is still a valid gzip file.
    if (members.length === 0 && !this.headGzip && !this.tailGzip) return [gzipMember(Buffer.alloc(0))];
    return [this.headGzip ?? Buffer.alloc(0), ...members, this.tailGzip ?? Buffer.alloc(0)];
  }

  /** The current bytes and digests; the plain bytes are joined only when someone asks for them. */
  snapshot(): IndexSnapshot {
    const plainChunks = this.plainChunks();
    const gzipChunks = this.gzipChunks();
    const gzip = Buffer.concat(gzipChunks);
    let plain: Buffer | null = null;
    return {
      plainDigests: this.plainDigest.digest(plainChunks),
      gzipDigests: gzipChunks.length === 1 && this.order.length === 0 ? digestsOf(gzip) : this.gzipDigest.digest(gzipChunks),
      gzip,
      plain: () => (plain ??= Buffer.concat(plainChunks)),
    };
  }
}

export interface IndexSnapshot {
  plainDigests: FileDigests;
  gzipDigests: FileDigests;
  gzip: Buffer;
  plain(): Buffer;
}

export function digestsOf(data: Buffer): FileDigests {
  const [md5, sha1, sha256] = ALGORITHMS.map((algorithm) => createHash(algorithm).update(data).digest('hex')) as [string, string, string];
  return { size: data.length, md5, sha1, sha256 };
}

/** Groups rows by block. */
export function byBlock<T extends { id: number }>(rows: readonly T[]): Map<number, T[]> {
  const blocks = new Map<number, T[]>();
  for (const row of rows) {
    const block = Math.floor(row.id / BLOCK_SIZE);
    let list = blocks.get(block);
    if (!list) blocks.set(block, (list = []));
    list.push(row);
  }
  return blocks;
}

/** What a tracker reads from the database for one distribution. */
export interface BlockSource<Entry> {
  /** Signatures of every block, or of the given ones. */
  signatures(blocks?: readonly number[]): Promise<BlockSignature[]>;
  /** Blocks holding listings of the named packages. */
  blocksOf(names: readonly string[]): Promise<number[]>;
  /** Published entries of the given blocks, in id order. */
  entries(blocks: readonly number[]): Promise<Entry[]>;
}

export interface BlockChanges<Entry> {
  /** Blocks whose entries changed, in order. */
  changed: number[];
  /** For each changed block, its entries before and after. */
  before: Map<number, Entry[]>;
  after: Map<number, Entry[]>;
}

/**
 * Which entries of a distribution this node knows, by block, and what changed since. After a
 * change to named packages only their blocks are checked, so the cost of a change does not grow
 * with the distribution; without names (first use, or a change nobody described) every block's
 * signature is compared, which reads integers only.
 */
export class BlockTracker<Entry extends { id: number; name: string }> {
  private readonly signatures = new Map<number, BlockSignature>();
  readonly blocks = new Map<number, Entry[]>();
  private readonly blocksByName = new Map<string, Set<number>>();
  private loaded = false;

  constructor(private readonly source: BlockSource<Entry>) {}

  get isEmpty(): boolean {
    return this.blocks.size === 0;
  }

  /** The newest listing time over all blocks. */
  newest(): string {
    let newest = new Date(0).toISOString();
    for (const signature of this.signatures.values()) if (signature.newest > newest) newest = signature.newest;
    return newest;
  }

  async update(names: ReadonlySet<string> | null): Promise<BlockChanges<Entry>> {
    let changed: number[];
    if (names === null || !this.loaded) {
      const current = await this.source.signatures();
      changed = changedBlocks(this.signatures, current);
      this.signatures.clear();
      for (const signature of current) this.signatures.set(signature.block, signature);
      this.loaded = true;
    } else {
      const list = [...names];
      const candidates = new Set(await this.source.blocksOf(list));
      // Blocks this node saw the packages in: a deleted listing is no longer in the database.
      for (const name of list) for (const block of this.blocksByName.get(name) ?? []) candidates.add(block);
      const blocks = [...candidates].sort((a, b) => a - b);
      const current = await this.source.signatures(blocks);
      const known = new Map(blocks.flatMap((block) => (this.signatures.has(block) ? [[block, this.signatures.get(block) as BlockSignature] as const] : [])));
      changed = changedBlocks(known, current);
      for (const block of blocks) this.signatures.delete(block);
      for (const signature of current) this.signatures.set(signature.block, signature);
    }
    const before = new Map<number, Entry[]>();
    const after = new Map<number, Entry[]>(changed.map((block) => [block, []]));
    for (const entry of await this.source.entries(changed)) after.get(Math.floor(entry.id / BLOCK_SIZE))?.push(entry);
    for (const [block, list] of after) {
      const old = this.blocks.get(block) ?? [];
      before.set(block, old);
      for (const entry of old) this.blocksByName.get(entry.name)?.delete(block);
      for (const entry of list) {
        let set = this.blocksByName.get(entry.name);
        if (!set) this.blocksByName.set(entry.name, (set = new Set()));
        set.add(block);
      }
      if (list.length === 0) this.blocks.delete(block);
      else this.blocks.set(block, list);
    }
    return { changed, before, after };
  }
}
