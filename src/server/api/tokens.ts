import { Type } from 'typebox';
import type { Scope as ScopeName } from '../../domain/tokens.js';
import { StockadeError } from '../../errors.js';
import type { FastifyRequest } from 'fastify';
import { actorOf, requireSecondFactor } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, isSiteAdmin, repoNotFound, requireAccountCredential, requireUser } from './guards.js';
import { NoContent, Nullable, Scope, Timestamp } from './schemas.js';

const tags = ['tokens'];

const Kind = Type.Enum(['personal', 'automation', 'master', 'read']);

const TokenInfo = Type.Object({
  id: Type.Integer(),
  kind: Kind,
  name: Type.String(),
  /** The first characters of the secret, to recognise it. */
  display: Type.String(),
  scopes: Type.Array(Scope),
  repo: Nullable(Type.String()),
  expiresAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  cidrs: Nullable(Type.Array(Type.String())),
  parentId: Nullable(Type.Integer({ description: 'for a read token: the master token that minted it' })),
  lastUsedAt: Nullable(Timestamp),
  lastUsedIp: Nullable(Type.String()),
});

const CreatedToken = Type.Object({ token: Type.String({ description: 'the secret; shown only in this answer' }), ...TokenInfo.properties });

export async function tokenRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { tokens, repos, access } = ctx.domain;

  app.get(
    '/tokens',
    { onRequest: authenticated, schema: { tags, operationId: 'listTokens', summary: 'Your active tokens (never their secrets)', response: { 200: Type.Array(TokenInfo) } } },
    async (request) => tokens.list(requireAccountCredential(request, 'read', 'list tokens').userId),
  );

  app.post(
    '/tokens',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'createToken',
        summary: 'Create a token for yourself',
        description:
          'A request authenticated by a token may only create tokens with a subset of its scopes, the same repository restriction and no later expiry. ' +
          'kind automation: for CI, no one-time password, one repository, no admin scope, must expire. kind master: a repository admin’s enrolment key that mints read tokens. ' +
          'With MFA enabled, creating a token needs a one-time password (X-Stockade-OTP).',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200 }),
          kind: Type.Optional(Type.Enum(['personal', 'automation', 'master'])),
          scopes: Type.Array(Scope, { minItems: 1, maxItems: 4 }),
          cidrs: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20, description: 'address ranges the token may be used from' })),
          repo: Type.Optional(Type.String({ pattern: '^[^/]+/[^/]+$', description: 'owner/name: the token only works on this repository' })),
          expiresAt: Type.Optional(Timestamp),
        }),
        response: { 201: CreatedToken },
      },
    },
    async (request, reply) => {
      // A token restricted to one repository may create narrower ones for the same repository (checked below).
      const principal = requireAccountCredential(request, 'read', 'create tokens', { allowRestricted: true });
      const body = request.body;
      const scopes = [...new Set<ScopeName>(body.scopes)];
      const parent = principal.token;
      const kind = body.kind ?? 'personal';

      let repoId: number | null = null;
      if (body.repo !== undefined) {
        const [owner = '', name = ''] = body.repo.split('/');
        const repo = await repos.get(owner, name);
        // A repository the caller cannot see answers exactly like a missing one.
        if (!repo || (await access.decide(principal, 'read', repo)) === 'hidden') throw repoNotFound(owner, name);
        // Only a repository admin hands out the repository's enrolment key.
        if (kind === 'master' && !isSiteAdmin(principal) && (await access.roleOn(principal, repo)) !== 'admin') {
          throw new StockadeError('FORBIDDEN', [`only admins of ${repo.path} may create its master token`]);
        }
        repoId = repo.id;
      }

      let expiresAt = body.expiresAt ?? null;
      if (parent) {
        // Granted scopes are expanded (admin ⊃ write ⊃ read), so a plain membership test suffices.
        const missing = scopes.filter((s) => !parent.scopes.has(s));
        if (missing.length > 0) throw new StockadeError('FORBIDDEN', [`this token cannot grant the ${missing.join(', ')} scope`]);
        if (parent.repoId !== null && repoId !== parent.repoId) {
          throw new StockadeError('FORBIDDEN', ['this token is restricted to one repository; tokens it creates must be restricted to the same one']);
        }
        if (parent.expiresAt !== null) {
          if (expiresAt === null) expiresAt = parent.expiresAt;
          else if (Date.parse(expiresAt) > Date.parse(parent.expiresAt)) throw new StockadeError('FORBIDDEN', ['a token cannot outlive the token that creates it']);
        }
      }

      await requireSecondFactor(ctx.domain, principal, null);
      const { secret, token } = await tokens.create(actorOf(request), { userId: principal.userId, name: body.name, kind, scopes, repoId, expiresAt, cidrs: body.cidrs ?? null });
      return reply.code(201).send({ token: secret, ...token });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      onRequest: authenticated,
      schema: { tags, operationId: 'revokeToken', summary: 'Revoke a token (yours, or anyone’s for site admins)', params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), response: { 204: NoContent } },
    },
    async (request, reply) => {
      const principal = requireAccountCredential(request, 'read', 'revoke tokens');
      await tokens.revoke(actorOf(request), { userId: principal.userId, isAdmin: isSiteAdmin(principal), id: request.params.id });
      return reply.code(204).send(null);
    },
  );

  const RepoParams = Type.Object({ owner: Type.String({ maxLength: 100 }), repo: Type.String({ maxLength: 100 }) });

  /** The master token of this repository, or a 404 that says nothing about whether it exists. */
  async function masterOf(request: FastifyRequest, params: { owner: string; repo: string }) {
    const principal = requireUser(request);
    const repo = await repos.get(params.owner, params.repo);
    const token = principal.token;
    if (!repo || !token || token.kind !== 'master' || token.repoId !== repo.id) {
      if (repo && (await access.decide(principal, 'read', repo)) !== 'hidden') {
        throw new StockadeError('FORBIDDEN', [`read tokens of ${repo.path} are minted with its master token`]);
      }
      throw repoNotFound(params.owner, params.repo);
    }
    return { principal, token, repo };
  }

  app.post(
    '/repos/:owner/:repo/read-tokens',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'mintReadToken',
        summary: 'Mint a read token for a machine (authenticate with the repository master token)',
        description: 'Machines enrol themselves with the master token; revoking the master token revokes every read token it minted.',
        params: RepoParams,
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200, description: 'the machine, e.g. its host name' }),
          expiresAt: Type.Optional(Timestamp),
          cidrs: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20 })),
        }),
        response: { 201: CreatedToken },
      },
    },
    async (request, reply) => {
      const { principal, token: master, repo } = await masterOf(request, request.params);
      const expiresAt = request.body.expiresAt ?? master.expiresAt;
      if (master.expiresAt !== null && expiresAt !== null && Date.parse(expiresAt) > Date.parse(master.expiresAt)) {
        throw new StockadeError('FORBIDDEN', ['a read token cannot outlive the master token that mints it']);
      }
      const { secret, token } = await tokens.create(actorOf(request), {
        userId: principal.userId,
        name: request.body.name,
        kind: 'read',
        scopes: ['read'],
        repoId: repo.id,
        parentId: master.tokenId,
        expiresAt,
        cidrs: request.body.cidrs ?? null,
      });
      return reply.code(201).send({ token: secret, ...token });
    },
  );

  app.get(
    '/repos/:owner/:repo/read-tokens',
    {
      onRequest: authenticated,
      schema: { tags, operationId: 'listReadTokens', summary: 'Read tokens minted by this master token', params: RepoParams, response: { 200: Type.Array(TokenInfo) } },
    },
    async (request) => {
      const { principal, token: master } = await masterOf(request, request.params);
      return (await tokens.list(principal.userId)).filter((t) => t.parentId === master.tokenId);
    },
  );
}
