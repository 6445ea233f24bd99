import type { FastifySchema } from 'fastify';
import { type TSchema, Type } from 'typebox';

/** Shapes shared by several API resources; each resource file declares its own request bodies. */

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Timestamp = Type.String({ format: 'date-time' });

export const ApiError = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable error code from the catalog, e.g. NOT_FOUND' }),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { description: 'any 4xx or 5xx answer' },
);

export const NoContent = Type.Null({ description: 'no content' });

export const Scope = Type.Enum(['read', 'write', 'delete', 'admin']);
export const Role = Type.Enum(['admin', 'write', 'read']);
export const Visibility = Type.Enum(['public', 'private']);

export const User = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  email: Nullable(Type.String()),
  isAdmin: Type.Boolean(),
  disabled: Type.Boolean(),
  createdAt: Timestamp,
});

export const Repo = Type.Object({
  owner: Type.String(),
  name: Type.String(),
  /** `owner/name` */
  path: Type.String(),
  visibility: Visibility,
  kind: Type.String(),
  description: Type.String(),
  createdAt: Timestamp,
});

export const RepoParams = Type.Object({ owner: Type.String(), repo: Type.String() });

/** Owner, repository and user names: the domain checks the exact rules, this only bounds the size. */
export const Name = Type.String({ minLength: 1, maxLength: 100 });

/** Adds the shared error answer to a route's documented responses (documentation only). */
export function withErrorResponse(schema: FastifySchema | undefined): FastifySchema {
  const response = (schema?.response ?? {}) as Record<string, unknown>;
  return { ...schema, response: { ...response, '4xx': ApiError, '5xx': ApiError } };
}
