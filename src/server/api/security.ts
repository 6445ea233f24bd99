import { Type } from 'typebox';
import YAML from 'yaml';
import { actorOf } from '../../http/auth.js';
import { StockadeError } from '../../errors.js';
import { findFormat } from '../../formats/list.js';
import type { ServerContext } from '../../http/context.js';
import { ACTIONS, parsePolicy } from '../../security/policy.js';
import { CONFIDENCES, SEVERITIES } from '../../security/types.js';
import { type ApiApp, createRepoGuard } from './guards.js';
import { NoContent, Nullable, RepoParams, Timestamp } from './schemas.js';

const tags = ['security'];

const Action = Type.Enum([...ACTIONS]);

const PolicyDocument = Type.Object(
  {
    version: Type.Literal(1),
    onAnalyzerFailure: Type.Optional(Action),
    defaultAction: Type.Optional(Action),
    rules: Type.Array(
      Type.Object({
        description: Type.Optional(Type.String()),
        match: Type.Object({
          analyzer: Type.Optional(Type.String()),
          rule: Type.Optional(Type.String({ description: 'rule id or glob, e.g. `secrets/*`' })),
          severityAtLeast: Type.Optional(Type.Enum([...SEVERITIES])),
          confidenceAtLeast: Type.Optional(Type.Enum([...CONFIDENCES])),
          package: Type.Optional(Type.String({ description: 'package name glob, e.g. `@acme/*`' })),
        }),
        action: Action,
      }),
    ),
  },
  { description: 'ordered rules: the first rule that selects a finding decides its action; the most severe action decides the verdict' },
);

const PolicyException = Type.Object({
  id: Type.Integer(),
  package: Type.String(),
  version: Nullable(Type.String()),
  rule: Nullable(Type.String()),
  reason: Type.String(),
  expiresAt: Nullable(Timestamp),
  createdBy: Type.String(),
  createdAt: Timestamp,
});

const PolicyView = Type.Object({
  custom: Type.Boolean({ description: 'false when the repository uses the default policy' }),
  policy: PolicyDocument,
  exceptions: Type.Array(PolicyException),
});

const Finding = Type.Object(
  {
    analyzer: Type.String(),
    rule: Type.String(),
    severity: Type.String(),
    confidence: Type.String(),
    message: Type.String(),
    action: Type.String(),
    location: Type.Optional(Type.Object({ file: Type.String(), line: Type.Optional(Type.Integer()), column: Type.Optional(Type.Integer()) })),
    evidence: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const QuarantinedVersion = Type.Object({
  format: Type.String(),
  name: Type.String(),
  version: Type.String(),
  publisher: Type.String(),
  createdAt: Timestamp,
  reasons: Type.Array(Type.String()),
  findings: Type.Array(Finding),
});

const Review = Type.Object({
  format: Type.String(),
  name: Type.String(),
  version: Type.String(),
  decision: Type.Enum(['approve', 'reject']),
  reason: Type.String({ minLength: 1, maxLength: 2000 }),
});

/** Per-repository policy, exceptions and the quarantine review queue. Repository admins only, except reading the policy. */
export async function securityRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { domain } = ctx;
  const repoFor = createRepoGuard(ctx);

  // Policies are often kept as YAML next to other configuration; accept it as well as JSON.
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => {
    try {
      done(null, YAML.parse(body as string, { maxAliasCount: 100 }));
    } catch (error) {
      done(new StockadeError('INVALID_POLICY', [`the body is not valid YAML: ${(error as Error).message.split('\n')[0]}`]));
    }
  });

  async function policyView(repo: Parameters<typeof domain.policies.get>[0]) {
    const record = await domain.policies.get(repo);
    const { policy } = await ctx.gate.policyOf(repo);
    return { custom: record.document !== null, policy, exceptions: record.exceptions };
  }

  app.get(
    '/repos/:owner/:repo/policy',
    { schema: { tags, operationId: 'getPolicy', summary: 'The policy in force, and its exceptions', params: RepoParams, response: { 200: PolicyView } } },
    async (request) => policyView(await repoFor(request, request.params, 'read')),
  );

  app.put(
    '/repos/:owner/:repo/policy',
    {
      schema: {
        tags,
        operationId: 'setPolicy',
        summary: 'Replace the policy',
        description: 'JSON or YAML (`application/yaml`). The document is validated whole; an error names the exact path (`rules[2].match.severityAtLeast`).',
        params: RepoParams,
        // Validated by the one policy parser, so the API and the CLI report the same errors.
        body: Type.Unknown(),
        response: { 200: PolicyView },
      },
    },
    async (request) => {
      const repo = await repoFor(request, request.params, 'admin');
      const policy = parsePolicy(request.body);
      await domain.policies.set(actorOf(request), repo, policy);
      return policyView(repo);
    },
  );

  app.delete(
    '/repos/:owner/:repo/policy',
    { schema: { tags, operationId: 'resetPolicy', summary: 'Return to the default policy', params: RepoParams, response: { 200: PolicyView } } },
    async (request) => {
      const repo = await repoFor(request, request.params, 'admin');
      await domain.policies.set(actorOf(request), repo, null);
      return policyView(repo);
    },
  );

  app.post(
    '/repos/:owner/:repo/policy/exceptions',
    {
      schema: {
        tags,
        operationId: 'addPolicyException',
        summary: 'Allow one package (and optionally one version and rule) despite the policy',
        params: RepoParams,
        body: Type.Object({
          package: Type.String({ minLength: 1, maxLength: 214, description: 'name or glob' }),
          version: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          rule: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'rule id or glob' })),
          reason: Type.String({ minLength: 1, maxLength: 2000 }),
          expiresAt: Type.Optional(Timestamp),
        }),
        response: { 201: PolicyException },
      },
    },
    async (request, reply) => {
      const repo = await repoFor(request, request.params, 'admin');
      const { package: pkg, version, rule, reason, expiresAt } = request.body;
      if (expiresAt !== undefined && !(Date.parse(expiresAt) > Date.now())) throw new StockadeError('VALIDATION_FAILED', ['expiresAt must be in the future']);
      const created = await domain.policies.addException(actorOf(request), repo, {
        package: pkg,
        version: version ?? null,
        rule: rule ?? null,
        reason,
        expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
      });
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/repos/:owner/:repo/policy/exceptions/:id',
    {
      schema: {
        tags,
        operationId: 'removePolicyException',
        summary: 'Remove an exception',
        params: Type.Object({ ...RepoParams.properties, id: Type.Integer({ minimum: 1 }) }),
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const repo = await repoFor(request, request.params, 'admin');
      await domain.policies.removeException(actorOf(request), repo, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/repos/:owner/:repo/quarantine',
    {
      schema: {
        tags,
        operationId: 'listQuarantine',
        summary: 'Versions held for review, oldest first, with their findings',
        params: RepoParams,
        response: { 200: Type.Array(QuarantinedVersion) },
      },
    },
    async (request) => {
      const repo = await repoFor(request, request.params, 'admin');
      const held = await domain.packages.listQuarantined(repo);
      return held.map((h) => ({
        format: h.format,
        name: h.name,
        version: h.version,
        publisher: h.publisher,
        createdAt: h.createdAt,
        reasons: h.gate.reasons ?? [],
        findings: h.gate.findings as never[],
      }));
    },
  );

  app.post(
    '/repos/:owner/:repo/quarantine/review',
    {
      schema: {
        tags,
        operationId: 'reviewQuarantined',
        summary: 'Approve (publish) or reject (delete) a quarantined version',
        params: RepoParams,
        body: Review,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const repo = await repoFor(request, request.params, 'admin');
      const { format: formatName, name, version, decision, reason } = request.body;
      const format = findFormat(formatName);
      if (!format) throw new StockadeError('NOT_FOUND', [`format ${formatName}`]);
      await domain.packages.review(actorOf(request), { repo, format: format.name, name }, { version, decision, reason, compare: format.compareVersions });
      return reply.code(204).send(null);
    },
  );
}
