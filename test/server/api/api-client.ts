import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create as createTar } from 'tar';
import type { TestServer } from '../../helpers/server.js';

/** Credentials for one request: a token, a user name and password, or nothing (anonymous). */
export type Auth = string | { user: string; password: string } | null;

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
  /** The raw body text, for comparing answers byte for byte. */
  text: string;
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}

export interface RequestOptions {
  auth?: Auth;
  /** JSON body, or a Buffer sent as application/octet-stream. */
  body?: unknown;
  contentType?: string;
}

export function authHeader(auth: Auth | undefined): Record<string, string> {
  if (!auth) return {};
  if (typeof auth === 'string') return { authorization: `Bearer ${auth}` };
  return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
}

/** A tiny client for /api/v1 over real HTTP. */
export function apiClient(server: TestServer) {
  async function request<T = unknown>(method: string, urlPath: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...authHeader(options.auth) };
    let body: string | Buffer | undefined;
    if (Buffer.isBuffer(options.body)) {
      body = options.body;
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(`${server.url}/api/v1${urlPath}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text && (response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }
  return {
    request,
    get: <T = unknown>(p: string, auth?: Auth) => request<T>('GET', p, { auth: auth ?? null }),
    post: <T = unknown>(p: string, body: unknown, auth?: Auth) => request<T>('POST', p, { auth: auth ?? null, body }),
    put: <T = unknown>(p: string, body: unknown, auth?: Auth) => request<T>('PUT', p, { auth: auth ?? null, body }),
    patch: <T = unknown>(p: string, body: unknown, auth?: Auth) => request<T>('PATCH', p, { auth: auth ?? null, body }),
    delete: <T = unknown>(p: string, auth?: Auth) => request<T>('DELETE', p, { auth: auth ?? null }),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;

/** Asserts an error answer in the API's `{error:{code,message}}` shape. */
export function assertError(answer: Answer<unknown>, status: number, code: string): void {
  assert.equal(answer.status, status, `expected ${status} ${code}, got ${answer.status}: ${answer.text}`);
  const body = answer.body as ApiErrorBody;
  assert.equal(body?.error?.code, code, answer.text);
  assert.equal(typeof body.error.message, 'string');
}

export function assertStatus(answer: Answer<unknown>, status: number): void {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`);
}

/** A gzipped npm tarball (`package/package.json` plus any extra files), built with `tar`. */
export async function npmTarball(manifest: Record<string, unknown>, files: Record<string, string> = {}): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stockade-tgz-'));
  try {
    await mkdir(path.join(dir, 'package'));
    await writeFile(path.join(dir, 'package', 'package.json'), JSON.stringify(manifest, null, 2));
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, 'package', name), content);
    const out = path.join(dir, 'out.tgz');
    await createTar({ gzip: true, file: out, cwd: dir, portable: true }, ['package']);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
