import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../http/context.js';

/** The REST API under /api/v1. */
export async function registerApi(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  void ctx;
  app.get('/', async () => ({ name: 'stockade', api: 'v1' }));
}
