/**
 * The one catalog of errors Stockade reports. Every error a client can see has a stable
 * code here, an HTTP status and a message template. Formats translate a StockadeError into
 * their own wire shape (npm `{error}`, JSON API `{error:{code,message}}`, plain text for apt/pip).
 * Messages never contain credentials.
 */
export const errorCatalog = {
  BAD_REQUEST: { status: 400, message: 'bad request: %s' },
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON: %s' },
  BODY_TOO_LARGE: { status: 413, message: 'request body exceeds the limit of %s bytes' },
  HEADERS_TOO_LARGE: { status: 431, message: 'request headers are too large' },
  VALIDATION_FAILED: { status: 400, message: 'invalid request: %s' },
  INVALID_NAME: { status: 400, message: 'invalid package name "%s": %s' },
  INVALID_VERSION: { status: 400, message: 'invalid version "%s": %s' },
  NAME_MISMATCH: { status: 400, message: 'package name in the body ("%s") differs from the URL ("%s")' },
  INVALID_ATTACHMENT: { status: 400, message: 'invalid attachment: %s' },
  INTEGRITY_MISMATCH: { status: 400, message: 'integrity check failed: %s' },
  INVALID_ARCHIVE: { status: 400, message: 'invalid package archive: %s' },
  UNSAFE_ARCHIVE: { status: 400, message: 'unsafe package archive: %s' },
  MANIFEST_MISMATCH: {
    status: 400,
    message: 'manifest confusion: "%s" in the published metadata differs from the package.json inside the tarball',
  },
  VERSION_EXISTS: { status: 409, message: 'cannot publish %s@%s: that version already exists' },
  // twine --skip-existing looks for "already exist" in a 400 answer, as PyPI words it.
  FILE_EXISTS: { status: 400, message: 'File already exists: %s was uploaded before with other content; files cannot be replaced, publish a new version' },
  VERSION_REUSED: { status: 409, message: 'cannot publish %s@%s: that version was unpublished and cannot be reused' },
  UNKNOWN_DIST_TAG: { status: 404, message: 'dist-tag "%s" does not exist on %s' },
  INVALID_DIST_TAG: { status: 400, message: 'invalid dist-tag "%s": %s' },
  UNPUBLISH_FORBIDDEN: { status: 403, message: 'unpublish is not allowed: %s' },
  INVALID_POLICY: { status: 400, message: 'invalid policy: %s' },
  PACKAGE_BLOCKED: {
    status: 403,
    message: 'blocked by the security gate: %s. Remove what was found and publish again, or ask a repository admin for an exception (stockade policy allow)',
  },
  PACKAGE_QUARANTINED: {
    status: 403,
    message: '%s is quarantined pending review: %s. A repository admin can approve it (stockade quarantine approve)',
  },
  CONFLICT: { status: 409, message: 'conflict: %s' },
  REVISION_MISMATCH: { status: 409, message: 'document revision %s does not match the current revision' },

  AUTH_REQUIRED: { status: 401, message: 'authentication required' },
  INVALID_CREDENTIALS: { status: 401, message: 'invalid username or password' },
  INVALID_TOKEN: { status: 401, message: 'invalid, expired or revoked token' },
  FORBIDDEN: { status: 403, message: 'forbidden: %s' },
  NOT_FOUND: { status: 404, message: '%s not found' },
  USER_EXISTS: { status: 409, message: 'user "%s" already exists' },
  OWNER_EXISTS: { status: 409, message: 'name "%s" is already taken by a user or organization' },
  REPO_EXISTS: { status: 409, message: 'repository %s already exists' },
  WEAK_PASSWORD: { status: 400, message: 'password too weak: %s' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  OTP_REQUIRED: { status: 401, message: 'this action needs a one-time password from your authenticator app (%s)' },
  INVALID_OTP: { status: 401, message: 'the one-time password is wrong, expired or already used: wait for the next code from your authenticator app' },
  MFA_REQUIRED: {
    status: 403,
    message:
      '%s requires two-factor authentication for its members: enroll an authenticator app (POST /api/v1/user/mfa/enroll, then /confirm; or ask an admin to run `stockade mfa enroll USER`), then try again',
  },
  MFA_ALREADY_ENABLED: { status: 409, message: 'two-factor authentication is already enabled for %s' },
  MFA_NOT_ENABLED: { status: 409, message: 'two-factor authentication is not enabled for %s' },
  TOO_MANY_ATTEMPTS: { status: 429, message: 'too many failed attempts: try again in %s seconds' },
  ADDRESS_NOT_ALLOWED: { status: 403, message: 'this token may not be used from %s: its address ranges are shown by `stockade token list`' },
  CSRF_FAILED: { status: 403, message: 'missing or wrong CSRF token: send the X-CSRF-Token header your session was given' },
  SECRET_KEY_MISMATCH: {
    status: 500,
    message: 'a stored secret was sealed with another server key: give every node the same auth.secretKey',
  },

  UNSUPPORTED_FORMAT: { status: 415, message: 'could not detect the package format of %s' },
  IMPORT_STOPPED: { status: 400, message: 'the import stopped after %s file(s), which are kept (see details): %s' },

  // Remote (proxy) repositories: the upstream is named by host only, never with credentials.
  NOT_A_CACHE: { status: 405, message: '%s is a %s repository: only cached copies in remote repositories are evicted; yank or unpublish hosted versions with the format\'s own client' },
  REMOTE_READ_ONLY: { status: 405, message: '%s is a remote repository that mirrors its upstream: publish to a hosted repository instead' },
  VIRTUAL_READ_ONLY: { status: 405, message: '%s is a virtual repository that only merges its members: publish to a hosted repository (%s)' },
  UPSTREAM_FAILED: { status: 502, message: 'the upstream of %s failed: %s' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'the upstream of %s did not answer in time: %s' },
  NOT_CACHED: { status: 504, message: '%s is not cached and %s' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'service unavailable: %s' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export class StockadeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, args: readonly (string | number)[] = [], details?: Record<string, unknown>) {
    const entry = errorCatalog[code];
    let index = 0;
    super(entry.message.replace(/%s/g, () => String(args[index++] ?? '')));
    this.name = 'StockadeError';
    this.code = code;
    this.status = entry.status;
    this.details = details;
  }
}

export function fail(code: ErrorCode, ...args: (string | number)[]): never {
  throw new StockadeError(code, args);
}

export function isStockadeError(error: unknown): error is StockadeError {
  return error instanceof StockadeError;
}
