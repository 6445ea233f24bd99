// Placeholder: being built by a helper.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import type { Domain } from '../domain/index.js';

export const SESSION_COOKIE = 'stockade_session';

export async function authenticateSession(_domain: Domain, _request: FastifyRequest, _reply: FastifyReply): Promise<Principal | null> {
  return null;
}
