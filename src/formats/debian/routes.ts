import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { assertAllowed } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { logError, applyErrorHeaders, toStockadeError } from '../../http/errors.js';
import { baseUrl } from '../../http/context.js';
import { type IndexFile, releaseText } from './apt-index.js';
import { aptSetupScript } from './setup-script.js';
import { DEBIAN_ENDPOINTS, type DebianEndpointId } from './endpoints.js';
import { FORMAT } from './publish.js';

/** Architectures every distribution lists, so `Architecture: all` packages reach common machines. */
const DEFAULT_ARCHITECTURES = ['amd64', 'arm64'];
const DEFAULT_COMPONENT = 'main';

interface DistSnapshot {
  /** Index files by path relative to `dists/<dist>/`. */
  files: Map<string, Buffer>;
  byHash: Map<string, Buffer>;
  release: string;
  inRelease: string;
  releaseGpg: string;
}

function digestsOf(path: string, data: Buffer): IndexFile {
  const digest = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { path, size: data.length, md5: digest('md5'), sha1: digest('sha1'), sha256: digest('sha256') };
}

/**
 * The APT repository at `/{owner}/{repo}/debian/`: `dists/<dist>/{InRelease,Release,Release.gpg}`,
 * `dists/<dist>/<component>/binary-<arch>/Packages[.gz]` and their `by-hash/SHA256/` copies,
 * `pool/…` and the repository's public key. A distribution's indexes are rendered from the
 * database once per change and kept per node; the Release date is the newest listing's time, so
 * every node renders the same index files.
 */
export async function debianRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;
  const snapshots = new Map<string, Promise<DistSnapshot>>();
  // Index files of earlier snapshots stay fetchable by hash for clients that read an older Release.
  const previousByHash = new Map<string, Buffer>();
  domain.changes.subscribe((topic, key) => {
    if ((topic === 'package' && (key === '*' || key.includes(`:${FORMAT}:`))) || topic === 'repo-key' || (topic === 'repo' && key === '*')) {
      for (const pending of snapshots.values()) {
        pending.then(
          (snapshot) => {
            for (const [sha, data] of snapshot.byHash) previousByHash.set(sha, data);
            while (previousByHash.size > 256) previousByHash.delete(previousByHash.keys().next().value as string);
          },
          () => undefined,
        );
      }
      snapshots.clear();
    }
  });

  app.setErrorHandler((raw, request, reply) => {
    const error = toStockadeError(raw, ctx.config.server.bodyLimit);
    logError(request, raw, error);
    applyErrorHeaders(reply, error);
    if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Basic realm="stockade"');
    // apt prints the status line; the body is for people reading it with curl.
    return reply.code(error.status).header('content-type', 'text/plain; charset=utf-8').send(`${error.message}\n`);
  });

  async function readableRepo(request: FastifyRequest): Promise<RepoInfo> {
    const { owner, repo: name } = request.params as { owner: string; repo: string };
    const repo = await domain.repos.get(owner, name);
    if (!repo) throw new StockadeError(request.principal ? 'NOT_FOUND' : 'AUTH_REQUIRED', request.principal ? [`repository ${owner}/${name}`] : []);
    assertAllowed(await domain.access.decide(request.principal, 'read', repo), repo, 'read');
    return repo;
  }

  async function render(repo: RepoInfo, dist: string): Promise<DistSnapshot> {
    const entries = await domain.apt.entries(repo.id, dist);
    if (entries.length === 0) throw new StockadeError('NOT_FOUND', [`distribution ${dist}`]);
    const archs = new Set(DEFAULT_ARCHITECTURES);
    const components = new Set([DEFAULT_COMPONENT]);
    for (const entry of entries) {
      if (entry.arch !== 'all') archs.add(entry.arch);
      components.add(entry.component);
    }
    const files = new Map<string, Buffer>();
    const described: IndexFile[] = [];
    for (const component of components) {
      for (const arch of archs) {
        const stanzas = entries.filter((e) => e.component === component && (e.arch === arch || e.arch === 'all')).map((e) => e.stanza);
        const packages = Buffer.from(stanzas.join('\n'));
        const base = `${component}/binary-${arch}/Packages`;
        // mtime 0 in the gzip header keeps the bytes, and so the hash, the same on every node.
        for (const [path, data] of [
          [base, packages],
          [`${base}.gz`, gzipSync(packages, { level: 9 })],
        ] as const) {
          files.set(path, data);
          described.push(digestsOf(path, data));
        }
      }
    }
    const newest = entries.reduce((latest, e) => (e.createdAt > latest ? e.createdAt : latest), entries[0]?.createdAt ?? new Date(0).toISOString());
    const release = releaseText({
      origin: repo.path,
      label: repo.path,
      suite: dist,
      codename: dist,
      date: new Date(newest),
      architectures: [...archs],
      components: [...components],
      description: repo.description || `Stockade repository ${repo.path}`,
      files: described,
    });
    const byHash = new Map<string, Buffer>();
    for (const file of described) byHash.set(file.sha256, files.get(file.path) as Buffer);
    const [inRelease, releaseGpg] = await Promise.all([domain.repoKeys.clearsign(repo, release), domain.repoKeys.detachedSign(repo, release)]);
    return { files, byHash, release, inRelease, releaseGpg };
  }

  function snapshotOf(repo: RepoInfo, dist: string): Promise<DistSnapshot> {
    const key = `${repo.id}:${dist}`;
    let pending = snapshots.get(key);
    if (!pending) {
      pending = render(repo, dist);
      snapshots.set(key, pending);
      pending.catch(() => snapshots.delete(key));
    }
    return pending;
  }

  const send = (reply: FastifyReply, body: string | Buffer, contentType: string) =>
    reply.header('content-type', contentType).header('cache-control', 'no-cache').send(body);

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
        const data = snapshot.byHash.get(sha) ?? previousByHash.get(sha);
        if (!data) throw new StockadeError('NOT_FOUND', [`index ${sha}`]);
        return send(reply, data, 'application/octet-stream');
      }
      const data = snapshot.files.get(`${component}/${binary}/${rest}`);
      if (!data) throw new StockadeError('NOT_FOUND', [`file ${component}/${binary}/${rest}`]);
      return send(reply, data, rest.endsWith('.gz') ? 'application/gzip' : 'text/plain; charset=utf-8');
    },
    pool: async (request, reply) => {
      const poolPath = `pool/${(request.params as Record<string, string>)['*'] ?? ''}`;
      const repo = await readableRepo(request);
      const file = await domain.apt.poolFile(repo.id, poolPath);
      if (!file) throw new StockadeError('NOT_FOUND', [`file ${poolPath}`]);
      reply.headers({
        'content-type': 'application/vnd.debian.binary-package',
        'content-length': file.size,
        etag: `"${file.sha256}"`,
        'cache-control': `${repo.visibility === 'public' ? 'public' : 'private'}, max-age=31536000, immutable`,
      });
      const bytes = await ctx.blobCache.read(file.sha256, file.size);
      return reply.send(bytes ?? (await ctx.blobs.get(file.sha256)));
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
