/**
 * A small RubyGems source on 127.0.0.1 that plays the upstream of a remote repository: compact
 * index (`/versions`, `/info/NAME`), the versions API (`/api/v1/versions/NAME.json`, with publish
 * times) and `gems/`, which may answer with a 302 to a CDN (another origin), as public gem
 * servers do. It misbehaves on demand (wrong checksums, truncated, endless or stalled gems, huge
 * info files, no answer at all) and counts every request, so tests can see what reached the
 * upstream. Gems are packed in memory, shaped as `gem build` writes them.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { checksumsYaml, type TarMember, writeTar } from '../formats/rubygems/build-gem.js';

export type GemMode = 'ok' | 'wrong-checksum' | 'truncated' | 'endless' | 'stall';

export interface GemFixture {
  name: string;
  version: string;
  platform?: string;
  /** Runtime dependencies: name → requirement parts (`['>= 1.0', '< 2']`); none means any version. */
  dependencies?: Record<string, string[]>;
  extensions?: string[];
  /** Path inside the gem → content; `lib/NAME.rb` by default. */
  files?: Record<string, string>;
}

const quote = (text: string) => JSON.stringify(text);

function requirementYaml(parts: string[], indent: string): string[] {
  const list = parts.length === 0 ? ['>= 0'] : parts;
  const lines = [`${indent}requirements:`];
  for (const part of list) {
    const [op, version] = part.split(/\s+/) as [string, string];
    lines.push(`${indent}- - ${quote(op)}`, `${indent}  - !ruby/object:Gem::Version`, `${indent}    version: ${quote(version)}`);
  }
  return lines;
}

/** The spec as RubyGems writes it into metadata.gz. */
function specYaml(gem: GemFixture, files: string[]): string {
  const deps = Object.entries(gem.dependencies ?? {}).flatMap(([name, parts]) => [
    '- !ruby/object:Gem::Dependency',
    `  name: ${quote(name)}`,
    '  requirement: !ruby/object:Gem::Requirement',
    ...requirementYaml(parts, '    '),
    '  type: :runtime',
    '  prerelease: false',
    '  version_requirements: !ruby/object:Gem::Requirement',
    ...requirementYaml(parts, '    '),
  ]);
  const list = (key: string, values: string[]) => (values.length === 0 ? [`${key}: []`] : [`${key}:`, ...values.map((v) => `- ${quote(v)}`)]);
  return [
    '--- !ruby/object:Gem::Specification',
    `name: ${quote(gem.name)}`,
    'version: !ruby/object:Gem::Version',
    `  version: ${quote(gem.version)}`,
    `platform: ${quote(gem.platform ?? 'ruby')}`,
    'authors:',
    '- Fixture Author',
    'bindir: bin',
    'date: 2023-11-14 00:00:00.000000000 Z',
    deps.length === 0 ? 'dependencies: []' : 'dependencies:',
    ...deps,
    ...list('executables', []),
    ...list('extensions', gem.extensions ?? []),
    ...list('files', files),
    'homepage: https://example.invalid/fixture',
    ...list('licenses', ['MIT']),
    ...list('require_paths', ['lib']),
    'required_ruby_version: !ruby/object:Gem::Requirement',
    ...requirementYaml([], '  '),
    'required_rubygems_version: !ruby/object:Gem::Requirement',
    ...requirementYaml([], '  '),
    'rubygems_version: 3.3.15',
    'specification_version: 4',
    `summary: ${quote(`The ${gem.name} fixture`)}`,
    '',
  ].join('\n');
}

/** A .gem: an outer tar of metadata.gz, data.tar.gz and checksums.yaml.gz. */
export function packGem(gem: GemFixture): Buffer {
  const files = gem.files ?? { [`lib/${gem.name}.rb`]: `module Fixture; VERSION = ${quote(gem.version)}; end\n` };
  const data: TarMember[] = Object.entries(files).map(([name, body]) => ({ name, body: Buffer.from(body) }));
  const members: TarMember[] = [
    { name: 'metadata.gz', body: gzipSync(specYaml(gem, Object.keys(files))), mode: 0o444 },
    { name: 'data.tar.gz', body: gzipSync(writeTar(data)), mode: 0o444 },
  ];
  members.push({ name: 'checksums.yaml.gz', body: checksumsYaml(members), mode: 0o444 });
  return writeTar(members);
}

export const keyOf = (gem: GemFixture) => (gem.platform && gem.platform !== 'ruby' ? `${gem.version}-${gem.platform}` : gem.version);
export const fileOf = (gem: GemFixture) => `${gem.name}-${keyOf(gem)}.gem`;

interface Entry {
  gem: GemFixture;
  bytes: Buffer;
  publishedAt: string;
  mode: GemMode;
  /** What the index says the dependencies are, when it lies about the gem. */
  listed?: Record<string, string[]>;
  /** `gems/FILE` answers 302 to the CDN, which serves it. */
  onCdn: boolean;
}

export interface GemUpstream {
  /** The gem source URL to configure as the upstream (no trailing slash). */
  url: string;
  /** Requests per path, e.g. `/info/rake` or `/gems/rake-13.0.0.gem`. */
  hits(path: string): number;
  /** Every path requested, in order. */
  paths: string[];
  /** The Authorization header of every request, in order. */
  authorizations: (string | undefined)[];
  /** The origin of the CDN that redirected gems come from. */
  cdnUrl: string;
  /** Requests per path to the CDN. */
  cdnHits(path: string): number;
  /** The Authorization header of every request to the CDN, in order. */
  cdnAuthorizations: (string | undefined)[];
  /** Answers nothing while true: connections are dropped. */
  down: boolean;
  /** Answers 404 to the versions API while true, like an upstream without it. */
  noTimes: boolean;
  /**
   * While true, `/versions` is what real servers serve: a line appended per added version, ranges
   * answered (206, with `Repr-Digest` and an MD5 ETag of the whole).
   */
  appendOnly: boolean;
  /** While true, a ranged `/versions` answer carries a tail that does not match the digest. */
  tamperTail: boolean;
  /** The Range header of every `/versions` request, in order (undefined: the whole file). */
  versionRanges: (string | undefined)[];
  /** Bytes of `/versions` bodies sent. */
  versionBytes: number;
  add(gem: GemFixture, options?: { publishedAt?: string; mode?: GemMode; listedDependencies?: Record<string, string[]>; onCdn?: boolean }): Buffer;
  /** Answers `path` with this body (200) instead of what the fixture would serve. */
  override(path: string, body: string): void;
  /** Pads the info file of `name` with about `bytes` bytes of extra (valid) versions. */
  bloat(name: string, bytes: number): void;
  close(): Promise<void>;
}

export async function startGemUpstream(): Promise<GemUpstream> {
  const gems = new Map<string, Entry[]>();
  const padding = new Map<string, number>();
  const overrides = new Map<string, string>();
  const counts = new Map<string, number>();
  const paths: string[] = [];
  const sockets = new Set<Socket>();
  // The switches tests flip: the fixture object returned below is this very object.
  const state = { down: false, noTimes: false, appendOnly: false, tamperTail: false, versionBytes: 0 };
  /** One line per added version, as a server appends them. */
  const versionsLog: string[] = [];
  const versionRanges: (string | undefined)[] = [];
  const authorizations: (string | undefined)[] = [];
  const cdnCounts = new Map<string, number>();
  const cdnAuthorizations: (string | undefined)[] = [];
  let cdnUrl = '';

  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  function infoLine(entry: Entry): string {
    const deps = Object.entries(entry.listed ?? entry.gem.dependencies ?? {})
      .map(([name, parts]) => `${name}:${(parts.length === 0 ? ['>= 0'] : parts).join('&')}`)
      .join(',');
    const checksum = entry.mode === 'wrong-checksum' ? sha256(Buffer.from('something else')) : sha256(entry.bytes);
    return `${keyOf(entry.gem)} ${deps}|checksum:${checksum}`;
  }

  function info(name: string): string | null {
    const entries = gems.get(name);
    if (!entries) return null;
    const lines = entries.map(infoLine);
    const pad = padding.get(name) ?? 0;
    for (let i = 0, size = 0; size < pad; i++) {
      const line = `0.0.${i} |checksum:${'0'.repeat(64)}`;
      lines.unshift(line);
      size += line.length + 1;
    }
    return `---\n${lines.map((l) => `${l}\n`).join('')}`;
  }

  function versions(): string {
    if (state.appendOnly) return `created_at: 2024-01-01T00:00:00Z\n---\n${versionsLog.join('')}`;
    const lines = [...gems].map(([name, entries]) => `${name} ${entries.map((e) => keyOf(e.gem)).join(',')} ${createHash('md5').update(info(name) ?? '').digest('hex')}`);
    return `created_at: 2024-01-01T00:00:00Z\n---\n${lines.map((l) => `${l}\n`).join('')}`;
  }

  function times(name: string): string | null {
    const entries = gems.get(name);
    if (!entries || state.noTimes) return null;
    return JSON.stringify(entries.map((e) => ({ number: e.gem.version, platform: e.gem.platform ?? 'ruby', created_at: e.publishedAt, sha: sha256(e.bytes) })));
  }

  function sendGem(request: IncomingMessage, response: ServerResponse, file: string, fromCdn: boolean) {
    const entry = [...gems.values()].flat().find((e) => fileOf(e.gem) === file);
    if (!entry || (fromCdn && !entry.onCdn)) return response.writeHead(404).end('not found');
    if (entry.onCdn && !fromCdn) return response.writeHead(302, { location: `${cdnUrl}/gems/${encodeURIComponent(file)}` }).end();
    const { bytes } = entry;
    switch (entry.mode) {
      case 'truncated':
        response.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
        response.write(bytes.subarray(0, bytes.length >> 1));
        // Closing before the declared length: the client sees a cut-off body.
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
        response.write(bytes.subarray(0, 10));
        return;
      default:
        response.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
        response.end(bytes);
    }
  }

  function sendText(request: IncomingMessage, response: ServerResponse, body: string | null, type = 'text/plain') {
    if (body === null) return response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    if (request.headers['if-none-match'] === etag) return response.writeHead(304, { etag }).end();
    return response.writeHead(200, { 'content-type': type, etag, 'content-length': Buffer.byteLength(body) }).end(body);
  }

  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] as string);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    paths.push(path);
    authorizations.push(request.headers.authorization);
    if (state.down) return request.socket.destroy();
    const forced = overrides.get(path);
    if (forced !== undefined) return sendText(request, response, forced);
    if (path === '/versions') {
      versionRanges.push(request.headers.range);
      const body = Buffer.from(versions());
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      if (!state.appendOnly || !range) {
        state.versionBytes += body.length;
        return sendText(request, response, body.toString());
      }
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      if (request.headers['if-none-match'] === etag) return response.writeHead(304, { etag }).end();
      const from = Number(range[1]);
      if (from >= body.length) return response.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      let tail = body.subarray(from);
      if (state.tamperTail) tail = Buffer.concat([tail.subarray(0, 1), Buffer.from('evil 6.6.6 00000000000000000000000000000000\n'), tail.subarray(1)]);
      state.versionBytes += tail.length;
      return response
        .writeHead(206, {
          'content-type': 'text/plain',
          'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
          'content-length': tail.length,
          etag,
          'repr-digest': `sha-256=:${createHash('sha256').update(body).digest('base64')}:`,
        })
        .end(tail);
    }
    if (path.startsWith('/info/')) return sendText(request, response, info(path.slice('/info/'.length)));
    if (path.startsWith('/gems/')) return sendGem(request, response, path.slice('/gems/'.length), false);
    const api = /^\/api\/v1\/versions\/(.+)\.json$/.exec(path);
    if (api) return sendText(request, response, times(api[1] as string), 'application/json');
    return response.writeHead(404).end('not found');
  });
  const cdn: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] as string);
    cdnCounts.set(path, (cdnCounts.get(path) ?? 0) + 1);
    cdnAuthorizations.push(request.headers.authorization);
    if (path.startsWith('/gems/')) return sendGem(request, response, path.slice('/gems/'.length), true);
    return response.writeHead(404).end('not found');
  });
  for (const listening of [server, cdn]) {
    listening.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const methods: Omit<GemUpstream, keyof typeof state> = {
    url,
    hits: (path) => counts.get(path) ?? 0,
    paths,
    authorizations,
    cdnUrl,
    cdnHits: (path) => cdnCounts.get(path) ?? 0,
    cdnAuthorizations,
    versionRanges,
    add(gem, options = {}) {
      const bytes = packGem(gem);
      const entries = gems.get(gem.name) ?? [];
      gems.set(gem.name, [...entries.filter((e) => keyOf(e.gem) !== keyOf(gem)), { gem, bytes, publishedAt: options.publishedAt ?? '2021-01-01T00:00:00.000Z', mode: options.mode ?? 'ok', onCdn: options.onCdn ?? false, ...(options.listedDependencies ? { listed: options.listedDependencies } : {}) }]);
      versionsLog.push(`${gem.name} ${keyOf(gem)} ${createHash('md5').update(info(gem.name) ?? '').digest('hex')}\n`);
      return bytes;
    },
    override(path, body) {
      overrides.set(path, body);
    },
    bloat(name, bytes) {
      padding.set(name, bytes);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([server, cdn].map((listening) => new Promise<void>((resolve) => listening.close(() => resolve()))));
    },
  };
  return Object.assign(state, methods);
}
