import semver from 'semver';
import validateName from 'validate-npm-package-name';
import { StockadeError } from '../../errors.js';

const MAX_DIST_TAG_LENGTH = 256;

/**
 * Makes an untrusted string safe to echo in an error message: npm prints our messages on a
 * terminal, so control characters are escaped (no ANSI injection) and long values are cut.
 */
export function printable(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : String(value);
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

/** Accepts only names npm would let a new package take (validForNewPackages). */
export function assertValidPackageName(name: unknown): asserts name is string {
  if (typeof name !== 'string') {
    throw new StockadeError('INVALID_NAME', [printable(name), 'name must be a string']);
  }
  const result = validateName(name);
  if (!result.validForNewPackages) {
    const reasons = [...(result.errors ?? []), ...(result.warnings ?? [])];
    throw new StockadeError('INVALID_NAME', [printable(name), reasons.join('; ') || 'not a valid npm package name']);
  }
}

/** Accepts only canonical semver: `semver.valid(v) === v` rejects `v1.0.0`, `=1.0.0`, `1.0.0+build`, spaces. */
export function assertValidVersion(version: unknown): asserts version is string {
  if (typeof version !== 'string') {
    throw new StockadeError('INVALID_VERSION', [printable(version), 'version must be a string']);
  }
  const valid = semver.valid(version);
  if (valid === null) {
    throw new StockadeError('INVALID_VERSION', [printable(version), 'not a valid semantic version (semver 2.0)']);
  }
  if (valid !== version) {
    throw new StockadeError('INVALID_VERSION', [printable(version), `not in canonical form (expected "${valid}")`]);
  }
}

/**
 * npm's rules for dist-tags: a tag must not parse as a semver range, or `npm install pkg@<tag>`
 * would be ambiguous (npm/cli `dist-tag add` refuses such tags). It travels in URLs, so it must
 * also survive encodeURIComponent unchanged.
 */
export function assertValidDistTag(tag: unknown): asserts tag is string {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new StockadeError('INVALID_DIST_TAG', [printable(tag), 'tag must be a non-empty string']);
  }
  if (tag.length > MAX_DIST_TAG_LENGTH) {
    throw new StockadeError('INVALID_DIST_TAG', [printable(tag, 40), `longer than ${MAX_DIST_TAG_LENGTH} characters`]);
  }
  if (encodeURIComponent(tag) !== tag) {
    throw new StockadeError('INVALID_DIST_TAG', [printable(tag), 'tag must be URL-safe (letters, digits, - _ . ! ~ * \' ( ))']);
  }
  if (semver.validRange(tag) !== null) {
    throw new StockadeError('INVALID_DIST_TAG', [printable(tag), 'tag must not be a valid semver range']);
  }
}

/** `@scope/name` → `{ scope: '@scope', bare: 'name' }` (scope keeps its `@`, as npm-package-arg does). */
export function splitScopedName(name: string): { scope?: string; bare: string } {
  if (!name.startsWith('@')) return { bare: name };
  const slash = name.indexOf('/');
  if (slash <= 1 || slash === name.length - 1 || name.indexOf('/', slash + 1) !== -1) {
    throw new StockadeError('INVALID_NAME', [printable(name), 'a scoped name must look like @scope/name']);
  }
  return { scope: name.slice(0, slash), bare: name.slice(slash + 1) };
}

/** npm's attachment and tarball file name: `<bare>-<version>.tgz` (the scope is a path segment). */
export function tarballFileName(name: string, version: string): string {
  return `${splitScopedName(name).bare}-${version}.tgz`;
}
