import type { AnalysisContext, Analyzer, AnalyzerFinding, ContentView } from '../../types.js';
import { dedupe, toFinding, type Hit } from './findings.js';
import { payloadOwners, shippedServices } from './package-contents.js';
import { inspectPayload } from './payload-rules.js';
import { inspectOtherScript, inspectShellCode, type ScriptScope } from './script-rules.js';
import { scriptletsOf, type Scriptlet } from './scriptlets.js';

/**
 * OS packages (Debian now, RPM next): judges what the maintainer scripts do as root, and what
 * the payload installs where the system will pick it up. Scripts are parsed, never run.
 */

export { scriptletsOf, type Scriptlet, type ScriptletSource } from './scriptlets.js';

/** Debian's largest maintainer scripts are tens of KB; parsing stays well under a second below this. */
const MAX_SCRIPT_CHARS = 1024 * 1024;

/** Package formats whose artifacts install into the operating system. */
const OS_FORMATS: ReadonlySet<string> = new Set(['debian', 'rpm']);

export const osPackagesAnalyzer: Analyzer = {
  id: 'os-packages',
  version: 1,
  // Findings depend only on the artifact: its files and the manifest the format derived from it.
  cacheable: true,
  appliesTo: (artifact) => OS_FORMATS.has(artifact.format),
  analyze(view, ctx) {
    return analyzeOsPackage(view, ctx);
  },
};

function analyzeOsPackage(view: ContentView, ctx: AnalysisContext): AnalyzerFinding[] {
  const shipped = shippedServices(view);
  const findings: AnalyzerFinding[] = [];
  const scriptlets = scriptletsOf(view, ctx.artifact);
  for (const scriptlet of scriptlets) {
    ctx.checkDeadline();
    const scope: ScriptScope = { subject: `the ${scriptlet.name} script`, shipped, checkDeadline: ctx.checkDeadline };
    findings.push(...inspectScriptlet(scriptlet, scope).map((hit) => toFinding(scriptlet.file, hit)));
  }
  const controlFiles = new Set(scriptlets.map((s) => s.file));
  const isControl = ctx.artifact.format === 'debian' ? (path: string) => path.startsWith('DEBIAN/') : (path: string) => controlFiles.has(path);
  const payload = inspectPayload(view, {
    owners: payloadOwners(ctx.artifact),
    script: { shipped, checkDeadline: ctx.checkDeadline },
    checkDeadline: ctx.checkDeadline,
    isControl,
  });
  findings.push(...payload.map(({ file, ...hit }) => toFinding(file, hit)));
  return dedupe(findings);
}

function inspectScriptlet(scriptlet: Scriptlet, scope: ScriptScope): Hit[] {
  if (scriptlet.body === undefined) {
    // dpkg executes any executable; a compiled or oversized script cannot be reviewed.
    return [
      scriptlet.binary
        ? { rule: 'uninspectable-script', severity: 'high', confidence: 'high', message: `${scope.subject} is a compiled program, which cannot be inspected.` }
        : // Not kept by the view's memory budget: a size problem, not evidence of intent.
          { rule: 'uninspectable-script', severity: 'high', confidence: 'medium', message: `${scope.subject} was not kept for inspection (view budget).` },
    ];
  }
  if (scriptlet.body.length > MAX_SCRIPT_CHARS) {
    return [{ rule: 'uninspectable-script', severity: 'high', confidence: 'high', message: `${scope.subject} is ${scriptlet.body.length} characters long, far beyond any real maintainer script.` }];
  }
  const language = languageOf(scriptlet);
  if (language === 'perl' || language === 'python') return inspectOtherScript(scriptlet.body, language, scope);
  return inspectShellCode(scriptlet.body, scope);
}

/** The shebang (or the format's stated interpreter) decides; no shebang runs as shell under RPM. */
function languageOf(scriptlet: Scriptlet): 'shell' | 'perl' | 'python' {
  const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(scriptlet.body ?? '');
  const program = scriptlet.interpreter ?? (shebang?.[1]?.endsWith('/env') ? shebang[2] : shebang?.[1]) ?? '';
  const name = program.split('/').pop() ?? '';
  if (name === 'perl') return 'perl';
  if (/^python/.test(name)) return 'python';
  return 'shell';
}
