/**
 * Every endpoint of the npm registry protocol that Stockade answers, below
 * `/{owner}/{repo}/npm`. The router dispatches from this list only, so an endpoint that is not
 * here does not exist, and the authorization matrix test walks exactly this list.
 */

/** What an endpoint needs, in the terms of the authorization matrix (src/server/access-matrix.ts). */
export type NpmAccess = 'anyone' | 'authenticated' | 'account' | 'login' | 'password' | 'repo-read' | 'repo-write' | 'repo-delete';

export interface NpmEndpoint {
  id: string;
  methods: readonly string[];
  /**
   * Path segments: literals; `{name}` is a package name (a scoped name may span two segments);
   * `{x}` is any one segment; `prefix:{x}` a segment starting with `prefix:`.
   */
  path: string;
  access: NpmAccess;
}

export const NPM_ENDPOINTS = [
  { id: 'ping', methods: ['GET'], path: '/-/ping', access: 'anyone' },
  { id: 'whoami', methods: ['GET'], path: '/-/whoami', access: 'authenticated' },
  // The legacy login: the password travels in the body, whatever the Authorization header says.
  { id: 'login', methods: ['PUT'], path: '/-/user/org.couchdb.user:{user}', access: 'login' },
  { id: 'user', methods: ['GET'], path: '/-/user/org.couchdb.user:{user}', access: 'authenticated' },
  { id: 'logout', methods: ['DELETE'], path: '/-/user/token/{token}', access: 'authenticated' },
  { id: 'tokens-list', methods: ['GET'], path: '/-/npm/v1/tokens', access: 'account' },
  { id: 'tokens-create', methods: ['POST'], path: '/-/npm/v1/tokens', access: 'password' },
  { id: 'tokens-revoke', methods: ['DELETE'], path: '/-/npm/v1/tokens/token/{id}', access: 'account' },
  { id: 'audit-bulk', methods: ['POST'], path: '/-/npm/v1/security/advisories/bulk', access: 'repo-read' },
  { id: 'audit-quick', methods: ['POST'], path: '/-/npm/v1/security/audits/quick', access: 'repo-read' },
  { id: 'search', methods: ['GET'], path: '/-/v1/search', access: 'repo-read' },
  { id: 'dist-tags', methods: ['GET'], path: '/-/package/{name}/dist-tags', access: 'repo-read' },
  { id: 'dist-tag', methods: ['GET'], path: '/-/package/{name}/dist-tags/{tag}', access: 'repo-read' },
  { id: 'dist-tag-set', methods: ['PUT', 'POST'], path: '/-/package/{name}/dist-tags/{tag}', access: 'repo-write' },
  { id: 'dist-tag-remove', methods: ['DELETE'], path: '/-/package/{name}/dist-tags/{tag}', access: 'repo-write' },
  { id: 'packument', methods: ['GET', 'HEAD'], path: '/{name}', access: 'repo-read' },
  // Publish a version, or deprecate existing ones.
  { id: 'publish', methods: ['PUT'], path: '/{name}', access: 'repo-write' },
  { id: 'tarball', methods: ['GET', 'HEAD'], path: '/{name}/-/{file}', access: 'repo-read' },
  // `npm unpublish name@version`: the document without that version, then its tarball.
  { id: 'unpublish-versions', methods: ['PUT'], path: '/{name}/-rev/{rev}', access: 'repo-delete' },
  { id: 'unpublish-package', methods: ['DELETE'], path: '/{name}/-rev/{rev}', access: 'repo-delete' },
  { id: 'unpublish-tarball', methods: ['DELETE'], path: '/{name}/-/{file}/-rev/{rev}', access: 'repo-delete' },
  { id: 'version', methods: ['GET'], path: '/{name}/{version}', access: 'repo-read' },
] as const satisfies readonly NpmEndpoint[];

export type NpmEndpointId = (typeof NPM_ENDPOINTS)[number]['id'];

export type EndpointMatch = { endpoint: (typeof NPM_ENDPOINTS)[number]; params: Record<string, string> };

const compiled = NPM_ENDPOINTS.map((endpoint) => ({ endpoint, parts: endpoint.path.split('/').filter(Boolean) }));

/** Matches `segments` against one pattern; the params, or null. */
function matchPattern(parts: readonly string[], segments: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  let at = 0;
  for (const part of parts) {
    const segment = segments[at];
    if (segment === undefined) return null;
    if (part === '{name}') {
      if (segment === '-') return null;
      // `@scope%2fname` arrives as one segment, `@scope/name` as two.
      if (segment.startsWith('@') && !segment.includes('/')) {
        const second = segments[at + 1];
        if (!second) return null;
        params.name = `${segment}/${second}`;
        at += 2;
      } else {
        params.name = segment;
        at += 1;
      }
      continue;
    }
    const param = /^(.*)\{(\w+)\}$/.exec(part);
    if (param) {
      const prefix = param[1] as string;
      if (!segment.startsWith(prefix) || segment.length === prefix.length) return null;
      params[param[2] as string] = segment.slice(prefix.length);
      at += 1;
      continue;
    }
    if (segment !== part) return null;
    at += 1;
  }
  return at === segments.length ? params : null;
}

/**
 * The endpoint for a request: a match, `method` when the path exists but not for this method, or
 * null when no endpoint has this path.
 */
export function matchEndpoint(segments: readonly string[], method: string): EndpointMatch | 'method' | null {
  let pathMatched = false;
  for (const { endpoint, parts } of compiled) {
    const params = matchPattern(parts, segments);
    if (!params) continue;
    if ((endpoint.methods as readonly string[]).includes(method)) return { endpoint, params };
    pathMatched = true;
  }
  return pathMatched ? 'method' : null;
}
