import { Type } from 'typebox';
import { AUDIT_PAGE_MAX, parseAuditTime } from '../../domain/audit.js';
import { StockadeError } from '../../errors.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, siteAdminOnly } from './guards.js';
import { Nullable, Timestamp } from './schemas.js';

const tags = ['audit'];

/** Set on a full page: pass it back as `afterId` for the next one. Absent on the last page. */
export const NEXT_AFTER_ID_HEADER = 'x-next-after-id';

const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Type.String(),
  actorIp: Nullable(Type.String()),
  action: Type.String(),
  target: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  prevHash: Type.String(),
  hash: Type.String(),
});

const IsoTime = (description: string) => Type.Optional(Type.String({ maxLength: 64, description: `${description}; ISO 8601, a date alone is midnight UTC` }));

/** A time bound from the query string in stored form, or a 400 naming the parameter. */
function timeBound(name: 'since' | 'until', raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const parsed = parseAuditTime(raw);
  if (parsed === null) throw new StockadeError('VALIDATION_FAILED', [`${name} is not an ISO 8601 date or time: "${raw}"`], { parameter: name });
  return parsed;
}

export async function auditRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { audit, db } = ctx.domain;

  app.get(
    '/audit',
    {
      onRequest: siteAdminOnly,
      schema: {
        tags,
        operationId: 'queryAudit',
        summary: 'Audit log entries, oldest first (site admins)',
        description:
          `A full page carries the header \`${NEXT_AFTER_ID_HEADER}\`: pass its value as \`afterId\` to get the next page. ` +
          'The body stays a plain array so that existing clients keep working.',
        querystring: Type.Object({
          target: Type.Optional(Type.String({ maxLength: 1000, description: 'exact target, e.g. repo:acme/main' })),
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          action: Type.Optional(Type.String({ maxLength: 200, description: 'exact action, e.g. package.publish, or a prefix ending in *, e.g. auth.*' })),
          repo: Type.Optional(Type.String({ maxLength: 300, pattern: '^[^/]+/[^/]+$', description: 'owner/name: the repository and every package and version in it' })),
          since: IsoTime('only entries at or after this time'),
          until: IsoTime('only entries before this time'),
          afterId: Type.Optional(Type.Integer({ minimum: 0, description: 'only entries with a larger id (for paging)' })),
          after: Type.Optional(Type.Integer({ minimum: 0, description: 'older name of afterId' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: 100 })),
        }),
        response: { 200: Type.Array(AuditEntry) },
      },
    },
    async (request, reply) => {
      const { target, actor, action, repo, after, limit } = request.query;
      const since = timeBound('since', request.query.since);
      const until = timeBound('until', request.query.until);
      if (after !== undefined && request.query.afterId !== undefined && after !== request.query.afterId) {
        throw new StockadeError('VALIDATION_FAILED', ['give afterId or after, not both'], { parameter: 'afterId' });
      }
      const afterId = request.query.afterId ?? after;
      const pageSize = limit ?? 100;
      const rows = await audit.query(db, { target, actor, action, repo, since, until, afterId, limit: pageSize });
      const last = rows.at(-1);
      // A full page may be followed by more; a short one is the end.
      if (last && rows.length === pageSize) reply.header(NEXT_AFTER_ID_HEADER, String(last.id));
      return rows.map((row) => ({
        id: row.id,
        at: row.at,
        actor: row.actor,
        actorIp: row.actor_ip,
        action: row.action,
        target: row.target,
        details: row.details,
        prevHash: row.prev_hash,
        hash: row.hash,
      }));
    },
  );

  app.post(
    '/audit/verify',
    {
      onRequest: siteAdminOnly,
      schema: {
        tags,
        operationId: 'verifyAudit',
        summary: 'Check the hash chain of the whole audit log (site admins)',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            checked: Type.Integer(),
            firstBroken: Type.Optional(Type.Object({ id: Type.Integer(), reason: Type.String() })),
          }),
        },
      },
    },
    async () => audit.verify(db),
  );
}
