import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Principal } from '../domain/access.js';
import type { Domain } from '../domain/index.js';
import { HSTS_HEADER, SECURITY_HEADERS } from '../http/security-headers.js';
import type { Logger } from 'pino';
import { StockadeError } from '../errors.js';
import { formats } from '../formats/list.js';
import { repoKeyRoutes } from './repo-keys-routes.js';
import { createServerGate, type SecurityGate } from '../security/service.js';
import { createBlobMemoryCache } from '../store/blobs/memory-cache.js';
import { pingDatabase } from '../store/db/migrations.js';
import { registerApi } from './api/index.js';
import type { Socket } from 'node:net';
import { createServer as createHttpServer, type ServerOptions } from 'node:http';
import { createMemoryPath, protocolOf } from '../http/memory-path.js';
import { authenticate, peekPrincipal } from '../http/auth.js';
import { authenticateSession, SESSION_COOKIE } from '../http/session.js';
import { decodeRequestBody } from '../http/body-encoding.js';
import type { ServerContext } from '../http/context.js';
import { applyErrorHeaders, logError, toStockadeError } from '../http/errors.js';
import { requestLogEntry } from '../http/request-log.js';

/** Sends an error in the REST API's shape; formats install their own shapes in their scopes. */
export function sendApiError(reply: FastifyReply, error: StockadeError): FastifyReply {
  applyErrorHeaders(reply, error);
  if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer realm="stockade"');
  return reply
    .code(error.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify({ error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }));
}

/** The gate as configured: no analyzer at all when `gate.enabled` is false. */
export function configuredGate(config: Config, domain: Domain, logger: Pick<FastifyBaseLogger, 'error'>): SecurityGate {
  return createServerGate(domain, {
    ...(config.gate.enabled ? {} : { analyzers: [] }),
    timeoutMs: config.gate.analyzerTimeoutMs,
    onAnalyzerError: (analyzer, error) => logger.error({ err: error, analyzer }, 'analyzer failed'),
  });
}

export async function buildServer(deps: Omit<ServerContext, 'log' | 'blobCache' | 'gate' | 'memoryPath'> & { logger: Logger; gate?: SecurityGate }): Promise<FastifyInstance> {
  const { config } = deps;
  // Created before the framework so that its server can ask it first; formats register their reads below.
  const memoryPath = createMemoryPath({ config, domain: deps.domain, log: deps.logger as FastifyBaseLogger });
  const app = Fastify({
    serverFactory: (frameworkHandler, fastifyOptions) => {
      const options = fastifyOptions as { http?: ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };
      const server = createHttpServer(options.http ?? {}, (request, response) => {
        if (!memoryPath.serve(request, response)) frameworkHandler(request, response);
      });
      // What Fastify sets on a server it creates itself.
      server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
      server.requestTimeout = options.requestTimeout ?? 0;
      server.setTimeout(options.connectionTimeout ?? 0);
      return server;
    },
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one line of our own (see onResponse).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    http: { maxHeaderSize: config.server.maxHeaderSize },
    routerOptions: { maxParamLength: 1000, ignoreDuplicateSlashes: true },
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
  });
  const blobCache = createBlobMemoryCache(deps.blobs, { maxBytes: config.blobs.memoryCacheBytes });
  const gate = deps.gate ?? configuredGate(config, deps.domain, app.log);
  const ctx: ServerContext = { config, domain: deps.domain, blobs: deps.blobs, blobCache, gate, log: app.log, memoryPath };
  app.decorate('memoryPath', memoryPath);
  app.addHook('preClose', (done) => {
    memoryPath.close();
    done();
  });
  if (!config.gate.enabled) app.log.warn('gate.enabled is false: uploads are stored without any security analysis');

  app.decorateRequest('principal', null);
  /** The principal plus what later checks need from the request: its address and one-time password. */
  const attach = (request: FastifyRequest, principal: Principal | null): void => {
    if (!principal) return;
    principal.ip = request.ip;
    const otp = request.headers['npm-otp'] ?? request.headers['x-stockade-otp'];
    if (typeof otp === 'string' && otp !== '') principal.otp = otp.trim().slice(0, 64);
    request.principal = principal;
  };
  // Callback-style hooks: these run on every request, and the common case needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    if (config.server.trustProxy && protocolOf(config, request.raw) === 'https') reply.header(HSTS_HEADER.name, HSTS_HEADER.value);
    ctx.domain.changes.poll();
    const header = request.headers.authorization;
    const settle = (principal: Principal | null) => {
      attach(request, principal);
      done();
    };
    if (!header) {
      if (!request.headers.cookie?.includes(SESSION_COOKIE)) return done();
      authenticateSession(ctx.domain, request, reply).then(settle, (error: Error) => done(error));
      return;
    }
    const known = peekPrincipal(ctx.domain, header, request.ip);
    if (known) return settle(known);
    authenticate(ctx.domain, header, request.ip).then(settle, (error: Error) => done(error));
  });
  if (config.server.requestLogging) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(requestLogEntry(request.method, request.url, reply.statusCode, reply.elapsedTime, request.principal?.userName), 'request');
    });
  }

  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (!request.headers['content-encoding']) return done(null, payload);
    try {
      done(null, decodeRequestBody(request, payload));
    } catch (error) {
      done(error as Error);
    }
  });

  app.setErrorHandler((raw: FastifyError, request, reply) => {
    const error = toStockadeError(raw, config.server.bodyLimit);
    logError(request, raw, error);
    return sendApiError(reply, error);
  });
  app.setNotFoundHandler((_request, reply) => sendApiError(reply, new StockadeError('NOT_FOUND', ['endpoint'])));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    await Promise.all([
      pingDatabase(ctx.domain.db as never).then(
        () => (checks.database = 'ok'),
        (e: Error) => (checks.database = e.message),
      ),
      ctx.blobs.ping().then(
        () => (checks.blobs = 'ok'),
        (e: Error) => (checks.blobs = e.message),
      ),
    ]);
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });

  await app.register(async (scope) => registerApi(scope, ctx), { prefix: '/api/v1' });
  for (const format of formats) {
    await app.register(async (scope) => format.routes(scope, ctx), { prefix: `/:owner/:repo/${format.name}` });
  }
  await app.register(async (scope) => repoKeyRoutes(scope, ctx), { prefix: '/:owner/:repo' });
  return app;
}

/**
 * Answers requests Node's HTTP parser rejects before any route sees them (oversized or malformed
 * headers). The body carries both the message npm prints and our code, as the route is unknown.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const mapped =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new StockadeError('HEADERS_TOO_LARGE')
      : new StockadeError('BAD_REQUEST', ['malformed HTTP request']);
  const body = JSON.stringify({ error: mapped.message, code: mapped.code });
  const reason = mapped.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${mapped.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
