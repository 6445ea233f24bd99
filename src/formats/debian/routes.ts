import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { plainTextErrors, readableRepo as readableFrom, sendGenerated as send, sendStoredFile } from '../../http/file-clients.js';
import { baseUrl } from '../../http/context.js';
import { indexCacheFor, indexKey } from '../index-cache.js';
import { AptDistIndex, type DistSnapshot } from './dist-index.js';
import { aptSetupScript } from './setup-script.js';
import { DEBIAN_ENDPOINTS, type DebianEndpointId } from './endpoints.js';
import { FORMAT } from './publish.js';

/**
 * The APT repository at `/{owner}/{repo}/debian/`: `dists/<dist>/{InRelease,Release,Release.gpg}`,
 * `dists/<dist>/<component>/binary-<arch>/Packages[.gz]` and their `by-hash/SHA256/` copies,
 * `pool/…` and the repository's public key. A distribution's indexes are rendered from the
 * database once per change and kept per node; the Release date is the newest listing's time, so
 * every node renders the same index files.
 */
export async function debianRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;
  const indexes = indexCacheFor<DistSnapshot>(domain.changes, FORMAT);

  plainTextErrors(app, ctx);
  const readableRepo = (request: FastifyRequest) => readableFrom(ctx, request);


  function snapshotOf(repo: RepoInfo, dist: string): Promise<DistSnapshot> {
    return indexes.current(indexKey(repo, dist), () => new AptDistIndex(domain, repo, dist));
  }

  /** After a miss: another node may have listed a change this one has not heard of yet. */
  function caughtUp(repo: RepoInfo, dist: string): Promise<DistSnapshot> {
    indexes.markDirty(indexKey(repo, dist));
    return snapshotOf(repo, dist);
  }


  const handlers: Record<DebianEndpointId, (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> = {
    release: async (request, reply) => {
      const { dist, file } = request.params as { dist: string; file: string };
      const repo = await readableRepo(request);
      const snapshot = await snapshotOf(repo, dist);
      if (file === 'InRelease') return send(reply, snapshot.inRelease, 'text/plain; charset=utf-8');
      if (file === 'Release') return send(reply, snapshot.release, 'text/plain; charset=utf-8');
      if (file === 'Release.gpg') return send(reply, snapshot.releaseGpg, 'application/pgp-signature');
      throw new StockadeError('NOT_FOUND', [`file ${file}`]);
    },
    index: async (request, reply) => {
      const { dist, component, binary } = request.params as { dist: string; component: string; binary: string; '*': string };
      const rest = (request.params as Record<string, string>)['*'] ?? '';
      const repo = await readableRepo(request);
      const snapshot = await snapshotOf(repo, dist);
      const byHash = /^by-hash\/SHA256\/([0-9a-f]{64})$/.exec(rest);
      if (byHash) {
        const sha = byHash[1] as string;
        const data = snapshot.byHash.get(sha)?.() ?? indexes.retainedFile(sha) ?? (await caughtUp(repo, dist)).byHash.get(sha)?.();
        if (!data) throw new StockadeError('NOT_FOUND', [`index ${sha}`]);
        return send(reply, data, 'application/octet-stream');
      }
      const data = snapshot.files.get(`${component}/${binary}/${rest}`)?.();
      if (!data) throw new StockadeError('NOT_FOUND', [`file ${component}/${binary}/${rest}`]);
      return send(reply, data, rest.endsWith('.gz') ? 'application/gzip' : 'text/plain; charset=utf-8');
    },
    pool: async (request, reply) => {
      const poolPath = `pool/${(request.params as Record<string, string>)['*'] ?? ''}`;
      const repo = await readableRepo(request);
      const file = await domain.apt.poolFile(repo.id, poolPath);
      if (!file) throw new StockadeError('NOT_FOUND', [`file ${poolPath}`]);
      return sendStoredFile(ctx, reply, repo, file, 'application/vnd.debian.binary-package');
    },
    // The repository's public key: armored, and as a binary keyring for `signed-by=`.
    'public-key': async (request, reply) => send(reply, (await domain.repoKeys.publicKeys(await readableRepo(request))).armored, 'application/pgp-keys'),
    keyring: async (request, reply) => send(reply, (await domain.repoKeys.publicKeys(await readableRepo(request))).binary, 'application/octet-stream'),
    setup: async (request, reply) => {
      const repo = await readableRepo(request);
      const repoUrl = `${baseUrl(ctx.config, request)}/${repo.path}/debian`;
      return send(reply, aptSetupScript({ repoUrl, repoPath: repo.path, isPrivate: repo.visibility === 'private' }), 'text/x-shellscript; charset=utf-8');
    },
  };

  for (const endpoint of DEBIAN_ENDPOINTS) app.route({ method: [...endpoint.methods], url: endpoint.route, handler: handlers[endpoint.id] });
}
