import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { StockadeError } from '../../errors.js';
import { findFormat, formats } from '../../formats/list.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, createRepoGuard } from './guards.js';
import { Nullable, RepoParams, Timestamp } from './schemas.js';

const tags = ['packages'];

const FormatName = Type.String({ minLength: 1, maxLength: 50, description: `one of: ${formats.map((f) => f.name).join(', ')}` });

const PackageSummary = Type.Object({ format: Type.String(), name: Type.String(), updatedAt: Timestamp });

const PackageFile = Type.Object({
  filename: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  sha512: Type.String(),
  sha1: Type.String(),
  md5: Type.String(),
});

const YankState = Nullable(
  Type.Object({ at: Timestamp, reason: Type.String({ description: 'empty when none was given' }) }, { description: 'when and why the version was yanked; null when it is not' }),
);

const VersionParams = Type.Object({ ...RepoParams.properties, format: FormatName, name: Type.String({ minLength: 1 }), version: Type.String({ minLength: 1, maxLength: 256 }) });

const YankedVersion = Type.Object({ format: Type.String(), name: Type.String(), version: Type.String(), yanked: YankState });

const PackageDetail = Type.Object({
  name: Type.String(),
  format: Type.String(),
  distTags: Type.Record(Type.String(), Type.String()),
  versions: Type.Array(
    Type.Object({
      version: Type.String(),
      createdAt: Timestamp,
      publisher: Type.String(),
      deprecated: Nullable(Type.String()),
      yanked: YankState,
      verdict: Type.String({ description: "the security gate's verdict: allow or warn (quarantined versions are not listed)" }),
      findings: Type.Array(Type.Object({ rule: Type.String(), severity: Type.String(), message: Type.String(), action: Type.String() }, { additionalProperties: true }), {
        description: 'what the gate found, with the action policy gave each',
      }),
      files: Type.Array(PackageFile),
    }),
  ),
});

export async function packageRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { packages } = ctx.domain;
  const repoFor = createRepoGuard(ctx);

  app.get(
    '/repos/:owner/:repo/packages',
    {
      schema: {
        tags,
        operationId: 'listPackages',
        summary: 'Packages in a repository',
        params: RepoParams,
        querystring: Type.Object({ format: Type.Optional(FormatName) }),
        response: { 200: Type.Array(PackageSummary) },
      },
    },
    async (request) => {
      const repo = await repoFor(request, request.params, 'read');
      const rows = await packages.listNames(repo, request.query.format);
      return rows.map((row) => ({ format: row.format, name: row.name, updatedAt: row.updated_at }));
    },
  );

  async function packageDetail(request: FastifyRequest, path: { owner: string; repo: string; format: string; name: string }) {
    const { format: formatName, name } = path;
    // The repository check comes first: nothing about a hidden repository's packages may show.
    const repo = await repoFor(request, path, 'read');
    const format = findFormat(formatName);
    const pkg = format ? await packages.load({ repo, format: format.name, name }) : null;
    if (!format || !pkg || pkg.versions.length === 0) throw new StockadeError('NOT_FOUND', [`package ${formatName}/${name} in ${repo.path}`]);
    const versions = [...pkg.versions].sort((a, b) => format.compareVersions(a.version, b.version));
    return {
      name: pkg.name,
      format: format.name,
      distTags: pkg.distTags,
      versions: versions.map((v) => ({
        version: v.version,
        createdAt: v.createdAt,
        publisher: v.publisher,
        deprecated: v.deprecated,
        yanked: v.yanked,
        verdict: v.gate.verdict,
        findings: v.gate.findings as { rule: string; severity: string; message: string; action: string }[],
        files: v.files,
      })),
    };
  }

  app.get(
    '/repos/:owner/:repo/packages/:format/:name',
    {
      schema: {
        tags,
        operationId: 'getPackage',
        summary: 'A package with its versions and files',
        description: 'Scoped npm names contain a slash: send it encoded (`@scope%2Fname`) or use the two-segment route.',
        params: Type.Object({ ...RepoParams.properties, format: FormatName, name: Type.String({ minLength: 1 }) }),
        response: { 200: PackageDetail },
      },
    },
    async (request) => packageDetail(request, request.params),
  );

  app.get(
    '/repos/:owner/:repo/packages/:format/:scope/:name',
    {
      schema: {
        tags,
        operationId: 'getScopedPackage',
        summary: 'A scoped package (`@scope/name`) with its versions and files',
        params: Type.Object({ ...RepoParams.properties, format: FormatName, scope: Type.String({ pattern: '^@[^/]+$' }), name: Type.String({ minLength: 1 }) }),
        response: { 200: PackageDetail },
      },
    },
    async (request) => {
      const { owner, repo, format, scope, name } = request.params;
      return packageDetail(request, { owner, repo, format, name: `${scope}/${name}` });
    },
  );
  /** The one stored version (quarantined ones too) that `version` names, in any spelling the format equates. */
  async function storedVersion(repo: Awaited<ReturnType<typeof repoFor>>, path: { format: string; name: string; version: string }) {
    const format = findFormat(path.format);
    const pkg = format ? await packages.load({ repo, format: format.name, name: path.name }, { includeQuarantined: true }) : null;
    if (!format || !pkg) throw new StockadeError('NOT_FOUND', [`package ${path.format}/${path.name} in ${repo.path}`]);
    const equal = (v: string) => {
      try {
        return format.compareVersions(v, path.version) === 0;
      } catch {
        return false;
      }
    };
    const exact = pkg.versions.find((v) => v.version === path.version);
    const matches = exact ? [exact] : pkg.versions.filter((v) => equal(v.version));
    if (matches.length !== 1) throw new StockadeError('NOT_FOUND', [`version ${path.name}@${path.version}`]);
    return { format, pkg, version: (matches[0] as { version: string }).version };
  }

  /**
   * Yank (POST) or unyank (DELETE) a version: installers skip a yanked version unless it is pinned
   * exactly (PEP 592, `gem yank`); its files stay. The version may be given in any spelling the
   * format's comparator equates (PEP 440: `1.0` is `1.0.0`).
   */
  async function setYank(request: FastifyRequest, path: { owner: string; repo: string; format: string; name: string; version: string }, reason: string | null) {
    const repo = await repoFor(request, path, 'write');
    const { format, pkg, version } = await storedVersion(repo, path);
    const ref = { repo, format: format.name, name: pkg.name };
    await packages.yank(actorOf(request), ref, version, reason);
    const after = await packages.load(ref, { includeQuarantined: true });
    return { format: format.name, name: pkg.name, version, yanked: after?.versions.find((v) => v.version === version)?.yanked ?? null };
  }

  app.post(
    '/repos/:owner/:repo/packages/:format/:name/versions/:version/yank',
    {
      schema: {
        tags,
        operationId: 'yankVersion',
        summary: 'Yank a version: installers skip it unless it is pinned exactly',
        description: 'Yanking again replaces the reason. Needs write access to the repository.',
        params: VersionParams,
        body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false }),
        response: { 200: YankedVersion },
      },
    },
    async (request) => setYank(request, request.params, request.body?.reason?.trim() ?? ''),
  );

  app.delete(
    '/repos/:owner/:repo/packages/:format/:name/versions/:version/yank',
    {
      schema: {
        tags,
        operationId: 'unyankVersion',
        summary: 'Take back the yank of a version',
        params: VersionParams,
        response: { 200: YankedVersion },
      },
    },
    async (request) => setYank(request, request.params, null),
  );

  app.delete(
    '/repos/:owner/:repo/packages/:format/:name/versions/:version',
    {
      schema: {
        tags,
        operationId: 'evictVersion',
        summary: 'Evict a cached version from a remote repository',
        description:
          'Removes the stored copy of a version that a remote repository fetched from its upstream (quarantined or not); the next request for it fetches it again, through the gate. ' +
          'Hosted and virtual repositories answer 405: yank or unpublish their versions with the format\'s client. Needs admin rights on the repository.',
        params: VersionParams,
        response: { 200: Type.Object({ format: Type.String(), name: Type.String(), version: Type.String(), evicted: Type.Boolean() }) },
      },
    },
    async (request) => {
      const repo = await repoFor(request, request.params, 'admin');
      if (repo.kind !== 'remote') throw new StockadeError('NOT_A_CACHE', [repo.path, repo.kind]);
      const { format, pkg, version } = await storedVersion(repo, request.params);
      await packages.unpublish(actorOf(request), { repo, format: format.name, name: pkg.name }, [version], format.compareVersions);
      return { format: format.name, name: pkg.name, version, evicted: true };
    },
  );
}
