/**
 * The authorization matrix: which caller may do what, for every route of the REST API and of
 * every format. The routes enforce it (guards, access.decide); this table states it in one place,
 * and test/server/access-matrix.test.ts calls every route with every caller below and checks that
 * the answer is what the table says. A route missing from the table fails that test.
 *
 * The callers are defined against one situation: the organization `corp` requires MFA and has two
 * private repositories, A (`corp/a`) and B (`corp/b`).
 */
import { DEBIAN_ENDPOINTS } from '../formats/debian/endpoints.js';
import { RPM_ENDPOINTS } from '../formats/rpm/endpoints.js';
import { REPO_KEY_ENDPOINTS } from './repo-keys-routes.js';
import { NPM_ENDPOINTS, type NpmAccess } from '../formats/npm/endpoints.js';
import { PYPI_ENDPOINTS } from '../formats/pypi/endpoints.js';
import { RUBYGEMS_ENDPOINTS } from '../formats/rubygems/endpoints.js';

export const CALLERS = [
  /** No credentials. */
  'anonymous',
  /** A token past its expiry. */
  'expired',
  /** A revoked token. */
  'revoked',
  /** A machine's read token minted by the master token of A. */
  'readTokenA',
  /** A machine's read token minted by the master token of B. */
  'readTokenB',
  /** The master token of A. */
  'masterTokenA',
  /** A `write` member of corp who has not enrolled in MFA (which corp requires), personal token. */
  'memberWithoutMfa',
  /** A `write` member of corp with MFA, personal token, no one-time password sent. */
  'writerWithoutOtp',
  /** A site admin without MFA and without a role in corp. */
  'siteAdmin',
  /** The writer's automation token for A (write and delete scopes). */
  'automationA',
  /** A `write` member of corp with MFA, personal token, a fresh one-time password sent. */
  'writer',
  /** An `admin` of corp with MFA, personal admin token, a fresh one-time password sent. */
  'orgAdmin',
] as const;

export type Caller = (typeof CALLERS)[number];

/**
 * ok: the route runs (its answer may still be a 400 or 409 about the request itself);
 * unauthenticated: 401 (AUTH_REQUIRED or INVALID_TOKEN); hidden: 404, exactly as for something that
 * does not exist; forbidden: 403; mfa: 403 MFA_REQUIRED; otp: 401 OTP_REQUIRED.
 */
export type Outcome = 'ok' | 'unauthenticated' | 'hidden' | 'forbidden' | 'mfa' | 'otp';

/** What a route needs; each is one row of the matrix. */
export type Access =
  | NpmAccess
  /** The caller's own account, with a personal credential (tokens, MFA, sessions). */
  | 'account'
  /** A change to the caller's own account that needs the second factor (new tokens, password). */
  | 'account-change'
  /** Only a browser session (a cookie) gets through; no caller here has one. */
  | 'session'
  | 'site-admin'
  /** A user (here: the writer) or a site admin. */
  | 'user-self'
  /** A change to a user's account (here: the writer's): the user with the second factor, or a site admin. */
  | 'user-self-change'
  /** Creating an organization. */
  | 'create-owner'
  | 'org-read'
  /** Reading an organization's settings: its admins and site admins. */
  | 'org-admin-read'
  /** Changing an organization: its admins, with the second factor. */
  | 'org-admin'
  /** Creating a repository under an owner: its admins, with the second factor. */
  | 'owner-admin'
  | 'repo-admin'
  /** Minting and listing read tokens: the repository master token only. */
  | 'repo-master'
  /** Revoking a token (here: one of the writer's): its user or a site admin. */
  | 'token-owner';

const rejectInvalid = { anonymous: 'ok', expired: 'unauthenticated', revoked: 'unauthenticated' } as const;
const needCredentials = { anonymous: 'unauthenticated', expired: 'unauthenticated', revoked: 'unauthenticated' } as const;
/** Tokens restricted to one repository (or minted for it) cannot see an organization at all. */
const restrictedHidden = { readTokenA: 'hidden', readTokenB: 'hidden', masterTokenA: 'hidden', automationA: 'hidden' } as const;
const machineTokensForbidden = { readTokenA: 'forbidden', readTokenB: 'forbidden', masterTokenA: 'forbidden', automationA: 'forbidden' } as const;

/** The matrix. Read a row as: for a route with this access, this caller gets this outcome. */
export const MATRIX: Record<Access, Record<Caller, Outcome>> = {
  anyone: { ...rejectInvalid, readTokenA: 'ok', readTokenB: 'ok', masterTokenA: 'ok', memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', automationA: 'ok', writer: 'ok', orgAdmin: 'ok' },
  // The legacy npm login carries the password in its body: any caller may log in (as someone else).
  login: { ...rejectInvalid, readTokenA: 'ok', readTokenB: 'ok', masterTokenA: 'ok', memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', automationA: 'ok', writer: 'ok', orgAdmin: 'ok' },
  authenticated: { ...needCredentials, readTokenA: 'ok', readTokenB: 'ok', masterTokenA: 'ok', memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', automationA: 'ok', writer: 'ok', orgAdmin: 'ok' },
  account: { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'ok' },
  // npm token create: the password in the body and, with MFA, a one-time password.
  password: { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'ok', writerWithoutOtp: 'otp', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'ok' },
  'account-change': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'ok', writerWithoutOtp: 'otp', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'ok' },
  session: { ...needCredentials, readTokenA: 'unauthenticated', readTokenB: 'unauthenticated', masterTokenA: 'unauthenticated', memberWithoutMfa: 'unauthenticated', writerWithoutOtp: 'unauthenticated', siteAdmin: 'unauthenticated', automationA: 'unauthenticated', writer: 'unauthenticated', orgAdmin: 'unauthenticated' },
  'site-admin': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'ok', writer: 'forbidden', orgAdmin: 'forbidden' },
  'user-self': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'forbidden', writerWithoutOtp: 'ok', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'forbidden' },
  'user-self-change': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'forbidden', writerWithoutOtp: 'otp', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'forbidden' },
  'create-owner': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'ok' },
  'org-read': { ...needCredentials, ...restrictedHidden, memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'ok' },
  'org-admin-read': { ...needCredentials, ...restrictedHidden, memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'ok', writer: 'forbidden', orgAdmin: 'ok' },
  'org-admin': { ...needCredentials, ...restrictedHidden, memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'mfa', writer: 'forbidden', orgAdmin: 'ok' },
  'owner-admin': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'mfa', writer: 'forbidden', orgAdmin: 'ok' },
  'repo-read': { ...needCredentials, readTokenA: 'ok', readTokenB: 'hidden', masterTokenA: 'ok', memberWithoutMfa: 'ok', writerWithoutOtp: 'ok', siteAdmin: 'ok', automationA: 'ok', writer: 'ok', orgAdmin: 'ok' },
  'repo-write': { ...needCredentials, readTokenA: 'forbidden', readTokenB: 'hidden', masterTokenA: 'forbidden', memberWithoutMfa: 'mfa', writerWithoutOtp: 'otp', siteAdmin: 'mfa', automationA: 'ok', writer: 'ok', orgAdmin: 'ok' },
  // Unpublishing takes a repository admin (npm.unpublish: admins, the default).
  'repo-delete': { ...needCredentials, readTokenA: 'forbidden', readTokenB: 'hidden', masterTokenA: 'forbidden', memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'mfa', automationA: 'forbidden', writer: 'forbidden', orgAdmin: 'ok' },
  'repo-admin': { ...needCredentials, readTokenA: 'forbidden', readTokenB: 'hidden', masterTokenA: 'forbidden', memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'mfa', automationA: 'forbidden', writer: 'forbidden', orgAdmin: 'ok' },
  'repo-master': { ...needCredentials, readTokenA: 'forbidden', readTokenB: 'hidden', masterTokenA: 'ok', memberWithoutMfa: 'forbidden', writerWithoutOtp: 'forbidden', siteAdmin: 'forbidden', automationA: 'forbidden', writer: 'forbidden', orgAdmin: 'forbidden' },
  'token-owner': { ...needCredentials, ...machineTokensForbidden, memberWithoutMfa: 'hidden', writerWithoutOtp: 'ok', siteAdmin: 'ok', writer: 'ok', orgAdmin: 'hidden' },
};

/** Every REST API route (`METHOD /path` as in the OpenAPI document) and what it needs. */
export const API_ROUTES: Record<string, Access> = {
  'GET /': 'anyone',
  'GET /openapi.json': 'anyone',
  'GET /whoami': 'authenticated',
  'POST /users': 'site-admin',
  'GET /users': 'site-admin',
  'GET /users/{name}': 'user-self',
  'PUT /users/{name}/password': 'user-self-change',
  'DELETE /users/{name}/mfa': 'site-admin',
  'POST /users/{name}/unlock': 'site-admin',
  'POST /session': 'anyone',
  'GET /session': 'session',
  'DELETE /session': 'anyone',
  'POST /session/logout-all': 'account',
  'GET /user/mfa': 'account',
  'POST /user/mfa/enroll': 'account',
  'POST /user/mfa/confirm': 'account',
  'POST /user/mfa/disable': 'account',
  'POST /user/mfa/recovery-codes': 'account',
  'POST /orgs': 'create-owner',
  'GET /orgs/{name}/members': 'org-read',
  'PUT /orgs/{name}/members/{user}': 'org-admin',
  'DELETE /orgs/{name}/members/{user}': 'org-admin',
  'GET /orgs/{name}/mfa': 'org-admin-read',
  'PUT /orgs/{name}/mfa': 'org-admin',
  'GET /tokens': 'account',
  'POST /tokens': 'account-change',
  'DELETE /tokens/{id}': 'token-owner',
  'POST /repos/{owner}/{repo}/read-tokens': 'repo-master',
  'GET /repos/{owner}/{repo}/read-tokens': 'repo-master',
  'POST /repos': 'owner-admin',
  'GET /repos': 'anyone',
  'GET /repos/{owner}/{repo}': 'repo-read',
  'PATCH /repos/{owner}/{repo}': 'repo-admin',
  'DELETE /repos/{owner}/{repo}': 'repo-admin',
  'GET /repos/{owner}/{repo}/upstream': 'repo-admin',
  'PATCH /repos/{owner}/{repo}/upstream': 'repo-admin',
  'GET /repos/{owner}/{repo}/members': 'repo-admin',
  'PUT /repos/{owner}/{repo}/members': 'repo-admin',
  'GET /repos/{owner}/{repo}/collisions': 'repo-read',
  'GET /repos/{owner}/{repo}/packages': 'repo-read',
  'GET /repos/{owner}/{repo}/packages/{format}/{name}': 'repo-read',
  'GET /repos/{owner}/{repo}/packages/{format}/{scope}/{name}': 'repo-read',
  'POST /repos/{owner}/{repo}/packages/{format}/{name}/versions/{version}/yank': 'repo-write',
  'DELETE /repos/{owner}/{repo}/packages/{format}/{name}/versions/{version}/yank': 'repo-write',
  'DELETE /repos/{owner}/{repo}/packages/{format}/{name}/versions/{version}': 'repo-admin',
  'PUT /repos/{owner}/{repo}/upload': 'repo-write',
  'POST /repos/{owner}/{repo}/import': 'repo-write',
  'GET /repos/{owner}/{repo}/policy': 'repo-read',
  'PUT /repos/{owner}/{repo}/policy': 'repo-admin',
  'DELETE /repos/{owner}/{repo}/policy': 'repo-admin',
  'POST /repos/{owner}/{repo}/policy/exceptions': 'repo-admin',
  'DELETE /repos/{owner}/{repo}/policy/exceptions/{id}': 'repo-admin',
  'GET /repos/{owner}/{repo}/quarantine': 'repo-admin',
  'POST /repos/{owner}/{repo}/quarantine/review': 'repo-admin',
  'GET /audit': 'site-admin',
  'POST /audit/verify': 'site-admin',
};

/** Every route of every format, below `/{owner}/{repo}/{format}`, and what it needs. */
export const FORMAT_ROUTES: Record<string, readonly { id: string; methods: readonly string[]; path: string; access: Access }[]> = {
  npm: NPM_ENDPOINTS,
  debian: DEBIAN_ENDPOINTS,
  rpm: RPM_ENDPOINTS,
  pypi: PYPI_ENDPOINTS,
  rubygems: RUBYGEMS_ENDPOINTS,
};

/** Routes at the repository's own URL, `/{owner}/{repo}/…`, shared by every format. */
export const REPO_ROUTES: readonly { id: string; methods: readonly string[]; path: string; access: Access }[] = REPO_KEY_ENDPOINTS;
