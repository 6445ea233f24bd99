import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import type { Domain } from '../domain/index.js';
import { StockadeError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route ignores any session cookie: no principal from it, no CSRF check, no clearing.
     * Only for the login route, so a browser holding a stale or foreign session can always log in.
     */
    ignoresSession?: boolean;
  }
}

export const SESSION_COOKIE = 'stockade_session';
export const CSRF_HEADER = 'x-csrf-token';

// Methods a browser may send cross-site without a preflight; they must never change state.
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie's value on a request, or undefined. */
export function readSessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  return parseCookies(header)[SESSION_COOKIE] || undefined;
}

function cookieAttributes(request: FastifyRequest, maxAgeSeconds: number) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: '/',
    // Over plain HTTP (local development) a Secure cookie would never come back.
    secure: request.protocol === 'https',
    maxAge: maxAgeSeconds,
  };
}

/** Sets the one Set-Cookie header for the session cookie, replacing any set earlier in this reply. */
function replaceSessionCookie(reply: FastifyReply, value: string): void {
  const existing = reply.getHeader('set-cookie');
  const others = (Array.isArray(existing) ? existing : existing === undefined ? [] : [String(existing)]).filter(
    (line) => !line.startsWith(`${SESSION_COOKIE}=`),
  );
  reply.removeHeader('set-cookie');
  reply.header('set-cookie', [...others, value]);
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, cookieValue: string, maxAgeSeconds: number): void {
  replaceSessionCookie(reply, serializeCookie(SESSION_COOKIE, cookieValue, cookieAttributes(request, maxAgeSeconds)));
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  replaceSessionCookie(reply, serializeCookie(SESSION_COOKIE, '', { ...cookieAttributes(request, 0), expires: new Date(0) }));
}

/**
 * The principal of a request carrying a session cookie. A cookie that no longer names a live
 * session makes the request anonymous and is cleared, so a stale cookie never becomes an error
 * page; a live one on an unsafe method must come with the session's CSRF token.
 */
export async function authenticateSession(domain: Domain, request: FastifyRequest, reply: FastifyReply): Promise<Principal | null> {
  if (request.routeOptions.config?.ignoresSession) return null;
  const cookieValue = readSessionCookie(request);
  if (!cookieValue) return null;
  const session = await domain.sessions.resolve(cookieValue);
  if (!session) {
    clearSessionCookie(request, reply);
    return null;
  }
  if (!SAFE_METHODS.has(request.method) && !domain.sessions.checkCsrf(session, request.headers[CSRF_HEADER])) {
    throw new StockadeError('CSRF_FAILED');
  }
  return { userId: session.userId, userName: session.userName, isAdmin: session.isAdmin, token: null, sessionId: session.sessionId };
}
