import { Type } from 'typebox';
import { StockadeError } from '../../errors.js';
import { actorOf, requireSecondFactor } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, createRepoGuard, requireScope, requireUser } from './guards.js';
import { Name, NoContent, Repo, RepoParams, Visibility } from './schemas.js';

const tags = ['repos'];
const Description = Type.String({ maxLength: 1000 });

export async function repoRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { accounts, repos, access } = ctx.domain;
  const repoFor = createRepoGuard(ctx);

  app.post(
    '/repos',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'createRepo',
        summary: 'Create a repository (admins of the owner, or site admins)',
        body: Type.Object({ owner: Name, name: Name, visibility: Type.Optional(Visibility), description: Type.Optional(Description) }),
        response: { 201: Repo },
      },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { owner, name, visibility, description } = request.body;
      requireScope(principal, 'admin');
      if (principal.token?.repoId != null) throw new StockadeError('FORBIDDEN', ['a token restricted to one repository cannot create repositories']);
      if (!principal.isAdmin) {
        // A missing owner gets the same 403 as someone else's, so owner names cannot be probed.
        const found = await accounts.getOwner(owner);
        const role = found ? await accounts.roleOf(principal.userId, found.id) : null;
        if (role !== 'admin') throw new StockadeError('FORBIDDEN', [`you may not create repositories under ${owner}`]);
      }
      const found = await accounts.getOwner(owner);
      await requireSecondFactor(ctx.domain, principal, found ? { id: found.id, name: found.name } : null);
      const repo = await repos.create(actorOf(request), { owner, name, visibility: visibility ?? 'private', ...(description !== undefined ? { description } : {}) });
      return reply.code(201).send(repo);
    },
  );

  app.get(
    '/repos',
    {
      schema: {
        tags,
        operationId: 'listRepos',
        summary: 'Repositories the caller can see',
        querystring: Type.Object({ owner: Type.Optional(Name) }),
        response: { 200: Type.Array(Repo) },
      },
    },
    async (request) => {
      const all = await repos.list(request.query.owner ? { owner: request.query.owner } : {});
      const visible = await Promise.all(all.map(async (repo) => ((await access.decide(request.principal, 'read', repo)) === 'ok' ? repo : null)));
      return visible.filter((repo) => repo !== null);
    },
  );

  app.get(
    '/repos/:owner/:repo',
    { schema: { tags, operationId: 'getRepo', summary: 'A repository', params: RepoParams, response: { 200: Repo } } },
    async (request) => repoFor(request, request.params, 'read'),
  );

  app.patch(
    '/repos/:owner/:repo',
    {
      schema: {
        tags,
        operationId: 'updateRepo',
        summary: 'Change visibility or description (repository admins)',
        params: RepoParams,
        body: Type.Object({ visibility: Type.Optional(Visibility), description: Type.Optional(Description) }),
        response: { 200: Repo },
      },
    },
    async (request) => {
      const repo = await repoFor(request, request.params, 'admin');
      const { visibility, description } = request.body;
      return repos.update(actorOf(request), repo, { ...(visibility ? { visibility } : {}), ...(description !== undefined ? { description } : {}) });
    },
  );

  app.delete(
    '/repos/:owner/:repo',
    { schema: { tags, operationId: 'deleteRepo', summary: 'Delete a repository and its packages (repository admins)', params: RepoParams, response: { 204: NoContent } } },
    async (request, reply) => {
      const repo = await repoFor(request, request.params, 'admin');
      await repos.remove(actorOf(request), repo);
      return reply.code(204).send(null);
    },
  );
}
