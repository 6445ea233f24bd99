import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Domain } from '../domain/index.js';
import type { SecurityGate } from '../security/service.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { BlobMemoryCache } from '../store/blobs/memory-cache.js';
import { type MemoryPath, originOf } from './memory-path.js';

/** What every route plugin receives. */
export interface ServerContext {
  config: Config;
  domain: Domain;
  blobs: BlobStore;
  /** Small downloads served from memory; shared by every format on this node. */
  blobCache: BlobMemoryCache;
  /** Every artifact that enters passes it before it becomes visible. */
  gate: SecurityGate;
  log: FastifyBaseLogger;
  /** Formats register the reads they can answer from memory, before the framework (see memory-path.ts). */
  memoryPath: MemoryPath;
}

/** The URL clients reach this server at, without a trailing slash (see `originOf`). */
export function baseUrl(config: Config, request: FastifyRequest): string {
  return originOf(config, request.raw);
}
