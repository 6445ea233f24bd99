import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Domain } from '../domain/index.js';
import type { SecurityGate } from '../security/service.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { BlobMemoryCache } from '../store/blobs/memory-cache.js';

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
}

/**
 * The URL clients reach this server at, without a trailing slash: the configured public URL, or
 * the request's own scheme and host (X-Forwarded-* only count when a trusted proxy is configured,
 * which Fastify's `trustProxy` already enforces).
 */
export function baseUrl(config: Config, request: FastifyRequest): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}
