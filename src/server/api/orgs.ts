import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Role as RoleName } from '../../domain/accounts.js';
import { StockadeError } from '../../errors.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, createOrgGuard, requireScope, requireUser } from './guards.js';
import { Name, NoContent, Role } from './schemas.js';

const tags = ['orgs'];
const Member = Type.Object({ user: Type.String(), role: Role });
const MemberParams = Type.Object({ name: Name, user: Name });

export async function orgRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { accounts } = ctx.domain;

  const guardOrg = createOrgGuard(ctx);
  const orgFor = (request: FastifyRequest, name: string, need: 'read' | 'admin') =>
    guardOrg(request, name, need === 'read' ? 'member' : 'admin-change', 'manage its members');

  /** An organization must keep an admin, or nobody but a site admin could manage it again. */
  async function assertKeepsAdmin(org: string, user: string, newRole: RoleName | null): Promise<void> {
    if (newRole === 'admin') return;
    const members = await accounts.listMembers(org);
    const admins = members.filter((m) => m.role === 'admin');
    if (admins.length === 1 && admins[0]?.user === user) throw new StockadeError('CONFLICT', [`${user} is the last admin of ${org}`]);
  }

  app.post(
    '/orgs',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'createOrg',
        summary: 'Create an organization; the caller becomes its admin',
        body: Type.Object({ name: Name }),
        response: { 201: Type.Object({ name: Type.String(), members: Type.Array(Member) }) },
      },
    },
    async (request, reply) => {
      const principal = requireUser(request);
      requireScope(principal, 'write');
      if (principal.token?.repoId != null) throw new StockadeError('FORBIDDEN', ['a token restricted to one repository cannot create organizations']);
      const org = await accounts.createOrg(actorOf(request), { name: request.body.name, adminUserId: principal.userId });
      return reply.code(201).send({ name: org.name, members: [{ user: principal.userName, role: 'admin' }] });
    },
  );

  app.get(
    '/orgs/:name/members',
    {
      onRequest: authenticated,
      schema: { tags, operationId: 'listMembers', summary: 'Members of an organization (its members and site admins)', params: Type.Object({ name: Name }), response: { 200: Type.Array(Member) } },
    },
    async (request) => {
      await orgFor(request, request.params.name, 'read');
      return accounts.listMembers(request.params.name);
    },
  );

  app.put(
    '/orgs/:name/members/:user',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'setMember',
        summary: 'Add a member or change their role (organization admins)',
        params: MemberParams,
        body: Type.Object({ role: Role }),
        response: { 200: Member },
      },
    },
    async (request) => {
      const { name, user } = request.params;
      await orgFor(request, name, 'admin');
      await assertKeepsAdmin(name, user, request.body.role);
      await accounts.setMember(actorOf(request), { owner: name, user, role: request.body.role });
      return { user, role: request.body.role };
    },
  );

  app.delete(
    '/orgs/:name/members/:user',
    {
      onRequest: authenticated,
      schema: { tags, operationId: 'removeMember', summary: 'Remove a member (organization admins)', params: MemberParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      const { name, user } = request.params;
      await orgFor(request, name, 'admin');
      const members = await accounts.listMembers(name);
      if (!members.some((m) => m.user === user)) throw new StockadeError('NOT_FOUND', [`member ${user} of ${name}`]);
      await assertKeepsAdmin(name, user, null);
      await accounts.setMember(actorOf(request), { owner: name, user, role: null });
      return reply.code(204).send(null);
    },
  );
}
