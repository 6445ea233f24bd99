import type { MemoryAnswer } from '../http/memory-path.js';
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import type { ChangeBus } from '../domain/changes.js';
import type { StoredPackage } from '../domain/packages.js';

/** A rendered document with its validator and lazily built compressed forms. */
export interface RenderedDoc {
  body: Buffer;
  etag: string;
  gzip?: Buffer;
  br?: Buffer;
  /** Whole answers built from it, per content type and encoding (see npm's `docAnswer`). */
  answers?: Map<string, MemoryAnswer>;
}

export interface CacheEntry {
  pkg: StoredPackage | null;
  expires: number;
  docs: Map<string, RenderedDoc>;
}

/** A document from a value (sent as JSON) or from text already rendered (an HTML page). */
export function renderDoc(value: unknown): RenderedDoc {
  const body = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

export function compressed(doc: RenderedDoc, encoding: 'gzip' | 'br'): Buffer {
  if (encoding === 'gzip') return (doc.gzip ??= gzipSync(doc.body, { level: 6 }));
  // Quality 5 compresses large packuments well at a fraction of quality 11's cost.
  return (doc.br ??= brotliCompressSync(doc.body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } }));
}

/**
 * Per-node cache of loaded packages and their rendered documents, so hot reads never touch the
 * database. Changes announced on the bus (from this node or, through PostgreSQL, any other) drop
 * entries; a generation counter keeps a load that raced with a change from caching stale data.
 */
export function createPackumentCache(options: { changes: ChangeBus; format: string; ttlMs?: number; max?: number }) {
  const ttlMs = options.ttlMs ?? 60_000;
  const max = options.max ?? 5_000;
  const entries = new Map<string, CacheEntry>();
  let generation = 0;

  options.changes.subscribe((topic, key) => {
    if (topic === 'repo' && key === '*') {
      generation++;
      entries.clear();
      return;
    }
    if (topic !== 'package') return;
    generation++;
    if (key === '*') return entries.clear();
    if (key.endsWith(':*')) {
      const prefix = key.slice(0, -1);
      for (const k of entries.keys()) if (k.startsWith(prefix)) entries.delete(k);
      return;
    }
    entries.delete(key);
  });

  return {
    key: (repoId: number, name: string) => `${repoId}:${options.format}:${name}`,

    /**
     * Returns the cached package (null = known missing), or loads it with `load`. With `currentRev`
     * (several nodes share the database) a hit is served only if its revision is still current, so
     * a client never reads an older document from one node after writing through another.
     */
    async get(key: string, load: () => Promise<StoredPackage | null>, currentRev?: () => Promise<number | null>): Promise<CacheEntry> {
      const hit = entries.get(key);
      if (hit && hit.expires > Date.now()) {
        if (!currentRev) return hit;
        const rev = await currentRev();
        if (rev === (hit.pkg?.rev ?? null)) return hit;
      }
      const seen = generation;
      const pkg = await load();
      const entry: CacheEntry = { pkg, expires: Date.now() + ttlMs, docs: new Map() };
      if (seen === generation) {
        if (entries.size >= max) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) entries.delete(oldest);
        }
        entries.set(key, entry);
      }
      return entry;
    },

    /** A fresh entry without loading anything, or undefined. */
    peek(key: string): CacheEntry | undefined {
      const hit = entries.get(key);
      return hit && hit.expires > Date.now() ? hit : undefined;
    },

    /** The rendered document `variant` of an entry, rendering it once. */
    doc(entry: CacheEntry, variant: string, render: () => unknown): RenderedDoc {
      let doc = entry.docs.get(variant);
      if (!doc) {
        doc = renderDoc(render());
        entry.docs.set(variant, doc);
      }
      return doc;
    },
  };
}

export type PackumentCache = ReturnType<typeof createPackumentCache>;
