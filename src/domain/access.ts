import type { Accounts, Role } from './accounts.js';
import { ROLE_RANK } from './accounts.js';
import type { Mfa } from './mfa.js';
import type { RepoInfo } from './repos.js';
import type { Scope, TokenGrant } from './tokens.js';

/**
 * Who is asking. `token` is null when the user proved a password in this request (the legacy npm
 * login and the REST API's Basic auth); such a principal has every scope its roles allow.
 */
export interface Principal {
  userId: number;
  userName: string;
  isAdmin: boolean;
  token: Pick<TokenGrant, 'tokenId' | 'scopes' | 'repoId' | 'expiresAt' | 'kind'> | null;
  /** Set when a browser session (cookie) authenticated the request. */
  sessionId?: number;
  /** Client address of the request, for lockouts and audit. */
  ip?: string | null;
  /** The one-time password the request carried (npm-otp or X-Stockade-OTP header). */
  otp?: string | null;
  /** Set once this request's one-time password was accepted, so later checks do not spend it again. */
  otpVerified?: boolean;
}

export type RepoAction = 'read' | 'write' | 'delete' | 'admin';

/**
 * The outcome of an authorization check. `unauthenticated` → 401 so clients send credentials;
 * `hidden` → the same 404 as a missing repository, so outsiders cannot learn a private repo exists;
 * `forbidden` → 403 for someone who can see the repository but not do this.
 */
export type Decision = 'ok' | 'unauthenticated' | 'hidden' | 'forbidden' | SecondFactorDecision;

/**
 * `mfa-enrollment` → 403 MFA_REQUIRED: the owner requires MFA and the user has none;
 * `otp-required` → 401 OTP_REQUIRED: the user has MFA and this write carried no code.
 */
export type SecondFactorDecision = 'mfa-enrollment' | 'otp-required';

const SCOPE_FOR: Record<RepoAction, Scope> = { read: 'read', write: 'write', delete: 'delete', admin: 'admin' };

export function createAccess(deps: { accounts: Accounts; mfa: Mfa }) {
  /**
   * The second factor a change needs. An owner that requires MFA refuses members without it,
   * whatever the credential. A user with MFA proves a fresh code on every write, except through
   * an automation token (made for CI, narrow and expiring) or a browser session (opened with a code).
   */
  async function secondFactor(principal: Principal, ownerId: number | null): Promise<'ok' | SecondFactorDecision> {
    if (!(await deps.mfa.isEnabled(principal.userId))) {
      return ownerId !== null && (await deps.mfa.ownerRequires(ownerId)) ? 'mfa-enrollment' : 'ok';
    }
    if (principal.otpVerified || principal.sessionId !== undefined || principal.token?.kind === 'automation') return 'ok';
    if (!principal.otp) return 'otp-required';
    const binding = principal.token ? `token:${principal.token.tokenId}` : null;
    await deps.mfa.verify({ name: principal.userName, ip: principal.ip ?? null, tokenId: principal.token?.tokenId }, { id: principal.userId, name: principal.userName }, principal.otp, principal.ip ?? null, binding);
    principal.otpVerified = true;
    return 'ok';
  }

  async function roleOn(principal: Principal, repo: RepoInfo): Promise<Role | null> {
    if (principal.isAdmin) return 'admin';
    return deps.accounts.roleOf(principal.userId, repo.ownerId);
  }

  /**
   * Decides whether `principal` may do `action` on `repo`. `minimumRole` overrides the role the
   * action needs (e.g. unpublish policy), scopes still apply.
   */
  async function decide(principal: Principal | null, action: RepoAction, repo: RepoInfo, minimumRole?: Role): Promise<Decision> {
    if (!principal) {
      return action === 'read' && repo.visibility === 'public' ? 'ok' : 'unauthenticated';
    }
    const token = principal.token;
    const tokenCoversRepo = !token || token.repoId === null || token.repoId === repo.id;
    const role = tokenCoversRepo ? await roleOn(principal, repo) : null;
    const canSee = repo.visibility === 'public' || (role !== null && (!token || token.scopes.has('read')));
    if (!canSee) return 'hidden';
    if (action === 'read') return 'ok';
    if (!tokenCoversRepo) return 'forbidden';
    if (token && !token.scopes.has(SCOPE_FOR[action])) return 'forbidden';
    const needed: Role = minimumRole ?? (action === 'write' ? 'write' : 'admin');
    if (role === null || ROLE_RANK[role] < ROLE_RANK[needed]) return 'forbidden';
    return secondFactor(principal, repo.ownerId);
  }

  /**
   * Whether `principal` may read `repo`, answered from cached roles only: true, or undefined when
   * the full (asynchronous) decision is needed. Hot read paths use it to skip promise hops.
   */
  function peekRead(principal: Principal | null, repo: RepoInfo): true | undefined {
    if (repo.visibility === 'public') return true;
    if (!principal) return undefined;
    const token = principal.token;
    if (token && (!token.scopes.has('read') || (token.repoId !== null && token.repoId !== repo.id))) return undefined;
    if (principal.isAdmin) return true;
    const role = deps.accounts.peekRole(principal.userId, repo.ownerId);
    return role ? true : undefined;
  }

  return { decide, peekRead, roleOn, secondFactor };
}

export type Access = ReturnType<typeof createAccess>;
