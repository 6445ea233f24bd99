import { StockadeError, isStockadeError } from '../errors.js';
import { createLimiter, type Limiter } from './limiter.js';

/** How one upstream is reached; every number is bounded by the settings validation. */
export interface UpstreamClientOptions {
  /** Base URL, `http:` or `https:`, without credentials. */
  url: string;
  /** The whole Authorization header value; sent only to the upstream's own origin. */
  authorization?: string | null;
  /** Per attempt, covering headers and body. */
  timeoutMs: number;
  /** Extra attempts after the first, for network errors, 5xx and 429. */
  retries: number;
  /** Requests in flight to this upstream from this node. */
  concurrency: number;
  maxMetadataBytes: number;
  maxFileBytes: number;
  /** First backoff delay; doubles per attempt. Tests shorten it. */
  backoffMs?: number;
  /** Longest Retry-After honoured; a longer one fails the request instead of stalling it. */
  maxRetryAfterMs?: number;
}

export interface ConditionalHeaders {
  etag?: string | null;
  lastModified?: string | null;
}

export type MetadataAnswer =
  | { status: 200; body: Buffer; etag: string | null; lastModified: string | null }
  | { status: 304; etag: string | null; lastModified: string | null }
  | { status: 404 };

export interface UpstreamClient {
  /** The upstream host, the only part of the URL that errors and logs may name. */
  readonly host: string;
  readonly origin: string;
  /** GETs `path` (relative to the base URL) as metadata: 200, 304 (with validators) or 404. */
  metadata(path: string, conditional?: ConditionalHeaders, accept?: string): Promise<MetadataAnswer>;
  /** GETs an absolute URL on the upstream's origin as a file, whole, within the file size limit. */
  file(url: string): Promise<Buffer>;
}

/** Thrown for answers worth another attempt; carries the upstream's Retry-After. */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from now. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Reads a body, refusing it as soon as it grows past `limit` (an endless body is cut, not buffered). */
async function readLimited(response: Response, limit: number, what: string, fail: (why: string) => Error): Promise<Buffer> {
  // fetch decodes gzip/br bodies: Content-Length then counts encoded bytes, so it only checks identity bodies.
  const encoding = (response.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const declared = encoding === 'identity' ? Number(response.headers.get('content-length') ?? NaN) : NaN;
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw fail(`the ${what} is ${declared} bytes, over the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw fail(`the ${what} exceeds the limit of ${limit} bytes`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  const body = Buffer.concat(chunks, size);
  if (Number.isFinite(declared) && declared !== size) {
    throw fail(`the ${what} was truncated (${size} of ${declared} bytes)`);
  }
  return body;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An HTTP client for one upstream registry: per-attempt timeout, retries with exponential backoff
 * on network errors, 5xx and 429 (honouring Retry-After), a concurrency limit, size limits on
 * every body, and coalescing of identical requests in flight. Credentials travel only in the
 * Authorization header and only to the upstream's own origin; no error or log names them.
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new StockadeError('VALIDATION_FAILED', ['the upstream URL must be http or https']);
  if (base.username || base.password) throw new StockadeError('VALIDATION_FAILED', ['the upstream URL must not carry credentials: set them separately']);
  const host = base.host;
  const origin = base.origin;
  const baseHref = base.href.endsWith('/') ? base.href : `${base.href}/`;
  const limiter: Limiter = createLimiter(options.concurrency);
  const backoffMs = options.backoffMs ?? 250;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const inFlight = new Map<string, Promise<unknown>>();

  /** Our errors name the repository's upstream by host; the caller fills in the repository. */
  const failed = (why: string) => new StockadeError('UPSTREAM_FAILED', [host, why], { why });

  async function attempt<T>(url: URL, headers: Record<string, string>, read: (response: Response) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal, redirect: 'manual' });
    } catch (error) {
      if (signal.aborted) throw new StockadeError('UPSTREAM_TIMEOUT', [host, `no answer within ${options.timeoutMs} ms`], { why: `no answer within ${options.timeoutMs} ms` });
      throw new RetryableError(`connection failed (${(error as { cause?: { code?: string } }).cause?.code ?? 'network error'})`, null);
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel().catch(() => undefined);
      throw new RetryableError(`HTTP ${response.status}`, retryAfterMs(response.headers.get('retry-after')));
    }
    try {
      return await read(response);
    } catch (error) {
      if (signal.aborted) throw new StockadeError('UPSTREAM_TIMEOUT', [host, `the body did not arrive within ${options.timeoutMs} ms`], { why: `the body did not arrive within ${options.timeoutMs} ms` });
      if (isStockadeError(error)) throw error;
      throw failed('the connection broke while reading the body');
    }
  }

  async function withRetries<T>(url: URL, headers: Record<string, string>, read: (response: Response) => Promise<T>): Promise<T> {
    for (let attemptNo = 0; ; attemptNo++) {
      try {
        return await limiter.run(() => attempt(url, headers, read));
      } catch (error) {
        if (!(error instanceof RetryableError)) throw error;
        if (attemptNo >= options.retries) throw failed(`${error.message} after ${attemptNo + 1} attempt${attemptNo === 0 ? '' : 's'}`);
        if (error.retryAfterMs !== null && error.retryAfterMs > maxRetryAfterMs) throw failed(`${error.message}, retry after ${Math.ceil(error.retryAfterMs / 1000)} s`);
        await sleep(Math.max(error.retryAfterMs ?? 0, backoffMs * 2 ** attemptNo));
      }
    }
  }

  function headersFor(url: URL, extra: Record<string, string>): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': 'stockade-remote', ...extra };
    if (options.authorization && url.origin === origin) headers.authorization = options.authorization;
    return headers;
  }

  function coalesce<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const started = run().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  return {
    host,
    origin,
    async metadata(path, conditional = {}, accept = 'application/json') {
      const url = new URL(path.replace(/^\/+/, ''), baseHref);
      if (url.origin !== origin) throw failed('a metadata path left the upstream');
      const extra: Record<string, string> = { accept };
      if (conditional.etag) extra['if-none-match'] = conditional.etag;
      if (conditional.lastModified) extra['if-modified-since'] = conditional.lastModified;
      const key = `m ${url.href} ${accept} ${conditional.etag ?? ''} ${conditional.lastModified ?? ''}`;
      return coalesce(key, () =>
        withRetries<MetadataAnswer>(url, headersFor(url, extra), async (response) => {
          const etag = response.headers.get('etag');
          const lastModified = response.headers.get('last-modified');
          if (response.status === 304) return { status: 304, etag, lastModified };
          if (response.status === 404 || response.status === 410) {
            await response.body?.cancel().catch(() => undefined);
            return { status: 404 };
          }
          if (response.status !== 200) {
            await response.body?.cancel().catch(() => undefined);
            throw failed(`HTTP ${response.status} for metadata`);
          }
          return { status: 200, body: await readLimited(response, options.maxMetadataBytes, 'metadata document', failed), etag, lastModified };
        }),
      );
    },
    async file(href) {
      let url: URL;
      try {
        url = new URL(href);
      } catch {
        throw failed('a file URL in the metadata is not a URL');
      }
      // Files come from the upstream itself: metadata cannot send us to another host (SSRF).
      if (url.origin !== origin) throw failed(`a file URL points away from the upstream (${url.host})`);
      return coalesce(`f ${url.href}`, () =>
        withRetries(url, headersFor(url, { accept: 'application/octet-stream' }), async (response) => {
          if (response.status === 404 || response.status === 410) {
            await response.body?.cancel().catch(() => undefined);
            throw new StockadeError('NOT_FOUND', [`upstream file ${url.pathname.split('/').pop() ?? ''}`]);
          }
          if (response.status !== 200) {
            await response.body?.cancel().catch(() => undefined);
            throw failed(`HTTP ${response.status} for a file`);
          }
          return readLimited(response, options.maxFileBytes, 'file', failed);
        }),
      );
    },
  };
}
