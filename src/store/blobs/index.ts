import type { BlobStore } from './blob-store.js';
import { createFsBlobStore } from './fs.js';

export type { BlobDigests, BlobStore, BlobStoreDriver, BlobWriter, ByteRange, PutOptions } from './blob-store.js';
export { isSha256Hex, wrapBlobStore } from './blob-store.js';

/** One member per backend; `root` is already resolved against the data directory. */
export type BlobStoreConfig = { kind: 'fs'; root: string };

/** The one place that maps configuration to a backend. */
export function createBlobStore(config: BlobStoreConfig): BlobStore {
  switch (config.kind) {
    case 'fs':
      return createFsBlobStore({ root: config.root });
  }
}
