import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ServerContext } from '../../http/context.js';
import { auditRoutes } from './audit.js';
import type { ApiApp } from './guards.js';
import { mfaRoutes } from './mfa.js';
import { orgRoutes } from './orgs.js';
import { packageRoutes } from './packages.js';
import { repoRoutes } from './repos.js';
import { securityRoutes } from './security.js';
import { sessionRoutes } from './session.js';
import { withErrorResponse } from './schemas.js';
import { tokenRoutes } from './tokens.js';
import { importRoutes } from './import.js';
import { uploadRoutes } from './upload.js';
import { userRoutes } from './users.js';

/** Mounted at this prefix by the app; the OpenAPI document names it as its server. */
export const API_PREFIX = '/api/v1';

// src/server/api and dist/server/api both sit three levels below the package root.
function stockadeVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Every resource of the API, each in its own encapsulated scope. */
const resources: readonly ((app: ApiApp, ctx: ServerContext) => Promise<void>)[] = [
  userRoutes,
  sessionRoutes,
  mfaRoutes,
  orgRoutes,
  tokenRoutes,
  repoRoutes,
  packageRoutes,
  uploadRoutes,
  importRoutes,
  securityRoutes,
  auditRoutes,
];

/** The REST API under /api/v1; errors are rendered by the root handler as `{error:{code,message}}`. */
export async function registerApi(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const version = stockadeVersion();
  // Registered first in this scope so its onRoute hook sees every API route and nothing else.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Stockade REST API', version, description: 'Administration and inspection of a Stockade registry.' },
      servers: [{ url: API_PREFIX }],
      components: {
        securitySchemes: {
          token: { type: 'http', scheme: 'bearer', description: 'a Stockade token (stk_…)' },
          password: { type: 'http', scheme: 'basic', description: 'user name and password, or any name and a token' },
        },
      },
      // `{}`: anonymous callers may use the public read endpoints.
      security: [{ token: [] }, { password: [] }, {}],
    },
    transform: ({ schema, url }) => ({ schema: withErrorResponse(schema), url }),
  });

  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/',
    { schema: { tags: ['meta'], operationId: 'serverInfo', summary: 'Server name and version', response: { 200: Type.Object({ name: Type.Literal('stockade'), version: Type.String() }) } } },
    async () => ({ name: 'stockade' as const, version }),
  );
  api.get(
    '/openapi.json',
    { schema: { tags: ['meta'], operationId: 'openapi', summary: 'This OpenAPI 3.1 document' } },
    async () => app.swagger(),
  );

  for (const routes of resources) {
    await app.register(async (scope) => routes(scope.withTypeProvider<TypeBoxTypeProvider>(), ctx));
  }
}
