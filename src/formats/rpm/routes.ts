import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { baseUrl, type ServerContext } from '../../http/context.js';
import { plainTextErrors, readableRepo as readableFrom, sendGenerated as send, sendStoredFile } from '../../http/file-clients.js';
import { indexCacheFor, indexKey } from '../index-cache.js';
import { type RepodataSnapshot, RpmDistIndex } from './dist-index.js';
import { RPM_ENDPOINTS, type RpmEndpointId } from './endpoints.js';
import { FORMAT } from './publish.js';
import { rpmSetupScript } from './setup-script.js';

/**
 * The rpm-md repositories at `/{owner}/{repo}/rpm/{distro}/{release}/`: `repodata/repomd.xml`
 * (+ `.asc`), the metadata files it names and `Packages/…`, plus the repository's public key
 * and setup script. Metadata is kept per node and brought up to date block by block.
 */
export async function rpmRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;
  const indexes = indexCacheFor<RepodataSnapshot>(domain.changes, FORMAT);

  plainTextErrors(app, ctx);
  const readableRepo = (request: FastifyRequest) => readableFrom(ctx, request);


  const distOf = (request: FastifyRequest) => {
    const { distro, release } = request.params as { distro: string; release: string };
    return `${distro}/${release}`;
  };
  const snapshotOf = (repo: RepoInfo, dist: string) => indexes.current(indexKey(repo, dist), () => new RpmDistIndex(domain, repo, dist));

  const handlers: Record<RpmEndpointId, (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> = {
    repodata: async (request, reply) => {
      const { file } = request.params as { file: string };
      const repo = await readableRepo(request);
      const dist = distOf(request);
      const snapshot = await snapshotOf(repo, dist);
      if (file === 'repomd.xml') return send(reply, snapshot.repomd, 'application/xml; charset=utf-8');
      if (file === 'repomd.xml.asc') return send(reply, snapshot.repomdAsc, 'application/pgp-signature');
      const named = /^([0-9a-f]{64})-(?:primary|filelists|other)\.xml\.gz$/.exec(file);
      if (!named) throw new StockadeError('NOT_FOUND', [`file repodata/${file}`]);
      const sha = named[1] as string;
      let data = snapshot.files.get(file)?.() ?? indexes.retainedFile(sha);
      if (!data) {
        // Another node may have listed a change this one has not heard of yet.
        indexes.markDirty(indexKey(repo, dist));
        data = (await snapshotOf(repo, dist)).files.get(file)?.();
      }
      if (!data) throw new StockadeError('NOT_FOUND', [`file repodata/${file}`]);
      return send(reply, data, 'application/gzip');
    },
    package: async (request, reply) => {
      const location = `Packages/${(request.params as Record<string, string>)['*'] ?? ''}`;
      const repo = await readableRepo(request);
      const file = await domain.rpm.packageFile(repo.id, distOf(request), location);
      if (!file) throw new StockadeError('NOT_FOUND', [`file ${location}`]);
      return sendStoredFile(ctx, reply, repo, file, 'application/x-rpm');
    },
    'public-key': async (request, reply) => send(reply, (await domain.repoKeys.publicKeys(await readableRepo(request))).armored, 'application/pgp-keys'),
    setup: async (request, reply) => {
      const repo = await readableRepo(request);
      const repoUrl = `${baseUrl(ctx.config, request)}/${repo.path}/rpm`;
      return send(reply, rpmSetupScript({ repoUrl, repoPath: repo.path, isPrivate: repo.visibility === 'private' }), 'text/x-shellscript; charset=utf-8');
    },
  };

  for (const endpoint of RPM_ENDPOINTS) app.route({ method: [...endpoint.methods], url: endpoint.route, handler: handlers[endpoint.id] });
}
