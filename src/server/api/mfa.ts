import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../../domain/access.js';
import { actorOf } from '../../http/auth.js';
import type { ServerContext } from '../../http/context.js';
import { type ApiApp, authenticated, createOrgGuard, requireAccountCredential, siteAdminOnly } from './guards.js';
import { Name, NoContent, Nullable, Role, Timestamp } from './schemas.js';

const tags = ['mfa'];

const MfaStatus = Type.Object({
  enabled: Type.Boolean(),
  pending: Type.Boolean({ description: 'an enrollment was started and waits for its first code' }),
  confirmedAt: Nullable(Timestamp),
  recoveryCodesLeft: Type.Integer(),
});
const Enrollment = Type.Object({
  secret: Type.String({ description: 'base32 secret, for typing into an authenticator by hand' }),
  uri: Type.String({ description: 'otpauth:// URI, the content of the QR code' }),
  qrSvg: Type.String({ description: 'the QR code as an SVG document' }),
});
const RecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String(), { description: 'one-time codes, shown only in this answer' }) });
const CodeBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64, description: 'a code from the authenticator, or a recovery code' }) });
const OwnerMfa = Type.Object({
  required: Type.Boolean({ description: 'every member needs two-factor authentication to act on this organization' }),
  nonCompliant: Type.Array(Type.Object({ user: Type.String(), role: Role }), { description: 'members without a confirmed authenticator' }),
});
const NameParams = Type.Object({ name: Name });

/** A second factor is managed with the user's own credentials only. */
function requireMfaCredential(request: FastifyRequest, scope: 'read' | 'write'): Principal {
  return requireAccountCredential(request, scope, 'manage two-factor authentication');
}

export async function mfaRoutes(app: ApiApp, ctx: ServerContext): Promise<void> {
  const { mfa } = ctx.domain;
  const userOf = (principal: Principal) => ({ id: principal.userId, name: principal.userName });

  const guardOrg = createOrgGuard(ctx);
  const orgForAdmin = (request: FastifyRequest, name: string, change: boolean) =>
    guardOrg(request, name, change ? 'admin-change' : 'admin', 'manage its two-factor requirement');

  app.get(
    '/user/mfa',
    { onRequest: authenticated, schema: { tags, operationId: 'getMfaStatus', summary: 'Your two-factor authentication status', response: { 200: MfaStatus } } },
    async (request) => mfa.status(requireMfaCredential(request, 'read').userId),
  );

  app.post(
    '/user/mfa/enroll',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'startMfaEnrollment',
        summary: 'Start enrolling an authenticator app',
        description: 'Answers a new secret and its QR code; it becomes active once confirmed with a first code. Starting again replaces an unconfirmed enrollment.',
        response: { 200: Enrollment },
      },
    },
    async (request) => {
      const principal = requireMfaCredential(request, 'write');
      return mfa.startEnrollment(actorOf(request), userOf(principal));
    },
  );

  app.post(
    '/user/mfa/confirm',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'confirmMfaEnrollment',
        summary: 'Confirm an enrollment with the first code; answers the recovery codes',
        body: CodeBody,
        response: { 200: RecoveryCodes },
      },
    },
    async (request) => {
      const principal = requireMfaCredential(request, 'write');
      return mfa.confirmEnrollment(actorOf(request), userOf(principal), request.body.code);
    },
  );

  app.post(
    '/user/mfa/disable',
    {
      onRequest: authenticated,
      schema: { tags, operationId: 'disableMfa', summary: 'Turn two-factor authentication off with a current code', body: CodeBody, response: { 204: NoContent } },
    },
    async (request, reply) => {
      const principal = requireMfaCredential(request, 'write');
      await mfa.disable(actorOf(request), userOf(principal), request.body.code);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/user/mfa/recovery-codes',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'regenerateRecoveryCodes',
        summary: 'Replace your recovery codes with 10 new ones',
        description: 'Needs a current code; every earlier recovery code stops working.',
        body: CodeBody,
        response: { 200: RecoveryCodes },
      },
    },
    async (request) => {
      const principal = requireMfaCredential(request, 'write');
      return mfa.regenerateRecoveryCodes(actorOf(request), userOf(principal), request.body.code);
    },
  );

  app.delete(
    '/users/:name/mfa',
    {
      onRequest: siteAdminOnly,
      schema: {
        tags,
        operationId: 'resetMfa',
        summary: "Remove a user's two-factor authentication (site admins, for a lost device)",
        params: NameParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await mfa.reset(actorOf(request), request.params.name);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/orgs/:name/mfa',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'getOrgMfa',
        summary: "An organization's two-factor requirement and the members who do not meet it (organization admins)",
        params: NameParams,
        response: { 200: OwnerMfa },
      },
    },
    async (request) => {
      const owner = await orgForAdmin(request, request.params.name, false);
      return { required: await mfa.getOwnerRequirement(owner.name), nonCompliant: await mfa.nonCompliant(owner.name) };
    },
  );

  app.put(
    '/orgs/:name/mfa',
    {
      onRequest: authenticated,
      schema: {
        tags,
        operationId: 'setOrgMfa',
        summary: 'Require two-factor authentication of every member, or stop requiring it (organization admins)',
        params: NameParams,
        body: Type.Object({ required: Type.Boolean() }),
        response: { 200: OwnerMfa },
      },
    },
    async (request) => {
      const owner = await orgForAdmin(request, request.params.name, true);
      await mfa.setOwnerRequirement(actorOf(request), owner.name, request.body.required);
      return { required: request.body.required, nonCompliant: await mfa.nonCompliant(owner.name) };
    },
  );
}
