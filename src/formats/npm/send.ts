import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { MemoryAnswer } from '../../http/memory-path.js';
import { compressed, type RenderedDoc } from './cache.js';

/**
 * Documents up to this size go uncompressed: they fit in one initial TCP congestion window
 * (10 segments, RFC 6928), so compressing them saves no round trip, only bytes, while costing
 * the server and the client a zlib stream each. Larger packuments (popular packages run to
 * megabytes) are compressed.
 */
const COMPRESS_ABOVE_BYTES = 14_600;

/** A rendered npm document as a response: its validator, 304 for a current copy, compressed when asked and worth it. */
export function docAnswer(requestHeaders: IncomingHttpHeaders, doc: RenderedDoc, contentType: string): MemoryAnswer {
  const headers: Record<string, string> = {
    'content-type': contentType,
    etag: doc.etag,
    vary: 'accept, accept-encoding, authorization',
    'cache-control': 'private, max-age=0, must-revalidate',
  };
  const ifNoneMatch = requestHeaders['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === doc.etag)) {
    return { status: 304, headers, body: null };
  }
  const accept = requestHeaders['accept-encoding'];
  if (accept && doc.body.length > COMPRESS_ABOVE_BYTES) {
    // Prefer brotli, then gzip; both are built once per document and kept with it.
    if (/\bbr\b/.test(accept)) return { status: 200, headers: { ...headers, 'content-encoding': 'br' }, body: compressed(doc, 'br') };
    if (/\bgzip\b/.test(accept)) return { status: 200, headers: { ...headers, 'content-encoding': 'gzip' }, body: compressed(doc, 'gzip') };
  }
  return { status: 200, headers, body: doc.body };
}

/** Sends an answer through Fastify (the full path; the memory path writes answers itself). */
export function sendAnswer(reply: FastifyReply, answer: MemoryAnswer): FastifyReply {
  reply.code(answer.status).headers(answer.headers);
  return answer.body && answer.status !== 304 ? reply.send(answer.body) : reply.send();
}

/** Sends a rendered npm document (see `docAnswer`). */
export function sendDoc(request: FastifyRequest, reply: FastifyReply, doc: RenderedDoc, contentType: string): FastifyReply {
  return sendAnswer(reply, docAnswer(request.headers, doc, contentType));
}
