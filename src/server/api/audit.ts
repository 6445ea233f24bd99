import { Type } from 'typebox';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, siteAdminOnly } from './guards.js';
import { Nullable, Timestamp } from './schemas.js';

const tags = ['audit'];

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
        querystring: Type.Object({
          target: Type.Optional(Type.String({ maxLength: 1000, description: 'e.g. repo:acme/main' })),
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          action: Type.Optional(Type.String({ maxLength: 200, description: 'e.g. package.publish' })),
          after: Type.Optional(Type.Integer({ minimum: 0, description: 'only entries with a larger id (for paging)' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: { 200: Type.Array(AuditEntry) },
      },
    },
    async (request) => {
      const { target, actor, action, after, limit } = request.query;
      const rows = await audit.query(db, {
        ...(target ? { target } : {}),
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        ...(after ? { afterId: after } : {}),
        ...(limit ? { limit } : {}),
      });
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
