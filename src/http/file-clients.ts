import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RepoInfo } from '../domain/repos.js';
import { StockadeError } from '../errors.js';
import { assertAllowed } from './auth.js';
import type { ServerContext } from './context.js';
import { applyErrorHeaders, logError, toStockadeError } from './errors.js';

/**
 * For clients that fetch plain files (apt, dnf, curl): errors as one line of text with a Basic
 * challenge on 401, since these clients print the status line and send credentials from their
 * own configuration (auth.conf, .repo files) only when asked.
 */
export function plainTextErrors(app: FastifyInstance, ctx: ServerContext): void {
  app.setErrorHandler((raw, request, reply) => {
    const error = toStockadeError(raw, ctx.config.server.bodyLimit);
    logError(request, raw, error);
    applyErrorHeaders(reply, error);
    if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Basic realm="stockade"');
    return reply.code(error.status).header('content-type', 'text/plain; charset=utf-8').send(`${error.message}\n`);
  });
}

/** The repository named in the path, if the caller may read it; a hidden one answers as missing. */
export async function readableRepo(ctx: ServerContext, request: FastifyRequest): Promise<RepoInfo> {
  const { owner, repo: name } = request.params as { owner: string; repo: string };
  const repo = await ctx.domain.repos.get(owner, name);
  if (!repo) throw new StockadeError(request.principal ? 'NOT_FOUND' : 'AUTH_REQUIRED', request.principal ? [`repository ${owner}/${name}`] : []);
  assertAllowed(await ctx.domain.access.decide(request.principal, 'read', repo), repo, 'read');
  return repo;
}

/** A generated file (index, key, script): always revalidated, since it changes in place. */
export function sendGenerated(reply: FastifyReply, body: string | Buffer, contentType: string): FastifyReply {
  return reply.header('content-type', contentType).header('cache-control', 'no-cache').send(body);
}

/** A stored package file: immutable under its name, cached by clients and proxies for a year. */
export async function sendStoredFile(ctx: ServerContext, reply: FastifyReply, repo: RepoInfo, file: { sha256: string; size: number }, contentType: string): Promise<FastifyReply> {
  reply.headers({
    'content-type': contentType,
    'content-length': file.size,
    etag: `"${file.sha256}"`,
    'cache-control': `${repo.visibility === 'public' ? 'public' : 'private'}, max-age=31536000, immutable`,
  });
  const bytes = await ctx.blobCache.read(file.sha256, file.size);
  return reply.send(bytes ?? (await ctx.blobs.get(file.sha256)));
}
