import { PRIORITY, type Detector, type Hit } from '../detector.js';
import { characterClasses, shannonEntropy } from '../entropy.js';
import { isPlaceholder } from '../placeholders.js';
import { redact } from '../redact.js';
import { isSecretName, isWeakDefault } from '../secret-names.js';

// Words a credential name ends with; each occurrence is checked where it stands.
const WORDS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'key', 'credential'];
const NAME_CHAR = /[A-Za-z0-9_.-]/;
// After the name: an optional closing quote or bracket, then an assignment.
const ASSIGNMENT = /["'`]?\]?\s{0,5}(?:=>|:=|=(?![=>])|:)\s{0,5}/y;
// Config formats where values are written without quotes.
const UNQUOTED_FORMATS = /\.(?:ya?ml|ini|cfg|conf|properties|toml|env)$|^\.env/;
const MAX_VALUE = 200;
const MIN_VALUE = 16;
const MAX_LINE = 1000;
const MAX_OCCURRENCES = 5000;

/**
 * True when a value looks generated rather than written: long enough, varied, with a digit or
 * base64 punctuation, and not a path, URL, dotted key or placeholder.
 */
export function looksGenerated(value: string): boolean {
  if (value.length < MIN_VALUE || value.length > MAX_VALUE) return false;
  if (!/^[A-Za-z0-9+/=_.~!@#^&*:-]+$/.test(value)) return false;
  if (value.includes('://') || /^\.{0,2}\//.test(value) || /\.[a-z]{2,4}$/.test(value)) return false;
  if (!/[0-9+/=]/.test(value)) return false;
  if (isPlaceholder(value) || isWeakDefault(value)) return false;
  if (shannonEntropy(value) < 3.5) return false;
  // At least one long, mixed segment: `errors.password.tooShort2` is made of short words.
  return value.split(/[._:@-]/).some((segment) => segment.length >= 10 && characterClasses(segment) >= 2 && shannonEntropy(segment) >= 3);
}

function quotedValue(text: string, at: number): string | undefined {
  const quote = text[at];
  if (quote !== '"' && quote !== "'" && quote !== '`') return undefined;
  // Bounded: an unclosed quote must not turn each occurrence into a scan to the end of the file.
  const window = text.slice(at + 1, at + 2 + MAX_VALUE);
  const close = window.indexOf(quote);
  if (close < 0) return undefined;
  const value = window.slice(0, close);
  return value.includes('\n') ? undefined : value;
}

function bareValue(text: string, at: number): string {
  const m = /[^\s#;,'"`]{1,200}/y;
  m.lastIndex = at;
  return m.exec(text)?.[0] ?? '';
}

/**
 * A credential-named variable, key or property assigned a literal that looks generated:
 * `apiKey: "9fK2…"`, `DB_PASSWORD=…` in YAML. Low confidence by nature: skipped in minified
 * bundles, lockfiles, test paths and on very long lines, where it would be noise.
 */
export const genericAssignmentDetector: Detector = {
  rules: [{ id: 'generic-assignment', severity: 'medium', confidence: 'low', summary: 'a credential-named key assigned a high-entropy literal' }],
  priority: PRIORITY.generic,
  accepts: (file) => !file.lockfile && !file.testPath && !file.minified && !file.base.endsWith('.md') && !file.base.endsWith('.d.ts'),
  lowerKeywords: WORDS,
  detect(file) {
    const lower = file.lower();
    const { text } = file;
    const unquoted = UNQUOTED_FORMATS.test(file.base);
    const hits: Hit[] = [];
    let budget = MAX_OCCURRENCES;
    for (const word of WORDS) {
      if (!file.hasLower(word)) continue;
      for (let at = lower.indexOf(word); at >= 0 && budget-- > 0; at = lower.indexOf(word, at + word.length)) {
        let end = at + word.length;
        if (word === 'credential' && lower[end] === 's') end++;
        // The word must end the name: `tokenizer`, `keyof`, `secretName` are something else.
        if (/[a-z0-9_]/.test(lower[end] ?? '')) continue;
        let start = at;
        while (start > 0 && at - start < 80 && NAME_CHAR.test(text[start - 1] ?? '')) start--;
        const name = text.slice(start, end);
        if (!isSecretName(name)) continue;
        ASSIGNMENT.lastIndex = end;
        const op = ASSIGNMENT.exec(text);
        if (!op) continue;
        const valueAt = end + op[0].length;
        const quoted = quotedValue(text, valueAt);
        const value = quoted ?? (unquoted ? bareValue(text, valueAt) : undefined);
        if (value === undefined || !looksGenerated(value)) continue;
        const valueStart = quoted === undefined ? valueAt : valueAt + 1;
        const [lineStart, lineEnd] = file.lineBounds(valueStart);
        if (lineEnd - lineStart > MAX_LINE) continue;
        hits.push({
          rule: 'generic-assignment',
          start: valueStart,
          end: valueStart + value.length,
          secret: value,
          severity: 'medium',
          confidence: 'low',
          label: `a hard-coded secret assigned to ${name.slice(-60)}`,
          evidence: `${name.slice(-60)}${op[0].trim()} ${redact(value, 2)}`,
          shown: 2,
          details: { name: name.slice(-60) },
        });
      }
    }
    return hits;
  },
};
