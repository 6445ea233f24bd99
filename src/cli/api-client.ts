import type { OptionsSpec, OptionValues } from './command.js';
import { CliError, stringOption, UsageError } from './command.js';

// Answers are small JSON; anything larger is not ours.
const MAX_RESPONSE = 1024 * 1024;

/** The server a REST command talks to, and who it is. */
export interface ApiTarget {
  base: string;
  token: string;
  otp?: string;
}

/** The options of every command that talks to the REST API, read by `apiTarget`. */
export const API_OPTIONS = {
  otp: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
} as const satisfies OptionsSpec;

/** `--url`, `--token` and `--otp`, with `STOCKADE_URL` and `STOCKADE_TOKEN` as defaults. */
export function apiTarget(options: OptionValues, env: NodeJS.ProcessEnv): ApiTarget {
  const base = stringOption(options, 'url') ?? env.STOCKADE_URL;
  const token = stringOption(options, 'token') ?? env.STOCKADE_TOKEN;
  if (!base) throw new UsageError('no server URL: pass --url or set STOCKADE_URL');
  if (!token) throw new UsageError('no token: set STOCKADE_TOKEN or pass --token');
  const given = stringOption(options, 'otp');
  const otp = given === undefined ? undefined : otpHeader(given, (message) => new UsageError(message));
  return { base, token, ...(otp ? { otp } : {}) };
}

// Codes are 6 digits, recovery codes 3 groups of 4; anything else printable is left to the server
// to refuse. Control characters would make Node throw on the header, so they are refused here.
const OTP_INPUT = /^[\x20-\x7e]{1,64}$/;

/** The one-time password as the X-Stockade-OTP header will carry it. */
export function otpHeader(raw: string, fail: (message: string) => CliError): string {
  const code = raw.trim();
  if (code === '') throw fail('the one-time password is empty: give the code from your authenticator app');
  if (!OTP_INPUT.test(code)) throw fail('the one-time password must be the code from your authenticator app or a recovery code');
  return code;
}

/** `/api/v1/` plus the path segments, each percent-encoded, below the server URL. */
export function apiUrl(base: string, segments: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`server URL "${base}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`server URL "${base}" must start with http:// or https://`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/${segments.map(encodeURIComponent).join('/')}`;
  url.search = '';
  return url;
}

/**
 * One REST call: its JSON answer, or a CliError with the API's own message and code (a proxy's
 * error page becomes the HTTP status).
 */
export async function callApi<T>(target: ApiTarget, method: string, segments: readonly string[], body?: unknown): Promise<T> {
  const url = apiUrl(target.base, segments);
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}`, accept: 'application/json' };
  if (target.otp) headers['x-stockade-otp'] = target.otp;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (error) {
    throw new CliError(`cannot reach ${url.origin}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`);
  }
  const text = (await response.text()).slice(0, MAX_RESPONSE);
  if (!response.ok) {
    let message = `server answered ${response.status} ${response.statusText}`.trim();
    let code = 'HTTP_ERROR';
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (typeof parsed.error?.message === 'string') message = parsed.error.message;
      if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    } catch {
      // Not the API's error shape: a proxy's page.
    }
    throw new CliError(message, 1, code);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`server answered ${response.status} without a JSON body`);
  }
}
