import type { Domain } from '../domain/index.js';
import type { BlobStore } from '../store/blobs/blob-store.js';

export interface GcTally {
  /** Blobs in the store. */
  scanned: number;
  /** Blobs no stored file refers to. */
  unreferenced: number;
  /** Of those, removed (or, in a dry run, that would be). */
  removed: number;
  bytesRemoved: number;
  /** Unreferenced but younger than the grace period: possibly a publish still in flight. */
  spared: number;
}

/**
 * Removes blobs no stored file refers to: tarballs of blocked or failed uploads, of rejected
 * quarantined versions and of unpublished ones. A blob is only removed once it is older than
 * `graceMs`, because a publish writes its blob before its database transaction commits (and every
 * put renews a blob's time). Safe to run while servers are serving.
 */
export async function collectGarbage(deps: { domain: Domain; blobs: BlobStore }, options: { graceMs: number; dryRun?: boolean; now?: Date }): Promise<GcTally> {
  const tally: GcTally = { scanned: 0, unreferenced: 0, removed: 0, bytesRemoved: 0, spared: 0 };
  const cutoff = (options.now ?? new Date()).getTime() - options.graceMs;
  // Read after the listing starts would miss nothing: anything referenced later was put later, so it is young.
  const referenced = new Set((await deps.domain.db.selectFrom('files').select('sha256').distinct().execute()).map((r) => r.sha256));
  for await (const sha256 of deps.blobs.list()) {
    tally.scanned++;
    if (referenced.has(sha256)) continue;
    tally.unreferenced++;
    const info = await deps.blobs.stat(sha256);
    if (!info) continue;
    if (info.storedAt.getTime() > cutoff) {
      tally.spared++;
      continue;
    }
    // A publish committed since the set was read refers to a blob it has just renewed, so it is
    // spared above; this check covers a version committed with a reused old blob in between.
    const stillUnreferenced = !(await deps.domain.db.selectFrom('files').select('id').where('sha256', '=', sha256).executeTakeFirst());
    if (!stillUnreferenced) continue;
    if (!options.dryRun) await deps.blobs.delete(sha256);
    tally.removed++;
    tally.bytesRemoved += info.size;
  }
  return tally;
}
