/**
 * Raw HTTP helpers for the e2e suites: publish bodies shaped like npm 11's, requests with exact
 * paths, and a view of the blob folder to prove that a rejected request stored nothing.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { listFiles } from './clients.js';
import { integrityOf } from './tarballs.js';

// Other suites import the tarball builders from here too.
export { type TarEntry, buildTar, buildTgz, integrityOf, packageTgz } from './tarballs.js';

export interface PublishBodyOptions {
  /** The registry URL, for the `dist.tarball` npm makes up. */
  registry: string;
  /** The package.json npm would read; the version document starts from it. */
  pkgJson: Record<string, unknown> & { name: string; version: string };
  tarball: Buffer;
  /** Replaces fields of the version document (e.g. a lying `dependencies`). */
  versionOverrides?: Record<string, unknown>;
  /** Replaces `dist` fields (e.g. a wrong `integrity`). */
  distOverrides?: Record<string, unknown>;
  /** Replaces the attachment's `data` (e.g. text that is not base64). */
  attachmentData?: string;
  tag?: string;
}

/** The JSON body `npm publish` (npm 11, libnpmpublish) sends with `PUT /{name}`. */
export function publishBody(options: PublishBodyOptions): Record<string, unknown> {
  const { pkgJson, tarball } = options;
  const { name, version } = pkgJson;
  const { integrity, shasum } = integrityOf(tarball);
  const bare = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  const registry = options.registry.endsWith('/') ? options.registry : `${options.registry}/`;
  const versionDoc: Record<string, unknown> = {
    ...pkgJson,
    _id: `${name}@${version}`,
    _nodeVersion: process.versions.node,
    _npmVersion: '11.19.1',
    dist: { integrity, shasum, tarball: `${registry}${name}/-/${bare}-${version}.tgz`, ...(options.distOverrides ?? {}) },
    ...(options.versionOverrides ?? {}),
  };
  return {
    _id: name,
    name,
    description: pkgJson.description,
    'dist-tags': { [options.tag ?? 'latest']: version },
    versions: { [version]: versionDoc },
    access: null,
    _attachments: {
      [`${name}-${version}.tgz`]: {
        content_type: 'application/octet-stream',
        data: options.attachmentData ?? tarball.toString('base64'),
        length: tarball.length,
      },
    },
  };
}

/** The package URL npm uses: a scoped name as one segment, `@scope%2fname`. */
export function packageUrl(registry: string, name: string): string {
  const base = registry.endsWith('/') ? registry : `${registry}/`;
  return `${base}${name.replace('/', '%2f')}`;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined. */
  json: Record<string, unknown> | undefined;
}

export async function http(method: string, url: string, options: { token?: string | null; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { 'user-agent': 'npm/11.19.1 node/v20 linux x64 workspaces/false', ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: parseJson(text) };
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown> | undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A request through node:http with the path sent byte for byte: fetch normalizes `..` and
 * `%2e%2e` segments away, so hostile paths need this.
 */
export function rawRequest(
  serverUrl: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawAnswer> {
  const url = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Every file under the blob store's root (blobs and uploads in progress). */
export async function blobFiles(root: string): Promise<string[]> {
  return listFiles(root);
}
