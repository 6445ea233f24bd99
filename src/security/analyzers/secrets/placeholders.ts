/**
 * Values that documentation and templates use in place of a credential. They are dropped rather
 * than reported as `info`: a finding on `AKIAIOSFODNN7EXAMPLE` or `${NPM_TOKEN}` would teach
 * publishers to ignore the rule, and such values grant nothing.
 */

// Words that do not occur by chance in a random token body but fill every sample value
// (`myPassword123`, `your-api-key`, `supersecret`).
const PLACEHOLDER_WORDS =
  /example|sample|placeholder|dummy|redacted|changeme|change_me|your[_-]?(?:own|api|key|token|secret|password|pass)|password|passw0rd|passwd|secret|token|insert|replace|fake|mock|notreal|not_a_real|xxxx|\*\*\*\*|\.\.\.|…|0123456789|123456789|abcdefgh|lorem/i;

// Interpolations and template slots: the value is filled in elsewhere.
const TEMPLATE = /\$\{|\$\(|\{\{|\}\}|^\$[A-Za-z_]|%\(|<[^>]*>|^%[A-Z_]+%$|^\[[^\]]*\]$/;

/** True for values that stand in for a secret rather than being one. */
export function isPlaceholder(value: string): boolean {
  if (value.length === 0) return true;
  if (TEMPLATE.test(value)) return true;
  if (PLACEHOLDER_WORDS.test(value)) return true;
  if (hasLongRun(value, 6)) return true;
  return hasAscendingRun(value, 6);
}

/** A character repeated `length` times in a row (`000000`, `aaaaaa`): filler, not randomness. */
export function hasLongRun(value: string, length: number): boolean {
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    run = value.charCodeAt(i) === value.charCodeAt(i - 1) ? run + 1 : 1;
    if (run >= length) return true;
  }
  return false;
}

/** `abcdef`, `12345`, `ABCDEF`: alphabets and sequences, as in base64 tables. */
export function hasAscendingRun(value: string, length: number): boolean {
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    run = value.charCodeAt(i) === value.charCodeAt(i - 1) + 1 ? run + 1 : 1;
    if (run >= length) return true;
  }
  return false;
}

/** Fewer distinct characters than a random value of that length would show. */
export function distinctCount(value: string): number {
  return new Set(value).size;
}
