import { type AnalyzerFailure, severityRank } from './policy.js';
import type { AnalysisContext, Analyzer, AnalyzerFinding, ContentView, Finding } from './types.js';

/** One analyzer's stored findings for one content digest. */
export interface CachedScan {
  analyzer: string;
  version: number;
  findings: AnalyzerFinding[];
}

/**
 * Cached findings of content-only analyzers, keyed by (sha256, analyzer id, analyzer version).
 * Read and written per artifact, so a scan costs one lookup and at most one write.
 */
export interface ScanCache {
  getAll(sha256: string): Promise<CachedScan[]>;
  putAll(sha256: string, results: CachedScan[]): Promise<void>;
}

export interface AnalyzerOutcome {
  analyzer: string;
  version: number;
  status: 'ok' | 'failed' | 'timeout';
  error?: string;
  findings: Finding[];
  cached: boolean;
  ms: number;
}

export interface ScanReport {
  outcomes: AnalyzerOutcome[];
  findings: Finding[];
  failures: AnalyzerFailure[];
}

export interface ScanOptions {
  analyzers: readonly Analyzer[];
  cache?: ScanCache;
  /** Time budget per analyzer. */
  timeoutMs?: number;
  /** Called for an analyzer that threw (not for timeouts), so the server can log it. */
  onError?: (analyzer: string, error: unknown) => void;
}

/** Largest number of findings one analyzer may report for one artifact; the rest are summarized. */
export const MAX_FINDINGS_PER_ANALYZER = 200;

class AnalyzerTimeout extends Error {}

/**
 * Runs every applicable analyzer over one artifact. An analyzer that throws or overruns its
 * budget is recorded as failed; it never fails the scan, and policy decides what a failure means.
 */
export async function scanArtifact(view: ContentView, ctx: Omit<AnalysisContext, 'checkDeadline'>, options: ScanOptions): Promise<ScanReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const applicable = options.analyzers.filter((analyzer) => analyzer.appliesTo(ctx.artifact));
  const sha256 = ctx.artifact.sha256;
  const cache = options.cache && applicable.some((a) => a.cacheable) ? options.cache : undefined;
  const known = new Map<string, AnalyzerFinding[]>();
  if (cache) for (const hit of await cache.getAll(sha256)) known.set(`${hit.analyzer}@${hit.version}`, hit.findings);
  const fresh: CachedScan[] = [];
  const outcomes: AnalyzerOutcome[] = [];
  for (const analyzer of applicable) {
    const cached = analyzer.cacheable ? known.get(`${analyzer.id}@${analyzer.version}`) : undefined;
    const { raw, ...outcome } = await runOne(analyzer, view, ctx, timeoutMs, options, cached);
    if (cache && analyzer.cacheable && outcome.status === 'ok' && !outcome.cached) fresh.push({ analyzer: analyzer.id, version: analyzer.version, findings: raw });
    outcomes.push(outcome);
  }
  if (cache && fresh.length > 0) await cache.putAll(sha256, fresh);
  const findings = outcomes.flatMap((o) => o.findings);
  const failures = outcomes
    .filter((o) => o.status !== 'ok')
    .map((o) => ({ analyzer: o.analyzer, reason: o.status === 'timeout' ? `took longer than ${timeoutMs} ms` : (o.error ?? 'failed') }));
  return { outcomes, findings, failures };
}

async function runOne(
  analyzer: Analyzer,
  view: ContentView,
  base: Omit<AnalysisContext, 'checkDeadline'>,
  timeoutMs: number,
  options: ScanOptions,
  cached: AnalyzerFinding[] | undefined,
): Promise<AnalyzerOutcome & { raw: AnalyzerFinding[] }> {
  const started = performance.now();
  const outcome = (status: AnalyzerOutcome['status'], found: AnalyzerFinding[], fromCache: boolean, error?: string): AnalyzerOutcome & { raw: AnalyzerFinding[] } => {
    const result: AnalyzerOutcome & { raw: AnalyzerFinding[] } = {
      analyzer: analyzer.id,
      version: analyzer.version,
      status,
      findings: capFindings(analyzer.id, found).map((f) => ({ ...f, analyzer: analyzer.id })),
      cached: fromCache,
      raw: found,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (error !== undefined) result.error = error;
    return result;
  };
  if (cached !== undefined) return outcome('ok', cached, true);

  const deadline = started + timeoutMs;
  const ctx: AnalysisContext = {
    ...base,
    checkDeadline() {
      if (performance.now() > deadline) throw new AnalyzerTimeout();
    },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    // CPU-bound analyzers stop themselves through checkDeadline; the timer covers waiting ones.
    const found = await Promise.race([
      Promise.resolve().then(() => analyzer.analyze(view, ctx)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AnalyzerTimeout()), timeoutMs);
      }),
    ]);
    validateFindings(analyzer.id, found);
    return outcome('ok', found, false);
  } catch (error) {
    if (error instanceof AnalyzerTimeout) return outcome('timeout', [], false);
    options.onError?.(analyzer.id, error);
    return outcome('failed', [], false, error instanceof Error ? error.message.slice(0, 300) : 'failed');
  } finally {
    clearTimeout(timer);
  }
}

function validateFindings(id: string, findings: unknown): asserts findings is AnalyzerFinding[] {
  if (!Array.isArray(findings)) throw new Error(`analyzer ${id} returned ${typeof findings}, not a list of findings`);
  for (const f of findings as AnalyzerFinding[]) {
    if (typeof f?.rule !== 'string' || !f.rule.startsWith(`${id}/`)) {
      throw new Error(`analyzer ${id} returned a finding whose rule id does not start with "${id}/"`);
    }
  }
}

/** A package with thousands of hits is summarized rather than stored hit by hit. */
function capFindings(id: string, findings: AnalyzerFinding[]): AnalyzerFinding[] {
  if (findings.length <= MAX_FINDINGS_PER_ANALYZER) return findings;
  const bySeverity = [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const kept = bySeverity.slice(0, MAX_FINDINGS_PER_ANALYZER);
  const dropped = findings.length - kept.length;
  return [
    ...kept,
    {
      rule: `${id}/more-findings`,
      severity: 'info',
      confidence: 'high',
      message: `${dropped} further findings of analyzer ${id} were not recorded`,
      details: { dropped },
    },
  ];
}
