import type { Actor } from '../domain/audit.js';
import type { Domain } from '../domain/index.js';
import type { GateRecord, VersionStatus } from '../domain/packages.js';
import type { RepoInfo } from '../domain/repos.js';
import { analyzers as defaultAnalyzers } from './analyzers/list.js';
import { scanArtifact, type ScanCache, type ScanReport } from './gate.js';
import { StockadeError } from '../errors.js';
import { createJudge, DEFAULT_POLICY, joinReasons, type Judge, parsePolicy, type Policy, type Verdict } from './policy.js';
import { createAdvisoryLookup } from './advisory-lookup.js';
import { createPopularNames } from './popular.js';
import type { AdvisoryLookup, Analyzer, AnalyzerFinding, ArtifactClaims, ArtifactInfo, ContentView, PopularNames } from './types.js';

export interface GateOutcome {
  verdict: Verdict;
  report: ScanReport;
}

export interface SecurityGateOptions {
  analyzers?: readonly Analyzer[];
  advisories: AdvisoryLookup;
  popular: PopularNames;
  timeoutMs?: number;
  onAnalyzerError?: (analyzer: string, error: unknown) => void;
}

/**
 * The gate as the server uses it: a repository's policy and exceptions, cached analyzer results
 * and the owner's own package names around the pure scan and judge steps.
 */
export function createSecurityGate(domain: Domain, options: SecurityGateOptions) {
  const analyzers = options.analyzers ?? defaultAnalyzers;
  const cache: ScanCache = {
    getAll: (sha256) => domain.scanResults.getAll<AnalyzerFinding>(sha256),
    putAll: (sha256, results) => domain.scanResults.putAll(sha256, results),
  };

  type PolicyRecord = Awaited<ReturnType<Domain['policies']['get']>>;
  // Policies are cached as records; each record is parsed and compiled once, not per upload.
  const compiled = new WeakMap<PolicyRecord, { policy: Policy; exceptions: PolicyRecord['exceptions']; judge: Judge }>();

  function compiledOf(record: PolicyRecord) {
    let found = compiled.get(record);
    if (!found) {
      const policy = record.document === null ? DEFAULT_POLICY : parsePolicy(record.document);
      found = { policy, exceptions: record.exceptions, judge: createJudge(policy, record.exceptions) };
      compiled.set(record, found);
    }
    return found;
  }

  async function policyOf(repo: RepoInfo): Promise<{ policy: Policy; exceptions: PolicyRecord['exceptions'] }> {
    const { policy, exceptions } = compiledOf(await domain.policies.get(repo));
    return { policy, exceptions };
  }

  /** Scans an artifact bound for `repo` and judges it by that repository's policy. */
  async function evaluate(
    repo: RepoInfo,
    input: {
      artifact: ArtifactInfo;
      view: ContentView;
      claims?: ArtifactClaims;
      /** The owner's package names when the caller already has them (rescans of many versions). */
      ownerNames?: readonly string[];
    },
  ): Promise<GateOutcome> {
    const { judge } = compiledOf(await domain.policies.get(repo));
    let ownerNames: Promise<ReadonlySet<string>> | undefined;
    const loadOwnerNames = () =>
      (ownerNames ??= Promise.resolve(input.ownerNames ?? domain.packages.namesOfOwner(repo.ownerId, input.artifact.format)).then((names) => new Set(names)));
    const report = await scanArtifact(
      input.view,
      {
        artifact: input.artifact,
        ...(input.claims ? { claims: input.claims } : {}),
        advisories: options.advisories,
        popular: options.popular,
        ownerNames: loadOwnerNames,
      },
      {
        analyzers,
        cache,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.onAnalyzerError ? { onError: options.onAnalyzerError } : {}),
      },
    );
    const verdict = judge({ name: input.artifact.name, version: input.artifact.version, findings: report.findings, failures: report.failures });
    return { verdict, report };
  }

  /** An upload the gate blocked leaves only this audit entry (and cached findings) behind. */
  async function recordBlocked(actor: Actor, repo: RepoInfo, artifact: ArtifactInfo, verdict: Verdict): Promise<void> {
    await domain.db.transaction().execute((tx) =>
      domain.audit.record(tx, actor, {
        action: 'package.block',
        target: `package:${repo.path}/${artifact.format}/${artifact.name}@${artifact.version}`,
        details: { sha256: artifact.sha256, size: artifact.size, reasons: verdict.reasons.slice(0, 20), findings: verdict.findings.slice(0, 50) },
      }),
    );
  }

  /**
   * Evaluates an artifact about to be stored: a block is recorded in the audit log and thrown as
   * PACKAGE_BLOCKED naming the findings; any other verdict is returned for the caller to store.
   */
  async function admit(actor: Actor, repo: RepoInfo, input: Parameters<typeof evaluate>[1]): Promise<Verdict> {
    const { verdict } = await evaluate(repo, input);
    if (verdict.action === 'block') {
      await recordBlocked(actor, repo, input.artifact, verdict);
      throw new StockadeError('PACKAGE_BLOCKED', [joinReasons(verdict.reasons)], { findings: verdict.findings.filter((f) => f.action === 'block') });
    }
    return verdict;
  }

  return { evaluate, admit, recordBlocked, policyOf, analyzers };
}

export type SecurityGate = ReturnType<typeof createSecurityGate>;

/** The gate with the product's own data: the advisory database and the shipped popular-name lists. */
export function createServerGate(domain: Domain, options: Omit<SecurityGateOptions, 'advisories' | 'popular'> = {}): SecurityGate {
  return createSecurityGate(domain, { ...options, advisories: createAdvisoryLookup(domain), popular: createPopularNames() });
}

/** How a verdict is stored with a version. Block never reaches storage. */
export function gateRecordOf(verdict: Verdict): GateRecord & { status: VersionStatus } {
  const record: GateRecord & { status: VersionStatus } = {
    status: verdict.action === 'quarantine' ? 'quarantined' : 'published',
    verdict: verdict.action,
    findings: verdict.findings,
  };
  if (verdict.reasons.length > 0) record.reasons = verdict.reasons.slice(0, 20);
  if (verdict.failures.length > 0) record.failures = verdict.failures;
  return record;
}
