import type { FastifyRequest } from 'fastify';
import type { Decision, Principal, RepoAction, SecondFactorDecision } from '../domain/access.js';
import type { RepoInfo } from '../domain/repos.js';
import type { Domain } from '../domain/index.js';
import type { Actor } from '../domain/audit.js';
import type { Scope } from '../domain/tokens.js';
import { StockadeError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook: null for anonymous requests. */
    principal: Principal | null;
  }
}

/**
 * Reads the credentials of a request: `Bearer <token>`, or Basic with a token as the password
 * (pip/twine style `__token__:<token>`, npm `_auth`) or a real password, or a bare token (the
 * RubyGems API key header). Credentials that are
 * present but wrong are an error, never a silent fallback to anonymous.
 */
export async function authenticate(domain: Domain, header: string | undefined, ip: string | null = null): Promise<Principal | null> {
  if (!header) return null;
  // `gem push`/`gem yank` send the API key itself, without a scheme: only a Stockade token is read so.
  if (/^stk_[0-9A-Za-z]+$/.test(header.trim())) return fromToken(domain, header.trim(), ip);
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') return fromToken(domain, value, ip);
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new StockadeError('INVALID_CREDENTIALS');
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (password.startsWith('stk_')) return fromToken(domain, password, ip);
    const info = await domain.accounts.authenticate(user, password, { ip });
    return { userId: info.id, userName: info.name, isAdmin: info.isAdmin, token: null };
  }
  throw new StockadeError('INVALID_TOKEN');
}

/**
 * The principal of a request whose token this node has verified lately, without a promise; undefined
 * when `authenticate` must decide (passwords, unknown or invalid tokens, anything unusual).
 */
export function peekPrincipal(domain: Domain, header: string, ip: string | null): Principal | undefined {
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const grant = domain.tokens.peek(header.slice(7).trim(), ip);
  return grant && { userId: grant.userId, userName: grant.userName, isAdmin: grant.isAdmin, token: grant };
}

async function fromToken(domain: Domain, secret: string, ip: string | null): Promise<Principal> {
  const grant = await domain.tokens.verify(secret, ip);
  if (!grant) throw new StockadeError('INVALID_TOKEN');
  return { userId: grant.userId, userName: grant.userName, isAdmin: grant.isAdmin, token: grant };
}

export function actorOf(request: FastifyRequest): Actor {
  const p = request.principal;
  return { name: p?.userName ?? 'anonymous', ip: request.ip ?? null, tokenId: p?.token?.tokenId };
}

export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new StockadeError('AUTH_REQUIRED');
  return request.principal;
}

/** The error for a change refused for want of a second factor. */
export function secondFactorError(decision: SecondFactorDecision, owner: string): StockadeError {
  if (decision === 'mfa-enrollment') return new StockadeError('MFA_REQUIRED', [owner]);
  return new StockadeError('OTP_REQUIRED', ['npm: --otp; REST: the X-Stockade-OTP header']);
}

/** For owner-level changes (members, settings, tokens): the same second factor a repository write needs. */
export async function requireSecondFactor(domain: Domain, principal: Principal, owner: { id: number; name: string } | null): Promise<void> {
  const decision = await domain.access.secondFactor(principal, owner?.id ?? null);
  if (decision !== 'ok') throw secondFactorError(decision, owner?.name ?? principal.userName);
}

/**
 * Accounts are managed with the user's own credentials: a password, a session or a personal token
 * with access to everything. Automation, master and read tokens run unattended on machines and
 * must never list, create or revoke tokens, or change passwords or second factors.
 */
export function requireAccountCredential(request: FastifyRequest, scope: Scope, what: string, options: { allowRestricted?: boolean } = {}): Principal {
  const principal = requirePrincipal(request);
  const token = principal.token;
  if (token !== null && token.kind !== 'personal') throw new StockadeError('FORBIDDEN', [`a ${token.kind} token cannot ${what}: use a personal token or your password`]);
  if (token !== null && token.repoId !== null && !options.allowRestricted) throw new StockadeError('FORBIDDEN', [`a token restricted to one repository cannot ${what}`]);
  if (token !== null && !token.scopes.has(scope)) throw new StockadeError('FORBIDDEN', [`this needs a token with the ${scope} scope`]);
  return principal;
}


const ACTION_VERBS: Record<RepoAction, string> = { read: 'read', write: 'publish to', delete: 'unpublish from', admin: 'administer' };

/**
 * Turns a refused access decision into the error every surface sends: 401 to anonymous callers,
 * for a hidden repository the same 404 as for a missing one, the second-factor errors, else 403.
 */
export function assertAllowed(decision: Decision, repo: RepoInfo, action: RepoAction): void {
  if (decision === 'ok') return;
  if (decision === 'unauthenticated') throw new StockadeError('AUTH_REQUIRED');
  if (decision === 'hidden') throw new StockadeError('NOT_FOUND', [`repository ${repo.path}`]);
  if (decision === 'mfa-enrollment' || decision === 'otp-required') throw secondFactorError(decision, repo.owner);
  throw new StockadeError('FORBIDDEN', [`you may not ${ACTION_VERBS[action]} ${repo.path}`]);
}
