import type { Detector, Hit, ScanFile } from './detector.js';
import { createKeywordMatcher, type Keyword } from './keyword-matcher.js';
import { baseName, isLockfile, isTestPath } from './paths.js';

// Average line length above which a file is a minified bundle.
const MINIFIED_LINE = 300;

/** Keywords already looked up in one pass: the set found and the set that was looked for. */
interface KnownKeywords {
  found: ReadonlySet<string>;
  caseSensitive: ReadonlySet<string>;
  caseInsensitive: ReadonlySet<string>;
}

const NONE: KnownKeywords = { found: new Set(), caseSensitive: new Set(), caseInsensitive: new Set() };

/**
 * Wraps one file's text with the lazy caches detectors share. Keywords found by the scanner's
 * one-pass matcher are answered from its result; any other lookup falls back to `includes`.
 */
export function createScanFile(path: string, text: string, known: KnownKeywords = NONE): ScanFile {
  const base = baseName(path);
  let lower: string | undefined;
  let lineStarts: number[] | undefined;
  const seen = new Map<string, boolean>();
  const seenLower = new Map<string, boolean>();

  const starts = (): number[] => {
    if (lineStarts === undefined) {
      lineStarts = [0];
      for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lineStarts.push(at + 1);
    }
    return lineStarts;
  };
  /** Index of the line holding `offset`. */
  const lineIndex = (offset: number): number => {
    const s = starts();
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((s[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  let minified: boolean | undefined;
  const lowerText = (): string => {
    lower ??= text.toLowerCase();
    return lower;
  };

  return {
    path,
    base,
    text,
    testPath: isTestPath(path),
    lockfile: isLockfile(base),
    get minified() {
      minified ??= text.length > 4096 && text.length / starts().length > MINIFIED_LINE;
      return minified;
    },
    lower: lowerText,
    has(keyword) {
      if (known.caseSensitive.has(keyword)) return known.found.has(keyword);
      let found = seen.get(keyword);
      if (found === undefined) {
        found = text.includes(keyword);
        seen.set(keyword, found);
      }
      return found;
    },
    hasLower(keyword) {
      if (known.caseInsensitive.has(keyword)) return known.found.has(keyword);
      let found = seenLower.get(keyword);
      if (found === undefined) {
        found = lowerText().includes(keyword);
        seenLower.set(keyword, found);
      }
      return found;
    },
    lineBounds(offset) {
      const s = starts();
      const i = lineIndex(offset);
      const next = s[i + 1];
      return [s[i] ?? 0, next === undefined ? text.length : next - 1];
    },
    position(offset) {
      const i = lineIndex(offset);
      return { line: i + 1, column: offset - (starts()[i] ?? 0) + 1 };
    },
  };
}

function wants(detector: Detector, file: ScanFile): boolean {
  if (detector.accepts && !detector.accepts(file)) return false;
  const { keywords, lowerKeywords } = detector;
  if (keywords === undefined && lowerKeywords === undefined) return true;
  return (keywords?.some((k) => file.has(k)) ?? false) || (lowerKeywords?.some((k) => file.hasLower(k)) ?? false);
}

/**
 * A scanner for a fixed list of detectors: one keyword pass per file decides which detectors
 * run, then their hits are resolved by `resolveHits`.
 */
export function createSecretScanner(detectors: readonly Detector[]): (path: string, text: string, bytes?: Uint8Array) => { file: ScanFile; hits: FileHit[] } {
  const keywords: Keyword[] = [];
  for (const d of detectors) {
    for (const text of d.keywords ?? []) keywords.push({ text, caseSensitive: true });
    for (const text of d.lowerKeywords ?? []) keywords.push({ text, caseSensitive: false });
  }
  const match = createKeywordMatcher(keywords);
  const caseSensitive = new Set(keywords.filter((k) => k.caseSensitive).map((k) => k.text));
  const caseInsensitive = new Set(keywords.filter((k) => !k.caseSensitive).map((k) => k.text));
  return (path, text, bytes) => {
    const file = createScanFile(path, text, { found: match(bytes ?? text), caseSensitive, caseInsensitive });
    return { file, hits: scanFile(file, detectors) };
  };
}

export interface FileHit extends Hit {
  /** How many times the same secret matched this rule in the file. */
  occurrences: number;
}

/**
 * Runs every detector that claims the file and passes its keyword prefilter, then keeps one hit
 * per (rule, secret) and drops hits overlapped by a higher-priority detector's hit, so a key
 * inside a service-account file or a token inside a `.npmrc` line is reported once, by the most
 * specific rule.
 */
export function scanFile(file: ScanFile, detectors: readonly Detector[]): FileHit[] {
  const ranked: { hit: Hit; priority: number }[] = [];
  for (const detector of detectors) {
    if (!wants(detector, file)) continue;
    for (const hit of detector.detect(file)) ranked.push({ hit, priority: detector.priority });
  }
  if (ranked.length === 0) return [];
  ranked.sort((a, b) => b.priority - a.priority || a.hit.start - b.hit.start);
  const kept: { hit: FileHit; priority: number }[] = [];
  const byKey = new Map<string, FileHit>();
  for (const { hit, priority } of ranked) {
    const key = `${hit.rule}\u0000${hit.secret}`;
    const same = byKey.get(key);
    if (same) {
      same.occurrences++;
      continue;
    }
    if (kept.some((k) => k.priority > priority && k.hit.start < hit.end && hit.start < k.hit.end)) continue;
    const fileHit = { ...hit, occurrences: 1 };
    byKey.set(key, fileHit);
    kept.push({ hit: fileHit, priority });
  }
  return kept.map((k) => k.hit).sort((a, b) => a.start - b.start);
}
