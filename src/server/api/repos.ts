import { Type } from 'typebox';
import { StockadeError } from '../../errors.js';
import { actorOf, requireSecondFactor } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, createRepoGuard, requireScope, requireUser } from './guards.js';
import { Name, NoContent, Repo, RepoParams, Visibility } from './schemas.js';
import { createRemoteSettings, MAX_FILE_ORIGINS, UPSTREAM_BOUNDS } from '../../domain/remote-settings.js';
import { createSecretBox } from '../../domain/secret-box.js';
import { loadServerKey } from '../../store/server-key.js';
import { createVirtualRepos, MAX_CLAIMS, MAX_MEMBERS } from '../../domain/virtual-repos.js';

const tags = ['repos'];
const Description = Type.String({ maxLength: 1000 });

const Int = (field: keyof typeof UPSTREAM_BOUNDS) => Type.Optional(Type.Integer({ minimum: UPSTREAM_BOUNDS[field][0], maximum: UPSTREAM_BOUNDS[field][1] }));
/** Upstream settings as written: credentials go in, never come out. */
const upstreamFields = {
    url: Type.Optional(Type.String({ maxLength: 2000 })),
    token: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    username: Type.Optional(Type.String({ maxLength: 200 })),
    password: Type.Optional(Type.String({ maxLength: 4096 })),
    metadataTtlSeconds: Int('metadataTtlSeconds'),
    negativeTtlSeconds: Int('negativeTtlSeconds'),
    timeoutMs: Int('timeoutMs'),
    retries: Int('retries'),
    concurrency: Int('concurrency'),
    offline: Type.Optional(Type.Boolean()),
    prefetch: Type.Optional(Type.Boolean()),
    cooldownHours: Int('cooldownHours'),
    cooldownAllow: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 1000 })),
    fileOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: MAX_FILE_ORIGINS })),
    maxMetadataBytes: Int('maxMetadataBytes'),
    maxFileBytes: Int('maxFileBytes'),
};
const UpstreamBody = Type.Object(upstreamFields, { additionalProperties: false });
const CreateUpstreamBody = Type.Object({ ...upstreamFields, format: Type.String({ maxLength: 40 }), url: Type.String({ maxLength: 2000 }) }, { additionalProperties: false });
const Upstream = Type.Object({
  format: Type.String(),
  url: Type.String(),
  hasCredentials: Type.Boolean(),
  metadataTtlSeconds: Type.Integer(),
  negativeTtlSeconds: Type.Integer(),
  timeoutMs: Type.Integer(),
  retries: Type.Integer(),
  concurrency: Type.Integer(),
  offline: Type.Boolean(),
  prefetch: Type.Boolean(),
  cooldownHours: Type.Integer(),
  cooldownAllow: Type.Array(Type.String()),
  fileOrigins: Type.Array(Type.String()),
  maxMetadataBytes: Type.Integer(),
  maxFileBytes: Type.Integer(),
  updatedAt: Type.String(),
});

const MemberList = Type.Array(Type.String({ minLength: 3, maxLength: 202 }), { minItems: 1, maxItems: MAX_MEMBERS });
const ClaimList = Type.Array(Type.String({ minLength: 1, maxLength: 216 }), { maxItems: MAX_CLAIMS });
const CreateVirtualBody = Type.Object({ format: Type.String({ maxLength: 40 }), members: MemberList, claims: Type.Optional(ClaimList) }, { additionalProperties: false });
const Members = Type.Object({
  format: Type.String(),
  members: Type.Array(Type.Object({ path: Type.String(), kind: Type.String(), visibility: Type.String() })),
  claims: Type.Array(Type.String()),
  updatedAt: Type.String(),
});
const Collisions = Type.Array(
  Type.Object({ name: Type.String(), remote: Type.String(), reason: Type.String(), upstream: Type.Record(Type.String(), Type.Unknown()), seenAt: Type.String() }),
);

export async function repoRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { accounts, repos, access } = ctx.domain;
  const repoFor = createRepoGuard(ctx);
  const remotes = createRemoteSettings({ db: ctx.domain.db, audit: ctx.domain.audit, changes: ctx.domain.changes, box: createSecretBox(loadServerKey(ctx.config)) });
  const virtuals = createVirtualRepos({ db: ctx.domain.db, audit: ctx.domain.audit, changes: ctx.domain.changes, repos });

  app.post(
    '/repos',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'createRepo',
        summary: 'Create a repository (admins of the owner, or site admins)',
        body: Type.Object({
          owner: Name,
          name: Name,
          visibility: Type.Optional(Visibility),
          description: Type.Optional(Description),
          kind: Type.Optional(Type.Union([Type.Literal('hosted'), Type.Literal('remote'), Type.Literal('virtual')])),
          /** Required for kind `remote`. */
          upstream: Type.Optional(CreateUpstreamBody),
          /** Required for kind `virtual`: members in resolution order, and namespace claims. */
          virtual: Type.Optional(CreateVirtualBody),
        }),
        response: { 201: Repo },
      },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { owner, name, visibility, description, kind, upstream, virtual } = request.body;
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
      if (kind === 'remote' && !upstream) throw new StockadeError('VALIDATION_FAILED', ['a remote repository needs an upstream: { format, url, … }']);
      if (kind !== 'remote' && upstream) throw new StockadeError('VALIDATION_FAILED', ['only remote repositories have an upstream']);
      if (kind === 'virtual' && !virtual) throw new StockadeError('VALIDATION_FAILED', ['a virtual repository needs { format, members: [owner/repo, …], claims? }']);
      if (kind !== 'virtual' && virtual) throw new StockadeError('VALIDATION_FAILED', ['only virtual repositories have members']);
      const within = virtual ? await virtuals.prepare(owner, visibility ?? 'private', virtual) : null;
      const repo = await repos.create(actorOf(request), {
        owner,
        name,
        visibility: visibility ?? 'private',
        ...(description !== undefined ? { description } : {}),
        ...(within ? { kind: 'virtual' as const, within } : {}),
        ...(upstream
          ? {
              kind: 'remote' as const,
              within: async (tx, repoId) => {
                await remotes.insert(tx, repoId, upstream);
                return { upstream: remotes.auditDetails(upstream) };
              },
            }
          : {}),
      });
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

  app.get(
    '/repos/:owner/:repo/upstream',
    { schema: { tags, operationId: 'getRepoUpstream', summary: "A remote repository's upstream settings (repository admins; credentials are never shown)", params: RepoParams, response: { 200: Upstream } } },
    async (request) => remotes.get(await repoFor(request, request.params, 'admin')),
  );

  app.patch(
    '/repos/:owner/:repo/upstream',
    {
      schema: {
        tags,
        operationId: 'updateRepoUpstream',
        summary: "Change a remote repository's upstream settings (repository admins); `token: null` removes credentials",
        params: RepoParams,
        body: UpstreamBody,
        response: { 200: Upstream },
      },
    },
    async (request) => remotes.update(actorOf(request), await repoFor(request, request.params, 'admin'), request.body),
  );

  app.get(
    '/repos/:owner/:repo/members',
    { schema: { tags, operationId: 'getRepoMembers', summary: "A virtual repository's members in resolution order, and its namespace claims (repository admins)", params: RepoParams, response: { 200: Members } } },
    async (request) => virtuals.get(await repoFor(request, request.params, 'admin')),
  );

  app.put(
    '/repos/:owner/:repo/members',
    {
      schema: {
        tags,
        operationId: 'setRepoMembers',
        summary: "Replace a virtual repository's members (and, when given, its claims) (repository admins)",
        params: RepoParams,
        // `members` is checked after the guard, so outsiders learn nothing from a validation error.
        body: Type.Object({ members: Type.Optional(MemberList), claims: Type.Optional(ClaimList) }, { additionalProperties: false }),
        response: { 200: Members },
      },
    },
    async (request) => {
      const repo = await repoFor(request, request.params, 'admin');
      const { members, claims } = request.body;
      if (members === undefined) throw new StockadeError('VALIDATION_FAILED', ['give the members in resolution order: { members: [owner/repo, …], claims? }']);
      return virtuals.update(actorOf(request), repo, { members, ...(claims !== undefined ? { claims } : {}) });
    },
  );

  app.get(
    '/repos/:owner/:repo/collisions',
    {
      schema: {
        tags,
        operationId: 'listRepoCollisions',
        summary: 'Names an upstream offers that a virtual repository keeps private: attempted dependency confusion (repository readers)',
        params: RepoParams,
        response: { 200: Collisions },
      },
    },
    async (request) => virtuals.collisions(await repoFor(request, request.params, 'read')),
  );
}
