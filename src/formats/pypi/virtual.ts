import type { FastifyRequest } from 'fastify';
import type { StoredPackage } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import type { ServerContext } from '../../http/context.js';
import { createVirtualResolver } from '../virtual.js';
import { comparePypiVersions, FORMAT } from './publish.js';
import { parseUpstreamProject, type UpstreamProject, upstreamVersions } from './upstream-page.js';

/** Cached pages are summarized for collision records only: file URLs do not matter, any base resolves them. */
const SUMMARY_PAGE_URL = 'http://upstream.invalid/simple/';

const versionsOf = (meta: UpstreamProject) => upstreamVersions(meta).map((v) => v.version);

/**
 * PyPI virtual repositories (see src/formats/virtual.ts). Names reach the resolver PEP 503
 * normalized, as they are stored, so `Acme_Widget` and `acme-widget` are one protected name and
 * claims match them alike. PyPI has no namespaces: only exact names and claimed prefixes protect.
 */
export function createPypiVirtual(
  ctx: ServerContext,
  deps: {
    /** A hosted member's package, from the routes' per-node cache. */
    load: (repo: RepoInfo, name: string) => Promise<StoredPackage | null>;
  },
) {
  const { domain } = ctx;
  const resolver = createVirtualResolver(
    ctx,
    {
      format: FORMAT,
      label: 'PyPI index',
      compareVersions: comparePypiVersions,
      summarizeCached(body, name) {
        try {
          return { versions: versionsOf(parseUpstreamProject(body, name, `${SUMMARY_PAGE_URL}${name}/`)) };
        } catch {
          return null;
        }
      },
    },
    deps,
  );

  /**
   * The root index (`/simple/`) across members: every project a hosted member shows, and every
   * project a remote member has cached unless the virtual repository keeps that name private (its
   * page would come from the hosted members, which may have nothing to show).
   */
  async function projectNames(request: FastifyRequest, repo: RepoInfo): Promise<string[]> {
    const view = await resolver.viewOf(request, repo);
    const names = new Set<string>();
    for (const member of view.members) {
      for (const { name } of await domain.packages.listNames(member, FORMAT)) {
        if (names.has(name)) continue;
        if (member.kind === 'remote' && (await resolver.protection(view, name))) continue;
        names.add(name);
      }
    }
    return [...names].sort();
  }

  return {
    ...resolver,
    projectNames,
    afterRefresh: (remote: RepoInfo, name: string, meta: UpstreamProject) => resolver.afterRefresh(remote, name, { versions: versionsOf(meta) }),
  };
}

export type PypiVirtual = ReturnType<typeof createPypiVirtual>;
