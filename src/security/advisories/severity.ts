import cvssCalculator from 'ae-cvss-calculator';
import { SEVERITIES, type Severity } from '../types.js';

/**
 * Severity words and CVSS scores → Stockade's five severities.
 *
 * CVSS v3.x and v4.0 use the FIRST qualitative scale: 0.0 none (`info`), 0.1–3.9 low,
 * 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0 critical. CVSS v2 has no "critical": NVD's v2 scale is
 * 0.0–3.9 low, 4.0–6.9 medium, 7.0–10.0 high.
 */

export type CvssVersion = 2 | 3 | 4;

export function severityFromScore(score: number, version: CvssVersion = 3): Severity {
  if (!Number.isFinite(score) || score <= 0) return version === 2 ? 'low' : 'info';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (version === 2 || score < 9) return 'high';
  return 'critical';
}

// The vector grammars of the OSV schema (severity[].score for CVSS_V2/V3/V4). A vector must match
// before the calculator sees it.
const V2_METRIC = String.raw`(?:AV:[NAL]|AC:[LMH]|Au:[MSN]|[CIA]:[NPC]|E:(?:U|POC|F|H|ND)|RL:(?:OF|TF|W|U|ND)|RC:(?:UC|UR|C|ND)|CDP:(?:N|L|LM|MH|H|ND)|TD:(?:N|L|M|H|ND)|[CIA]R:(?:L|M|H|ND))`;
const V3_METRIC = String.raw`(?:AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])`;
const V2_RE = new RegExp(`^(?:${V2_METRIC}/)*${V2_METRIC}$`);
const V3_RE = new RegExp(`^CVSS:3[.][01]/(?:${V3_METRIC}/)*${V3_METRIC}$`);
const V4_RE =
  /^CVSS:4[.]0\/AV:[NALP]\/AC:[LH]\/AT:[NP]\/PR:[NLH]\/UI:[NPA]\/VC:[HLN]\/VI:[HLN]\/VA:[HLN]\/SC:[HLN]\/SI:[HLN]\/SA:[HLN](\/E:[XAPU])?(\/CR:[XHML])?(\/IR:[XHML])?(\/AR:[XHML])?(\/MAV:[XNALP])?(\/MAC:[XLH])?(\/MAT:[XNP])?(\/MPR:[XNLH])?(\/MUI:[XNPA])?(\/MVC:[XNLH])?(\/MVI:[XNLH])?(\/MVA:[XNLH])?(\/MSC:[XNLH])?(\/MSI:[XNLHS])?(\/MSA:[XNLHS])?(\/S:[XNP])?(\/AU:[XNY])?(\/R:[XAUI])?(\/V:[XDC])?(\/RE:[XLMH])?(\/U:(X|Clear|Green|Amber|Red))?$/;

export interface CvssResult {
  version: CvssVersion;
  /** Base score, 0.0–10.0. */
  score: number;
  severity: Severity;
}

/**
 * Scores a CVSS v2, v3.0/3.1 or v4.0 vector (as in OSV `severity[].score`). Undefined when the
 * vector is malformed or its base metrics are incomplete.
 */
export function scoreCvssVector(vector: string): CvssResult | undefined {
  if (typeof vector !== 'string' || vector.length > 512) return undefined;
  const text = vector.trim();
  let version: CvssVersion;
  if (V4_RE.test(text)) version = 4;
  else if (V3_RE.test(text)) version = 3;
  else if (V2_RE.test(text)) version = 2;
  else return undefined;
  try {
    const parsed = cvssCalculator.fromVector(text) as {
      isBaseFullyDefined(): boolean;
      calculateScores(): { base?: number; overall?: number };
    } | null;
    if (!parsed || !parsed.isBaseFullyDefined()) return undefined;
    const scores = parsed.calculateScores();
    const score = typeof scores.base === 'number' ? scores.base : scores.overall;
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
    return { version, score, severity: severityFromScore(score, version) };
  } catch {
    return undefined;
  }
}

const WORDS: Record<string, Severity> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  minor: 'low',
  negligible: 'info',
  none: 'info',
  info: 'info',
  informational: 'info',
};

/** `MODERATE`, `High`, `negligible`, … → severity; undefined for anything else. */
export function severityFromWord(word: unknown): Severity | undefined {
  if (typeof word !== 'string' || word.length > 40) return undefined;
  return WORDS[word.trim().toLowerCase()];
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
}
