import { hash } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertHosted, type RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { actorOf, assertAllowed } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { applyErrorHeaders, logError, toStockadeError } from '../../http/errors.js';
import { readableRepo as readableFrom, sendStoredFile } from '../../http/file-clients.js';
import { joinReasons } from '../../security/policy.js';
import { type CacheEntry, createPackumentCache, type RenderedDoc } from '../package-cache.js';
import { PYPI_ENDPOINTS, type PypiEndpointId } from './endpoints.js';
import { normalizeProjectName } from './names.js';
import { coreMetadataBytes, FORMAT, ingestDist, type PypiVersionRecord, type UploadForm } from './publish.js';
import { upstreamHeaders } from '../../remote/remote-engine.js';
import { createPypiRemote, type RemotePage } from './remote.js';
import { negotiate, renderIndex, renderProject, renderProjectPage, type SimpleContentType } from './simple-api.js';
import { createPypiVirtual } from './virtual.js';

/** Longest form field; descriptions (long READMEs) are the only large ones. */
const MAX_FIELD_BYTES = 4 * 1024 * 1024;
/** More fields than any twine upload sends (classifiers and requirements repeat). */
const MAX_FIELDS = 2000;

/** A line fit for an HTTP reason phrase: printable ASCII, bounded. */
function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/**
 * pip and twine at `/{owner}/{repo}/pypi/`. Errors are one line of plain text, and also the
 * reason phrase of the status line, which is what twine prints (as PyPI does).
 */
export async function pypiRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;

  app.setErrorHandler((raw, request, reply) => {
    let error = toStockadeError(raw, ctx.config.server.bodyLimit);
    const code = (raw as { code?: string } | null)?.code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') error = new StockadeError('BODY_TOO_LARGE', [ctx.config.server.bodyLimit]);
    else if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT') error = new StockadeError('BAD_REQUEST', ['the upload form has too many fields or files']);
    else if (code === 'FST_PROTO_VIOLATION') error = new StockadeError('BAD_REQUEST', ['the upload form has a field name that is not allowed']);
    logError(request, raw, error);
    applyErrorHeaders(reply, error);
    if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Basic realm="stockade"');
    reply.raw.statusMessage = reasonPhrase(error.message);
    return reply.code(error.status).header('content-type', 'text/plain; charset=utf-8').send(`${error.message}\n`);
  });

  await app.register(multipart, {
    limits: { fileSize: ctx.config.server.bodyLimit, fieldSize: MAX_FIELD_BYTES, fields: MAX_FIELDS, files: 1, parts: MAX_FIELDS + 1, headerPairs: 100 },
  });

  const readableRepo = (request: FastifyRequest) => readableFrom(ctx, request);
  const ref = (repo: RepoInfo, name: string) => ({ repo, format: FORMAT, name });

  // Project pages and downloads are served from loaded packages kept per node, dropped when a
  // change is announced; with a shared database a hit is first checked against the revision.
  const cache = createPackumentCache({ changes: domain.changes, format: FORMAT });
  const sharedDatabase = domain.dialect === 'postgres';
  function loadProject(repo: RepoInfo, name: string): Promise<CacheEntry> {
    const r = ref(repo, name);
    return cache.get(cache.key(repo.id, name), () => domain.packages.load(r), sharedDatabase ? () => domain.packages.currentRev(r) : undefined);
  }
  const loadPackage = async (repo: RepoInfo, name: string) => (await loadProject(repo, name)).pkg;

  // Remote repositories answer from their upstream (remote.ts); virtual ones merge their members
  // (virtual.ts) and hear from remote members about upstream names they keep private (collisions).
  const remote = createPypiRemote(ctx, { load: loadPackage }, { afterRefresh: (member, name, meta) => virtual.afterRefresh(member, name, meta) });
  const virtual = createPypiVirtual(ctx, { load: loadPackage });

  /** Sends a generated page, with an ETag so pip's revalidation costs one small answer. */
  function sendPage(request: FastifyRequest, reply: FastifyReply, page: string | RenderedDoc, type: SimpleContentType): FastifyReply {
    const body = typeof page === 'string' ? Buffer.from(page, 'utf8') : page.body;
    const etag = typeof page === 'string' ? `"${hash('sha256', body, 'hex').slice(0, 32)}"` : page.etag;
    reply.headers({
      'content-type': type === 'text/html' ? 'text/html; charset=utf-8' : type,
      vary: 'accept, authorization',
      etag,
      'cache-control': 'private, max-age=0, must-revalidate',
    });
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    // A Buffer, so no charset is appended to the PEP 691 media types.
    return reply.send(body);
  }

  function typeFor(request: FastifyRequest): SimpleContentType {
    const format = (request.query as Record<string, unknown> | undefined)?.format;
    return negotiate(request.headers.accept, typeof format === 'string' ? format : undefined);
  }

  /** Redirects to `path` under this repository's index, keeping the query (PEP 503). */
  function redirect(request: FastifyRequest, reply: FastifyReply, repo: RepoInfo, path: string): FastifyReply {
    const raw = request.raw.url ?? '';
    const query = raw.includes('?') ? raw.slice(raw.indexOf('?')) : '';
    return reply.code(301).header('cache-control', 'no-cache').redirect(`/${repo.path}/pypi${path}${query}`, 301);
  }

  function sendRemotePage(request: FastifyRequest, reply: FastifyReply, remotePage: RemotePage, type: SimpleContentType): FastifyReply {
    upstreamHeaders(reply, remotePage.cached);
    return sendPage(request, reply, renderProjectPage(remotePage.page, type), type);
  }

  async function projectPage(request: FastifyRequest, reply: FastifyReply, trailingSlash: boolean) {
    const { project } = request.params as { project: string };
    const repo = await readableRepo(request);
    const normalized = normalizeProjectName(project);
    if (normalized !== project || !trailingSlash) return redirect(request, reply, repo, `/simple/${encodeURIComponent(normalized)}/`);
    const type = typeFor(request);
    if (repo.kind === 'remote') return sendRemotePage(request, reply, await remote.project(repo, normalized), type);
    if (repo.kind === 'virtual') {
      const source = await virtual.resolve(request, repo, normalized, (member) => remote.project(member, normalized));
      if (source.kind === 'remote') return sendRemotePage(request, reply, source.result, type);
      // A merged page spans packages the cache keys separately: rendered per request.
      return sendPage(request, reply, renderProject(source.pkg, type), type);
    }
    const entry = await loadProject(repo, normalized);
    const pkg = entry.pkg;
    if (!pkg || pkg.versions.length === 0) throw new StockadeError('NOT_FOUND', [`project ${normalized}`]);
    return sendPage(request, reply, cache.doc(entry, type, () => renderProject(pkg, type)), type);
  }

  /**
   * The hosted or remote repository that stores a file asked of `repo`: `repo` itself unless it is
   * virtual, where it is the member the project page came from. A remote repository's
   * distribution file is brought in from upstream first; core metadata files never are (they
   * are listed only once their file is stored).
   */
  async function fileSource(request: FastifyRequest, repo: RepoInfo, file: { name: string; distFile: string; isMetadata: boolean }): Promise<RepoInfo> {
    let source: RepoInfo | null = repo;
    if (repo.kind === 'virtual') {
      const resolved = await virtual.resolve(request, repo, file.name, (member) => remote.project(member, file.name));
      source = resolved.kind === 'remote' ? resolved.member : await virtual.hostedFileOwner(await virtual.viewOf(null, repo), file.name, file.distFile);
    }
    if (!source) throw new StockadeError('NOT_FOUND', [`file ${file.distFile}`]);
    if (source.kind === 'remote' && !file.isMetadata) await remote.ensureFile(source, file.name, file.distFile);
    return source;
  }

  async function download(request: FastifyRequest, reply: FastifyReply) {
    const { project, file: filename } = request.params as { project: string; file: string };
    const repo = await readableRepo(request);
    const name = normalizeProjectName(project);
    const isMetadata = filename.endsWith('.metadata');
    const distFile = isMetadata ? filename.slice(0, -'.metadata'.length) : filename;
    const source = await fileSource(request, repo, { name, distFile, isMetadata });
    // Shared caches may keep a file only when both the repository asked and the one storing it are public.
    const visibleAs = repo.visibility === 'private' ? repo : source;
    const send = (file: { sha256: string; size: number }) => sendStoredFile(ctx, reply, visibleAs, file, 'application/octet-stream');
    // Published files come from the cached package; anything else asks the database why not.
    const published = (await loadProject(source, name)).pkg?.versions.find((v) => v.files.some((f) => f.filename === distFile));
    const file = published?.files.find((f) => f.filename === distFile);
    if (!published || !file) {
      const found = await domain.packages.findFile(ref(source, name), distFile);
      if (!found) throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
      // Held files are in no index; a direct link says why instead of pretending they do not exist.
      if (found.status === 'quarantined') throw new StockadeError('PACKAGE_QUARANTINED', [`${name} ${found.version}`, joinReasons(found.reasons) || 'awaiting review']);
      // Stored after the cached copy was loaded: the change notice is on its way.
      if (!isMetadata) return send(found);
      throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
    }
    if (!isMetadata) return send(file);
    const record = published.metadata as Partial<PypiVersionRecord> | undefined;
    const sha = record?.files?.[distFile]?.coreMetadataSha256;
    const stored = sha ? record?.coreMetadata?.[sha] : undefined;
    if (!stored) throw new StockadeError('NOT_FOUND', [`file ${filename}`]);
    const body = coreMetadataBytes(stored);
    reply.headers({
      'content-type': 'text/plain; charset=utf-8',
      etag: `"${sha}"`,
      'cache-control': `${visibleAs.visibility === 'public' ? 'public' : 'private'}, max-age=31536000, immutable`,
    });
    return reply.send(body);
  }

  /** Reads the multipart form: every field (repeatable) and the one `content` file. */
  async function readForm(request: FastifyRequest): Promise<{ form: UploadForm; filename: string; data: Buffer }> {
    if (!request.isMultipart()) {
      throw new StockadeError('BAD_REQUEST', ['an upload is a multipart/form-data POST with the file in "content", as twine sends it']);
    }
    const form: UploadForm = new Map();
    let content: { filename: string; data: Buffer } | undefined;
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'content') {
          // Signatures and attestations are not kept; their bytes are read and dropped.
          await part.toBuffer();
          continue;
        }
        content = { filename: part.filename, data: await part.toBuffer() };
        continue;
      }
      if (part.fieldnameTruncated) throw new StockadeError('BAD_REQUEST', ['a field name of the upload form is too long']);
      if (part.valueTruncated) throw new StockadeError('BAD_REQUEST', [`the form field "${part.fieldname.slice(0, 60)}" is longer than ${MAX_FIELD_BYTES} bytes`]);
      const values = form.get(part.fieldname) ?? [];
      values.push(String(part.value));
      form.set(part.fieldname, values);
    }
    const action = form.get(':action')?.[0];
    if (action !== 'file_upload') {
      throw new StockadeError('BAD_REQUEST', [action === undefined ? 'the form has no ":action" field; uploads send :action=file_upload' : `":action" ${JSON.stringify(action.slice(0, 40))} is not supported; only file_upload is`]);
    }
    const protocol = form.get('protocol_version')?.[0];
    if (protocol !== undefined && protocol !== '1') throw new StockadeError('BAD_REQUEST', [`protocol_version ${JSON.stringify(protocol.slice(0, 10))} is not supported; only 1 is`]);
    if (!content || content.data.length === 0) throw new StockadeError('BAD_REQUEST', ['the upload has no file: send it in the "content" field']);
    return { form, filename: content.filename, data: content.data };
  }

  async function upload(request: FastifyRequest, reply: FastifyReply) {
    const repo = uploadTargets.get(request);
    if (!repo) throw new StockadeError('INTERNAL');
    const { form, filename, data } = await readForm(request);
    const result = await ingestDist(ctx, { repo, actor: actorOf(request), filename, data, form });
    reply.header('content-type', 'text/plain; charset=utf-8');
    if (result.verdict === 'quarantine') {
      // PyPI answers 200 with nothing to say; twine shows only the status, `--verbose` shows this.
      return reply.send(`${result.filename} is held in quarantine until a reviewer approves it: ${result.reasons.join('; ')}\n`);
    }
    return reply.send(result.verdict === 'warn' ? `${result.filename} uploaded with warnings: ${result.reasons.join('; ')}\n` : `${result.filename} uploaded\n`);
  }

  // Checked before any of the body is read, so a refused caller cannot make the server take a file.
  const uploadTargets = new WeakMap<FastifyRequest, RepoInfo>();
  async function guardUpload(request: FastifyRequest): Promise<void> {
    const { owner, repo: name } = request.params as { owner: string; repo: string };
    const repo = await domain.repos.get(owner, name);
    if (!repo) throw new StockadeError(request.principal ? 'NOT_FOUND' : 'AUTH_REQUIRED', request.principal ? [`repository ${owner}/${name}`] : []);
    const decision = await domain.access.decide(request.principal, 'write', repo);
    if (decision === 'otp-required') {
      // twine has no way to send a one-time password: say what works instead.
      throw new StockadeError('OTP_REQUIRED', [
        `twine cannot send one: upload with an automation token as __token__, e.g. stockade token create --user ${request.principal?.userName ?? 'NAME'} --kind automation --repo ${repo.path} --scopes write --expires 90d`,
      ]);
    }
    assertAllowed(decision, repo, 'write');
    await refuseNonHosted(repo);
    uploadTargets.set(request, repo);
  }

  /** Only hosted repositories take uploads; a PyPI virtual repository names where to upload instead. */
  async function refuseNonHosted(repo: RepoInfo): Promise<void> {
    const view = repo.kind === 'virtual' ? await virtual.virtuals.view(repo) : null;
    if (view?.format === FORMAT) {
      const hosted = virtual.hostedOf(view).map((m) => m.path);
      throw new StockadeError('VIRTUAL_READ_ONLY', [repo.path, hosted.length > 0 ? `its hosted members: ${hosted.join(', ')}` : 'it has no hosted member']);
    }
    assertHosted(repo);
  }

  const handlers: Record<PypiEndpointId, (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> = {
    // A remote repository lists what it has cached; a virtual one merges its members.
    index: async (request, reply) => {
      const repo = await readableRepo(request);
      const names = repo.kind === 'virtual' ? await virtual.projectNames(request, repo) : (await domain.packages.listNames(repo, FORMAT)).map((r) => r.name);
      const type = typeFor(request);
      return sendPage(request, reply, renderIndex(names, type), type);
    },
    'index-redirect': async (request, reply) => redirect(request, reply, await readableRepo(request), '/simple/'),
    project: (request, reply) => projectPage(request, reply, true),
    'project-redirect': (request, reply) => projectPage(request, reply, false),
    file: download,
    upload,
    'upload-legacy-bare': upload,
    'upload-root': upload,
  };

  for (const endpoint of PYPI_ENDPOINTS) {
    const isUpload = endpoint.access === 'repo-write';
    app.route({ method: [...endpoint.methods], url: endpoint.route, handler: handlers[endpoint.id], ...(isUpload ? { onRequest: guardUpload } : {}) });
  }
}
