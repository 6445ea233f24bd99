import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, RepoAction } from '../../domain/access.js';
import type { Role } from '../../domain/accounts.js';
import type { PackageRef, StoredFile, StoredPackage } from '../../domain/packages.js';
import type { RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { actorOf, assertAllowed, requireAccountCredential, requirePrincipal, requireSecondFactor } from '../../http/auth.js';
import { type ServerContext, baseUrl } from '../../http/context.js';
import { type MemoryAnswer, type MemoryRead, memoryReadOf } from '../../http/memory-path.js';
import type { IncomingHttpHeaders } from 'node:http';
import { applyErrorHeaders, logError, toStockadeError } from '../../http/errors.js';
import { type CacheEntry, createPackumentCache, type RenderedDoc } from './cache.js';
import { matchEndpoint, type NpmEndpointId } from './endpoints.js';
import { decodeAttachment } from './manifest-check.js';
import { assertValidDistTag, assertValidPackageName, assertValidVersion } from './names.js';
import { compareNpmVersions, npmRevision, renderAbbreviated, renderFull, renderVersion } from './packument.js';
import { createNpmAudit } from './audit.js';
import { FORMAT, ingestTarball } from './publish.js';
import { createNpmRemote, type RemoteView, wantsCorgi } from './remote.js';
import { docAnswer, sendAnswer } from './send.js';
import { createNpmVirtual } from './virtual.js';
import { createVirtualMemo } from './virtual-memo.js';
import { joinReasons, type Verdict } from '../../security/policy.js';

const CORGI = 'application/vnd.npm.install-v1+json';

/** A request path below `/{owner}/{repo}/npm/`, split into decoded segments. */
interface NpmPath {
  segments: string[];
  query: URLSearchParams;
}

const NO_QUERY = new URLSearchParams();

/** `/{owner}/{repo}/npm` as Fastify routed it (owner and repository decoded). */
const prefixOf = (owner: string, repo: string) => `/${owner}/${repo}/npm`;

function parsePath(path: string, rawQuery: string): NpmPath {
  const segments: string[] = [];
  for (const part of path.split('/')) {
    if (part === '') continue;
    if (!part.includes('%')) {
      segments.push(part);
      continue;
    }
    try {
      segments.push(decodeURIComponent(part));
    } catch {
      throw new StockadeError('BAD_REQUEST', ['malformed percent-encoding in the path']);
    }
  }
  return { segments, query: rawQuery === '' ? NO_QUERY : new URLSearchParams(rawQuery) };
}

/** The path and query of a request routed to this plugin. */
function pathOf(request: FastifyRequest, owner: string, repo: string): NpmPath {
  const raw = request.raw.url ?? '/';
  const queryAt = raw.indexOf('?');
  const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
  const prefix = prefixOf(owner, repo);
  return parsePath(pathname.startsWith(prefix) ? pathname.slice(prefix.length) : pathname, queryAt < 0 ? '' : raw.slice(queryAt + 1));
}

/** Splits a package name off the front: `@scope%2fname` arrives as one segment, `@scope/name` as two. */
function takeName(segments: string[]): { name: string; rest: string[] } | null {
  const [first, second] = segments;
  if (!first) return null;
  if (first.startsWith('@') && !first.includes('/')) {
    if (!second) return null;
    return { name: `${first}/${second}`, rest: segments.slice(2) };
  }
  return { name: first, rest: segments.slice(1) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
}

export async function npmRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;
  const cache = createPackumentCache({ changes: domain.changes, format: FORMAT });
  const auditBulk = createNpmAudit(domain);
  // Remote repositories answer reads from their upstream (see remote.ts); hosted ones never reach it.
  // Virtual repositories merge hosted and remote members (see virtual.ts); an upstream refresh
  // tells them about names they keep private (collision alerts).
  const remote = createNpmRemote(ctx, {}, {
    afterRefresh: (member, name, meta) => virtual.afterRefresh(member, name, meta),
    // Only what this node already holds: a miss is answered by one query for the file instead.
    stored: async (repo, name, filename) => findFile(cache.peek(cache.key(repo.id, name))?.pkg ?? null, filename) !== undefined,
    expectStore: (repo, name) => virtualMemo.expectStore(repo, name),
  });
  // Several nodes share a PostgreSQL database; an embedded one has a single writer.
  const sharedDatabase = domain.dialect === 'postgres';
  const virtual = createNpmVirtual(ctx, {
    load: async (repo, name) => (await loadCached(repo, name)).pkg,
    cached: !sharedDatabase,
  });
  const virtualMemo = createVirtualMemo(domain.changes);

  // npm prints `error` from the body after the status line, so the message must stand on its own.
  app.setErrorHandler((raw, request, reply) => {
    const error = toStockadeError(raw, ctx.config.server.bodyLimit);
    logError(request, raw, error);
    // npm turns the scheme named here into its advice: Bearer → "log in again", Basic →
    // "incorrect or missing password" (what a failed `npm login` should say).
    applyErrorHeaders(reply, error);
    if (error.status === 401 && !reply.hasHeader('www-authenticate')) {
      reply.header('www-authenticate', error.code === 'INVALID_CREDENTIALS' ? 'Basic realm="stockade"' : 'Bearer realm="stockade"');
    }
    return sendJson(reply, error.status, { error: error.message, code: error.code });
  });

  // npm sends JSON for everything it writes; other bodies (an empty POST) are read raw and ignored.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  async function repoFor(request: FastifyRequest): Promise<RepoInfo> {
    const { owner, repo } = request.params as { owner: string; repo: string };
    const info = await domain.repos.get(owner, repo);
    if (!info) {
      // Anonymous callers cannot tell a missing repository from a private one.
      throw new StockadeError(request.principal ? 'NOT_FOUND' : 'AUTH_REQUIRED', request.principal ? [`repository ${owner}/${repo}`] : []);
    }
    return info;
  }

  async function guard(request: FastifyRequest, action: RepoAction, repo: RepoInfo, minimumRole?: Role): Promise<void> {
    assertAllowed(await domain.access.decide(request.principal, action, repo, minimumRole), repo, action);
  }

  function unpublishRole(): Role | null {
    const policy = ctx.config.npm.unpublish;
    return policy === 'nobody' ? null : policy === 'admins' ? 'admin' : 'write';
  }

  async function guardUnpublish(request: FastifyRequest, repo: RepoInfo): Promise<void> {
    const role = unpublishRole();
    if (role === null) {
      await guard(request, 'read', repo);
      throw new StockadeError('UNPUBLISH_FORBIDDEN', ['this server does not allow unpublishing (npm.unpublish: nobody)']);
    }
    await guard(request, 'delete', repo, role);
  }

  const registryUrlAt = (origin: string, repo: RepoInfo) => `${origin}/${repo.path}/npm`;
  const registryUrl = (request: FastifyRequest, repo: RepoInfo) => registryUrlAt(baseUrl(ctx.config, request), repo);
  const ref = (repo: RepoInfo, name: string): PackageRef => ({ repo, format: FORMAT, name });

  // On PostgreSQL other nodes may have changed a package a moment ago: check its revision.
  async function loadCached(repo: RepoInfo, name: string) {
    const r = ref(repo, name);
    return cache.get(cache.key(repo.id, name), () => domain.packages.load(r), sharedDatabase ? () => domain.packages.currentRev(r) : undefined);
  }

  /** A package with at least one version, or NOT_FOUND. */
  async function requirePackage(repo: RepoInfo, name: string): Promise<StoredPackage> {
    const pkg = await domain.packages.load(ref(repo, name));
    if (!pkg || pkg.versions.length === 0) throw new StockadeError('NOT_FOUND', [`package ${name}`]);
    return pkg;
  }

  /** Remote repositories mirror their upstream: nothing is published into them. */
  async function refuseRemote(request: FastifyRequest, repo: RepoInfo): Promise<void> {
    if (repo.kind === 'hosted') return;
    await guard(request, 'read', repo);
    if (repo.kind === 'virtual') {
      const hosted = (await virtual.viewOf(null, repo)).members.filter((m) => m.kind === 'hosted').map((m) => m.path);
      throw new StockadeError('VIRTUAL_READ_ONLY', [repo.path, hosted.length > 0 ? `its hosted members: ${hosted.join(', ')}` : 'it has no hosted member']);
    }
    throw new StockadeError('REMOTE_READ_ONLY', [repo.path]);
  }

  function checkRevision(pkg: StoredPackage, rev: string | undefined): void {
    if (rev !== undefined && rev !== npmRevision(pkg)) throw new StockadeError('REVISION_MISMATCH', [rev]);
  }

  // ---- reads -------------------------------------------------------------------------------

  /** Renders (once per cache entry) the document variant the client asked for. */
  function renderPackument(headers: IncomingHttpHeaders, url: string, entry: CacheEntry, pkg: StoredPackage, query: URLSearchParams): { doc: RenderedDoc; contentType: string } {
    // `?write=true` (npm before a write) always wants the full document.
    const corgi = wantsCorgi(headers, query);
    const doc = cache.doc(entry, `${corgi ? 'c' : 'f'}|${url}`, () => (corgi ? renderAbbreviated(pkg, url) : renderFull(pkg, url)));
    return { doc, contentType: corgi ? CORGI : 'application/json' };
  }

  function packumentAnswer(headers: IncomingHttpHeaders, origin: string, repo: RepoInfo, entry: CacheEntry, pkg: StoredPackage, query: URLSearchParams): MemoryAnswer {
    const { doc, contentType } = renderPackument(headers, registryUrlAt(origin, repo), entry, pkg, query);
    return docAnswer(headers, doc, contentType);
  }

  function sendPackument(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, entry: CacheEntry, pkg: StoredPackage, query: URLSearchParams) {
    return sendAnswer(reply, packumentAnswer(request.headers, baseUrl(ctx.config, request), repo, entry, pkg, query));
  }

  function findFile(pkg: StoredPackage | null, filename: string): StoredFile | undefined {
    for (const version of pkg?.versions ?? []) {
      const file = version.files.find((f) => f.filename === filename);
      if (file) return file;
    }
    return undefined;
  }

  /** The download headers of a file of `repo`. */
  function tarballHeaders(repo: RepoInfo, file: StoredFile): Record<string, string> {
    return {
      'content-type': 'application/octet-stream',
      etag: `"${file.sha256}"`,
      'cache-control': `${repo.visibility === 'public' ? 'public' : 'private'}, max-age=31536000, immutable`,
      'x-checksum-sha256': file.sha256,
    };
  }

  /** 200 answers for files held in memory, per file of a cached package and the visibility of its repository. */
  const fileAnswers = new WeakMap<StoredFile, Map<string, MemoryAnswer>>();

  /** A file held in memory; 304 when the client's copy is current. */
  function tarballAnswer(headers: IncomingHttpHeaders, repo: RepoInfo, file: StoredFile, bytes: Buffer): MemoryAnswer {
    if (headers['if-none-match'] === `"${file.sha256}"`) return { status: 304, headers: tarballHeaders(repo, file), body: null };
    let answers = fileAnswers.get(file);
    if (!answers) fileAnswers.set(file, (answers = new Map()));
    let answer = answers.get(repo.visibility);
    if (answer?.body !== bytes) {
      answer = { status: 200, headers: tarballHeaders(repo, file), body: bytes };
      answers.set(repo.visibility, answer);
    }
    return answer;
  }

  async function getPackument(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, query: URLSearchParams) {
    await guard(request, 'read', repo);
    if (repo.kind === 'remote') return remote.packument(request, reply, repo, name, query);
    if (repo.kind === 'virtual') {
      const stamp = virtualMemo.stamp(name);
      const hostedIds = await memoHostedIds(repo);
      const source = await virtual.resolve(request, repo, name, (member) =>
        remote.packument(request, reply, member, name, query, repo, (answer) => {
          if (hostedIds) virtualMemo.rememberPackument(stamp, repo, name, wantsCorgi(request.headers, query), registryUrl(request, repo), answer, { member, hostedIds });
        }),
      );
      if (source.kind === 'remote') {
        // Its files come from the same member: the tarball requests that follow need not resolve again.
        if (hostedIds) virtualMemo.rememberRemoteOwner(stamp, repo, name, { member: source.member, hostedIds });
        return source.result;
      }
      // A private name's document merges the hosted members' packages, which the package cache
      // keys separately: the virtual repository's memo keeps it.
      const url = registryUrl(request, repo);
      const rendered = renderPackument(request.headers, url, { pkg: source.pkg, expires: 0, docs: new Map() }, source.pkg, query);
      if (hostedIds) {
        // No upstream TTL bounds it: changes drop it, and the memo's own maximum age applies.
        const answer = { ...rendered, until: Number.POSITIVE_INFINITY };
        virtualMemo.rememberPackument(stamp, repo, name, wantsCorgi(request.headers, query), url, answer, { member: null, hostedIds });
      }
      return sendAnswer(reply, docAnswer(request.headers, rendered.doc, rendered.contentType));
    }
    const entry = await loadCached(repo, name);
    const pkg = entry.pkg;
    if (!pkg || pkg.versions.length === 0) throw new StockadeError('NOT_FOUND', [`package ${name}`]);
    return sendPackument(request, reply, repo, entry, pkg, query);
  }

  async function getVersion(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, spec: string) {
    await guard(request, 'read', repo);
    if (repo.kind === 'remote') return remote.version(request, reply, repo, name, spec);
    if (repo.kind === 'virtual') {
      const source = await virtual.resolve(request, repo, name, (member) => remote.distTags(member, name));
      if (source.kind === 'remote') return remote.version(request, reply, source.member, name, spec, repo);
      const doc = renderVersion(source.pkg, spec, registryUrl(request, repo));
      if (!doc) throw new StockadeError('NOT_FOUND', [`version ${name}@${spec}`]);
      return sendJson(reply, 200, doc);
    }
    const entry = await loadCached(repo, name);
    const doc = entry.pkg ? renderVersion(entry.pkg, spec, registryUrl(request, repo)) : null;
    if (!doc) throw new StockadeError('NOT_FOUND', [`version ${name}@${spec}`]);
    return sendJson(reply, 200, doc);
  }

  async function getTarball(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, filename: string) {
    await guard(request, 'read', repo);
    if (repo.kind !== 'virtual') return serveTarball(request, reply, repo, name, filename);
    // The file comes from the member the packument came from, with the virtual repository's authority.
    const remembered = virtualMemo.owner(repo, name, filename);
    if (remembered) return serveTarball(request, reply, remembered, name, filename);
    const stamp = virtualMemo.stamp(name);
    const source = await virtual.resolve(request, repo, name, (member) => remote.installableView(member, name));
    const member = source.kind === 'remote' ? source.member : await virtual.hostedFileOwner(await virtual.viewOf(null, repo), name, filename);
    if (!member) throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
    const hostedIds = await memoHostedIds(repo);
    if (hostedIds && source.kind === 'remote') virtualMemo.rememberRemoteOwner(stamp, repo, name, { member, hostedIds });
    if (hostedIds && source.kind === 'hosted') virtualMemo.rememberFileOwner(stamp, repo, name, filename, member, hostedIds);
    return serveTarball(request, reply, member, name, filename, source.kind === 'remote' ? source.result : undefined);
  }

  /**
   * The hosted members of a virtual repository whose answers may be remembered: the same for every
   * caller who may read it (it is private, or every member is public; a public one over a private
   * member checks each caller), on a database no other node writes to. Null when they may not.
   */
  async function memoHostedIds(repo: RepoInfo): Promise<number[] | null> {
    // Other nodes change packages without this node hearing of it at once.
    if (sharedDatabase) return null;
    const view = await virtual.viewOf(null, repo);
    if (repo.visibility === 'public' && !view.members.every((m) => m.visibility === 'public')) return null;
    return view.members.filter((m) => m.kind === 'hosted').map((m) => m.id);
  }

  /** Sends a file of a hosted or remote repository; the caller has checked access. */
  async function serveTarball(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, filename: string, known?: RemoteView) {
    // The cached package lists every file, so downloads need no query of their own. A remote
    // repository stores a file on first request; from then on it is served like any other.
    let file = findFile((await loadCached(repo, name)).pkg, filename);
    if (!file && repo.kind === 'remote') {
      await remote.ensureTarball(repo, name, filename, known);
      file = findFile((await loadCached(repo, name)).pkg, filename);
    }
    if (!file) {
      // Quarantined versions are not in the cached package; say why rather than pretend they do not exist.
      const held = await domain.packages.findFile(ref(repo, name), filename);
      if (held?.status === 'quarantined') {
        throw new StockadeError('PACKAGE_QUARANTINED', [`${name}@${held.version}`, joinReasons(held.reasons) || 'awaiting review']);
      }
      // Stored by another node a moment ago, before this node's cache heard of it.
      if (held?.status !== 'published') throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
      file = held;
    }
    reply.headers(tarballHeaders(repo, file));
    if (request.headers['if-none-match'] === `"${file.sha256}"`) return reply.code(304).send();
    reply.header('content-length', file.size);
    if (request.method === 'HEAD') return reply.send();
    const bytes = await ctx.blobCache.read(file.sha256, file.size);
    return reply.send(bytes ?? (await ctx.blobs.get(file.sha256)));
  }

  // ---- writes ------------------------------------------------------------------------------

  async function putPackage(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, rev?: string) {
    await refuseRemote(request, repo);
    assertValidPackageName(name);
    const body = request.body;
    if (!isObject(body)) throw new StockadeError('INVALID_JSON', ['expected a JSON object']);
    if (body.name !== undefined && body.name !== name) throw new StockadeError('NAME_MISMATCH', [String(body.name), name]);
    if (body._id !== undefined && body._id !== name) throw new StockadeError('NAME_MISMATCH', [String(body._id), name]);
    const versions = isObject(body.versions) ? body.versions : {};
    const attachments = isObject(body._attachments) ? body._attachments : null;

    if (attachments && Object.keys(attachments).length > 0) {
      await guard(request, 'write', repo);
      return publish(request, reply, repo, name, body, versions, attachments);
    }
    // Without attachments a PUT edits existing versions: deprecation, or (with -rev) removal.
    // Outsiders learn nothing about the package, not even through a revision mismatch.
    await guard(request, 'read', repo);
    const pkg = await requirePackage(repo, name);
    checkRevision(pkg, rev);
    const removed = pkg.versions.filter((v) => !(v.version in versions)).map((v) => v.version);
    if (rev !== undefined && removed.length > 0) {
      await guardUnpublish(request, repo);
      await domain.packages.unpublish(actorOf(request), ref(repo, name), removed, compareNpmVersions);
      const after = await domain.packages.load(ref(repo, name));
      return sendJson(reply, 200, { ok: true, id: name, rev: after ? npmRevision(after) : undefined });
    }
    await guard(request, 'write', repo);
    const changes: Record<string, string | null> = {};
    for (const [version, doc] of Object.entries(versions)) {
      const current = pkg.versions.find((v) => v.version === version);
      if (!current) throw new StockadeError('VALIDATION_FAILED', [`version ${version} does not exist; new versions need a tarball attachment`]);
      const wanted = isObject(doc) && typeof doc.deprecated === 'string' && doc.deprecated !== '' ? doc.deprecated : null;
      if (wanted !== null && wanted.length > 1024) throw new StockadeError('VALIDATION_FAILED', ['deprecation messages are limited to 1024 characters']);
      if (wanted !== current.deprecated) changes[version] = wanted;
    }
    if (Object.keys(changes).length > 0) await domain.packages.deprecate(actorOf(request), ref(repo, name), changes);
    const after = await domain.packages.load(ref(repo, name));
    return sendJson(reply, 200, { ok: true, id: name, rev: after ? npmRevision(after) : undefined });
  }

  async function publish(
    request: FastifyRequest,
    reply: FastifyReply,
    repo: RepoInfo,
    name: string,
    body: Record<string, unknown>,
    versions: Record<string, unknown>,
    attachments: Record<string, unknown>,
  ) {
    const versionKeys = Object.keys(versions);
    const attachmentKeys = Object.keys(attachments);
    if (versionKeys.length !== 1 || attachmentKeys.length !== 1) {
      throw new StockadeError('VALIDATION_FAILED', ['a publish must carry exactly one version and one tarball attachment']);
    }
    const version = versionKeys[0] as string;
    assertValidVersion(version);
    const claimed = versions[version];
    if (!isObject(claimed)) throw new StockadeError('VALIDATION_FAILED', [`versions["${version}"] must be an object`]);
    const attachment = attachments[attachmentKeys[0] as string];
    if (!isObject(attachment)) throw new StockadeError('INVALID_ATTACHMENT', ['the attachment must be an object with base64 "data"']);
    const data = decodeAttachment(attachment.data, attachment.length);

    const distTags: Record<string, string> = {};
    if (body['dist-tags'] !== undefined) {
      if (!isObject(body['dist-tags'])) throw new StockadeError('VALIDATION_FAILED', ['"dist-tags" must be an object']);
      for (const [tag, value] of Object.entries(body['dist-tags'])) {
        if (typeof value !== 'string') throw new StockadeError('INVALID_DIST_TAG', [tag, 'the tag must name a version']);
        distTags[tag] = value;
      }
    }
    const dist = isObject(claimed.dist) ? claimed.dist : {};
    const claimedIntegrity: { integrity?: string; shasum?: string } = {};
    if (typeof dist.integrity === 'string') claimedIntegrity.integrity = dist.integrity;
    if (typeof dist.shasum === 'string') claimedIntegrity.shasum = dist.shasum;

    const result = await ingestTarball(ctx, {
      repo,
      actor: actorOf(request),
      data,
      expectedName: name,
      claimed,
      claimedIntegrity,
      distTags,
    });
    if (result.version !== version) {
      // Unreachable in practice: the manifest check compares versions first.
      throw new StockadeError('MANIFEST_MISMATCH', ['version']);
    }
    const notice = gateNotice(name, version, result.verdict);
    // npm prints an `npm-notice` header after a publish: the publisher sees warnings and quarantine.
    if (notice) reply.header('npm-notice', notice);
    return sendJson(reply, 201, { ok: true, success: true, id: name, ...(notice ? { notice } : {}) });
  }

  async function deletePackage(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, rev: string) {
    await guardUnpublish(request, repo);
    const pkg = await requirePackage(repo, name);
    checkRevision(pkg, rev);
    await domain.packages.unpublish(actorOf(request), ref(repo, name), null, compareNpmVersions);
    return sendJson(reply, 200, { ok: true, id: name });
  }

  async function deleteTarball(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, filename: string) {
    await guardUnpublish(request, repo);
    // npm removes the version with `PUT -rev` first and then deletes its tarball; by then the file
    // is already gone with its version, so this only has to remove a file that is still listed.
    const file = await domain.packages.findFile(ref(repo, name), filename);
    if (file) await domain.packages.unpublish(actorOf(request), ref(repo, name), [file.version], compareNpmVersions);
    return sendJson(reply, 200, { ok: true });
  }

  // ---- dist-tags -----------------------------------------------------------------------------

  async function distTags(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, name: string, tag: string | undefined) {
    const method = request.method;
    if (method === 'GET' && repo.kind !== 'hosted') {
      await guard(request, 'read', repo);
      const source = repo.kind === 'remote' ? null : await virtual.resolve(request, repo, name, (member) => remote.distTags(member, name));
      const tags = source === null ? await remote.distTags(repo, name) : source.kind === 'remote' ? source.result : source.pkg.distTags;
      if (tag === undefined) return sendJson(reply, 200, tags);
      if (!Object.hasOwn(tags, tag)) throw new StockadeError('UNKNOWN_DIST_TAG', [tag, name]);
      return sendJson(reply, 200, tags[tag]);
    }
    if (method !== 'GET') await refuseRemote(request, repo);
    if (method === 'GET') {
      await guard(request, 'read', repo);
      const entry = await loadCached(repo, name);
      if (!entry.pkg || entry.pkg.versions.length === 0) throw new StockadeError('NOT_FOUND', [`package ${name}`]);
      if (tag === undefined) return sendJson(reply, 200, entry.pkg.distTags);
      const version = entry.pkg.distTags[tag];
      if (version === undefined) throw new StockadeError('UNKNOWN_DIST_TAG', [tag, name]);
      return sendJson(reply, 200, version);
    }
    if (tag === undefined) throw new StockadeError('METHOD_NOT_ALLOWED');
    await guard(request, 'write', repo);
    assertValidDistTag(tag);
    if (method === 'PUT' || method === 'POST') {
      const version = request.body;
      if (typeof version !== 'string') throw new StockadeError('VALIDATION_FAILED', ['the body must be a JSON string naming a version']);
      await domain.packages.setDistTag(actorOf(request), ref(repo, name), tag, version);
      return sendJson(reply, 201, { ok: true, [tag]: version });
    }
    if (method === 'DELETE') {
      if (tag === 'latest') throw new StockadeError('INVALID_DIST_TAG', [tag, 'the latest tag cannot be removed']);
      await domain.packages.removeDistTag(actorOf(request), ref(repo, name), tag);
      return sendJson(reply, 200, { ok: true });
    }
    throw new StockadeError('METHOD_NOT_ALLOWED');
  }

  // ---- account endpoints ---------------------------------------------------------------------

  async function login(request: FastifyRequest, reply: FastifyReply, couchId: string) {
    const userName = couchId.replace(/^org\.couchdb\.user:/, '');
    const body = request.body;
    if (!isObject(body) || typeof body.password !== 'string') {
      throw new StockadeError('VALIDATION_FAILED', ['login needs a name and a password']);
    }
    if (typeof body.name === 'string' && body.name !== userName) throw new StockadeError('NAME_MISMATCH', [body.name, userName]);
    const user = await domain.accounts.authenticate(userName, body.password, { ip: request.ip });
    // With MFA, npm repeats the login with the code from its prompt (or --otp) in `npm-otp`.
    const otp = request.headers['npm-otp'];
    const loginPrincipal: Principal = { userId: user.id, userName: user.name, isAdmin: user.isAdmin, token: null, ip: request.ip, otp: typeof otp === 'string' ? otp : null };
    await requireSecondFactor(domain, loginPrincipal, null);
    const days = ctx.config.auth.loginTokenLifetimeDays;
    const { secret, token } = await domain.tokens.create(
      { name: user.name, ip: request.ip },
      {
        userId: user.id,
        name: `npm login from ${request.ip}`,
        scopes: ['read', 'write', 'delete'],
        expiresAt: days > 0 ? new Date(Date.now() + days * 86_400_000).toISOString() : null,
      },
    );
    await domain.accounts.recordLogin({ name: user.name, ip: request.ip }, user.name, { via: 'npm', tokenId: token.id, mfa: loginPrincipal.otpVerified === true });
    return sendJson(reply, 201, { ok: true, id: `org.couchdb.user:${user.name}`, rev: '1', token: secret });
  }

  async function npmTokens(request: FastifyRequest, reply: FastifyReply, rest: string[]) {
    const principal = requireAccountCredential(request, 'read', 'manage tokens');
    if (request.method === 'GET' && rest.length === 0) {
      const tokens = await domain.tokens.list(principal.userId);
      const objects = tokens.map((t) => ({
        key: String(t.id),
        id: String(t.id),
        name: t.name,
        token: t.display,
        expires: t.expiresAt,
        readonly: !t.scopes.includes('write') && !t.scopes.includes('admin'),
        cidr_whitelist: t.cidrs,
        created: t.createdAt,
        updated: t.createdAt,
      }));
      return sendJson(reply, 200, { objects, total: objects.length, urls: {} });
    }
    if (request.method === 'POST' && rest.length === 0) {
      const body = isObject(request.body) ? request.body : {};
      if (typeof body.password !== 'string') throw new StockadeError('VALIDATION_FAILED', ['creating a token needs your password']);
      await domain.accounts.authenticate(principal.userName, body.password, { ip: request.ip });
      await requireSecondFactor(domain, principal, null);
      const cidrs = Array.isArray(body.cidr_whitelist) ? body.cidr_whitelist.filter((c): c is string => typeof c === 'string') : [];
      const readonly = body.readonly === true;
      const name = typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 200) : `npm token create${readonly ? ' (read-only)' : ''}`;
      // npm sends the lifetime in days.
      const days = typeof body.expires === 'number' && Number.isFinite(body.expires) && body.expires > 0 ? body.expires : null;
      const { secret, token } = await domain.tokens.create(actorOf(request), {
        userId: principal.userId,
        name,
        scopes: readonly ? ['read'] : ['read', 'write', 'delete'],
        expiresAt: days ? new Date(Date.now() + days * 86_400_000).toISOString() : null,
        cidrs,
      });
      return sendJson(reply, 201, {
        token: secret,
        key: String(token.id),
        id: String(token.id),
        name: token.name,
        readonly,
        cidr_whitelist: token.cidrs,
        created: token.createdAt,
        updated: token.createdAt,
        ...(token.expiresAt ? { expires: token.expiresAt } : {}),
      });
    }
    if (request.method === 'DELETE' && rest[0] === 'token' && rest[1]) {
      const id = Number(rest[1]);
      if (Number.isInteger(id)) await domain.tokens.revoke(actorOf(request), { userId: principal.userId, isAdmin: principal.isAdmin, id });
      else await domain.tokens.revoke(actorOf(request), { userId: principal.userId, isAdmin: principal.isAdmin, secret: rest[1] });
      return reply.code(204).send();
    }
    throw new StockadeError('NOT_FOUND', ['endpoint']);
  }

  async function search(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, query: URLSearchParams) {
    await guard(request, 'read', repo);
    const text = (query.get('text') ?? '').slice(0, 256);
    const size = Math.min(Math.max(Number(query.get('size') ?? 20) || 20, 1), 250);
    const from = Math.max(Number(query.get('from') ?? 0) || 0, 0);
    if (repo.kind === 'virtual') return searchVirtual(request, reply, repo, { text, size, from });
    const found = await domain.packages.search(repo, FORMAT, { text, size, from });
    const objects = [];
    for (const hit of found.names) {
      const entry = await loadCached(repo, hit.name);
      const pkg = entry.pkg;
      if (!pkg) continue;
      objects.push(searchObject(pkg));
    }
    return sendJson(reply, 200, { objects, total: found.total, time: new Date().toUTCString() });
  }

  /**
   * Search across a virtual repository's members in order, first member winning for a name. A
   * remote member's (cached) package under a name the virtual repository protects is left out.
   */
  async function searchVirtual(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, query: { text: string; size: number; from: number }) {
    const view = await virtual.viewOf(request, repo);
    const seen = new Set<string>();
    const objects = [];
    for (const member of view.members) {
      const found = await domain.packages.search(member, FORMAT, { text: query.text, size: query.from + query.size, from: 0 });
      for (const hit of found.names) {
        if (seen.has(hit.name)) continue;
        if (member.kind === 'remote' && (await virtual.protection(view, hit.name))) continue;
        const pkg = (await loadCached(member, hit.name)).pkg;
        if (!pkg) continue;
        seen.add(hit.name);
        objects.push(searchObject(pkg));
      }
    }
    const page = objects.slice(query.from, query.from + query.size);
    return sendJson(reply, 200, { objects: page, total: objects.length, time: new Date().toUTCString() });
  }

  function searchObject(pkg: StoredPackage) {
    const latest = pkg.versions.find((v) => v.version === pkg.distTags.latest) ?? pkg.versions[pkg.versions.length - 1];
    const manifest = (latest?.metadata.manifest ?? {}) as Record<string, unknown>;
    return {
      package: {
        name: pkg.name,
        version: latest?.version,
        description: manifest.description,
        keywords: manifest.keywords,
        date: pkg.updatedAt,
        publisher: latest ? { username: latest.publisher } : undefined,
        maintainers: latest ? [{ username: latest.publisher }] : [],
        links: {},
      },
      score: { final: 1, detail: { quality: 1, popularity: 1, maintenance: 1 } },
      searchScore: 1,
      flags: {},
    };
  }

  // ---- dispatch ------------------------------------------------------------------------------

  /**
   * Answers a packument or tarball read straight from memory when the repository, the caller's
   * access, the package and (for tarballs) the bytes are all cached on this node: no promise, no
   * query. Null hands the request to the full path. Not used when several nodes share the
   * database, where packuments are revision-checked first. The server asks this before routing
   * (see src/http/memory-path.ts); `dispatch` asks it for requests that arrive another way.
   */
  function fromMemory(read: MemoryRead): MemoryAnswer | null {
    if (sharedDatabase) return null;
    const repo = domain.repos.peek(read.owner, read.repo);
    if (!repo || repo.kind === 'remote' || domain.access.peekRead(read.principal, repo) !== true) return null;
    const { segments, query } = parsePath(read.path, read.query);
    if (segments[0] === '-') return null;
    const taken = takeName(segments);
    if (!taken) return null;
    if (repo.kind === 'virtual') return virtualFromMemory(read, repo, taken, query);
    const entry = cache.peek(cache.key(repo.id, taken.name));
    const pkg = entry?.pkg;
    if (!entry || !pkg || pkg.versions.length === 0) return null;
    if (taken.rest.length === 0) return packumentAnswer(read.headers, read.origin, repo, entry, pkg, query);
    if (taken.rest[0] === '-' && taken.rest.length === 2 && read.method === 'GET') {
      const file = findFile(pkg, taken.rest[1] as string);
      const bytes = file && ctx.blobCache.peek(file.sha256);
      return file && bytes ? tarballAnswer(read.headers, repo, file, bytes) : null;
    }
    return null;
  }

  /** A virtual repository's packument or tarball, when this node remembers the answer. */
  function virtualFromMemory(read: MemoryRead, repo: RepoInfo, taken: { name: string; rest: string[] }, query: URLSearchParams): MemoryAnswer | null {
    if (taken.rest.length === 0) {
      const hit = virtualMemo.packument(repo, taken.name, wantsCorgi(read.headers, query), registryUrlAt(read.origin, repo));
      if (!hit) return null;
      return docAnswer(read.headers, hit.doc, hit.contentType, hit.fromUpstream);
    }
    if (taken.rest[0] === '-' && taken.rest.length === 2 && read.method === 'GET') {
      const member = virtualMemo.owner(repo, taken.name, taken.rest[1] as string);
      const file = member && findFile(cache.peek(cache.key(member.id, taken.name))?.pkg ?? null, taken.rest[1] as string);
      const bytes = file && ctx.blobCache.peek(file.sha256);
      return member && file && bytes ? tarballAnswer(read.headers, member, file, bytes) : null;
    }
    return null;
  }
  ctx.memoryPath.register(FORMAT, fromMemory);

  function dispatch(request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
    const { owner, repo } = request.params as { owner: string; repo: string };
    const read = memoryReadOf(ctx.config, request, owner, repo, prefixOf(owner, repo));
    const answer = read && fromMemory(read);
    return answer ? sendAnswer(reply, answer) : dispatchAll(request, reply);
  }

  type Handler = (request: FastifyRequest, reply: FastifyReply, params: Record<string, string>, query: URLSearchParams) => Promise<FastifyReply>;

  const quickAuditAnswer = {
    actions: [],
    advisories: {},
    muted: [],
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0 }, dependencies: 0, devDependencies: 0, optionalDependencies: 0, totalDependencies: 0 },
  };

  /** One handler per entry of NPM_ENDPOINTS; the compiler checks that none is missing. */
  const handlers: Record<NpmEndpointId, Handler> = {
    ping: async (_request, reply) => sendJson(reply, 200, {}),
    whoami: async (request, reply) => sendJson(reply, 200, { username: requirePrincipal(request).userName }),
    login: async (request, reply, params) => login(request, reply, `org.couchdb.user:${params.user}`),
    user: async (request, reply) => {
      const principal = requirePrincipal(request);
      return sendJson(reply, 200, { _id: `org.couchdb.user:${principal.userName}`, name: principal.userName });
    },
    logout: async (request, reply, params) => {
      const principal = requirePrincipal(request);
      await domain.tokens.revoke(actorOf(request), { userId: principal.userId, isAdmin: principal.isAdmin, secret: params.token as string });
      return sendJson(reply, 200, { ok: true });
    },
    'tokens-list': async (request, reply) => npmTokens(request, reply, []),
    'tokens-create': async (request, reply) => npmTokens(request, reply, []),
    'tokens-revoke': async (request, reply, params) => npmTokens(request, reply, ['token', params.id as string]),
    'audit-bulk': async (request, reply) => {
      await guard(request, 'read', await repoFor(request));
      return sendJson(reply, 200, await auditBulk(request.body));
    },
    // npm 7+ only uses the bulk endpoint; the legacy quick audit gets a valid, empty answer.
    'audit-quick': async (request, reply) => {
      await guard(request, 'read', await repoFor(request));
      return sendJson(reply, 200, quickAuditAnswer);
    },
    search: async (request, reply, _params, query) => search(request, reply, await repoFor(request), query),
    'dist-tags': async (request, reply, params) => distTags(request, reply, await repoFor(request), params.name as string, undefined),
    'dist-tag': async (request, reply, params) => distTags(request, reply, await repoFor(request), params.name as string, params.tag),
    'dist-tag-set': async (request, reply, params) => distTags(request, reply, await repoFor(request), params.name as string, params.tag),
    'dist-tag-remove': async (request, reply, params) => distTags(request, reply, await repoFor(request), params.name as string, params.tag),
    packument: async (request, reply, params, query) => getPackument(request, reply, await repoFor(request), params.name as string, query),
    publish: async (request, reply, params) => putPackage(request, reply, await repoFor(request), params.name as string),
    tarball: async (request, reply, params) => getTarball(request, reply, await repoFor(request), params.name as string, params.file as string),
    'unpublish-versions': async (request, reply, params) => putPackage(request, reply, await repoFor(request), params.name as string, params.rev),
    'unpublish-package': async (request, reply, params) => deletePackage(request, reply, await repoFor(request), params.name as string, params.rev as string),
    'unpublish-tarball': async (request, reply, params) => deleteTarball(request, reply, await repoFor(request), params.name as string, params.file as string),
    version: async (request, reply, params) => getVersion(request, reply, await repoFor(request), params.name as string, params.version as string),
  };

  async function dispatchAll(request: FastifyRequest, reply: FastifyReply) {
    const { owner, repo: repoName } = request.params as { owner: string; repo: string };
    const { segments, query } = pathOf(request, owner, repoName);
    const match = matchEndpoint(segments, request.method);
    if (match === null) throw new StockadeError('NOT_FOUND', ['endpoint']);
    if (match === 'method') throw new StockadeError('METHOD_NOT_ALLOWED');
    return handlers[match.endpoint.id](request, reply, match.params, query);
  }

  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/*', handler: dispatch });
  app.route({ method: ['GET', 'HEAD'], url: '/', handler: async (_request, reply) => sendJson(reply, 200, { db_name: 'registry' }) });
}

/** One line for npm to print when the gate let a publish through with findings or held it. */
export function gateNotice(name: string, version: string, verdict: Verdict): string | undefined {
  if (verdict.action === 'allow') return undefined;
  const head =
    verdict.action === 'quarantine'
      ? `${name}@${version} is held in quarantine until a reviewer approves it`
      : `${name}@${version} was published with warnings`;
  // A header value is one line of printable ASCII.
  return `${head}: ${verdict.reasons.join('; ')}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 2000);
}
