import type { FastifyReply, FastifyRequest } from 'fastify';
import { compressed, type RenderedDoc } from './cache.js';

/**
 * Documents up to this size go uncompressed: they fit in one initial TCP congestion window
 * (10 segments, RFC 6928), so compressing them saves no round trip, only bytes, while costing
 * the server and the client a zlib stream each. Larger packuments (popular packages run to
 * megabytes) are compressed.
 */
const COMPRESS_ABOVE_BYTES = 14_600;

/** Sends a rendered npm document: its validator, 304 for a current copy, compressed when asked and worth it. */
export function sendDoc(request: FastifyRequest, reply: FastifyReply, doc: RenderedDoc, contentType: string): FastifyReply {
  reply.headers({
    'content-type': contentType,
    etag: doc.etag,
    vary: 'accept, accept-encoding, authorization',
    'cache-control': 'private, max-age=0, must-revalidate',
  });
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === doc.etag)) {
    return reply.code(304).send();
  }
  const accept = request.headers['accept-encoding'];
  if (accept && doc.body.length > COMPRESS_ABOVE_BYTES) {
    // Prefer brotli, then gzip; both are built once per document and kept with it.
    if (/\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(compressed(doc, 'br'));
    if (/\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(compressed(doc, 'gzip'));
  }
  return reply.send(doc.body);
}
