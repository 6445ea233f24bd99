import { Type } from 'typebox';
import { StockadeError } from '../../errors.js';
import { actorOf, requireSecondFactor } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, isSiteAdmin, requireAccountCredential, requireScope, requireUser, siteAdminOnly } from './guards.js';
import { Name, NoContent, Nullable, Scope, User } from './schemas.js';

const tags = ['users'];
const NameParams = Type.Object({ name: Name });
const Password = Type.String({ minLength: 1, maxLength: 1024 });

const Whoami = Type.Object({
  ...User.properties,
  token: Nullable(Type.Object({ id: Type.Integer(), scopes: Type.Array(Scope), repo: Nullable(Type.String()), expiresAt: Nullable(Type.String()) })),
});

export async function userRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { accounts, repos } = ctx.domain;

  app.get(
    '/whoami',
    { onRequest: authenticated, schema: { tags, operationId: 'whoami', summary: 'The authenticated user', response: { 200: Whoami } } },
    async (request) => {
      const principal = requireUser(request);
      const user = await accounts.getUserById(principal.userId);
      if (!user) throw new StockadeError('AUTH_REQUIRED');
      const token = principal.token;
      if (!token) return { ...user, token: null };
      const repo = token.repoId === null ? null : await repos.getById(token.repoId);
      // The order read < write < admin keeps the answer stable for clients that compare it.
      const scopes = (['read', 'write', 'admin'] as const).filter((s) => token.scopes.has(s));
      return { ...user, token: { id: token.tokenId, scopes, repo: repo?.path ?? null, expiresAt: token.expiresAt } };
    },
  );

  app.post(
    '/users',
    {
      onRequest: siteAdminOnly,
      schema: {
        tags,
        operationId: 'createUser',
        summary: 'Create a user (site admins)',
        body: Type.Object({
          name: Name,
          password: Password,
          email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
          admin: Type.Optional(Type.Boolean({ description: 'make the user a site administrator' })),
        }),
        response: { 201: User },
      },
    },
    async (request, reply) => {
      const { name, password, email, admin } = request.body;
      const user = await accounts.createUser(actorOf(request), { name, password, email: email ?? null, isAdmin: admin ?? false });
      return reply.code(201).send(user);
    },
  );

  app.get(
    '/users',
    { onRequest: siteAdminOnly, schema: { tags, operationId: 'listUsers', summary: 'List users (site admins)', response: { 200: Type.Array(User) } } },
    async () => accounts.listUsers(),
  );

  app.get(
    '/users/:name',
    { onRequest: authenticated, schema: { tags, operationId: 'getUser', summary: 'A user (themselves or site admins)', params: NameParams, response: { 200: User } } },
    async (request) => {
      const principal = requireAccountCredential(request, 'read', 'read accounts');
      const { name } = request.params;
      // Refuse before looking the user up, so the answer says nothing about who exists.
      if (principal.userName !== name && !isSiteAdmin(principal)) throw new StockadeError('FORBIDDEN', ['you may only read your own account']);
      const user = await accounts.getUser(name);
      if (!user) throw new StockadeError('NOT_FOUND', [`user ${name}`]);
      return user;
    },
  );

  app.put(
    '/users/:name/password',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'setPassword',
        summary: 'Change a password',
        description: 'Users changing their own password must give the current one; site admins may set anyone’s.',
        params: NameParams,
        body: Type.Object({ password: Password, currentPassword: Type.Optional(Password) }),
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const principal = requireAccountCredential(request, 'write', 'change passwords');
      const { name } = request.params;
      const { password, currentPassword } = request.body;
      await requireSecondFactor(ctx.domain, principal, null);
      // Site admins reset passwords without knowing them; everyone else proves the current one.
      if (!isSiteAdmin(principal)) {
        if (principal.userName !== name) {
          throw new StockadeError('FORBIDDEN', [principal.isAdmin ? 'this needs an unrestricted token with the admin scope' : 'you may only change your own password']);
        }
        requireScope(principal, 'write');
        if (currentPassword === undefined) throw new StockadeError('VALIDATION_FAILED', ['currentPassword is required to change your own password']);
        try {
          await accounts.authenticate(name, currentPassword);
        } catch (error) {
          // A 401 here would make clients drop a perfectly good token: the caller is authenticated.
          if (error instanceof StockadeError && error.code === 'INVALID_CREDENTIALS') throw new StockadeError('FORBIDDEN', ['the current password is not correct']);
          throw error;
        }
      }
      await accounts.setPassword(actorOf(request), name, password);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/users/:name/unlock',
    {
      onRequest: siteAdminOnly,
      schema: {
        tags,
        operationId: 'unlockUser',
        summary: 'End the lockout of an account (site admins)',
        description: 'Clears the failed password and one-time-password counts of the account; lockouts also end by themselves.',
        params: NameParams,
        response: { 200: Type.Object({ cleared: Type.Boolean({ description: 'whether the account had failures on record' }) }) },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (!(await accounts.getUser(name))) throw new StockadeError('NOT_FOUND', [`user ${name}`]);
      return { cleared: await ctx.domain.throttle.unlock(actorOf(request), name) };
    },
  );
}
