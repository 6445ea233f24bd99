import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import type { ReadEntry } from 'tar';
import { Type } from 'typebox';
import type { Actor } from '../../domain/audit.js';
import { assertHosted, type RepoInfo } from '../../domain/repos.js';
import { StockadeError, isStockadeError } from '../../errors.js';
import { StrictTarReader } from '../../formats/archive/strict-tar.js';
import { stagedResult, type StagedUpload, type UploadResult, type UploadTarget } from '../../formats/format.js';
import { detectFormat } from '../../formats/list.js';
import { printable } from '../../formats/npm/names.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, createRepoGuard } from './guards.js';
import { RepoParams, withErrorResponse } from './schemas.js';

/** Files staged before they are stored and recorded together: one commit and one wave of writes per batch. */
const BATCH_FILES = 128;
/** ...or fewer, when they are large: the bytes of a batch are held in memory until stored. */
const BATCH_BYTES = 128 * 1024 * 1024;
/** Files one import may hold. */
export const MAX_IMPORT_FILES = 100_000;

const ImportItem = Type.Object({
  file: Type.String({ description: 'the file name in the archive' }),
  filename: Type.Optional(Type.String({ description: 'the name the package file is stored under' })),
  format: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  sha256: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer()),
  verdict: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('warn'), Type.Literal('quarantine')])),
  reasons: Type.Optional(Type.Array(Type.String())),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

const ImportAnswer = Type.Object({
  stored: Type.Integer({ description: 'files stored (or found already stored) by this import' }),
  failed: Type.Integer({ description: 'files refused; each result with an error says why' }),
  results: Type.Array(ImportItem, { description: 'one per file, in archive order' }),
});

type ImportResult = { file: string } & (Partial<UploadResult> & { error?: { code: string; message: string } });

function failure(file: string, error: unknown): ImportResult {
  if (isStockadeError(error)) return { file, error: { code: error.code, message: error.message } };
  throw error;
}

/** Characters no package file name carries: control characters and backslashes. */
const unusableInName = (c: string) => c < ' ' || c === '\x7f' || c === '\\';

interface PendingFile {
  filename: string;
  data: Buffer;
}

interface StagedBatch {
  /** One slot per file; null until its staged upload is stored. */
  results: (ImportResult | null)[];
  staged: { at: number; item: StagedUpload; filename: string; data: Buffer }[];
}

/**
 * Parses and judges every file of a batch on its own (a bad file is refused alone); files that
 * need no storing (the same file again) are settled here.
 */
async function stageBatch(ctx: ServerContext, repo: RepoInfo, actor: Actor, target: UploadTarget, files: PendingFile[]): Promise<StagedBatch> {
  const batch: StagedBatch = { results: [], staged: [] };
  for (const file of files) {
    try {
      const format = detectFormat(file.filename, file.data);
      if (!format.stage) {
        batch.results.push({ file: file.filename, ...(await format.upload(ctx, { repo, actor, filename: file.filename, data: file.data, target })) });
        continue;
      }
      const outcome = await format.stage(ctx, { repo, actor, filename: file.filename, data: file.data, target });
      if (outcome.kind === 'done') {
        batch.results.push({ file: file.filename, ...outcome.result });
        continue;
      }
      batch.staged.push({ at: batch.results.length, item: outcome.staged, filename: file.filename, data: file.data });
      batch.results.push(null);
    } catch (error) {
      batch.results.push(failure(file.filename, error));
    }
  }
  return batch;
}

/**
 * Stores the new files of a staged batch: written to blob storage together, then recorded in one
 * transaction, each under its own savepoint. A file that lost a race (the same version twice in
 * one archive) is retried through the format's ordinary upload, which tells the same file again
 * from a conflicting one.
 */
async function commitBatch(ctx: ServerContext, repo: RepoInfo, actor: Actor, target: UploadTarget, batch: StagedBatch): Promise<ImportResult[]> {
  const { results, staged } = batch;
  if (staged.length === 0) return results as ImportResult[];
  const digests = await ctx.blobs.putMany(staged.map((s) => s.item.data));
  const digestAt = (i: number) => digests[i] as (typeof digests)[number];
  const outcomes = await ctx.domain.packages.publishMany(
    actor,
    staged.map((s, i) => ({ ref: s.item.ref, input: s.item.publication(digestAt(i)) })),
  );
  for (const [i, s] of staged.entries()) {
    const error = outcomes[i];
    if (!error) {
      results[s.at] = { file: s.filename, ...stagedResult(s.item, digestAt(i)) };
      continue;
    }
    if (!(isStockadeError(error) && error.code === 'VERSION_EXISTS')) {
      results[s.at] = failure(s.filename, error);
      continue;
    }
    try {
      const format = detectFormat(s.filename, s.data);
      results[s.at] = { file: s.filename, ...(await format.upload(ctx, { repo, actor, filename: s.filename, data: s.data, target })) };
    } catch (retryError) {
      results[s.at] = failure(s.filename, retryError);
    }
  }
  return results as ImportResult[];
}

/**
 * Reads the request body as a tar stream of package files and hands them over in batches, so
 * at most one batch of file bodies is held in memory and the client is slowed by backpressure.
 */
async function readArchive(request: FastifyRequest, maxFileBytes: number, onBatch: (files: PendingFile[]) => Promise<void>): Promise<void> {
  const ready: PendingFile[] = [];
  let readyBytes = 0;
  let count = 0;
  const reader = new StrictTarReader({
    label: 'the import archive',
    gzipReason: 'send it uncompressed: package files are compressed already',
    onEntry(entry: ReadEntry) {
      const name = printable(entry.path, 200);
      if (entry.type === 'Directory' || entry.type === 'GNUDumpDir') {
        entry.resume();
        return;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
        throw new StockadeError('UNSAFE_ARCHIVE', [`the import archive: "${name}" is a ${String(entry.type)}; only regular files are imported`]);
      }
      if (++count > MAX_IMPORT_FILES) throw new StockadeError('VALIDATION_FAILED', [`an import holds at most ${MAX_IMPORT_FILES} files`]);
      const size = entry.size ?? 0;
      if (size > maxFileBytes) throw new StockadeError('BODY_TOO_LARGE', [String(maxFileBytes)], { file: name });
      const filename = path.posix.basename(entry.path);
      if (filename === '' || filename.length > 255 || [...filename].some(unusableInName)) {
        throw new StockadeError('VALIDATION_FAILED', [`the import archive: "${name}" is not a usable file name`]);
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        const data = Buffer.concat(chunks, size);
        ready.push({ filename, data });
        readyBytes += data.length;
      });
    },
  });
  const flush = async (all: boolean) => {
    while (ready.length > 0 && (all || ready.length >= BATCH_FILES || readyBytes >= BATCH_BYTES)) {
      const batch: PendingFile[] = [];
      let bytes = 0;
      while (ready.length > 0 && batch.length < BATCH_FILES && (batch.length === 0 || bytes + (ready[0] as PendingFile).data.length <= BATCH_BYTES)) {
        const next = ready.shift() as PendingFile;
        bytes += next.data.length;
        batch.push(next);
      }
      readyBytes -= bytes;
      await onBatch(batch);
    }
  };
  for await (const chunk of request.raw) {
    reader.write(chunk as Buffer);
    await flush(false);
  }
  reader.end();
  await flush(true);
}

/**
 * `POST /repos/{owner}/{repo}/import?distribution=&component=`: many package files in one
 * request, as an uncompressed tar stream. Each file is stored all or nothing exactly as an
 * upload would store it (same parsing, gate and answers); files are stored in batches, with one
 * commit per batch, which is what makes a large import fast. The import as a whole is not one
 * transaction: the answer lists every file with its result or error, and a broken archive stops
 * the import after the files before it were stored (they are listed in the error's details).
 */
export async function importRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  // The body is streamed by the handler itself: no parser buffers it.
  app.addContentTypeParser('application/x-tar', (_request, _payload, done) => done(null));

  const repoFor = createRepoGuard(ctx);
  const targets = new WeakMap<FastifyRequest, RepoInfo>();

  app.post(
    '/repos/:owner/:repo/import',
    {
      onRequest: async (request) => {
        const repo = await repoFor(request, request.params, 'write');
        assertHosted(repo);
        targets.set(request, repo);
      },
      schema: {
        tags: ['packages'],
        operationId: 'importPackages',
        summary: 'Upload many package files at once, as an uncompressed tar stream; each is stored like an upload',
        params: RepoParams,
        querystring: Type.Object({
          distribution: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'where the packages go: the APT distribution of .deb files, or DISTRO/RELEASE of .rpm files' })),
          component: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'APT component, default main' })),
        }),
        response: { 200: ImportAnswer },
      },
      config: {
        swaggerTransform: ({ schema, url }) => ({
          url,
          schema: withErrorResponse({ ...schema, consumes: ['application/x-tar'], body: { type: 'string', format: 'binary', description: 'a tar archive of package files' } }),
        }),
      },
    },
    async (request, reply) => {
      const repo = targets.get(request);
      if (!repo) throw new StockadeError('INTERNAL');
      if (request.headers['content-type']?.split(';')[0]?.trim() !== 'application/x-tar') {
        throw new StockadeError('VALIDATION_FAILED', ['the body must be a tar archive of package files, sent as application/x-tar']);
      }
      const { distribution, component } = request.query;
      const target: UploadTarget = { ...(distribution !== undefined ? { distribution } : {}), ...(component !== undefined ? { component } : {}) };
      const actor = actorOf(request);
      const results: ImportResult[] = [];
      // One batch is staged (CPU) while the one before it is written and committed (mostly I/O).
      let committing: Promise<void> = Promise.resolve();
      try {
        await readArchive(request, ctx.config.server.bodyLimit, async (files) => {
          const batch = await stageBatch(ctx, repo, actor, target, files);
          await committing;
          committing = commitBatch(ctx, repo, actor, target, batch).then((done) => {
            results.push(...done);
          });
          // Awaited with the next batch or at the end; this only keeps an early failure from counting as unhandled.
          committing.catch(() => undefined);
        });
        await committing;
      } catch (error) {
        await committing.catch(() => undefined);
        if (!isStockadeError(error) || results.length === 0) throw error;
        // What was stored stays stored: say so with the error.
        throw new StockadeError('IMPORT_STOPPED', [results.length, error.message], { cause: error.code, results });
      }
      const failed = results.filter((r) => r.error).length;
      return reply.code(200).send({ stored: results.length - failed, failed, results });
    },
  );
}
