import type { AnalysisContext, Analyzer, AnalyzerFinding, ContentView } from '../../types.js';
import { emptyInspection, type CodeLanguage, type Inspection, type RunRequest } from './facts.js';
import { gypCommands, installHooks, scriptsOf, type Hook } from './hooks.js';
import { inspectJs } from './js-inspect.js';
import { dedupe, judge } from './judge.js';
import { clip } from './patterns.js';
import { inspectShellSource, type ShellInspectOptions } from './shell-inspect.js';
import { inspectText } from './text-inspect.js';
import { joinInsidePackage } from '../../package-paths.js';

/**
 * Install scripts: judges what npm lifecycle hooks do, not that they exist. Each hook command
 * is parsed (never run), the package files it runs are opened from the view and inspected, and
 * the facts of each unit are correlated into findings (see judge.ts). Every present hook is
 * also reported as info so reviewers see it.
 */

/** Package files followed from hooks (scripts, their relative requires); more is not install code. */
const MAX_FILES = 24;
/** Levels of "a file run by a file run by a hook" followed. */
const MAX_FILE_DEPTH = 3;
/** Levels of code-in-a-string (`node -e "exec('sh -c …')"`) inspected. */
const MAX_INLINE_DEPTH = 6;
/**
 * JavaScript parsed per analysis (acorn runs at a few MB/s); files past it get line checks.
 * Real install helpers are a few KB; this keeps a hostile package to a bounded cost.
 */
const MAX_PARSE_BYTES = 4 * 1024 * 1024;

export const installScriptsAnalyzer: Analyzer = {
  id: 'install-scripts',
  version: 1,
  cacheable: true,
  appliesTo: (artifact) => artifact.ecosystem === 'npm',
  analyze(view, ctx) {
    return analyzeInstallScripts(view, ctx);
  },
};

function analyzeInstallScripts(view: ContentView, ctx: AnalysisContext): AnalyzerFinding[] {
  const manifest = ctx.artifact.manifest;
  const hooks = installHooks(manifest, view);
  if (hooks.length === 0) return [];
  const scripts = scriptsOf(manifest);
  const findings: AnalyzerFinding[] = [];
  const visited = new Set<string>();
  const budget = { parseBytes: MAX_PARSE_BYTES };

  for (const hook of hooks) {
    ctx.checkDeadline();
    const hookLocation = hook.line === undefined ? { file: hook.file } : { file: hook.file, line: hook.line };
    const hookText = clip(`"${hook.name}": ${JSON.stringify(hook.command)}`);
    const implicit = hook.file === 'binding.gyp' ? ' (implicit, from binding.gyp)' : '';
    findings.push({
      rule: 'install-scripts/hook',
      severity: 'info',
      confidence: 'high',
      message: `The package runs a "${hook.name}" script${implicit}${hook.gitOnly ? ' when installed from a git repository' : ' when installed'}.`,
      location: hookLocation,
      evidence: hookText,
      details: { hook: hook.name, command: clip(hook.command, 500) },
    });

    const inspectors = createInspectors(scripts, 0);
    const inspection = inspectShellSource(hook.command, inspectors.shellOptions);
    const subject = `the "${hook.name}" script`;
    findings.push(...judge({ subject, file: hook.file, ...(hook.line !== undefined ? { line: hook.line } : {}), facts: inspection.facts, gitOnly: hook.gitOnly }));

    if (/\bnode-(?:pre-)?gyp\b|\bprebuild-install\b|\bcmake-js\b/.test(hook.command)) findings.push(...inspectGyp(view, hook, scripts));
    findings.push(...followRuns(view, ctx, { hook, hookText, runs: inspection.runs, scripts, visited, budget }));
  }
  return dedupe(findings);
}

interface Inspectors {
  shellOptions: ShellInspectOptions;
  /** Inspects a shell command found inside code, on the given line. */
  shell(command: string, line: number): Inspection;
  inspect(language: CodeLanguage, source: string, lineOffset?: number): Inspection;
}

/** The language checks wired to each other: shell calls JS for `node -e`, JS calls shell for `exec`. */
function createInspectors(scripts: Readonly<Record<string, unknown>>, depth: number): Inspectors {
  const deeper = (): Inspectors => createInspectors(scripts, depth + 1);
  const shellOptions: ShellInspectOptions = {
    scripts,
    inline: (language, code) => (depth >= MAX_INLINE_DEPTH ? emptyInspection() : deeper().inspect(language, code)),
  };
  const shell = (command: string, line: number): Inspection => (depth >= MAX_INLINE_DEPTH ? emptyInspection() : inspectShellSource(command, deeper().shellOptions, line - 1));
  return {
    shellOptions,
    shell,
    inspect(language, source, lineOffset = 0) {
      switch (language) {
        case 'js':
          return inspectJs(source, { shell, lineOffset });
        case 'shell':
          return inspectShellSource(source, shellOptions, lineOffset);
        default:
          return inspectText(source, { language, shell, lineOffset });
      }
    },
  };
}

/** Commands gyp runs while configuring a native build (`<!(…)` in binding.gyp). */
function inspectGyp(view: ContentView, hook: Hook, scripts: Readonly<Record<string, unknown>>): AnalyzerFinding[] {
  const gyp = view.text('binding.gyp');
  if (gyp === undefined) return [];
  const inspectors = createInspectors(scripts, 0);
  const findings: AnalyzerFinding[] = [];
  for (const { command, line } of gypCommands(gyp)) {
    const inspection = inspectShellSource(command, inspectors.shellOptions, line - 1);
    findings.push(...judge({ subject: `"binding.gyp" (built by the "${hook.name}" script)`, file: 'binding.gyp', facts: inspection.facts.map((f) => ({ ...f, line })), gitOnly: hook.gitOnly }));
  }
  return findings;
}

interface FollowInput {
  hook: Hook;
  hookText: string;
  runs: readonly RunRequest[];
  scripts: Readonly<Record<string, unknown>>;
  /** Files already inspected in this analysis (several hooks may run the same file). */
  visited: Set<string>;
  budget: { parseBytes: number };
}

/** Opens the package files a hook runs, inspects them, and follows what they run in turn. */
function followRuns(view: ContentView, ctx: AnalysisContext, input: FollowInput): AnalyzerFinding[] {
  const { hook } = input;
  const findings: AnalyzerFinding[] = [];
  const queue = input.runs.map((run) => ({ run, depth: 0, from: undefined as string | undefined }));
  while (queue.length > 0) {
    const { run, depth, from } = queue.shift() as (typeof queue)[number];
    const path = resolveFile(view, run);
    if (path === undefined) {
      if (from === undefined && !input.visited.has(`missing:${run.path}`)) {
        input.visited.add(`missing:${run.path}`);
        findings.push(runsFinding(hook, input.hookText, run.path, `The "${hook.name}" script runs "${run.path}", which is not in the package.`));
      }
      continue;
    }
    if (input.visited.has(path) || input.visited.size >= MAX_FILES) continue;
    input.visited.add(path);
    ctx.checkDeadline();
    if (from === undefined) findings.push(runsFinding(hook, input.hookText, path, `The "${hook.name}" script runs "${path}" from the package.`));

    const subject = from === undefined ? `"${path}" (run by the "${hook.name}" script)` : `"${path}" (loaded by "${from}")`;
    const inspection = inspectFile(view, path, run.language, input);
    findings.push(...judge({ subject, file: path, facts: inspection.facts, gitOnly: hook.gitOnly }));
    if (depth + 1 > MAX_FILE_DEPTH) continue;
    for (const next of inspection.runs) {
      // JavaScript requires resolve against the requiring file; shell paths against the package root.
      const base = run.language === 'js' || /\.[cm]?js$/.test(path) ? path.split('/').slice(0, -1).join('/') : '';
      const joined = joinRelative(base, next.path);
      if (joined !== undefined) queue.push({ run: { ...next, path: joined }, depth: depth + 1, from: path });
    }
  }
  return findings;
}

function runsFinding(hook: Hook, hookText: string, path: string, message: string): AnalyzerFinding {
  return { rule: 'install-scripts/runs-package-file', severity: 'info', confidence: 'high', message, location: { file: path }, evidence: hookText, details: { hook: hook.name, path } };
}

const JS_EXTENSIONS = ['', '.js', '.cjs', '.mjs', '/index.js', '/index.cjs', '/index.mjs'];

function resolveFile(view: ContentView, run: RunRequest): string | undefined {
  const suffixes = run.language === 'js' ? JS_EXTENSIONS : [''];
  for (const suffix of suffixes) {
    const candidate = `${run.path}${suffix}`;
    if (view.get(candidate)?.type === 'file') return candidate;
  }
  return undefined;
}

const joinRelative = joinInsidePackage;

const BINARY_MAGIC: readonly Buffer[] = [Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.from('MZ'), Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), Buffer.from([0xce, 0xfa, 0xed, 0xfe]), Buffer.from([0xca, 0xfe, 0xba, 0xbe])];

/** Chooses the checks for a file from how it is run, its shebang or its extension. */
function inspectFile(view: ContentView, path: string, requested: RunRequest['language'], input: FollowInput): Inspection {
  const inspectors = createInspectors(input.scripts, 0);
  const body = view.read(path);
  const text = view.text(path);
  if (body === undefined) return emptyInspection();
  if (text === undefined) {
    const out = emptyInspection();
    if (BINARY_MAGIC.some((magic) => body.subarray(0, magic.length).equals(magic))) out.facts.push({ kind: 'binary', line: 1, evidence: path, what: `"${path}"` });
    return out;
  }
  const language = requested === 'auto' ? languageOf(path, text) : requested;
  if (language !== 'js') return inspectors.inspect(language, text);
  const parse = text.length <= input.budget.parseBytes;
  if (parse) input.budget.parseBytes -= text.length;
  return inspectJs(text, { shell: inspectors.shell, parse });
}

function languageOf(path: string, text: string): CodeLanguage {
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(text);
  if (shebang !== null) {
    const prog = (shebang[1]?.endsWith('/env') ? shebang[2] : shebang[1])?.split('/').pop() ?? '';
    if (/^(?:node|nodejs|bun|deno)$/.test(prog)) return 'js';
    if (/^python/.test(prog)) return 'python';
    if (prog === 'perl') return 'perl';
    if (prog === 'ruby') return 'ruby';
    if (/^pwsh|^powershell/.test(prog)) return 'powershell';
    return 'shell';
  }
  if (/\.[cm]?js$/.test(path)) return 'js';
  if (/\.py$/.test(path)) return 'python';
  if (/\.ps1$/.test(path)) return 'powershell';
  if (/\.pl$/.test(path)) return 'perl';
  if (/\.rb$/.test(path)) return 'ruby';
  return 'shell';
}
