import type { Confidence, Severity } from '../../types.js';
import { PRIORITY, type Detector, type Hit, type ScanFile } from './detector.js';
import { shannonEntropy } from './entropy.js';
import { isPlaceholder } from './placeholders.js';
import { redact } from './redact.js';

/** Adjustments a rule's own check makes to a match; `null` drops it. */
export interface Verdict {
  severity?: Severity;
  confidence?: Confidence;
  label?: string;
  details?: Record<string, unknown>;
}

interface BaseSpec {
  /** Rule name without `secrets/`. */
  id: string;
  /** With its article: `a GitHub personal access token`. */
  label: string;
  severity: Severity;
  confidence: Confidence;
  summary: string;
  /** Characters of the secret shown in evidence. */
  shown?: number;
  /** Floor on the Shannon entropy of the secret's variable part: loose formats need one. */
  minEntropy?: number;
  /** Length of a fixed prefix excluded from the placeholder and entropy checks. */
  fixedPrefix?: number;
  /** The random part judged by the placeholder and entropy checks, when not simply after a prefix. */
  variablePart?(secret: string): string;
  verify?(secret: string, file: ScanFile, match: RegExpExecArray): Verdict | null;
  priority?: number;
}

/** A token that starts with one of a few literal prefixes: found by `indexOf`, matched sticky. */
export interface PrefixSpec extends BaseSpec {
  prefixes: readonly string[];
  /** Sticky (`y`) pattern matched at each prefix occurrence; the `secret` group (`d` flag) or the whole match is the secret. */
  pattern: RegExp;
}

/** A token without a literal start: a global pattern run once the keywords are present. */
export interface ScanSpec extends BaseSpec {
  keywords?: readonly string[];
  lowerKeywords?: readonly string[];
  /** Global (`g`) pattern; the `secret` group (or the whole match) is the secret. */
  pattern: RegExp;
}

// Bounds work on files stuffed with a prefix (dictionaries, test vectors).
const MAX_CANDIDATES = 2000;
const TOKEN_CHAR = /[A-Za-z0-9_]/;

function judge(spec: BaseSpec, secret: string, file: ScanFile, match: RegExpExecArray, prefixLength: number): Omit<Hit, 'start' | 'end'> | undefined {
  const variable = spec.variablePart ? spec.variablePart(secret) : secret.slice(spec.fixedPrefix ?? prefixLength);
  if (isPlaceholder(variable)) return undefined;
  if (spec.minEntropy !== undefined && shannonEntropy(variable) < spec.minEntropy) return undefined;
  const verdict = spec.verify ? spec.verify(secret, file, match) : {};
  if (verdict === null) return undefined;
  const shown = spec.shown ?? prefixLength + 2;
  const hit: Omit<Hit, 'start' | 'end'> = {
    rule: spec.id,
    secret,
    severity: verdict.severity ?? spec.severity,
    confidence: verdict.confidence ?? spec.confidence,
    label: verdict.label ?? spec.label,
    evidence: redact(secret, shown),
    shown,
  };
  if (verdict.details) hit.details = verdict.details;
  return hit;
}

/** The `secret` group of a match (patterns with one use the `d` flag) or the whole match, with its offset. */
function secretOf(m: RegExpExecArray): [string, number] {
  const secret = m.groups?.secret;
  const span = m.indices?.groups?.secret;
  if (secret === undefined || span === undefined) return [m[0], m.index];
  return [secret, span[0]];
}

function ruleInfo(spec: BaseSpec) {
  return [{ id: spec.id, severity: spec.severity, confidence: spec.confidence, summary: spec.summary }];
}

export function createPrefixDetector(spec: PrefixSpec): Detector {
  if (!spec.pattern.sticky) throw new Error(`secrets/${spec.id}: prefix patterns must be sticky`);
  return {
    rules: ruleInfo(spec),
    priority: spec.priority ?? PRIORITY.provider,
    keywords: spec.prefixes,
    detect(file) {
      const hits: Hit[] = [];
      const { text } = file;
      for (const prefix of spec.prefixes) {
        if (!file.has(prefix)) continue;
        let from = 0;
        for (let n = 0; n < MAX_CANDIDATES; n++) {
          const at = text.indexOf(prefix, from);
          if (at < 0) break;
          from = at + prefix.length;
          // A prefix glued to a longer identifier (`xghp_…`) is not a token start.
          if (at > 0 && TOKEN_CHAR.test(text[at - 1] ?? '')) continue;
          spec.pattern.lastIndex = at;
          const m = spec.pattern.exec(text);
          if (!m) continue;
          const [secret, start] = secretOf(m);
          const hit = judge(spec, secret, file, m, secret === m[0] ? prefix.length : 0);
          if (hit) hits.push({ ...hit, start, end: start + secret.length });
          from = at + m[0].length;
        }
      }
      return hits;
    },
  };
}

export function createScanDetector(spec: ScanSpec): Detector {
  if (!spec.pattern.global) throw new Error(`secrets/${spec.id}: scan patterns must be global`);
  const detector: Detector = {
    rules: ruleInfo(spec),
    priority: spec.priority ?? PRIORITY.provider,
    detect(file) {
      const hits: Hit[] = [];
      const re = spec.pattern;
      re.lastIndex = 0;
      for (let n = 0; n < MAX_CANDIDATES; n++) {
        const m = re.exec(file.text);
        if (!m) break;
        if (m[0].length === 0) re.lastIndex++;
        const [secret, start] = secretOf(m);
        const hit = judge(spec, secret, file, m, 0);
        if (hit) hits.push({ ...hit, start, end: start + secret.length });
      }
      return hits;
    },
  };
  return {
    ...detector,
    ...(spec.keywords ? { keywords: spec.keywords } : {}),
    ...(spec.lowerKeywords ? { lowerKeywords: spec.lowerKeywords } : {}),
  };
}
