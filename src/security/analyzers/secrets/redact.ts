/** The most characters of a secret a finding may show, however long its fixed prefix. */
const MAX_SHOWN = 24;
/** Masks longer than this are shortened: the length of a key body is not useful to a reader. */
const MAX_MASK = 16;

/** Values shorter than this (passwords, mostly) show nothing at all. */
const MIN_SHOWN_LENGTH = 12;

/** How many leading characters of `secret` a finding may show. */
export function shownLength(secret: string, shown: number): number {
  if (secret.length < MIN_SHOWN_LENGTH) return 0;
  return Math.max(0, Math.min(shown, MAX_SHOWN, Math.floor(secret.length / 3)));
}

/**
 * A secret as findings may show it: at most a short, non-secret prefix (a provider's fixed
 * prefix plus a couple of characters), the rest masked. Never more than a third of the value is
 * shown, and nothing of short values such as passwords.
 */
export function redact(secret: string, shown = 4): string {
  const keep = shownLength(secret, shown);
  const hidden = secret.length - keep;
  const mask = '*'.repeat(Math.min(hidden, MAX_MASK));
  return `${secret.slice(0, keep)}${mask}${hidden > MAX_MASK ? '…' : ''}`;
}

const WINDOW = 8;

/**
 * Guards evidence a detector built around a secret (a URL with its host, a key name): when any
 * window of it repeats a part of the secret beyond the allowed prefix, the plain redacted form
 * is used instead. The secret never leaves the analyzer even if a detector gets this wrong.
 */
export function safeEvidence(evidence: string, secret: string, shown: number): string {
  const fallback = redact(secret, shown);
  if (evidence.length > 200) return fallback;
  if (secret.length < WINDOW) return evidence.includes(secret) ? fallback : evidence;
  const allowed = secret.slice(0, shownLength(secret, shown));
  for (let i = 0; i + WINDOW <= evidence.length; i++) {
    const window = evidence.slice(i, i + WINDOW);
    if (secret.includes(window) && !allowed.includes(window)) return fallback;
  }
  return evidence;
}
