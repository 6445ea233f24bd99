import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../http/context.js';
import { plainTextErrors, readableRepo, sendGenerated as send } from '../http/file-clients.js';

/**
 * The repository's signing keys at the repository's own URL, whatever the format: `gpg.key`
 * (armored, as apt setups and `rpm --import` expect), `gpgkey` (the same, where yum setups look)
 * and `keyring.gpg` (binary, for apt's `signed-by=`). Every format's signed metadata is signed
 * by these keys.
 */
export const REPO_KEY_ENDPOINTS = [
  { id: 'gpg.key', methods: ['GET', 'HEAD'], route: '/gpg.key', path: '/gpg.key', access: 'repo-read' },
  { id: 'gpgkey', methods: ['GET', 'HEAD'], route: '/gpgkey', path: '/gpgkey', access: 'repo-read' },
  { id: 'keyring.gpg', methods: ['GET', 'HEAD'], route: '/keyring.gpg', path: '/keyring.gpg', access: 'repo-read' },
] as const;

export async function repoKeyRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  plainTextErrors(app, ctx);
  const keys = async (request: FastifyRequest) => ctx.domain.repoKeys.publicKeys(await readableRepo(ctx, request));
  const handlers: Record<(typeof REPO_KEY_ENDPOINTS)[number]['id'], (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> = {
    'gpg.key': async (request, reply) => send(reply, (await keys(request)).armored, 'application/pgp-keys'),
    gpgkey: async (request, reply) => send(reply, (await keys(request)).armored, 'application/pgp-keys'),
    'keyring.gpg': async (request, reply) => send(reply, (await keys(request)).binary, 'application/octet-stream'),
  };
  for (const endpoint of REPO_KEY_ENDPOINTS) app.route({ method: [...endpoint.methods], url: endpoint.route, handler: handlers[endpoint.id] });
}
