import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { StockadeError, isStockadeError } from '../errors.js';
import { createLimiter, type Limiter } from './limiter.js';

/** How one upstream is reached; every number is bounded by the settings validation. */
export interface UpstreamClientOptions {
  /** Base URL, `http:` or `https:`, without credentials. */
  url: string;
  /** The whole Authorization header value; sent only to the upstream's own origin. */
  authorization?: string | null;
  /**
   * Other origins (`https://files.example.org`) files may come from, directly or by redirect;
   * never sent credentials. Metadata comes from the upstream's origin only.
   */
  fileOrigins?: readonly string[];
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
  /** The tail asked for with `appendFrom`; `digest` is the whole document's Repr-Digest (RFC 9530), if sent. */
  | { status: 206; body: Buffer; etag: string | null; lastModified: string | null; digest: string | null }
  | { status: 304; etag: string | null; lastModified: string | null }
  | { status: 404 }
  /** `appendFrom` lies beyond the document: it shrank or was replaced. */
  | { status: 416 };

export interface UpstreamClient {
  /** The upstream host, the only part of the URL that errors and logs may name. */
  readonly host: string;
  readonly origin: string;
  /**
   * GETs `path` (relative to the base URL) as metadata: 200, 304 (with validators) or 404. With
   * `appendFrom`, asks for the bytes from that offset on (an append-only document the caller
   * holds up to there): 206 with the tail, or 416, or a whole 200 when the upstream ignores ranges.
   */
  metadata(path: string, conditional?: ConditionalHeaders, accept?: string, appendFrom?: number): Promise<MetadataAnswer>;
  /**
   * GETs an absolute URL on the upstream's origin or a file origin as a file, whole, within the
   * file size limit, following redirects among those origins.
   */
  file(url: string): Promise<Buffer>;
  /**
   * Retires the client: its pooled connections close, at once when nothing is in flight, else as
   * soon as the requests in flight end (they finish normally). Later requests still work but keep
   * no connection open.
   */
  close(): void;
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

/** One answer inside an attempt. Whatever body is left unread when the attempt ends is dropped. */
interface Answer {
  status: number;
  header(name: string): string | null;
  /** The decoded body, refused as soon as it passes `limit` decoded bytes. At most once. */
  body(limit: number, what: string): Promise<Buffer>;
}

type Coding = 'identity' | 'gzip' | 'deflate' | 'br';
type Fail = (why: string) => Error;

/** How long an idle pooled connection is kept: under the 5 s that common servers keep one. */
const IDLE_SOCKET_MS = 4_000;
/** Connection errors of a pooled connection the upstream closed while it was idle. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);
/** Redirects a file fetch follows before giving up, as browsers and curl bound theirs. */
const MAX_FILE_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** What an admin does about a refused file host they trust. */
const TRUST_HINT = "; if that host is trusted, add its origin to the repository's fileOrigins (stockade repo upstream OWNER/REPO --file-origins ORIGIN)";

/** The content coding of a body (RFC 9110 §8.4): one of those we decode, or a refusal. */
function codingOf(header: string | undefined, what: string, fail: Fail): Coding {
  const codings = (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return 'identity';
  const only = codings.length === 1 ? codings[0] : undefined;
  if (only === 'gzip' || only === 'x-gzip') return 'gzip';
  if (only === 'deflate' || only === 'br') return only;
  const named = codings.join(', ');
  throw fail(`the ${what} has an unsupported content-encoding (${/^[\w.+, -]{1,60}$/.test(named) ? named : 'unreadable'})`);
}

function decoderFor(coding: Exclude<Coding, 'identity'>, first: Buffer | undefined): Transform {
  // Larger output chunks than zlib's 16 KiB mean fewer callbacks on big documents.
  const options = { chunkSize: 64 * 1024 };
  if (coding === 'gzip') return createGunzip(options);
  if (coding === 'br') return createBrotliDecompress(options);
  // "deflate" is the zlib format (RFC 9110 §8.4.1.2), but some servers send raw deflate: a zlib
  // stream starts with a header whose low nibble names the deflate method (8).
  return first && first.length > 0 && (first[0]! & 0x0f) !== 0x08 ? createInflateRaw(options) : createInflate(options);
}

/**
 * Reads a body whole. Decoded bytes count against `limit` as they come out of the decoder, so an
 * endless body or a compression bomb is cut at the limit instead of being buffered or inflated
 * in full. A declared Content-Length is checked before reading (identity bodies only: it counts
 * encoded bytes) and against the encoded bytes that arrive.
 */
function readBody(response: IncomingMessage, limit: number, what: string, fail: Fail): Promise<Buffer> {
  const coding = codingOf(response.headers['content-encoding'], what, fail);
  const length = response.headers['content-length'];
  const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
  if (coding === 'identity' && declared !== null && declared > limit) throw fail(`the ${what} is ${declared} bytes, over the limit of ${limit}`);
  // Compressed data is never much larger than what it decodes to; this bounds a body that decodes to nothing.
  const rawLimit = coding === 'identity' ? limit : limit + (limit >> 8) + 1024;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let raw = 0;
    let rawEnded = false;
    let settled = false;
    let decoder: Transform | null = null;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      if (error) {
        decoder?.destroy();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const overLimit = () => finish(fail(`the ${what} exceeds the limit of ${limit} bytes`));
    const take = (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) return overLimit();
      chunks.push(chunk);
    };
    const open = (first: Buffer | undefined): Transform => {
      const created = decoderFor(coding as Exclude<Coding, 'identity'>, first);
      created.on('data', take);
      created.on('end', () => finish(null));
      created.on('error', (error: NodeJS.ErrnoException) => {
        // zlib and brotli both report input that stops mid-stream as Z_BUF_ERROR.
        if (error.code === 'Z_BUF_ERROR') finish(fail(`the ${what} was truncated (the ${coding} stream ended early)`));
        else finish(fail(`the ${what} could not be decoded (${coding}: ${error.message})`));
      });
      created.on('drain', () => response.resume());
      return created;
    };
    response.on('data', (chunk: Buffer) => {
      if (settled) return;
      raw += chunk.length;
      if (coding === 'identity') return take(chunk);
      if (raw > rawLimit) return overLimit();
      decoder ??= open(chunk);
      if (!decoder.write(chunk)) response.pause();
    });
    response.on('end', () => {
      rawEnded = true;
      if (settled) return;
      if (declared !== null && raw !== declared) return finish(fail(`the ${what} was truncated (${raw} of ${declared} bytes)`));
      if (coding === 'identity') return finish(null);
      (decoder ??= open(undefined)).end();
    });
    // A body cut off (by the upstream or by our timeout) ends in 'close' without 'end'; the attempt tells which.
    response.on('error', () => undefined);
    response.on('close', () => {
      if (rawEnded) return;
      if (declared !== null && raw < declared) finish(fail(`the ${what} was truncated (${raw} of ${declared} bytes)`));
      else finish(fail('the connection broke while reading the body'));
    });
  });
}

/** The error code of a failed connection, if it is one worth naming (never free text). */
function connectionCode(error: unknown): string {
  const found = error as { code?: unknown; errors?: { code?: unknown }[] };
  const code = found.code ?? found.errors?.[0]?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'network error';
}

/** Lets an answer that has arrived whole run to its end, which frees its connection for the next request. */
function drained(response: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    response.once('end', resolve);
    response.once('close', resolve);
    response.resume();
  });
}

/** Drops `user:password@` from a URL the upstream wrote: node would send it as Basic credentials. */
function withoutUserinfo(url: URL): URL {
  url.username = '';
  url.password = '';
  return url;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An HTTP client for one upstream registry: per-attempt timeout, retries with exponential backoff
 * on network errors, 5xx and 429 (honouring Retry-After), a concurrency limit, size limits on
 * every (decoded) body, and coalescing of identical requests in flight. Connections are kept
 * alive in pools of the client's own, one per origin. Files come only from the upstream's origin
 * and the configured file origins, and a file redirect is followed only among those (no SSRF
 * through hostile metadata or answers); metadata redirects are not followed. Credentials travel
 * only in the Authorization header and only to the upstream's own origin; no error or log names
 * them.
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new StockadeError('VALIDATION_FAILED', ['the upstream URL must be http or https']);
  if (base.username || base.password) throw new StockadeError('VALIDATION_FAILED', ['the upstream URL must not carry credentials: set them separately']);
  const host = base.host;
  const origin = base.origin;
  const allowed = new Set([origin]);
  for (const raw of options.fileOrigins ?? []) {
    const fileOrigin = URL.canParse(raw) ? new URL(raw) : null;
    if (fileOrigin?.protocol !== 'http:' && fileOrigin?.protocol !== 'https:') throw new StockadeError('VALIDATION_FAILED', ['a file origin must be an http or https origin']);
    allowed.add(fileOrigin.origin);
  }
  const baseHref = base.href.endsWith('/') ? base.href : `${base.href}/`;
  const limiter: Limiter = createLimiter(options.concurrency);
  const backoffMs = options.backoffMs ?? 250;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const inFlight = new Map<string, Promise<unknown>>();
  // One pool per origin, made on first use. The limiter caps requests in flight; the headroom
  // means a connection being torn down never holds up the next request.
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets: options.concurrency + 2, maxFreeSockets: options.concurrency, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' as const };
  const agents = new Map<string, HttpAgent>();
  const agentFor = (url: URL): HttpAgent => {
    let agent = agents.get(url.origin);
    if (!agent) agents.set(url.origin, (agent = url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)));
    return agent;
  };
  const destroyAgents = () => {
    for (const agent of agents.values()) agent.destroy();
  };
  let attempts = 0;
  let closed = false;

  /** Our errors name the repository's upstream by host; the caller fills in the repository. */
  const failed = (why: string) => new StockadeError('UPSTREAM_FAILED', [host, why], { why });
  const timedOut = (why: string) => new StockadeError('UPSTREAM_TIMEOUT', [host, why], { why });

  /** Sends a GET; the promise settles with the answer's head or the connection's failure. */
  function get(url: URL, headers: Record<string, string>): { request: ClientRequest; answered: Promise<IncomingMessage> } {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { agent: agentFor(url), headers });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      // Stays attached: a socket error after the answer surfaces on the body instead.
      request.on('error', reject);
      request.once('close', () => reject(new Error('closed before an answer')));
    });
    request.end();
    return { request, answered };
  }

  async function attempt<T>(url: URL, headers: Record<string, string>, read: (answer: Answer) => Promise<T>): Promise<T> {
    attempts++;
    let request: ClientRequest | null = null;
    let response: IncomingMessage | null = null;
    let expired = false;
    let reading = false;
    let consumed = false;
    const timer = setTimeout(() => {
      expired = true;
      request?.destroy();
    }, options.timeoutMs);
    try {
      for (let resends = 0; response === null; resends++) {
        const sent = get(url, headers);
        request = sent.request;
        try {
          response = await sent.answered;
        } catch (error) {
          if (expired) throw timedOut(`no answer within ${options.timeoutMs} ms`);
          const code = connectionCode(error);
          // A pooled connection the upstream closed while idle fails before any answer: a GET
          // is safe to send again, and that is no failed attempt.
          if (sent.request.reusedSocket && STALE_SOCKET_CODES.has(code) && resends < options.concurrency + 2) continue;
          throw new RetryableError(`connection failed (${code})`, null);
        }
      }
      const answer = response;
      const status = answer.statusCode ?? 0;
      const header = (name: string) => {
        const value = answer.headers[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      };
      if (status >= 500 || status === 429) throw new RetryableError(`HTTP ${status}`, retryAfterMs(header('retry-after')));
      try {
        return await read({
          status,
          header,
          async body(limit, what) {
            reading = true;
            const body = await readBody(answer, limit, what, failed);
            consumed = true;
            return body;
          },
        });
      } catch (error) {
        if (expired) throw timedOut(`the body did not arrive within ${options.timeoutMs} ms`);
        if (isStockadeError(error)) throw error;
        throw failed('the connection broke while reading the body');
      }
    } finally {
      clearTimeout(timer);
      // Only a connection at a message boundary goes back to the pool: a body read whole, or an
      // unread one that has already arrived whole. Anything else is closed.
      if (!consumed) {
        if (response?.complete && !reading) await drained(response);
        else request?.destroy();
      }
      attempts--;
      if (closed && attempts === 0) destroyAgents();
    }
  }

  async function withRetries<T>(url: URL, headers: Record<string, string>, read: (answer: Answer) => Promise<T>): Promise<T> {
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
    const headers: Record<string, string> = { 'user-agent': 'stockade-remote', 'accept-encoding': 'gzip, deflate, br', ...extra };
    if (options.authorization && url.origin === origin) headers.authorization = options.authorization;
    return headers;
  }

  /**
   * A file, following up to MAX_FILE_REDIRECTS redirects, each to an allowed origin. Every hop is
   * a request of its own: its own attempts, timeout and concurrency slot, and credentials only
   * when it goes to the upstream's origin.
   */
  async function fetchFile(start: URL): Promise<Buffer> {
    let url = start;
    for (let hops = 0; ; hops++) {
      const from = url;
      let result: Buffer | URL;
      try {
        result = await withRetries(from, headersFor(from, { accept: 'application/octet-stream' }), async (answer): Promise<Buffer | URL> => {
          if (answer.status === 404 || answer.status === 410) throw new StockadeError('NOT_FOUND', [`upstream file ${from.pathname.split('/').pop() ?? ''}`]);
          if (REDIRECT_STATUSES.has(answer.status)) {
            const location = answer.header('location');
            if (location === null) throw failed(`HTTP ${answer.status} for a file without a Location header`);
            if (!URL.canParse(location, from.href)) throw failed(`HTTP ${answer.status} for a file with a Location that is not a URL`);
            return withoutUserinfo(new URL(location, from));
          }
          if (answer.status !== 200) throw failed(`HTTP ${answer.status} for a file`);
          return answer.body(options.maxFileBytes, 'file');
        });
      } catch (error) {
        // The caller names only the upstream: a failure at a file origin says where it happened.
        if (from.origin !== origin && isStockadeError(error) && (error.code === 'UPSTREAM_FAILED' || error.code === 'UPSTREAM_TIMEOUT')) {
          const why = `${String(error.details?.why ?? error.message)} at ${from.host}`;
          throw error.code === 'UPSTREAM_TIMEOUT' ? timedOut(why) : failed(why);
        }
        throw error;
      }
      if (!(result instanceof URL)) return result;
      if (!allowed.has(result.origin)) throw failed(`a file redirect points away from the allowed origins (${result.host || result.protocol})${TRUST_HINT}`);
      if (hops >= MAX_FILE_REDIRECTS) throw failed(`a file took more than ${MAX_FILE_REDIRECTS} redirects`);
      url = result;
    }
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
    async metadata(path, conditional = {}, accept = 'application/json', appendFrom) {
      const url = new URL(path.replace(/^\/+/, ''), baseHref);
      if (url.origin !== origin) throw failed('a metadata path left the upstream');
      const extra: Record<string, string> = { accept };
      if (conditional.etag) extra['if-none-match'] = conditional.etag;
      if (conditional.lastModified) extra['if-modified-since'] = conditional.lastModified;
      if (appendFrom !== undefined) {
        // A range of a compressed answer would be a range of the compressed bytes.
        extra.range = `bytes=${appendFrom}-`;
        extra['accept-encoding'] = 'identity';
      }
      const key = `m ${url.href} ${accept} ${conditional.etag ?? ''} ${conditional.lastModified ?? ''} ${appendFrom ?? ''}`;
      return coalesce(key, () =>
        withRetries<MetadataAnswer>(url, headersFor(url, extra), async (answer) => {
          const etag = answer.header('etag');
          const lastModified = answer.header('last-modified');
          if (answer.status === 304) return { status: 304, etag, lastModified };
          if (answer.status === 404 || answer.status === 410) return { status: 404 };
          if (appendFrom !== undefined && answer.status === 416) return { status: 416 };
          if (appendFrom !== undefined && answer.status === 206) {
            const range = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(answer.header('content-range') ?? '');
            if (!range || Number(range[1]) !== appendFrom) throw failed('a partial metadata answer for another range than asked');
            const body = await answer.body(options.maxMetadataBytes, 'metadata document');
            return { status: 206, body, etag, lastModified, digest: answer.header('repr-digest') };
          }
          // Redirects included: an upstream that moved is reconfigured, not followed.
          if (answer.status !== 200) throw failed(`HTTP ${answer.status} for metadata`);
          return { status: 200, body: await answer.body(options.maxMetadataBytes, 'metadata document'), etag, lastModified };
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
      withoutUserinfo(url);
      // Metadata cannot send us to a host an admin did not allow (SSRF).
      if (!allowed.has(url.origin)) throw failed(`a file URL points away from the allowed origins (${url.host || url.protocol})${TRUST_HINT}`);
      return coalesce(`f ${url.href}`, () => fetchFile(url));
    },
    close() {
      closed = true;
      if (attempts === 0) destroyAgents();
    },
  };
}
