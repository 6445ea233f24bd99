import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { assertHosted, type RepoInfo } from '../../domain/repos.js';
import { StockadeError } from '../../errors.js';
import { detectFormat } from '../../formats/list.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, createRepoGuard } from './guards.js';
import { RepoParams, withErrorResponse } from './schemas.js';

const UploadResult = Type.Object({
  format: Type.String(),
  name: Type.String(),
  version: Type.String(),
  filename: Type.String(),
  sha256: Type.String(),
  size: Type.Integer(),
  verdict: Type.Union([Type.Literal('allow'), Type.Literal('warn'), Type.Literal('quarantine')], { description: "the security gate's verdict" }),
  reasons: Type.Array(Type.String(), { description: 'why, when the verdict is not allow' }),
});

// A plain file name: no path separators or control characters, which no format's file names carry.
const FILENAME = '^[^/\\\\\\x00-\\x1f\\x7f]+$';

/**
 * `PUT /repos/{owner}/{repo}/upload?filename=&tag=` with the raw file as the body: the contract
 * `stockade push` relies on. The format is whichever one claims the file.
 */
export async function uploadRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  // Only this scope reads raw bodies; the limit is the server's, stated here so it cannot drift.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: ctx.config.server.bodyLimit }, (_request, body, done) => done(null, body));

  const repoFor = createRepoGuard(ctx);
  const targets = new WeakMap<FastifyRequest, RepoInfo>();

  app.put(
    '/repos/:owner/:repo/upload',
    {
      // Checked before the body is read, so a refused caller cannot make the server buffer a file.
      onRequest: async (request) => {
        const repo = await repoFor(request, request.params, 'write');
        assertHosted(repo);
        targets.set(request, repo);
      },
      schema: {
        tags: ['packages'],
        operationId: 'uploadPackage',
        summary: 'Upload a package file; its format is detected from the file',
        params: RepoParams,
        querystring: Type.Object({
          filename: Type.String({ minLength: 1, maxLength: 255, pattern: FILENAME }),
          tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'a tag to point at the uploaded version (npm dist-tag)' })),
          distribution: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'where the package goes: the APT distribution (codename) of a .deb, e.g. bookworm, or DISTRO/RELEASE of an .rpm, e.g. el/9' })),
          component: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'APT component, default main' })),
        }),
        response: { 201: UploadResult },
      },
      config: {
        // The body is a raw Buffer, which a JSON schema cannot validate; it is described for the document only.
        swaggerTransform: ({ schema, url }) => ({
          url,
          schema: withErrorResponse({ ...schema, consumes: ['application/octet-stream'], body: { type: 'string', format: 'binary', description: 'the package file' } }),
        }),
      },
    },
    async (request, reply) => {
      const repo = targets.get(request);
      if (!repo) throw new StockadeError('INTERNAL');
      const data = request.body;
      if (!Buffer.isBuffer(data) || data.length === 0) {
        throw new StockadeError('VALIDATION_FAILED', ['the body must be the package file, sent as application/octet-stream']);
      }
      const { filename, tag, distribution, component } = request.query;
      const format = detectFormat(filename, data);
      const target = { ...(distribution !== undefined ? { distribution } : {}), ...(component !== undefined ? { component } : {}) };
      const result = await format.upload(ctx, { repo, actor: actorOf(request), filename, data, target, ...(tag !== undefined ? { tag } : {}) });
      return reply.code(201).send(result);
    },
  );
}
