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

/**
 * A rendered npm document as a response: its validator, 304 for a current copy, compressed when
 * asked and worth it. `fromUpstream` marks a remote member's copy (`x-stockade-upstream: hit`).
 * The 200 answers are built once per document and variant and kept with it: callers must not
 * change them.
 */
export function docAnswer(requestHeaders: IncomingHttpHeaders, doc: RenderedDoc, contentType: string, fromUpstream = false): MemoryAnswer {
  const ifNoneMatch = requestHeaders['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === doc.etag)) {
    return { status: 304, headers: docHeaders(doc, contentType, fromUpstream), body: null };
  }
  const accept = requestHeaders['accept-encoding'];
  // Prefer brotli, then gzip; both are built once per document and kept with it.
  const encoding = accept && doc.body.length > COMPRESS_ABOVE_BYTES ? (/\bbr\b/.test(accept) ? 'br' : /\bgzip\b/.test(accept) ? 'gzip' : null) : null;
  const key = `${contentType}|${encoding ?? ''}|${fromUpstream ? 'u' : ''}`;
  let answer = doc.answers?.get(key);
  if (!answer) {
    const headers = docHeaders(doc, contentType, fromUpstream);
    if (encoding) headers['content-encoding'] = encoding;
    answer = { status: 200, headers, body: encoding ? compressed(doc, encoding) : doc.body };
    (doc.answers ??= new Map()).set(key, answer);
  }
  return answer;
}

function docHeaders(doc: RenderedDoc, contentType: string, fromUpstream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    etag: doc.etag,
    vary: 'accept, accept-encoding, authorization',
    'cache-control': 'private, max-age=0, must-revalidate',
  };
  if (fromUpstream) headers['x-stockade-upstream'] = 'hit';
  return headers;
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
