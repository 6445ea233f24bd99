import proxyAddr from '@fastify/proxy-addr';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Principal } from '../domain/access.js';
import type { Domain } from '../domain/index.js';
import { peekPrincipal } from './auth.js';
import { loggablePath, requestLogEntry } from './request-log.js';
import { HSTS_HEADER, SECURITY_HEADERS } from './security-headers.js';
import { SESSION_COOKIE } from './session.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Reads answered before routing (see createMemoryPath). */
    memoryPath: MemoryPath;
  }
}

/** A read of `/{owner}/{repo}/{format}/…` that a format may answer from what this node holds. */
export interface MemoryRead {
  method: 'GET' | 'HEAD';
  owner: string;
  repo: string;
  /** The path below `/{owner}/{repo}/{format}`, as sent (percent-encoded). */
  path: string;
  /** The query string without `?`, or ''. */
  query: string;
  headers: IncomingHttpHeaders;
  principal: Principal | null;
  /** The scheme and host clients reach this server at (see `baseUrl`). */
  origin: string;
}

/**
 * A whole response; `body` is left out of HEAD answers by Node itself. Formats may hand out the
 * same answer again for the same document, so nobody changes one once built.
 */
export interface MemoryAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer | null;
}

/** Answers a read from memory, or returns null to hand it to the framework (the full path). */
export type MemoryHandler = (read: MemoryRead) => MemoryAnswer | null;

/**
 * The scheme and host clients reach this server at, without a trailing slash: the configured
 * public URL, or the request's own scheme and host.
 */
export function originOf(config: Config, raw: IncomingMessage): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, '');
  const forwardedHost = config.server.trustProxy ? lastEntry(raw.headers['x-forwarded-host']) : undefined;
  return `${protocolOf(config, raw)}://${forwardedHost ?? raw.headers.host ?? ''}`;
}

/**
 * The scheme the request arrived over. X-Forwarded-Proto (and -Host above) count only when a
 * trusted proxy is configured, the last value winning, as in Fastify's own request.
 */
export function protocolOf(config: Config, raw: IncomingMessage): string {
  const forwarded = config.server.trustProxy ? lastEntry(raw.headers['x-forwarded-proto']) : undefined;
  return forwarded ?? ((raw.socket as TLSSocket).encrypted ? 'https' : 'http');
}

function lastEntry(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const at = value.lastIndexOf(',');
  return at < 0 ? value.trim() : value.slice(at + 1).trim();
}

/** The client's address: the socket's, or behind a trusted proxy the first X-Forwarded-For entry. */
export function clientAddress(config: Config, raw: IncomingMessage): string | null {
  const address = config.server.trustProxy ? proxyAddr(raw, () => true) : raw.socket.remoteAddress;
  return address ?? null;
}

/** A Fastify request as a memory read, for a format's own route to try the same answer. */
export function memoryReadOf(config: Config, request: FastifyRequest, owner: string, repo: string, prefix: string): MemoryRead | null {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  const raw = request.raw.url ?? '/';
  const queryAt = raw.indexOf('?');
  const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
  return {
    method: request.method,
    owner,
    repo,
    path: pathname.startsWith(prefix) ? pathname.slice(prefix.length) : pathname,
    query: queryAt < 0 ? '' : raw.slice(queryAt + 1),
    headers: request.headers,
    principal: request.principal,
    origin: originOf(config, request.raw),
  };
}

/**
 * The memory path: reads that a format can answer from this node's memory (a cached packument, a
 * small tarball held in memory) are answered before the web framework sees the request. A warm
 * install asks little else, and the framework's routing, request objects, per-request logger and
 * hook chain cost more than the answer itself: about half of the time to the first byte after an
 * idle moment, measured. Everything a request needs on any path is done here the same way: the
 * per-request check for other processes' writes, the security headers, authentication (only
 * credentials this node has verified lately; anything else goes to the framework, which decides
 * and answers errors), and the request log line. Anything unusual goes to the framework.
 */
export function createMemoryPath(deps: { config: Config; domain: Domain; log: FastifyBaseLogger }) {
  const { config, domain, log } = deps;
  const handlers = new Map<string, MemoryHandler>();
  let closing = false;
  let answered = 0;

  function principalOf(raw: IncomingMessage): Principal | null | undefined {
    const header = raw.headers.authorization;
    if (header === undefined) return raw.headers.cookie?.includes(SESSION_COOKIE) ? undefined : null;
    const ip = clientAddress(config, raw);
    const principal = peekPrincipal(domain, header, ip);
    if (!principal) return undefined;
    principal.ip = ip;
    return principal;
  }

  /** The headers sent with an answer, kept per answer: formats hand out the same answer for a document again. */
  const sentHeaders = new WeakMap<object, { body: Buffer | null; hsts: boolean; headers: Record<string, string | number> }>();
  function headersOf(answer: MemoryAnswer, hsts: boolean): Record<string, string | number> {
    const kept = sentHeaders.get(answer.headers);
    if (kept && kept.body === answer.body && kept.hsts === hsts) return kept.headers;
    const headers: Record<string, string | number> = { ...SECURITY_HEADERS, ...answer.headers };
    if (hsts) headers[HSTS_HEADER.name] = HSTS_HEADER.value;
    if (answer.body && answer.status !== 304) headers['content-length'] = answer.body.length;
    sentHeaders.set(answer.headers, { body: answer.body, hsts, headers });
    return headers;
  }

  /** Answers `raw` when a format can; false hands it to the framework untouched. */
  function serve(raw: IncomingMessage, response: ServerResponse): boolean {
    const started = performance.now();
    const method = raw.method;
    if ((method !== 'GET' && method !== 'HEAD') || closing || handlers.size === 0) return false;
    const url = raw.url ?? '';
    const queryAt = url.indexOf('?');
    const pathname = queryAt < 0 ? url : url.slice(0, queryAt);
    // `/{owner}/{repo}/{format}/…`; anything the router would normalize or decode goes there.
    const ownerEnd = pathname.indexOf('/', 1);
    const repoEnd = ownerEnd < 0 ? -1 : pathname.indexOf('/', ownerEnd + 1);
    const formatEnd = repoEnd < 0 ? -1 : pathname.indexOf('/', repoEnd + 1);
    if (pathname[0] !== '/' || formatEnd < 0 || pathname.includes('//')) return false;
    const owner = pathname.slice(1, ownerEnd);
    const repo = pathname.slice(ownerEnd + 1, repoEnd);
    if (owner.includes('%') || repo.includes('%')) return false;
    const handler = handlers.get(pathname.slice(repoEnd + 1, formatEnd));
    if (!handler) return false;

    domain.changes.poll();
    const principal = principalOf(raw);
    if (principal === undefined) return false;
    const origin = originOf(config, raw);
    let answer: MemoryAnswer | null;
    try {
      answer = handler({ method, owner, repo, path: pathname.slice(formatEnd), query: queryAt < 0 ? '' : url.slice(queryAt + 1), headers: raw.headers, principal, origin });
    } catch (error) {
      // The full path gives the client the proper error; here it is only noted.
      log.debug({ err: error, path: loggablePath(pathname) }, 'memory path declined a request');
      return false;
    }
    if (!answer) return false;

    response.writeHead(answer.status, headersOf(answer, config.server.trustProxy && protocolOf(config, raw) === 'https'));
    response.end(answer.status === 304 ? undefined : answer.body ?? undefined);
    answered++;
    if (config.server.requestLogging) {
      log.info(requestLogEntry(method, pathname, answer.status, performance.now() - started, principal?.userName), 'request');
    }
    return true;
  }

  return {
    /** A format's reads below `/{owner}/{repo}/{format}/`. */
    register(format: string, handler: MemoryHandler): void {
      handlers.set(format, handler);
    },
    serve,
    /** How many requests this node answered from memory (for operators and tests). */
    answered: () => answered,
    /** From now on every request goes to the framework, which answers 503 while closing. */
    close(): void {
      closing = true;
    },
  };
}

export type MemoryPath = ReturnType<typeof createMemoryPath>;
