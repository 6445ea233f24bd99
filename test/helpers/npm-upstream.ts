/**
 * A small npm registry on 127.0.0.1 that plays the upstream of a remote repository, and can
 * misbehave on demand: wrong checksums, truncated or endless bodies, huge packuments, a stall,
 * or no answer at all. It counts every request so tests can see what reached the upstream.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { integrityOf, packageTgz, type TarEntry } from '../e2e/tarballs.js';

export type TarballMode = 'ok' | 'wrong-checksum' | 'truncated' | 'endless' | 'stall';

interface FixtureVersion {
  pkgJson: Record<string, unknown>;
  tgz: Buffer;
  publishedAt: string;
  mode: TarballMode;
}

export interface NpmUpstream {
  /** The registry URL to configure as the upstream. */
  url: string;
  /** Requests per path (decoded), e.g. `/left-pad` or `/left-pad/-/left-pad-1.0.0.tgz`. */
  hits(path: string): number;
  /** The Authorization header of every request, in order. */
  authorizations: (string | undefined)[];
  /** Answers nothing while true: connections are dropped. */
  down: boolean;
  /** Adds a version; the newest added becomes `latest` unless `tag` says otherwise. */
  add(pkgJson: Record<string, unknown>, options?: { publishedAt?: string; mode?: TarballMode; extra?: TarEntry[] }): void;
  /** Makes the packument of `name` a document of about `bytes` bytes. */
  bloat(name: string, bytes: number): void;
  close(): Promise<void>;
}

export async function startNpmUpstream(): Promise<NpmUpstream> {
  const packages = new Map<string, Map<string, FixtureVersion>>();
  const latest = new Map<string, string>();
  const modified = new Map<string, string>();
  const padding = new Map<string, number>();
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const state = { down: false };
  const authorizations: (string | undefined)[] = [];
  let url = '';

  function packument(name: string): Buffer | null {
    const versions = packages.get(name);
    if (!versions) return null;
    const docs: Record<string, unknown> = {};
    const time: Record<string, string> = {};
    for (const [version, v] of versions) {
      const { integrity, shasum } = integrityOf(v.mode === 'wrong-checksum' ? Buffer.from('something else') : v.tgz);
      docs[version] = { ...v.pkgJson, _id: `${name}@${version}`, dist: { tarball: `${url}/${name}/-/${name.split('/').pop()}-${version}.tgz`, integrity, shasum } };
      time[version] = v.publishedAt;
    }
    const doc: Record<string, unknown> = { _id: name, name, 'dist-tags': { latest: latest.get(name) }, versions: docs, time: { created: '2020-01-01T00:00:00.000Z', modified: modified.get(name), ...time } };
    const pad = padding.get(name);
    if (pad) doc.readme = 'x'.repeat(pad);
    return Buffer.from(JSON.stringify(doc));
  }

  function tarball(request: IncomingMessage, response: ServerResponse, name: string, file: string) {
    const version = [...(packages.get(name)?.values() ?? [])].find((v) => `${name.split('/').pop()}-${String(v.pkgJson.version)}.tgz` === file);
    if (!version) return response.writeHead(404).end('{}');
    switch (version.mode) {
      case 'truncated':
        response.writeHead(200, { 'content-length': version.tgz.length, 'content-type': 'application/octet-stream' });
        response.write(version.tgz.subarray(0, version.tgz.length >> 1));
        // Closing before the declared length is reached: the client sees a cut-off body.
        setTimeout(() => request.socket.destroy(), 20);
        return;
      case 'endless': {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 7);
        const pump = () => {
          while (!response.destroyed && response.write(chunk));
          if (!response.destroyed) response.once('drain', pump);
        };
        pump();
        return;
      }
      case 'stall':
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.write(version.tgz.subarray(0, 10));
        return;
      default:
        response.writeHead(200, { 'content-length': version.tgz.length, 'content-type': 'application/octet-stream' });
        response.end(version.tgz);
    }
  }

  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] as string);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    authorizations.push(request.headers.authorization);
    if (state.down) return request.socket.destroy();
    const split = path.indexOf('/-/');
    if (split > 0) return tarball(request, response, path.slice(1, split), path.slice(split + 3));
    const body = packument(path.slice(1));
    if (!body) return response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (request.headers['if-none-match'] === etag) return response.writeHead(304, { etag }).end();
    response.writeHead(200, { 'content-type': 'application/json', etag, 'content-length': body.length }).end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    hits: (path) => counts.get(path) ?? 0,
    authorizations,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    add(pkgJson, options = {}) {
      const name = String(pkgJson.name);
      const version = String(pkgJson.version);
      let versions = packages.get(name);
      if (!versions) packages.set(name, (versions = new Map()));
      versions.set(version, { pkgJson, tgz: packageTgz(pkgJson, options.extra ?? []), publishedAt: options.publishedAt ?? '2021-01-01T00:00:00.000Z', mode: options.mode ?? 'ok' });
      latest.set(name, version);
      modified.set(name, new Date().toISOString());
    },
    bloat(name, bytes) {
      padding.set(name, bytes);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
