import type { FastifyInstance, FastifyRequest } from 'fastify';
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
