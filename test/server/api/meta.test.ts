import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { HTTPMethods } from 'fastify';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

/** Every route the API registers, as the OpenAPI document must list it. */
const EXPECTED_ROUTES = [
  'GET /',
  'GET /openapi.json',
  'GET /whoami',
  'POST /users',
  'GET /users',
  'GET /users/{name}',
  'PUT /users/{name}/password',
  'DELETE /users/{name}/mfa',
  'POST /users/{name}/unlock',
  'POST /session',
  'GET /session',
  'DELETE /session',
  'POST /session/logout-all',
  'GET /user/mfa',
  'POST /user/mfa/enroll',
  'POST /user/mfa/confirm',
  'POST /user/mfa/disable',
  'POST /user/mfa/recovery-codes',
  'GET /orgs/{name}/mfa',
  'PUT /orgs/{name}/mfa',
  'POST /orgs',
  'GET /orgs/{name}/members',
  'PUT /orgs/{name}/members/{user}',
  'DELETE /orgs/{name}/members/{user}',
  'GET /tokens',
  'POST /tokens',
  'DELETE /tokens/{id}',
  'POST /repos/{owner}/{repo}/read-tokens',
  'GET /repos/{owner}/{repo}/read-tokens',
  'POST /repos',
  'GET /repos',
  'GET /repos/{owner}/{repo}',
  'PATCH /repos/{owner}/{repo}',
  'DELETE /repos/{owner}/{repo}',
  'GET /repos/{owner}/{repo}/upstream',
  'PATCH /repos/{owner}/{repo}/upstream',
  'GET /repos/{owner}/{repo}/members',
  'PUT /repos/{owner}/{repo}/members',
  'GET /repos/{owner}/{repo}/collisions',
  'GET /repos/{owner}/{repo}/packages',
  'GET /repos/{owner}/{repo}/packages/{format}/{name}',
  'GET /repos/{owner}/{repo}/packages/{format}/{scope}/{name}',
  'POST /repos/{owner}/{repo}/packages/{format}/{name}/versions/{version}/yank',
  'DELETE /repos/{owner}/{repo}/packages/{format}/{name}/versions/{version}/yank',
  'DELETE /repos/{owner}/{repo}/packages/{format}/{name}/versions/{version}',
  'PUT /repos/{owner}/{repo}/upload',
  'POST /repos/{owner}/{repo}/import',
  'GET /repos/{owner}/{repo}/policy',
  'PUT /repos/{owner}/{repo}/policy',
  'DELETE /repos/{owner}/{repo}/policy',
  'POST /repos/{owner}/{repo}/policy/exceptions',
  'DELETE /repos/{owner}/{repo}/policy/exceptions/{id}',
  'GET /repos/{owner}/{repo}/quarantine',
  'POST /repos/{owner}/{repo}/quarantine/review',
  'GET /audit',
  'POST /audit/verify',
].sort();

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  components: { schemas?: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, Operation>>;
}

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

/** Every `$ref` in the document, for checking that each one resolves. */
function collectRefs(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') into.push(inner);
      else collectRefs(inner, into);
    }
  }
  return into;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `only local refs are expected, got ${ref}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

describe('REST API: meta, whoami, OpenAPI', () => {
  let server: TestServer;
  let api: ApiClient;

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
  });
  after(() => server.close());

  it('GET / names the server and its version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const answer = await api.get<{ name: string; version: string }>('/');
    assertStatus(answer, 200);
    assert.deepEqual(answer.body, { name: 'stockade', version: pkg.version });
  });

  describe('GET /whoami', () => {
    it('answers 401 AUTH_REQUIRED to anonymous callers, with a challenge', async () => {
      const answer = await api.get('/whoami');
      assertError(answer, 401, 'AUTH_REQUIRED');
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
    });

    it('rejects a bad token with 401 INVALID_TOKEN instead of falling back to anonymous', async () => {
      assertError(await api.get('/whoami', 'stk_not-a-real-token'), 401, 'INVALID_TOKEN');
    });

    it('rejects a wrong password with 401 INVALID_CREDENTIALS', async () => {
      assertError(await api.get('/whoami', { user: 'admin', password: 'wrong-password-1' }), 401, 'INVALID_CREDENTIALS');
    });

    it('describes a token-authenticated user and the token', async () => {
      const alice = await server.createUser('alice', { scopes: ['read'] });
      const answer = await api.get<Record<string, unknown>>('/whoami', alice.token);
      assertStatus(answer, 200);
      assert.equal(answer.body.name, 'alice');
      assert.equal(answer.body.isAdmin, false);
      assert.equal('password_hash' in answer.body || 'passwordHash' in answer.body, false);
      const token = answer.body.token as { scopes: string[]; repo: string | null };
      assert.deepEqual(token.scopes, ['read']);
      assert.equal(token.repo, null);
    });

    it('describes a password-authenticated admin with no token', async () => {
      const answer = await api.get<Record<string, unknown>>('/whoami', { user: 'admin', password: server.adminPassword });
      assertStatus(answer, 200);
      assert.equal(answer.body.name, 'admin');
      assert.equal(answer.body.isAdmin, true);
      assert.equal(answer.body.token, null);
    });
  });

  it('answers unknown endpoints with 404 NOT_FOUND', async () => {
    assertError(await api.get('/no-such-endpoint'), 404, 'NOT_FOUND');
  });

  describe('GET /openapi.json', () => {
    let doc: OpenApiDoc;

    before(async () => {
      const answer = await api.get<OpenApiDoc>('/openapi.json');
      assertStatus(answer, 200);
      doc = answer.body;
    });

    it('is an OpenAPI 3 document about this server', () => {
      assert.match(doc.openapi, /^3\.\d+\.\d+$/);
      assert.equal(typeof doc.info.title, 'string');
      assert.ok(doc.info.title.length > 0);
      assert.equal(typeof doc.info.version, 'string');
      assert.deepEqual(doc.servers, [{ url: '/api/v1' }]);
    });

    it('lists exactly the routes the API registers', () => {
      const listed: string[] = [];
      for (const [urlPath, item] of Object.entries(doc.paths)) {
        for (const method of Object.keys(item)) if (METHODS.includes(method)) listed.push(`${method.toUpperCase()} ${urlPath}`);
      }
      assert.deepEqual(listed.sort(), EXPECTED_ROUTES);
    });

    it('lists only routes the server really has', () => {
      for (const route of EXPECTED_ROUTES) {
        const [method, urlPath] = route.split(' ') as [HTTPMethods, string];
        const url = `/api/v1${urlPath.replace(/\{(\w+)\}/g, ':$1')}`;
        assert.ok(server.app.hasRoute({ method, url }) || server.app.hasRoute({ method, url: url.replace(/\/$/, '') }), `${route} is not registered`);
      }
    });

    it('gives every operation a unique id, responses with descriptions and declared path parameters', () => {
      const ids = new Set<string>();
      for (const [urlPath, item] of Object.entries(doc.paths)) {
        assert.ok(urlPath.startsWith('/'), urlPath);
        const templated = [...urlPath.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        for (const [method, op] of Object.entries(item)) {
          if (!METHODS.includes(method)) continue;
          const where = `${method.toUpperCase()} ${urlPath}`;
          assert.ok(op.operationId, `${where} has no operationId`);
          assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
          ids.add(op.operationId);
          assert.ok(Object.keys(op.responses).length > 0, `${where} has no responses`);
          for (const [status, response] of Object.entries(op.responses)) {
            assert.match(status, /^([1-5](\d\d|XX)|default)$/, `${where}: bad response key ${status}`);
            assert.equal(typeof response.description, 'string', `${where} ${status} needs a description`);
          }
          const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
          for (const p of pathParams) assert.equal(p.required, true, `${where}: path parameter ${p.name} must be required`);
          assert.deepEqual(pathParams.map((p) => p.name).sort(), templated, `${where}: path parameters differ from the template`);
          for (const p of op.parameters ?? []) assert.ok(['path', 'query', 'header', 'cookie'].includes(p.in), `${where}: bad parameter location ${p.in}`);
        }
      }
    });

    it('documents the error shape, the octet-stream upload body and the security schemes', () => {
      const getRepo = doc.paths['/repos/{owner}/{repo}']?.get;
      assert.ok(getRepo?.responses['4XX']?.content?.['application/json']?.schema, 'errors are documented');
      const upload = doc.paths['/repos/{owner}/{repo}/upload']?.put;
      assert.ok(upload?.requestBody?.content['application/octet-stream'], 'upload takes a raw body');
      assert.ok(upload?.responses['201'], 'upload answers 201');
      for (const requirement of doc.security) for (const name of Object.keys(requirement)) assert.ok(doc.components.securitySchemes[name], `unknown security scheme ${name}`);
      for (const ref of collectRefs(doc)) assert.ok(resolvePointer(doc, ref) !== undefined, `unresolved $ref ${ref}`);
    });
  });
});
