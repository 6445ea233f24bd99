import picomatch from 'picomatch';
import { z } from 'zod';
import { StockadeError } from '../errors.js';
import { CONFIDENCES, type Finding, SEVERITIES, type Severity } from './types.js';

/** What the gate does with an artifact, from the most to the least permissive. */
export const ACTIONS = ['allow', 'warn', 'quarantine', 'block'] as const;
export type Action = (typeof ACTIONS)[number];

const ruleSchema = z
  .object({
    description: z.string().max(500).optional(),
    match: z
      .object({
        analyzer: z.string().min(1).max(100).optional(),
        /** Rule id or glob (`secrets/*`). */
        rule: z.string().min(1).max(200).optional(),
        severityAtLeast: z.enum(SEVERITIES).optional(),
        confidenceAtLeast: z.enum(CONFIDENCES).optional(),
        /** Package name glob (`@acme/*`). */
        package: z.string().min(1).max(214).optional(),
      })
      .strict(),
    action: z.enum(ACTIONS),
  })
  .strict();

const policySchema = z
  .object({
    version: z.literal(1),
    /** What an analyzer that failed or timed out counts as: `quarantine` fails closed, `allow` fails open. */
    onAnalyzerFailure: z.enum(ACTIONS).default('quarantine'),
    /** Action for a finding no rule selects. */
    defaultAction: z.enum(ACTIONS).default('allow'),
    rules: z.array(ruleSchema).max(200),
  })
  .strict();

export type PolicyRule = z.infer<typeof ruleSchema>;
export type Policy = z.infer<typeof policySchema>;

/**
 * The policy every repository starts with. Block only what is certain (known malware, leaked
 * credentials, integrity failures); put strong behavioural signals in front of a reviewer; warn
 * on everything weaker, since rule-based detectors are noisy on real code.
 */
export const DEFAULT_POLICY: Policy = Object.freeze({
  version: 1,
  onAnalyzerFailure: 'quarantine',
  defaultAction: 'allow',
  rules: [
    { description: 'known malware (OSV MAL- records)', match: { rule: 'vulns/malicious' }, action: 'block' },
    { description: 'artifact bytes or manifest disagree with what was claimed', match: { analyzer: 'integrity', severityAtLeast: 'high' }, action: 'block' },
    { description: 'leaked credentials', match: { analyzer: 'secrets', severityAtLeast: 'high', confidenceAtLeast: 'medium' }, action: 'block' },
    { description: 'possible credentials', match: { analyzer: 'secrets', severityAtLeast: 'medium' }, action: 'warn' },
    { description: 'install script with network, shell or credential access', match: { analyzer: 'install-scripts', severityAtLeast: 'high' }, action: 'quarantine' },
    { description: 'malicious behaviour in code', match: { analyzer: 'malware', severityAtLeast: 'high', confidenceAtLeast: 'high' }, action: 'quarantine' },
    { description: 'suspicious code', match: { analyzer: 'malware', severityAtLeast: 'medium' }, action: 'warn' },
    { description: 'known vulnerabilities', match: { analyzer: 'vulns', severityAtLeast: 'low' }, action: 'warn' },
    { description: 'name resembles a popular package', match: { analyzer: 'typosquat' }, action: 'warn' },
    { description: 'OS package scripts or payload taking over the system', match: { analyzer: 'os-packages', severityAtLeast: 'high', confidenceAtLeast: 'high' }, action: 'quarantine' },
    { description: 'risky OS package scripts or payload', match: { analyzer: 'os-packages', severityAtLeast: 'medium' }, action: 'warn' },
  ],
} satisfies Policy);

/** Parses a policy document (JSON or YAML already decoded), naming the exact path of any error. */
export function parsePolicy(document: unknown): Policy {
  const result = policySchema.safeParse(document);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue ? formatPath(issue.path) : '';
  const message = issue?.code === 'unrecognized_keys' ? `unknown key "${issue.keys.join('", "')}"` : (issue?.message ?? 'invalid');
  throw new StockadeError('INVALID_POLICY', [path === '' ? message : `${path}: ${message}`]);
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** An exception that lets a finding through despite the policy. */
export interface PolicyException {
  id: number;
  /** Package name or glob. */
  package: string;
  version: string | null;
  /** Rule id or glob; null for every rule. */
  rule: string | null;
  reason: string;
  expiresAt: string | null;
}

export interface JudgedFinding extends Finding {
  action: Action;
  /** Index of the policy rule that selected it, when one did. */
  policyRule?: number;
  /** The exception that allowed it, when one did. */
  exception?: number;
}

export interface AnalyzerFailure {
  analyzer: string;
  reason: string;
}

export interface Verdict {
  action: Action;
  findings: JudgedFinding[];
  failures: AnalyzerFailure[];
  /** The findings (and failures) that decided the action, most severe first: what clients are told. */
  reasons: string[];
}

const rank = <T extends string>(list: readonly T[], value: T) => list.indexOf(value);

/**
 * One verdict for a version made of several files (a PyPI release: an sdist and wheels): the
 * strictest action, every finding and failure, the reasons of the files that decided it first.
 */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  const [first, ...rest] = verdicts;
  if (first === undefined) throw new Error('combineVerdicts needs at least one verdict');
  if (rest.length === 0) return first;
  let action: Action = first.action;
  for (const v of rest) if (rank(ACTIONS, v.action) > rank(ACTIONS, action)) action = v.action;
  const deciding = verdicts.filter((v) => v.action === action);
  const reasons = [...new Set([...deciding, ...verdicts.filter((v) => v.action !== action)].flatMap((v) => v.reasons))];
  return { action, findings: verdicts.flatMap((v) => v.findings), failures: verdicts.flatMap((v) => v.failures), reasons };
}
const glob = (pattern: string) => picomatch(pattern, { nocase: false, dot: true });

/** Compiles a policy plus its exceptions into a function from findings to a verdict. */
export function createJudge(policy: Policy, exceptions: readonly PolicyException[] = [], now: () => Date = () => new Date()) {
  const rules = policy.rules.map((r) => ({
    ...r,
    ruleMatch: r.match.rule === undefined ? undefined : glob(r.match.rule),
    packageMatch: r.match.package === undefined ? undefined : glob(r.match.package),
  }));
  const compiled = exceptions.map((e) => ({ ...e, packageMatch: glob(e.package), ruleMatch: e.rule === null ? undefined : glob(e.rule) }));

  function ruleFor(finding: Finding, pkg: string): number {
    return rules.findIndex((r) => {
      const m = r.match;
      if (m.analyzer !== undefined && m.analyzer !== finding.analyzer) return false;
      if (r.ruleMatch && !r.ruleMatch(finding.rule)) return false;
      if (m.severityAtLeast && rank(SEVERITIES, finding.severity) < rank(SEVERITIES, m.severityAtLeast)) return false;
      if (m.confidenceAtLeast && rank(CONFIDENCES, finding.confidence) < rank(CONFIDENCES, m.confidenceAtLeast)) return false;
      if (r.packageMatch && !r.packageMatch(pkg)) return false;
      return true;
    });
  }

  return function judge(input: { name: string; version: string; findings: readonly Finding[]; failures?: readonly AnalyzerFailure[] }): Verdict {
    const at = now().toISOString();
    const active = compiled.filter((e) => e.expiresAt === null || e.expiresAt > at);
    const findings: JudgedFinding[] = input.findings.map((finding) => {
      const index = ruleFor(finding, input.name);
      const judged: JudgedFinding = { ...finding, action: index === -1 ? policy.defaultAction : (rules[index] as PolicyRule).action };
      if (index !== -1) judged.policyRule = index;
      if (judged.action !== 'allow') {
        const exception = active.find(
          (e) => e.packageMatch(input.name) && (e.version === null || e.version === input.version) && (!e.ruleMatch || e.ruleMatch(finding.rule)),
        );
        if (exception) {
          judged.action = 'allow';
          judged.exception = exception.id;
        }
      }
      return judged;
    });
    const failures = [...(input.failures ?? [])];
    let action: Action = 'allow';
    for (const f of findings) if (rank(ACTIONS, f.action) > rank(ACTIONS, action)) action = f.action;
    if (failures.length > 0 && rank(ACTIONS, policy.onAnalyzerFailure) > rank(ACTIONS, action)) action = policy.onAnalyzerFailure;

    const deciding = findings
      .filter((f) => f.action !== 'allow' && f.action === action)
      .sort((a, b) => rank(SEVERITIES, b.severity) - rank(SEVERITIES, a.severity));
    const reasons = deciding.map(describeFinding);
    if (action === policy.onAnalyzerFailure && action !== 'allow') {
      for (const f of failures) reasons.push(`analyzer ${f.analyzer} failed: ${f.reason}`);
    }
    return { action, findings, failures, reasons };
  };
}

export type Judge = ReturnType<typeof createJudge>;

/** `secrets/aws-access-key-id in config.js:12: AWS access key id found` */
export function describeFinding(finding: Finding): string {
  const where = finding.location ? ` in ${finding.location.file}${finding.location.line ? `:${finding.location.line}` : ''}` : '';
  return `${finding.rule}${where}: ${finding.message}`;
}

/** Reasons as one clause for an error message: `a; b` without a trailing full stop. */
export function joinReasons(reasons: readonly string[]): string {
  return reasons.map((r) => r.replace(/\.+$/, '')).join('; ');
}

export function severityRank(severity: Severity): number {
  return rank(SEVERITIES, severity);
}
