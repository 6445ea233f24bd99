import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RepoAction } from '../../domain/access.js';
import type { PackageRef } from '../../domain/packages.js';
import { assertHosted, type RepoInfo } from '../../domain/repos.js';
import { StockadeError, isStockadeError } from '../../errors.js';
import { actorOf, assertAllowed } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { applyErrorHeaders, logError, toStockadeError } from '../../http/errors.js';
import { sendStoredFile } from '../../http/file-clients.js';
import { joinReasons } from '../../security/policy.js';
import { rubyGemsScheme } from '../../security/versions/rubygems.js';
import type { IndexDoc } from './compact-index.js';
import { RUBYGEMS_ENDPOINTS, type RubygemsEndpointId } from './endpoints.js';
import { FORMAT, ingestGem, splitVersionKey, versionKey } from './publish.js';
import { upstreamHeaders } from '../../remote/remote-engine.js';
import { createGemRemote } from './remote.js';
import { createGemIndexes, entriesOf, type GemIndexSnapshot } from './repo-index.js';
import { isValidGemName } from './spec-yaml.js';
import { createGemVirtual, fullNameSplits } from './virtual.js';

/** What gem 3.3 looks for in a 401 body before it asks for a one-time password and retries. */
const OTP_MISSING = 'You have enabled multifactor authentication but no OTP code provided. Please fill it and retry.';
const OTP_WRONG = "You have enabled multifactor authentication but your request doesn't have the correct OTP code. Please check it and retry.";
const REPUSH = 'Repushing of gem versions is not allowed.\nPlease bump the version number and push a new different release.\nSee also `gem yank` if you want to unpublish the bad release.';
const PLATFORM = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** The text gem and bundler print for an error: RubyGems' own wording where the clients act on it. */
function errorText(code: string, message: string): string {
  if (code === 'OTP_REQUIRED') return OTP_MISSING;
  if (code === 'INVALID_OTP') return OTP_WRONG;
  if (code === 'VERSION_EXISTS') return REPUSH;
  return message;
}

/**
 * The RubyGems protocols at `/{owner}/{repo}/rubygems/`, which is both the gem source
 * (`gem sources`, a Gemfile's `source`) and the push host (`gem push --host`). Errors are plain
 * text, which gem and bundler print as they are.
 */
export async function rubygemsRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;
  const indexes = createGemIndexes(domain, domain.changes, { sharedDatabase: domain.dialect === 'postgres' });
  // Remote repositories read their upstream (remote.ts); virtual ones merge members (virtual.ts),
  // and hear from remote members about upstream names they keep private (collision alerts).
  const remote = createGemRemote(ctx, {}, {
    afterRefresh: (member, name, meta) => virtual.afterRefresh(member, name, meta),
    afterIndexRefresh: (member, file) => virtual.afterIndexRefresh(member, file),
  });
  const virtual = createGemVirtual(ctx, { indexes, remote });

  app.setErrorHandler((raw, request, reply) => {
    const error = toStockadeError(raw, ctx.config.server.bodyLimit);
    logError(request, raw, error);
    applyErrorHeaders(reply, error);
    // gem and bundler send the credentials of the source URL (or bundler's config) when asked.
    if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Basic realm="stockade"');
    return reply.code(error.status).header('content-type', 'text/plain; charset=utf-8').send(`${errorText(error.code, error.message)}\n`);
  });

  // gem push sends the raw .gem; gem yank a form. Both are read as bytes and parsed here.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // gem sends a one-time password in `OTP` (from --otp, GEM_HOST_OTP_CODE or its prompt).
  app.addHook('preHandler', (request, _reply, done) => {
    const otp = request.headers.otp;
    if (request.principal && typeof otp === 'string' && otp.trim() !== '') request.principal.otp = otp.trim().slice(0, 64);
    done();
  });

  /** The repository, if the caller may do `action`; a hidden one answers as missing. */
  async function repoFor(request: FastifyRequest, action: RepoAction): Promise<RepoInfo> {
    const { owner, repo: name } = request.params as { owner: string; repo: string };
    const repo = await domain.repos.get(owner, name);
    if (!repo) throw new StockadeError(request.principal ? 'NOT_FOUND' : 'AUTH_REQUIRED', request.principal ? [`repository ${owner}/${name}`] : []);
    if (action !== 'read') assertAllowed(await domain.access.decide(request.principal, 'read', repo), repo, 'read');
    assertAllowed(await domain.access.decide(request.principal, action, repo), repo, action);
    if (action !== 'read') await refuseNonHosted(repo);
    return repo;
  }

  /** Only hosted repositories take pushes and yanks; a virtual one names where to push instead. */
  async function refuseNonHosted(repo: RepoInfo): Promise<void> {
    const view = repo.kind === 'virtual' ? await virtual.resolver.virtuals.view(repo) : null;
    if (view?.format === FORMAT) {
      const hosted = virtual.hostedOf(view).map((m) => m.path);
      throw new StockadeError('VIRTUAL_READ_ONLY', [repo.path, hosted.length > 0 ? `its hosted members: ${hosted.join(', ')}` : 'it has no hosted member']);
    }
    assertHosted(repo);
  }

  const ref = (repo: RepoInfo, name: string): PackageRef => ({ repo, format: FORMAT, name });
  const GZIP = 'application/octet-stream';
  const TEXT = 'text/plain; charset=utf-8';

  /** An index document: revalidated by ETag, and for the compact index, resumable with `Range: bytes=N-`. */
  function sendDoc(request: FastifyRequest, reply: FastifyReply, doc: IndexDoc, contentType: string, ranged = false): FastifyReply {
    reply.headers({ 'content-type': contentType, etag: doc.etag, 'cache-control': 'no-cache', 'accept-ranges': ranged ? 'bytes' : 'none' });
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === doc.etag)) return reply.code(304).send();
    const range = ranged ? /^bytes=(\d+)-$/.exec(request.headers.range ?? '') : null;
    const start = range ? Number(range[1]) : 0;
    // A start past the end means the client's copy is from another state: it gets the whole file.
    if (range && start > 0 && start < doc.body.length) {
      return reply
        .code(206)
        .header('content-range', `bytes ${start}-${doc.body.length - 1}/${doc.body.length}`)
        .send(doc.body.subarray(start));
    }
    return reply.send(doc.body);
  }

  const snapshotOf = (repo: RepoInfo): Promise<GemIndexSnapshot> => indexes.current(repo);

  /**
   * Sends `gems/FILE` of a hosted or remote repository from storage. Not in the index:
   * quarantined (say so), yanked (still fetchable by its exact name) or unknown.
   */
  async function serveGem(reply: FastifyReply, repo: RepoInfo, file: string): Promise<FastifyReply> {
    const entry = (await snapshotOf(repo)).byFilename.get(file);
    if (entry) return sendStoredFile(ctx, reply, repo, entry, 'application/octet-stream');
    const held = await heldFile(repo, file);
    if (held) return sendStoredFile(ctx, reply, repo, held, 'application/octet-stream');
    throw new StockadeError('NOT_FOUND', [`file gems/${file}`]);
  }

  /** A stored gem file the index leaves out: a quarantined one throws, a yanked one is returned. */
  async function heldFile(repo: RepoInfo, file: string) {
    if (!file.endsWith('.gem')) return null;
    for (const { name } of fullNameSplits(file.slice(0, -'.gem'.length))) {
      const held = await domain.packages.findFile(ref(repo, name), file);
      if (!held) continue;
      if (held.status === 'quarantined') throw new StockadeError('PACKAGE_QUARANTINED', [`${name} (${held.version})`, joinReasons(held.reasons) || 'awaiting review']);
      return held;
    }
    return null;
  }

  /**
   * The repository that stores (or, for a remote one, has just fetched) `gems/FILE`: the
   * repository itself when hosted; for a remote one after bringing the gem in from upstream; for
   * a virtual one the member its name resolves to.
   */
  async function gemSource(request: FastifyRequest, repo: RepoInfo, file: string): Promise<RepoInfo> {
    if (repo.kind === 'hosted') return repo;
    if (repo.kind === 'virtual') {
      const { member, name } = await virtual.fileOwner(request, repo, file);
      if (member.kind === 'remote') await remote.ensureGem(member, name, file);
      return member;
    }
    for (const { name } of fullNameSplits(file.replace(/\.gem$/, ''))) {
      try {
        await remote.ensureGem(repo, name, file);
        return repo;
      } catch (error) {
        if (!(isStockadeError(error) && error.code === 'NOT_FOUND')) throw error;
      }
    }
    throw new StockadeError('NOT_FOUND', [`file gems/${file}`]);
  }

  async function download(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { file } = request.params as { file: string };
    const repo = await repoFor(request, 'read');
    return serveGem(reply, await gemSource(request, repo, file), file);
  }

  /** `quick/Marshal.4.8/NAME-VERSION[-PLATFORM].gemspec.rz`, rendered from the stored gem. */
  async function quickSpec(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { file } = request.params as { file: string };
    const fullName = file.endsWith('.gemspec.rz') ? file.slice(0, -'.gemspec.rz'.length) : '';
    const repo = await repoFor(request, 'read');
    const source = fullName === '' ? repo : await gemSource(request, repo, `${fullName}.gem`);
    const body = fullName === '' ? undefined : (await snapshotOf(source)).quickSpec(fullName);
    if (!body) {
      // Only the visible versions have a quick spec: say why a stored one has none.
      if (fullName !== '') await heldFile(source, `${fullName}.gem`);
      throw new StockadeError('NOT_FOUND', [`file quick/Marshal.4.8/${file}`]);
    }
    return reply.header('content-type', 'application/octet-stream').header('cache-control', 'no-cache').send(body);
  }

  /** The Marshal index of a repository: its own gems (for a remote one, those fetched so far), or a virtual one's merge. */
  async function marshalIndex(request: FastifyRequest): Promise<GemIndexSnapshot> {
    const repo = await repoFor(request, 'read');
    return repo.kind === 'virtual' ? virtual.marshalSnapshot(request, repo) : snapshotOf(repo);
  }

  /** `/versions` and `/names`: a hosted repository's own; a remote one's from its upstream; a virtual one's merged. */
  async function compactIndex(request: FastifyRequest, reply: FastifyReply, which: 'versions' | 'names'): Promise<FastifyReply> {
    const repo = await repoFor(request, 'read');
    if (repo.kind === 'hosted') {
      const snapshot = await snapshotOf(repo);
      return sendDoc(request, reply, which === 'versions' ? snapshot.versions() : snapshot.names(), TEXT, true);
    }
    const docs = repo.kind === 'remote' ? await remote.indexDocs(repo) : await virtual.indexDocs(request, repo);
    if (docs.cached) upstreamHeaders(reply, docs.cached);
    return sendDoc(request, reply, docs[which], TEXT, true);
  }

  async function info(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { name } = request.params as { name: string };
    const repo = await repoFor(request, 'read');
    if (repo.kind === 'hosted') {
      const doc = (await snapshotOf(repo)).info(name);
      if (!doc) throw new StockadeError('NOT_FOUND', [`gem ${name}`]);
      return sendDoc(request, reply, doc, TEXT, true);
    }
    const found = repo.kind === 'remote' ? await remote.info(repo, name) : await virtual.info(request, repo, name);
    if (found.cached) upstreamHeaders(reply, found.cached);
    return sendDoc(request, reply, found.doc, TEXT, true);
  }

  /**
   * The source URL itself. gem (3.x) asks it before installing: an answer means "resolve through
   * `/info/NAME`", which lets remote and virtual repositories answer per gem; for a 404 gem reads
   * the Marshal index, which a hosted repository serves whole.
   */
  async function root(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repo = await repoFor(request, 'read');
    if (repo.kind === 'hosted') throw new StockadeError('NOT_FOUND', ['gem source root (gem reads the Marshal index here)']);
    return reply.code(200).header('content-type', TEXT).header('cache-control', 'no-cache').send('');
  }

  /**
   * `/api/v1/versions/NAME.json` of a hosted repository: each visible version with its publish
   * time, as the RubyGems API words it, so a remote repository upstream of it can apply a cooldown.
   */
  async function versionsJson(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { file } = request.params as { file: string };
    const repo = await repoFor(request, 'read');
    const name = file.endsWith('.json') ? file.slice(0, -'.json'.length) : '';
    const pkg = repo.kind === 'hosted' && isValidGemName(name) ? await domain.packages.load(ref(repo, name)) : null;
    const entries = pkg ? entriesOf(pkg) : [];
    if (!pkg || entries.length === 0) throw new StockadeError('NOT_FOUND', [`gem ${name.slice(0, 100)} in the versions API (hosted gem sources only)`]);
    const createdAt = new Map(pkg.versions.map((v) => [v.version, v.createdAt]));
    const body = entries.reverse().map((e) => ({
      number: splitVersionKey(e.key).version,
      platform: e.platform,
      prerelease: e.prerelease,
      sha: e.sha256,
      created_at: createdAt.get(e.key) ?? null,
    }));
    return reply.header('content-type', 'application/json').header('cache-control', 'no-cache').send(JSON.stringify(body));
  }

  /** Fields of a form body (gem yank) and of the query string; the body wins. */
  function formOf(request: FastifyRequest): URLSearchParams {
    const url = request.raw.url ?? '';
    const fields = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    const body = request.body;
    if (Buffer.isBuffer(body) && body.length > 0) {
      if (body.length > 64 * 1024) throw new StockadeError('BAD_REQUEST', ['the form is too large']);
      for (const [key, value] of new URLSearchParams(body.toString('utf8'))) fields.set(key, value);
    }
    return fields;
  }

  async function push(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repo = await repoFor(request, 'write');
    const data = request.body;
    if (!Buffer.isBuffer(data) || data.length === 0) throw new StockadeError('BAD_REQUEST', ['the request body must be the .gem file']);
    const result = await ingestGem(ctx, { repo, actor: actorOf(request), data });
    const label = `${result.name} (${result.version})`;
    const lines = [`Successfully registered gem: ${label}`];
    if (result.verdict === 'quarantine') {
      lines[0] = `Received gem: ${label}`;
      lines.push(`It is held in quarantine until a reviewer approves it: ${result.reasons.join('; ')}`);
    } else if (result.verdict === 'warn') {
      lines.push(`Published with warnings: ${result.reasons.join('; ')}`);
    }
    return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(lines.join('\n'));
  }

  async function yank(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const repo = await repoFor(request, 'delete');
    const form = formOf(request);
    const name = form.get('gem_name') ?? '';
    const version = form.get('version') ?? '';
    const platform = form.get('platform') || 'ruby';
    if (!isValidGemName(name)) throw new StockadeError('VALIDATION_FAILED', ['gem_name must name a gem']);
    if (!rubyGemsScheme.isValid(version)) throw new StockadeError('VALIDATION_FAILED', ['version must be a RubyGems version']);
    if (!PLATFORM.test(platform)) throw new StockadeError('VALIDATION_FAILED', ['platform is not a RubyGems platform']);
    const key = versionKey(version.trim(), platform);
    const pkg = await domain.packages.load(ref(repo, name), { includeQuarantined: true });
    const stored = pkg?.versions.find((v) => v.version === key);
    if (!stored) throw new StockadeError('NOT_FOUND', [`the version ${name} (${key})`]);
    if (stored.yanked) throw new StockadeError('CONFLICT', [`${name} (${key}) has already been yanked`]);
    await domain.packages.yank(actorOf(request), ref(repo, name), key, '');
    return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(`Successfully deleted gem: ${name} (${key})`);
  }

  const handlers: Record<RubygemsEndpointId, (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> = {
    root,
    specs: async (request, reply) => sendDoc(request, reply, (await marshalIndex(request)).specs(), GZIP),
    'latest-specs': async (request, reply) => sendDoc(request, reply, (await marshalIndex(request)).latestSpecs(), GZIP),
    'prerelease-specs': async (request, reply) => sendDoc(request, reply, (await marshalIndex(request)).prereleaseSpecs(), GZIP),
    'quick-spec': quickSpec,
    gem: download,
    versions: async (request, reply) => compactIndex(request, reply, 'versions'),
    info,
    names: async (request, reply) => compactIndex(request, reply, 'names'),
    'versions-json': versionsJson,
    push,
    yank,
  };

  for (const endpoint of RUBYGEMS_ENDPOINTS) app.route({ method: [...endpoint.methods], url: endpoint.route, handler: handlers[endpoint.id] });
}
