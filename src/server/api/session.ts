import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ResolvedSession } from '../../domain/sessions.js';
import { StockadeError } from '../../errors.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { clearSessionCookie, readSessionCookie, setSessionCookie } from '../../http/session.js';
import { type ApiApp, authenticated, requireAccountCredential } from './guards.js';
import { NoContent, Timestamp, User } from './schemas.js';

const tags = ['session'];

const LoginBody = Type.Object({
  user: Type.String({ minLength: 1, maxLength: 100 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  otp: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'code from the authenticator app, when two-factor authentication is on' })),
});

const LoginAnswer = Type.Object({
  user: User,
  csrfToken: Type.String({ description: 'send it back in the X-CSRF-Token header of every request that is not GET, HEAD or OPTIONS' }),
  expiresAt: Timestamp,
});

const SessionAnswer = Type.Object({
  user: User,
  createdAt: Timestamp,
  expiresAt: Timestamp,
});

export async function sessionRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { accounts, mfa, sessions } = ctx.domain;

  /** The live session of this very request, or null (token, password or no credentials). */
  async function currentSession(request: FastifyRequest): Promise<ResolvedSession | null> {
    const sessionId = request.principal?.sessionId;
    const cookieValue = readSessionCookie(request);
    if (sessionId === undefined || !cookieValue) return null;
    const session = await sessions.resolve(cookieValue);
    return session && session.sessionId === sessionId ? session : null;
  }

  app.post(
    '/session',
    {
      // A browser with a stale or someone else's cookie must still be able to log in.
      config: { ignoresSession: true },
      schema: {
        tags,
        operationId: 'login',
        summary: 'Log in: start a browser session',
        description: 'Sets an HttpOnly session cookie and answers the CSRF token that unsafe requests of the session must carry.',
        body: LoginBody,
        response: { 201: LoginAnswer },
      },
    },
    async (request, reply) => {
      const { user: name, password, otp } = request.body;
      const ip = request.ip ?? null;
      const user = await accounts.authenticate(name, password, { ip });
      const actor = { name: user.name, ip };
      if (await mfa.isEnabled(user.id)) {
        if (otp === undefined) throw new StockadeError('OTP_REQUIRED', ['send "otp" with the code from your authenticator app']);
        await mfa.verify(actor, { id: user.id, name: user.name }, otp, ip, null);
      }
      // Logging in again replaces the browser's previous session rather than orphaning it.
      const previous = readSessionCookie(request);
      const replaced = previous ? await sessions.resolve(previous) : null;
      if (replaced) await sessions.revoke(actor, replaced.sessionId);
      const session = await sessions.create(actor, { id: user.id }, ip);
      setSessionCookie(request, reply, session.cookieValue, sessions.lifetimeSeconds);
      // The answer carries the CSRF token: no cache may keep it.
      return reply.code(201).header('cache-control', 'no-store').send({ user, csrfToken: session.csrfToken, expiresAt: session.expiresAt });
    },
  );

  app.get(
    '/session',
    {
      onRequest: authenticated,
      schema: { tags, operationId: 'getSession', summary: 'The current browser session', response: { 200: SessionAnswer } },
    },
    async (request, reply) => {
      const session = await currentSession(request);
      if (!session) throw new StockadeError('AUTH_REQUIRED');
      const user = await accounts.getUserById(session.userId);
      if (!user) throw new StockadeError('AUTH_REQUIRED');
      return reply.header('cache-control', 'no-store').send({ user, createdAt: session.createdAt, expiresAt: session.expiresAt });
    },
  );

  app.delete(
    '/session',
    {
      schema: {
        tags,
        operationId: 'logout',
        summary: 'Log out: end the current browser session',
        description: 'Idempotent: without a live session it only clears the cookie.',
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const sessionId = request.principal?.sessionId;
      if (sessionId !== undefined) await sessions.revoke(actorOf(request), sessionId);
      clearSessionCookie(request, reply);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/session/logout-all',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'logoutEverywhere',
        summary: 'Log out everywhere: end every browser session of the user',
        description: 'Tokens are not affected; revoke them under /tokens.',
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const principal = requireAccountCredential(request, 'write', 'log out sessions');
      await sessions.revokeAll(actorOf(request), principal.userId);
      if (principal.sessionId !== undefined) clearSessionCookie(request, reply);
      return reply.code(204).send(null);
    },
  );
}
