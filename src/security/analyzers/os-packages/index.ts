import type { AnalysisContext, Analyzer, AnalyzerFinding, ContentView } from '../../types.js';
import { SHELLS } from '../install-scripts/patterns.js';
import { dedupe, toFinding, type Hit } from './findings.js';
import { payloadOwners, shippedServices } from './package-contents.js';
import { inspectPayload } from './payload-rules.js';
import { inspectLuaCode } from './lua-rules.js';
import { inspectOtherScript, inspectShellCode, type ScriptScope } from './script-rules.js';
import { scriptletsOf, type Scriptlet } from './scriptlets.js';

/**
 * OS packages (Debian and RPM): judges what the maintainer scripts and scriptlets do as root, and
 * what the payload installs where the system will pick it up. Scripts are parsed, never run.
 */

export { scriptletsOf, type Scriptlet, type ScriptletSource } from './scriptlets.js';

/** Debian's largest maintainer scripts are tens of KB; parsing stays well under a second below this. */
const MAX_SCRIPT_CHARS = 1024 * 1024;

/** Package formats whose artifacts install into the operating system. */
const OS_FORMATS: ReadonlySet<string> = new Set(['debian', 'rpm']);

export const osPackagesAnalyzer: Analyzer = {
  id: 'os-packages',
  // 2: Lua scriptlets, `-p <program>` scriptlets, cut manifest bodies, ghost entries.
  version: 2,
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
  const size = scriptlet.size ?? scriptlet.body.length;
  if (size > MAX_SCRIPT_CHARS) {
    return [{ rule: 'uninspectable-script', severity: 'high', confidence: 'high', message: `${scope.subject} is ${size} characters long, far beyond any real maintainer script.` }];
  }
  if (scriptlet.truncated === true) {
    // What follows the cut is unseen; judging the start alone would let padding hide it.
    return [{ rule: 'uninspectable-script', severity: 'high', confidence: 'high', message: `${scope.subject} was cut to ${scriptlet.body.length} of ${size} characters before inspection.` }];
  }
  const language = languageOf(scriptlet);
  if (language === 'perl' || language === 'python') return inspectOtherScript(scriptlet.body, language, scope);
  if (language === 'lua') return inspectLuaCode(scriptlet.body, scope);
  if (language === 'program') {
    // RPM `%post -p /sbin/ldconfig` with no body: rpm runs the program (and its arguments) itself,
    // which is what a one-line shell script saying the same would do.
    return inspectShellCode(scriptlet.interpreter ?? '', scope);
  }
  return inspectShellCode(scriptlet.body, scope);
}

type Language = 'shell' | 'perl' | 'python' | 'lua' | 'program';

/**
 * The format's stated interpreter (RPM `-p`) or the shebang decides; no shebang runs as shell
 * under RPM. `<lua>` is rpm's embedded interpreter. A stated program that is no interpreter and
 * has no body is run as a command.
 */
function languageOf(scriptlet: Scriptlet): Language {
  const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(scriptlet.body ?? '');
  const stated = scriptlet.interpreter?.trim().split(/\s+/)[0];
  const program = stated ?? (shebang?.[1]?.endsWith('/env') ? shebang[2] : shebang?.[1]) ?? '';
  const name = program.split('/').pop() ?? '';
  if (name === 'perl') return 'perl';
  if (/^python/.test(name)) return 'python';
  if (name === '<lua>' || /^lua(?:jit|[0-9.]*)$/.test(name)) return 'lua';
  if (stated !== undefined && (scriptlet.body ?? '').trim() === '' && !SHELLS.has(name)) return 'program';
  return 'shell';
}
