import type { FastifyRequest } from 'fastify';
import { Transform, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { StockadeError } from '../errors.js';

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Decodes compressed request bodies (npm gzips `npm audit` payloads). Fastify applies the body
 * limit to the decoded bytes, so a small compressed bomb cannot expand past it; the raw byte count
 * is reported as `receivedEncodedLength` so Content-Length is still checked against the wire.
 */
export function decodeRequestBody(request: FastifyRequest, payload: Readable): Readable {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return payload;
  const decoder = DECODERS[encoding];
  if (!decoder) throw new StockadeError('BAD_REQUEST', [`unsupported content-encoding "${encoding}"`]);
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      callback(null, chunk);
    },
  });
  const decoded = payload.pipe(counter).pipe(decoder());
  payload.on('error', (error) => decoded.destroy(error));
  decoded.on('error', () => undefined);
  Object.defineProperty(decoded, 'receivedEncodedLength', { get: () => received });
  return decoded;
}
