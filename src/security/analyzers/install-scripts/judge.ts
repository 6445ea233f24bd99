import { SEVERITIES, type AnalyzerFinding, type Confidence, type Severity } from '../../types.js';
import { NETWORK_KINDS, type Fact } from './facts.js';

/**
 * Turns the facts of one unit of install-time code into findings. A capability alone (a
 * download, a child process) stays low; a capability next to an intent (credentials, the whole
 * environment, host facts, decoded code) in the same unit is what reaches high and critical,
 * which the default policy quarantines.
 */

export interface Unit {
  /** Who runs the code, for messages: `the "postinstall" script` or `"install.js" (run by "postinstall")`. */
  subject: string;
  /** Where findings point: package.json at the hook's line, or the inspected file. */
  file: string;
  /** The hook's line in package.json: every fact of a hook unit is reported there. */
  line?: number;
  facts: readonly Fact[];
  /** `prepare` and friends run only for git dependencies: findings are capped at low. */
  gitOnly: boolean;
}

const RULE = (name: string): string => `install-scripts/${name}`;

/** How many distinct host facts (hostname, user, interfaces) make a reconnaissance probe. */
const SYSINFO_THRESHOLD = 2;

export function judge(unit: Unit): AnalyzerFinding[] {
  const facts = unit.facts;
  const findings: AnalyzerFinding[] = [];
  const networked = facts.some((f) => NETWORK_KINDS.has(f.kind));
  const emit = (fact: Fact, rule: string, severity: Severity, confidence: Confidence, message: string): void => {
    const line = unit.line ?? fact.line;
    findings.push({
      rule: RULE(rule),
      severity,
      confidence,
      message: message.charAt(0).toUpperCase() + message.slice(1),
      location: line === undefined ? { file: unit.file } : { file: unit.file, line },
      evidence: fact.evidence,
      ...(fact.what !== undefined ? { details: { matched: fact.what } } : {}),
    });
  };
  const s = unit.subject;
  const andNetwork = networked ? ' and uses the network' : '';

  for (const fact of facts) {
    switch (fact.kind) {
      case 'pipe-to-shell':
        emit(fact, 'pipe-to-shell', 'critical', 'high', `${s} downloads code and runs it straight through an interpreter.`);
        break;
      case 'download-execute':
        emit(fact, 'download-execute', 'critical', fact.confidence ?? 'high', `${s} downloads a file and makes it executable or runs it.`);
        break;
      case 'decode-execute':
        emit(fact, 'decode-execute', 'critical', 'high', `${s} decodes hidden content (${fact.what ?? 'base64'}) and executes it.`);
        break;
      case 'socket-tool':
        emit(fact, 'network', 'critical', 'high', `${s} opens a raw network connection with ${fact.what ?? 'a socket tool'}.`);
        break;
      case 'download-tool':
      case 'network-tool':
        emit(fact, 'network', 'high', 'medium', `${s} runs the network tool ${fact.what ?? ''} during installation.`);
        break;
      case 'network-api':
        // Fetching a platform binary (esbuild-style installers) is the common benign case; one
        // finding per unit, at the first use, is enough for a reviewer.
        if (facts.find((f) => f.kind === 'network-api') === fact) {
          const apis = [...new Set(facts.filter((f) => f.kind === 'network-api').map((f) => f.what ?? 'network'))].join(', ');
          emit(fact, 'network', 'low', 'low', `${s} makes network requests (${apis}) during installation.`);
        }
        break;
      case 'credential-path':
        emit(fact, 'credential-access', networked ? 'critical' : 'high', fact.confidence ?? 'high', `${s} reads the credential file ${fact.what ?? ''}${andNetwork}.`);
        break;
      case 'secret-variable':
        emit(fact, 'credential-access', networked ? 'critical' : 'high', 'medium', `${s} reads the secret variable ${fact.what ?? ''}${andNetwork}.`);
        break;
      case 'env-dump':
        if (networked) emit(fact, 'env-exfiltration', 'critical', 'high', `${s} serializes all environment variables and uses the network.`);
        else emit(fact, 'env-exfiltration', 'low', 'low', `${s} serializes all environment variables.`);
        break;
      case 'obfuscation':
        emit(fact, 'obfuscated-script', networked ? 'critical' : 'high', fact.confidence ?? 'medium', `${s} is obfuscated (${fact.what ?? '_0x identifiers'}).`);
        break;
      case 'inline-code':
        emit(fact, 'inline-code', 'high', 'medium', `${s} runs inline ${fact.what ?? 'code'}.`);
        break;
      case 'binary':
        emit(fact, 'runs-binary', 'medium', 'low', `${s} runs the bundled executable ${fact.what ?? ''}, which cannot be inspected.`);
        break;
      default:
        break;
    }
  }

  const probes = [...new Set(facts.filter((f) => f.kind === 'sysinfo').map((f) => f.what ?? ''))];
  const homedir = facts.some((f) => f.kind === 'homedir');
  const first = facts.find((f) => f.kind === 'sysinfo');
  if (networked && first !== undefined && probes.length + (homedir ? 1 : 0) >= SYSINFO_THRESHOLD) {
    emit(first, 'sysinfo-exfiltration', 'high', 'medium', `${s} collects host and user information (${probes.join(', ')}) and uses the network.`);
  }

  return unit.gitOnly ? findings.map(capForGit) : findings;
}

function capForGit(f: AnalyzerFinding): AnalyzerFinding {
  if (SEVERITIES.indexOf(f.severity) <= SEVERITIES.indexOf('low')) return f;
  return { ...f, severity: 'low', message: `${f.message.replace(/\.$/, '')} (only when installed from a git repository).` };
}

/**
 * One finding per rule and place, the strongest kept; a `network` finding is dropped where a
 * pipe-to-shell or download-execute finding already describes the download on the same line,
 * and a low one where any stronger finding points at the same place.
 */
export function dedupe(findings: readonly AnalyzerFinding[]): AnalyzerFinding[] {
  const rank = (f: AnalyzerFinding): number => SEVERITIES.indexOf(f.severity) * 3 + ['low', 'medium', 'high'].indexOf(f.confidence);
  const where = (f: AnalyzerFinding): string => `${f.location?.file ?? ''}:${f.location?.line ?? ''}`;
  const best = new Map<string, AnalyzerFinding>();
  for (const f of findings) {
    const key = `${f.rule}@${where(f)}`;
    const prev = best.get(key);
    if (prev === undefined || rank(f) > rank(prev)) best.set(key, f);
  }
  const kept = [...best.values()];
  return kept.filter((f) => {
    if (f.rule !== RULE('network')) return true;
    return !kept.some((o) => where(o) === where(f) && (o.rule === RULE('pipe-to-shell') || o.rule === RULE('download-execute') || (f.severity === 'low' && o !== f && SEVERITIES.indexOf(o.severity) > SEVERITIES.indexOf('low'))));
  });
}
