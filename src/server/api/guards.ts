import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal, RepoAction } from '../../domain/access.js';
import type { RepoInfo } from '../../domain/repos.js';
import type { Scope } from '../../domain/tokens.js';
import { StockadeError } from '../../errors.js';
import { assertAllowed, requireSecondFactor } from '../../http/auth.js';
import type { Role } from '../../domain/accounts.js';
import type { ServerContext } from '../../http/context.js';

/** The API scope with TypeBox route schemas typing each handler. */
export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export function requireUser(request: FastifyRequest): Principal {
  if (!request.principal) throw new StockadeError('AUTH_REQUIRED');
  return request.principal;
}

/** Password logins carry every scope; tokens only the ones they were given (already expanded). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.token === null || principal.token.scopes.has(scope);
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) throw new StockadeError('FORBIDDEN', [`this needs a token with the ${scope} scope`]);
}

/** A site admin acting as one: a token without the admin scope does not carry the admin's powers. */
export function isSiteAdmin(principal: Principal): boolean {
  return principal.isAdmin && hasScope(principal, 'admin') && (principal.token === null || principal.token.repoId === null);
}

export function requireSiteAdmin(request: FastifyRequest): Principal {
  const principal = requireUser(request);
  if (!principal.isAdmin) throw new StockadeError('FORBIDDEN', ['only site administrators may do this']);
  if (!isSiteAdmin(principal)) throw new StockadeError('FORBIDDEN', ['this needs an unrestricted token with the admin scope']);
  return principal;
}

export { requireAccountCredential } from '../../http/auth.js';

// Route-level onRequest hooks: they run after the root hook authenticated the request and before
// any body is read, so a refused caller never gets to upload anything.
export const authenticated = async (request: FastifyRequest): Promise<void> => {
  requireUser(request);
};
export const siteAdminOnly = async (request: FastifyRequest): Promise<void> => {
  requireSiteAdmin(request);
};

export function repoNotFound(owner: string, name: string): StockadeError {
  return new StockadeError('NOT_FOUND', [`repository ${owner}/${name}`]);
}

/**
 * Resolves a repository and checks `action` on it, the way the format routes do: a missing
 * repository and one the caller may not see give the same answer (401 anonymous, else 404).
 */
export function createRepoGuard(ctx: ServerContext) {
  return async function repoFor(request: FastifyRequest, path: { owner: string; repo: string }, action: RepoAction): Promise<RepoInfo> {
    const repo = await ctx.domain.repos.get(path.owner, path.repo);
    if (!repo) throw request.principal ? repoNotFound(path.owner, path.repo) : new StockadeError('AUTH_REQUIRED');
    assertAllowed(await ctx.domain.access.decide(request.principal, action, repo), repo, action);
    return repo;
  };
}

/**
 * Resolves an organization for a caller: `member` for any role, `admin` for its admins (and site
 * admins), `admin-change` also with the admin scope and the second factor. Outsiders, and tokens
 * restricted to one repository, get the same 404 as for a missing organization.
 */
export function createOrgGuard(ctx: ServerContext) {
  const { accounts } = ctx.domain;
  return async function orgFor(request: FastifyRequest, name: string, need: 'member' | 'admin' | 'admin-change', what = 'manage it') {
    const principal = requireUser(request);
    const owner = await accounts.getOwner(name);
    const restricted = principal.token !== null && principal.token.repoId !== null;
    let role: Role | null = null;
    if (owner && owner.kind === 'org' && !restricted) role = principal.isAdmin ? 'admin' : await accounts.roleOf(principal.userId, owner.id);
    if (!owner || role === null) throw new StockadeError('NOT_FOUND', [`organization ${name}`]);
    if (need === 'member') return owner;
    if (role !== 'admin') throw new StockadeError('FORBIDDEN', [`only admins of ${name} may ${what}`]);
    if (need === 'admin-change') {
      requireScope(principal, 'admin');
      await requireSecondFactor(ctx.domain, principal, { id: owner.id, name: owner.name });
    }
    return owner;
  };
}
