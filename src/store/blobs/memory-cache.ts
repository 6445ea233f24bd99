import { SizedLru } from '../sized-lru.js';
import type { BlobStore } from './blob-store.js';

/**
 * Keeps small blobs in memory after their first read, least recently used out first. Blobs are
 * content-addressed and immutable, so a cached copy is never stale and needs no invalidation.
 */
export function createBlobMemoryCache(store: BlobStore, options: { maxBytes: number; maxItemBytes?: number }) {
  const maxItemBytes = Math.min(options.maxItemBytes ?? 1024 * 1024, options.maxBytes);
  const entries = new SizedLru<Buffer>({ maxBytes: options.maxBytes, maxItemBytes });

  function keep(sha256: string, data: Buffer): void {
    if (!entries.has(sha256)) entries.set(sha256, data, data.length);
  }

  return {
    /** The cached bytes, without reading anything. */
    peek(sha256: string): Buffer | undefined {
      return entries.peek(sha256);
    },

    /** The blob's bytes when it is small enough to cache (reading and caching it on a miss), else null. */
    async read(sha256: string, size: number): Promise<Buffer | null> {
      if (size > maxItemBytes) return null;
      const hit = entries.get(sha256);
      if (hit) return hit;
      const data = await store.read(sha256);
      keep(sha256, data);
      return data;
    },

    /**
     * Keeps a blob just stored whose first read is about to come (a file fetched for a client
     * that is waiting for it), so serving it does not read back what is already in memory.
     */
    remember(sha256: string, data: Buffer): void {
      keep(sha256, data);
    },
  };
}

export type BlobMemoryCache = ReturnType<typeof createBlobMemoryCache>;
