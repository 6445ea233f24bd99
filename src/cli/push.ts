import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { create as createTar } from 'tar';
import cliProgress from 'cli-progress';
import { API_OPTIONS, apiTarget, apiUrl, otpHeader } from './api-client.js';
import { arg, type Command, CliError, parseRepoPath, stringOption, UsageError } from './command.js';
import type { UploadResult } from '../formats/format.js';
import { formatBytes } from './output.js';

/** What the REST API answers to an upload (201): the format's own upload result. */
export type UploadResponse = UploadResult;

// Error bodies are small JSON; a larger answer is not ours and is cut off.
const MAX_RESPONSE = 1024 * 1024;
// The server may scan a large upload before it answers; only a silent connection counts as stuck.
const IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * `owner/repo`, or with a place inside the repository for formats that have one:
 * `owner/repo/debian/bookworm[/component]` for .deb files, `owner/repo/el/9` (also
 * `owner/repo/rpm/el/9`) for .rpm files.
 */
export function parsePushTarget(raw: string): { repo: { owner: string; name: string }; distribution?: string; component?: string } {
  const parts = raw.split('/');
  const repo = parseRepoPath(parts.slice(0, 2).join('/'));
  if (parts.length === 2) return { repo };
  const place = parts.slice(2);
  const usage = () =>
    new UsageError(`"${raw}" is not a push target: use owner/repo, owner/repo/debian/DISTRIBUTION[/COMPONENT] for .deb files, or owner/repo/DISTRO/RELEASE (e.g. el/9) for .rpm files`);
  if (place.some((p) => p === '')) throw usage();
  if (place[0] === 'debian') {
    const [, distribution, component] = place;
    if (!distribution || place.length > 3) throw usage();
    return { repo, distribution, ...(component ? { component } : {}) };
  }
  const rpmPlace = place[0] === 'rpm' ? place.slice(1) : place;
  if (rpmPlace.length !== 2) throw usage();
  return { repo, distribution: rpmPlace.join('/') };
}

function uploadUrl(base: string, repo: { owner: string; name: string }, filename: string, tag: string | undefined, place: { distribution?: string; component?: string } = {}): URL {
  const url = apiUrl(base, ['repos', repo.owner, repo.name, 'upload']);
  url.searchParams.set('filename', filename);
  if (tag !== undefined) url.searchParams.set('tag', tag);
  if (place.distribution !== undefined) url.searchParams.set('distribution', place.distribution);
  if (place.component !== undefined) url.searchParams.set('component', place.component);
  return url;
}

async function readBody(response: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of response) {
    if (body.length < MAX_RESPONSE) body += (chunk as Buffer).toString('utf8');
  }
  return body;
}

/** The error code of an API error body (`{error:{code}}`), or null. */
function errorCodeOf(body: string): string | null {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

/**
 * Asks for the code once on the terminal. It is echoed, as `stockade mfa enroll` does: the code is
 * good for seconds and shown by the app anyway. (password.ts hides input and asks twice, which
 * fits new passwords, not this.)
 */
function askOtp(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream): Promise<string> {
  const terminal = createInterface({ input: stdin, output: stderr, terminal: true });
  return new Promise<string>((resolve, reject) => {
    // Whichever comes first wins; a settled promise ignores the rest.
    terminal.on('SIGINT', () => {
      reject(new CliError('interrupted', 130, 'INTERRUPTED'));
      terminal.close();
    });
    terminal.on('close', () => reject(new CliError('no one-time password entered')));
    terminal.question('one-time password from your authenticator app: ', (answer) => {
      resolve(answer);
      terminal.close();
    });
  });
}

/** The server's own message when it sent one in the API's `{error:{code,message}}` shape. */
function serverError(status: number, statusMessage: string | undefined, body: string): CliError {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.message === 'string') {
      return new CliError(parsed.error.message, 1, typeof parsed.error.code === 'string' ? parsed.error.code : 'FAILED');
    }
  } catch {
    // Not JSON: a proxy's error page or a server that is not Stockade.
  }
  return new CliError(`server answered ${status} ${statusMessage ?? ''}`.trim(), 1, 'HTTP_ERROR');
}

/**
 * Streams `file` as the raw request body: bytes are counted on their way to the socket for the
 * progress bar and never held whole in memory.
 */
async function upload(options: {
  url: URL;
  token: string;
  otp: string | undefined;
  /** What the body is, for messages: the file, or the files of an import. */
  file: string;
  size: number;
  progress: boolean;
  stderr: NodeJS.WriteStream;
  /** A bulk import streams a tar of several files (POST, length unknown) instead of one file (PUT). */
  open?: () => Readable;
}): Promise<{ status: number; statusMessage?: string; body: string }> {
  const { url, size } = options;
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          stream: options.stderr,
          format: 'uploading [{bar}] {percentage}% {sent} of {total_h}{status}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(size, 0, { sent: formatBytes(0), total_h: formatBytes(size), status: '' });
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      bar?.update(sent, { sent: formatBytes(sent) });
      callback(null, chunk);
    },
    flush(callback) {
      // The server checks the package before it answers; say so rather than sit at 100%.
      bar?.update(sent, { status: ', waiting for the server' });
      callback();
    },
  });
  const source = options.open ? options.open() : createReadStream(options.file);
  const transport = url.protocol === 'https:' ? https : http;
  try {
    return await new Promise((resolve, reject) => {
      const request = transport.request(url, {
        method: options.open ? 'POST' : 'PUT',
        headers: {
          authorization: `Bearer ${options.token}`,
          ...(options.open ? { 'content-type': 'application/x-tar' } : { 'content-type': 'application/octet-stream', 'content-length': String(size) }),
          accept: 'application/json',
          ...(options.otp !== undefined ? { 'x-stockade-otp': options.otp } : {}),
        },
        timeout: IDLE_TIMEOUT_MS,
      });
      let answered = false;
      request.on('timeout', () => request.destroy(new CliError(`no answer from ${url.origin} for ${IDLE_TIMEOUT_MS / 60_000} minutes`)));
      request.on('error', (error: NodeJS.ErrnoException) => {
        // Once the answer is in, a reset of the upload side (the server refused early) changes nothing.
        if (answered) return;
        if (error instanceof CliError) return reject(error);
        reject(new CliError(`cannot upload to ${url.origin}: ${error.code ?? error.message}`));
      });
      request.on('response', (response) => {
        answered = true;
        // An early answer (bad token, missing repository) means the rest of the file is not wanted,
        // and the half-sent request can never finish: drop its connection once the answer is read.
        const early = !source.readableEnded;
        if (early) {
          source.unpipe(counter);
          source.destroy();
        }
        readBody(response).then(
          (body) => {
            if (early) request.destroy();
            resolve({ status: response.statusCode ?? 0, ...(response.statusMessage ? { statusMessage: response.statusMessage } : {}), body });
          },
          (error: Error) => reject(new CliError(`connection to ${url.origin} lost while reading the answer: ${error.message}`)),
        );
      });
      source.on('error', (error: Error) => request.destroy(new CliError(`cannot read ${options.file}: ${error.message}`)));
      source.pipe(counter).pipe(request);
    });
  } finally {
    bar?.stop();
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CliError(`${file} is not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function importUrl(base: string, repo: { owner: string; name: string }, place: { distribution?: string; component?: string }): URL {
  const url = uploadUrl(base, repo, 'import', undefined, place);
  url.pathname = url.pathname.replace(/\/upload$/, '/import');
  url.searchParams.delete('filename');
  return url;
}

/** What the REST API answers to an import: one result per file, in archive order. */
export interface ImportResponse {
  stored: number;
  failed: number;
  results: ({ file: string; error?: { code: string; message: string } } & Partial<UploadResult>)[];
}

function reportImport(ctx: Parameters<Command['run']>[0], repo: { owner: string; name: string }, answer: { status: number; body: string }): number {
  let result: ImportResponse;
  try {
    result = JSON.parse(answer.body) as ImportResponse;
  } catch {
    throw new CliError(`server answered ${answer.status} without a JSON body`);
  }
  ctx.out.result(result, () =>
    [
      `pushed ${result.stored} of ${result.stored + result.failed} files to ${repo.owner}/${repo.name}${result.failed > 0 ? `; ${result.failed} refused` : ''}`,
      ...result.results.map((r) =>
        r.error
          ? `  refused  ${r.file}: ${r.error.message}`
          : `  ${r.verdict === 'quarantine' ? 'held   ' : 'stored '}  ${r.file} → ${r.format} ${r.name}@${r.version}${r.reasons && r.reasons.length > 0 ? ` (${r.reasons.join('; ')})` : ''}`,
      ),
    ].join('\n'),
  );
  return result.failed > 0 ? 1 : 0;
}

const push: Command = {
  name: 'push',
  summary: 'upload package files to a repository',
  usage: '<owner/repo>[/debian/DIST[/COMPONENT] | /DISTRO/RELEASE] <file> [<file> …] [--tag T] [--otp CODE] [--url URL] [--token TOKEN]',
  description:
    'Uploads FILE over the REST API (PUT /api/v1/repos/OWNER/REPO/upload). The server detects the format ' +
    '(a .deb goes into the APT distribution and component named after debian/ in the target, an .rpm into ' +
    'the distribution and release named in the target, e.g. owner/repo/el/9) ' +
    'and derives name and version from the file itself. --url and --token default to STOCKADE_URL and ' +
    'STOCKADE_TOKEN; prefer the variable for the token, since arguments are visible to other local users. ' +
    'Shows a progress bar on stderr when stderr is a terminal. If you have two-factor authentication, ' +
    'pass the code from your authenticator app (or a recovery code) with --otp; on a terminal the ' +
    'command asks for it when the server wants one. Automation tokens need no code. ' +
    'Several files go in one request as a tar stream (POST /api/v1/repos/OWNER/REPO/import), stored in ' +
    'batches, which is much faster for many packages; each file is still stored all or nothing, a ' +
    'refused file does not stop the others, and the command exits with 1 when any was refused.',
  options: {
    tag: { type: 'string' },
    ...API_OPTIONS,
  },
  args: { min: 2, max: 100_000 },
  examples: [
    'STOCKADE_URL=http://127.0.0.1:8080 STOCKADE_TOKEN=stk_… stockade push acme/web ./hello-1.0.0.tgz',
    'stockade push acme/web ./hello-1.1.0-beta.1.tgz --tag next',
    'stockade push acme/web ./hello-1.0.1.tgz --otp 123456',
    'stockade push acme/os/debian/bookworm ./acme-agent_1.2.0-1_amd64.deb',
    'stockade push acme/os/el/9 ./dist/*.rpm',
  ],
  async run(ctx) {
    const { repo, ...place } = parsePushTarget(arg(ctx, 0));
    const files = ctx.args.slice(1);
    const file = arg(ctx, 1);
    const { base, token, otp } = apiTarget(ctx.options, ctx.env);
    const tag = stringOption(ctx.options, 'tag');
    if (files.length > 1 && tag !== undefined) throw new UsageError('--tag applies to one file: push tagged packages one at a time');
    let size = 0;
    for (const one of files) size += await fileSize(one);
    const url = files.length > 1 ? importUrl(base, repo, place) : uploadUrl(base, repo, path.basename(file), tag, place);
    // Absolute paths: the server keeps only each entry's base name.
    const open = files.length > 1 ? () => Readable.from(createTar({ portable: true, onwarn: () => undefined }, files.map((f) => path.resolve(f)))) : undefined;
    const what = files.length > 1 ? `${files.length} files` : file;
    const send = (code: string | undefined) =>
      upload({ url, token, otp: code, file: what, size, progress: ctx.stderr.isTTY === true, stderr: ctx.stderr, ...(open ? { open } : {}) });
    let answer = await send(otp);
    // The server refuses before it reads the body, so nothing was stored; each upload() opens the
    // file afresh, so the retry sends the whole body again.
    if (answer.status === 401 && otp === undefined && errorCodeOf(answer.body) === 'OTP_REQUIRED') {
      if (ctx.stdin.isTTY !== true) {
        throw new CliError('the server wants a one-time password for this push: run it again with --otp CODE (the code from your authenticator app)', 1, 'OTP_REQUIRED');
      }
      const code = otpHeader(await askOtp(ctx.stdin, ctx.stderr), (message) => new CliError(message));
      answer = await send(code);
    }
    if (answer.status < 200 || answer.status >= 300) throw serverError(answer.status, answer.statusMessage, answer.body);
    if (files.length > 1) return reportImport(ctx, repo, answer);
    let result: UploadResponse;
    try {
      result = JSON.parse(answer.body) as UploadResponse;
    } catch {
      throw new CliError(`server answered ${answer.status} without a JSON body`);
    }
    ctx.out.result(result, () =>
      [
        result.verdict === 'quarantine'
          ? `pushed ${result.format} package ${result.name}@${result.version} to ${repo.owner}/${repo.name}: held in quarantine until a reviewer approves it`
          : `pushed ${result.format} package ${result.name}@${result.version} to ${repo.owner}/${repo.name}`,
        `  file    ${result.filename} (${formatBytes(result.size)})`,
        `  sha256  ${result.sha256}`,
        ...result.reasons.map((r) => `  ${result.verdict === 'quarantine' ? 'held' : 'warning'}: ${r}`),
      ].join('\n'),
    );
    return 0;
  },
};

export const pushCommands: Command[] = [push];
