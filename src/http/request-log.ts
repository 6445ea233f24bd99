/** The one line logged per request, on the framework's path and on the memory path alike. */
export function requestLogEntry(method: string, url: string, status: number, ms: number, user: string | undefined) {
  // The query string is left out: clients never put secrets there, but some put noise.
  return { method, path: loggablePath(url), status, ms: Math.round(ms), user };
}

/**
 * The path of a request as the log may show it: no query string, and no secret that a client
 * puts in the path (`npm logout` sends its token as the last segment of `/-/user/token/…`).
 */
export function loggablePath(url: string): string {
  return url
    .split('?')[0]!
    .replace(/(\/-\/user\/token\/)[^/]+/, '$1[redacted]')
    .replace(/stk_[0-9A-Za-z]+/g, 'stk_[redacted]');
}
