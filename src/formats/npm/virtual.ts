import semver from 'semver';
import type { StoredPackage } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import type { ServerContext } from '../../http/context.js';
import { createVirtualResolver, type UpstreamSummary } from '../virtual.js';
import { splitScopedName } from './names.js';
import { FORMAT } from './publish.js';
import type { UpstreamPackument } from './remote.js';

/** Versions and latest of an upstream packument, for collision records. */
function summarize(doc: { versions?: unknown; 'dist-tags'?: unknown }): UpstreamSummary {
  const versions = typeof doc.versions === 'object' && doc.versions !== null ? Object.keys(doc.versions).filter((v) => semver.valid(v) !== null) : [];
  const tags = doc['dist-tags'] as Record<string, unknown> | undefined;
  const latest = typeof tags?.latest === 'string' ? tags.latest : undefined;
  return { versions, latest };
}

/**
 * npm virtual repositories (see src/formats/virtual.ts): names compare case-insensitively in
 * claims, and a scope that any hosted member publishes in is private as a whole.
 */
export function createNpmVirtual(
  ctx: ServerContext,
  deps: {
    /** A hosted member's package, from the routes' per-node cache. */
    load: (repo: RepoInfo, name: string) => Promise<StoredPackage | null>;
    /** Whether `load` is a per-node cache that hears of every change (see createVirtualResolver). */
    cached?: boolean;
  },
) {
  const resolver = createVirtualResolver(
    ctx,
    {
      format: FORMAT,
      label: 'npm registry',
      compareVersions: semver.compare,
      namespaceRange(name) {
        const { scope } = splitScopedName(name);
        if (!scope) return null;
        // Every name in `@scope/…` sorts between `@scope/` and `@scope0` ('0' follows '/').
        const from = `${scope.startsWith('@') ? scope : `@${scope}`}/`;
        return { from, to: `${from.slice(0, -1)}0` };
      },
      summarizeCached(body) {
        try {
          return summarize(JSON.parse(body) as { versions?: unknown });
        } catch {
          return null;
        }
      },
    },
    deps,
  );
  return {
    ...resolver,
    afterRefresh: (remote: RepoInfo, name: string, meta: UpstreamPackument) =>
      resolver.afterRefresh(remote, name, { versions: meta.versions.keys(), latest: meta.distTags.get('latest') }),
  };
}

export type NpmVirtual = ReturnType<typeof createNpmVirtual>;
