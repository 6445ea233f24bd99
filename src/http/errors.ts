import type { FastifyReply, FastifyRequest } from 'fastify';
import { StockadeError, isStockadeError } from '../errors.js';

/** Turns anything thrown in a request (ours, Fastify's, a body parser's) into a catalog error. */
export function toStockadeError(error: unknown, bodyLimit: number): StockadeError {
  if (isStockadeError(error)) return error;
  const e = error as { code?: string; statusCode?: number; message?: string; validation?: unknown } | null;
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new StockadeError('BODY_TOO_LARGE', [bodyLimit]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new StockadeError('INVALID_JSON', [e.message ?? 'unparseable']);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new StockadeError('BAD_REQUEST', [e.message ?? 'unsupported body']);
    case 'FST_ERR_VALIDATION':
      return new StockadeError('VALIDATION_FAILED', [e.message ?? 'schema validation failed']);
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return new StockadeError('BAD_REQUEST', ['the client closed the connection during the request']);
  }
  if (e?.validation) return new StockadeError('VALIDATION_FAILED', [e.message ?? 'schema validation failed']);
  if (error instanceof SyntaxError && /JSON/.test(error.message)) return new StockadeError('INVALID_JSON', [error.message]);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new StockadeError('BAD_REQUEST', [e.message ?? 'bad request']);
  }
  return new StockadeError('INTERNAL');
}

/** Logs server faults with their stack; client errors are routine and stay at debug. */
export function logError(request: FastifyRequest, raw: unknown, mapped: StockadeError): void {
  if (mapped.status >= 500) request.log.error({ err: raw, code: mapped.code }, 'request failed');
  else request.log.debug({ code: mapped.code, message: mapped.message }, 'request rejected');
}

/**
 * Headers an error implies whatever the format: its stable code (formats whose clients print
 * plain text carry it nowhere else), `Retry-After` on a lockout, and the `OTP` challenge that
 * makes npm ask for (or send) a one-time password and repeat the request.
 */
export function applyErrorHeaders(reply: FastifyReply, error: StockadeError): void {
  reply.header('x-stockade-error', error.code);
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (error.code === 'OTP_REQUIRED' || error.code === 'INVALID_OTP') reply.header('www-authenticate', 'OTP');
}
