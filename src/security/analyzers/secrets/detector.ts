import type { Confidence, Severity } from '../../types.js';

/** A text file as detectors see it, with per-file caches so shared checks run once. */
export interface ScanFile {
  /** Installed path inside the package. */
  readonly path: string;
  /** Lower-cased last path segment. */
  readonly base: string;
  /** The text scanned, already capped to the analyzer's per-file budget. */
  readonly text: string;
  /** The text lower-cased, computed on first use. */
  lower(): string;
  /** `text.includes(keyword)`, memoized per file. */
  has(keyword: string): boolean;
  /** `lower().includes(keyword)` for a lower-case keyword, memoized per file. */
  hasLower(keyword: string): boolean;
  /** Start and end offsets of the line holding `offset`. */
  lineBounds(offset: number): [number, number];
  /** 1-based line and column of `offset`. */
  position(offset: number): { line: number; column: number };
  /** Under test/, fixtures/, examples/…: fake credentials are common there. */
  readonly testPath: boolean;
  /** A lockfile: full of hashes, never hand-written secrets. */
  readonly lockfile: boolean;
  /** Long lines on average: a minified bundle, where assignment heuristics are noise. */
  readonly minified: boolean;
}

/** One candidate secret a detector found. */
export interface Hit {
  /** Rule name without the `secrets/` prefix. */
  rule: string;
  /** Offsets of the secret in `ScanFile.text`. */
  start: number;
  end: number;
  /** The sensitive value: used to deduplicate and to check evidence, never reported. */
  secret: string;
  severity: Severity;
  confidence: Confidence;
  /** What was found, with an article: `a GitHub personal access token`. */
  label: string;
  /** Redacted excerpt. */
  evidence: string;
  /** Characters of `secret` the evidence may show (its non-secret prefix). */
  shown: number;
  details?: Record<string, unknown>;
}

/** Documentation of one rule a detector can report. */
export interface RuleInfo {
  id: string;
  severity: Severity;
  confidence: Confidence;
  summary: string;
}

export interface Detector {
  readonly rules: readonly RuleInfo[];
  /** When hits overlap, the higher priority wins: a specific format over a generic guess. */
  readonly priority: number;
  /** The detector runs only when the text contains one of these (case-sensitive). */
  readonly keywords?: readonly string[];
  /** Or one of these in the lower-cased text. */
  readonly lowerKeywords?: readonly string[];
  /** Path-based claim, checked before the keywords. */
  accepts?(file: ScanFile): boolean;
  detect(file: ScanFile): Hit[];
}

export const PRIORITY = {
  generic: 0,
  context: 10,
  file: 20,
  provider: 30,
  bundle: 40,
} as const;
