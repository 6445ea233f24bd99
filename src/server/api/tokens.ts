import { Type } from 'typebox';
import type { Scope as ScopeName } from '../../domain/tokens.js';
import { StockadeError } from '../../errors.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, isSiteAdmin, repoNotFound, requireUser } from './guards.js';
import { NoContent, Nullable, Scope, Timestamp } from './schemas.js';

const tags = ['tokens'];

const TokenInfo = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  /** The first characters of the secret, to recognise it. */
  display: Type.String(),
  scopes: Type.Array(Scope),
  repo: Nullable(Type.String()),
  expiresAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
  createdAt: Timestamp,
});

const CreatedToken = Type.Object({ token: Type.String({ description: 'the secret; shown only in this answer' }), ...TokenInfo.properties });

export async function tokenRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { tokens, repos, access } = ctx.domain;

  app.get(
    '/tokens',
    { onRequest: authenticated, schema: { tags, operationId: 'listTokens', summary: 'Your active tokens (never their secrets)', response: { 200: Type.Array(TokenInfo) } } },
    async (request) => tokens.list(requireUser(request).userId),
  );

  app.post(
    '/tokens',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'createToken',
        summary: 'Create a token for yourself',
        description: 'A request authenticated by a token may only create tokens with a subset of its scopes, the same repository restriction and no later expiry.',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200 }),
          scopes: Type.Array(Scope, { minItems: 1, maxItems: 3 }),
          repo: Type.Optional(Type.String({ pattern: '^[^/]+/[^/]+$', description: 'owner/name: the token only works on this repository' })),
          expiresAt: Type.Optional(Timestamp),
        }),
        response: { 201: CreatedToken },
      },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const body = request.body;
      const scopes = [...new Set<ScopeName>(body.scopes)];
      const parent = principal.token;

      let repoId: number | null = null;
      if (body.repo !== undefined) {
        const [owner = '', name = ''] = body.repo.split('/');
        const repo = await repos.get(owner, name);
        // A repository the caller cannot see answers exactly like a missing one.
        if (!repo || (await access.decide(principal, 'read', repo)) === 'hidden') throw repoNotFound(owner, name);
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

      const { secret, token } = await tokens.create(actorOf(request), { userId: principal.userId, name: body.name, scopes, repoId, expiresAt });
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
      const principal = requireUser(request);
      await tokens.revoke(actorOf(request), { userId: principal.userId, isAdmin: isSiteAdmin(principal), id: request.params.id });
      return reply.code(204).send(null);
    },
  );
}
