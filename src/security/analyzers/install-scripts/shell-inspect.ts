import { joinInsidePackage } from '../../package-paths.js';
import { emptyInspection, mergeInspection, type CodeLanguage, type Fact, type Inspection } from './facts.js';
import {
  DOWNLOADERS,
  NODES,
  POWERSHELLS,
  PYTHONS,
  REMOTE_TOOLS,
  SHELLS,
  SOCKET_TOOLS,
  WRAPPERS,
  clip,
  credentialPathIn,
  isInterpreter,
  isSecretVariable,
} from './patterns.js';
import { parseShell, type ShellCommand, type ShellScript, type ShellWord } from './shell-parse.js';

export interface ShellInspectOptions {
  /** Inspects code given inline to an interpreter (`node -e`, `python -c`, …). */
  inline(language: Exclude<CodeLanguage, 'shell'>, code: string): Inspection;
  /** The manifest's scripts, to follow `npm run <name>`. */
  scripts?: Readonly<Record<string, unknown>>;
}

/** Nested `sh -c`, `eval` and `npm run` levels followed; deeper ones are not inspected. */
const MAX_NESTING = 4;
/** Commands looked at per inspection; real hooks and install.sh files stay far below. */
const MAX_COMMANDS = 5000;

/** Inspects shell source: a hook command or a shipped `.sh` file. */
export function inspectShellSource(source: string, options: ShellInspectOptions, lineOffset = 0): Inspection {
  return inspectShell(parseShell(source, { lineOffset }), options);
}

export function inspectShell(script: ShellScript, options: ShellInspectOptions): Inspection {
  const state: State = { options, out: emptyInspection(), downloaded: new Set(), downloadsToFile: false, chmodTargets: [], commands: 0, seenScripts: new Set() };
  walkScript(script, state, 0, '');
  finishDownloads(state);
  return state.out;
}

interface State {
  options: ShellInspectOptions;
  out: Inspection;
  /** Base names of files a downloader wrote. */
  downloaded: Set<string>;
  downloadsToFile: boolean;
  /** Files made executable, with the command's line. */
  chmodTargets: { name: string; line: number; evidence: string }[];
  commands: number;
  seenScripts: Set<string>;
}

/** A command with wrappers (`sudo`, `env X=1`, `npx`) peeled off. */
interface Resolved {
  program: string;
  programWord: ShellWord;
  args: ShellWord[];
}

function addFact(state: State, fact: Fact): void {
  state.out.facts.push(fact);
}

function walkScript(script: ShellScript, state: State, nesting: number, cwd: string | undefined): void {
  let dir = cwd;
  for (const pipeline of script.pipelines) {
    checkPipeline(pipeline.commands, state);
    for (const cmd of pipeline.commands) {
      if (++state.commands > MAX_COMMANDS) return;
      dir = walkCommand(cmd, state, nesting, dir);
    }
  }
}

/** Looks at one command and everything nested in it; returns the working directory after it. */
function walkCommand(cmd: ShellCommand, state: State, nesting: number, cwd: string | undefined): string | undefined {
  if (cmd.group !== undefined) walkScript(cmd.group, state, nesting, cwd);
  const allWords = [...cmd.assignments, ...cmd.words, ...cmd.redirects.map((r) => r.target)];
  for (const w of allWords) {
    for (const sub of w.substitutions) walkScript(sub, state, nesting, cwd);
    checkWordText(w, cmd, state);
  }
  for (const r of cmd.redirects) {
    if (r.heredoc !== undefined) checkText(r.heredoc, cmd.line, state);
  }
  const resolved = resolve(cmd);
  if (resolved === undefined) return cwd;
  return checkProgram(resolved, cmd, state, nesting, cwd);
}

function evidenceOf(cmd: ShellCommand): string {
  return clip([...cmd.assignments, ...cmd.words].map((w) => w.text).join(' '));
}

/** Credential paths, secret variables and raw sockets mentioned anywhere in a word. */
function checkWordText(w: ShellWord, cmd: ShellCommand, state: State): void {
  // Evidence is built only for a finding: a hostile script of many long words must stay linear.
  const evidence = () => evidenceOf(cmd);
  checkText(w.text, cmd.line, state, evidence);
  for (const v of w.variables) {
    if (isSecretVariable(v)) addFact(state, { kind: 'secret-variable', line: cmd.line, evidence: evidence(), what: `$${v}` });
  }
}

function checkText(text: string, line: number, state: State, evidence?: () => string): void {
  // A word is one value; a here-document is lines of text.
  const path = credentialPathIn(text, evidence === undefined ? 'line' : 'value');
  if (path !== undefined) addFact(state, { kind: 'credential-path', line, evidence: evidence?.() ?? clip(text), what: path, confidence: 'high' });
  if (/\/dev\/(?:tcp|udp)\//.test(text)) addFact(state, { kind: 'socket-tool', line, evidence: evidence?.() ?? clip(text), what: '/dev/tcp' });
}

function baseName(text: string): string {
  const parts = text.split(/[/\\]/);
  return parts[parts.length - 1] ?? text;
}

function programName(w: ShellWord): string {
  return baseName(w.text).toLowerCase().replace(/\.exe$/, '');
}

function isOption(w: ShellWord): boolean {
  return w.text.startsWith('-') && w.text.length > 1;
}

/** Peels wrappers: `sudo`, `env A=1`, `npx`, `npm exec`, `timeout 10`. */
function resolve(cmd: ShellCommand): Resolved | undefined {
  let words = cmd.words;
  for (let guard = 0; guard < 8 && words.length > 0; guard++) {
    const first = words[0] as ShellWord;
    const name = programName(first);
    if (WRAPPERS.has(name)) {
      words = words.slice(1);
      while (words.length > 0 && isOption(words[0] as ShellWord)) words = words.slice(1);
      continue;
    }
    if (name === 'timeout') {
      words = words.slice(1).filter((w, i) => i > 0 || !/^[0-9.]+[smhd]?$/.test(w.text));
      continue;
    }
    if (name === 'env') {
      const rest = words.slice(1).filter((w) => !isOption(w) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.text));
      if (rest.length === 0) return { program: 'env', programWord: first, args: words.slice(1) };
      words = rest;
      continue;
    }
    if (name === 'npx' || name === 'bunx' || ((name === 'pnpm' || name === 'yarn') && words[1]?.text === 'dlx') || (name === 'npm' && words[1]?.text === 'exec')) {
      words = words.slice(name === 'npx' || name === 'bunx' ? 1 : 2);
      while (words.length > 0 && isOption(words[0] as ShellWord)) words = words.slice(1);
      if (words[0]?.text === '--') words = words.slice(1);
      continue;
    }
    return { program: name, programWord: first, args: words.slice(1) };
  }
  return undefined;
}

/** Options that take a value, per interpreter family, so the script operand is found. */
const VALUE_OPTIONS: Record<string, ReadonlySet<string>> = {
  shell: new Set(['-o', '-O', '--rcfile', '--init-file']),
  node: new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--input-type', '--env-file', '--title']),
  python: new Set(['-m', '-W', '-X', '-Q']),
  other: new Set(['-I', '-M', '-r', '-x']),
};

interface InterpreterCall {
  family: 'shell' | 'node' | 'python' | 'powershell' | 'other';
  /** Code given inline (`-c`, `-e`, `-Command`). */
  code?: ShellWord;
  /** PowerShell `-EncodedCommand`. */
  encoded?: boolean;
  /** The script file operand. */
  script?: ShellWord;
  /** True when the code comes from standard input. */
  fromStdin: boolean;
}

function interpreterCall(r: Resolved): InterpreterCall | undefined {
  const p = r.program;
  const family = SHELLS.has(p) ? 'shell' : NODES.has(p) ? 'node' : PYTHONS.has(p) ? 'python' : POWERSHELLS.has(p) ? 'powershell' : isInterpreter(p) ? 'other' : undefined;
  if (family === undefined) return undefined;
  const call: InterpreterCall = { family, fromStdin: false };
  const args = r.args;
  let stdinFlag = false;
  for (let i = 0; i < args.length; i++) {
    const a = (args[i] as ShellWord).text;
    const next = args[i + 1];
    if (family === 'powershell') {
      const lower = a.toLowerCase();
      if (/^[-/](?:e|ec|en|enc|encodedcommand)$/.test(lower)) {
        call.encoded = true;
        if (next !== undefined) call.code = next;
        return call;
      }
      if (/^[-/](?:c|command)$/.test(lower)) {
        const rest = args.slice(i + 1);
        if (rest.length === 1 && rest[0]?.text === '-') call.fromStdin = true;
        else call.code = { text: rest.map((w) => w.text).join(' '), substitutions: rest.flatMap((w) => w.substitutions), variables: [] };
        return call;
      }
      if (/^[-/](?:f|file)$/.test(lower)) {
        if (next !== undefined) call.script = next;
        return call;
      }
      continue;
    }
    if (p === 'cmd') {
      if (/^\/[ck]$/i.test(a)) {
        const rest = args.slice(i + 1);
        call.code = { text: rest.map((w) => w.text).join(' '), substitutions: rest.flatMap((w) => w.substitutions), variables: [] };
        return call;
      }
      continue;
    }
    if (a === '--') {
      // `bash -s -- args`: the arguments after `--` go to code read from stdin.
      if (next !== undefined && next.text !== '-' && !stdinFlag) call.script = next;
      else call.fromStdin = true;
      return call;
    }
    if (a === '-') {
      call.fromStdin = true;
      return call;
    }
    if (a.startsWith('-') && a.length > 1) {
      const codeOption =
        family === 'shell'
          ? /^-[a-z]*c[a-z]*$/.test(a)
          : family === 'node'
            ? /^(?:-[a-z]*[ep][a-z]*|--eval|--print)$/.test(a)
            : family === 'python'
              ? /^-[a-zA-Z]*c$/.test(a)
              : /^-[a-zA-Z]*[eE]$/.test(a);
      if (codeOption) {
        if (next !== undefined) call.code = next;
        return call;
      }
      if (family === 'shell' && /^-[a-z]*s[a-z]*$/.test(a)) stdinFlag = true;
      if (family === 'python' && a === '-m') {
        // `python -m module` runs an installed module, not a file of the package.
        return call;
      }
      const valueOptions = VALUE_OPTIONS[family] ?? VALUE_OPTIONS.other;
      if (valueOptions?.has(a)) i++;
      continue;
    }
    if (stdinFlag) {
      call.fromStdin = true;
      return call;
    }
    call.script = args[i];
    return call;
  }
  call.fromStdin = true;
  return call;
}

function hasKind(inspection: Inspection, kinds: readonly string[]): boolean {
  return inspection.facts.some((f) => kinds.includes(f.kind));
}

/** Does the command (or anything nested in it) download or decode? */
function commandDoes(cmd: ShellCommand, what: 'download' | 'decode'): boolean {
  const stack: ShellCommand[] = [cmd];
  for (let guard = 0; stack.length > 0 && guard < 1000; guard++) {
    const c = stack.pop() as ShellCommand;
    const r = resolve(c);
    if (r !== undefined && (what === 'download' ? isDownload(r) : isDecode(r))) return true;
    if (c.group !== undefined) for (const p of c.group.pipelines) stack.push(...p.commands);
    for (const w of c.words) for (const s of w.substitutions) for (const p of s.pipelines) stack.push(...p.commands);
  }
  return false;
}

function isDownload(r: Resolved): boolean {
  if (DOWNLOADERS.has(r.program)) return true;
  if (r.program === 'certutil') return r.args.some((a) => /^[-/]urlcache$/i.test(a.text));
  return false;
}

function isDecode(r: Resolved): boolean {
  const args = r.args.map((a) => a.text);
  switch (r.program) {
    case 'base64':
    case 'base32':
      return args.some((a) => /^(?:-[a-zA-Z]*[dD][a-zA-Z]*|--decode)$/.test(a));
    case 'openssl':
      return args.some((a) => a === 'base64' || a === 'enc') && args.includes('-d');
    case 'xxd':
      return args.some((a) => /^-[a-z]*r/.test(a));
    case 'uudecode':
      return true;
    case 'certutil':
      return args.some((a) => /^[-/]decode(?:hex)?$/i.test(a));
    default:
      return false;
  }
}

/** Interpreter reading its program from standard input: the end of `curl … | sh`. */
function readsCodeFromStdin(cmd: ShellCommand): boolean {
  const r = resolve(cmd);
  if (r === undefined) return false;
  if ((r.program === 'source' || r.program === '.') && /^\/dev\/stdin$|^-$/.test(r.args[0]?.text ?? '')) return true;
  if (r.program === 'iex' || r.program === 'invoke-expression') return true;
  const call = interpreterCall(r);
  return call !== undefined && call.fromStdin && call.code === undefined;
}

/** Download or decode in one stage feeding an interpreter in a later stage. */
function checkPipeline(commands: ShellCommand[], state: State): void {
  if (commands.length < 2) return;
  let download: ShellCommand | undefined;
  let decode: ShellCommand | undefined;
  for (const cmd of commands) {
    if (readsCodeFromStdin(cmd)) {
      const evidence = clip(commands.map(evidenceOf).join(' | '));
      if (download !== undefined) addFact(state, { kind: 'pipe-to-shell', line: download.line, evidence });
      if (decode !== undefined) addFact(state, { kind: 'decode-execute', line: decode.line, evidence });
    }
    if (download === undefined && commandDoes(cmd, 'download')) download = cmd;
    if (decode === undefined && commandDoes(cmd, 'decode')) decode = cmd;
  }
}

function substitutionsOf(words: readonly ShellWord[]): ShellScript[] {
  return words.flatMap((w) => w.substitutions);
}

function scriptDoes(scripts: readonly ShellScript[], what: 'download' | 'decode'): boolean {
  for (const s of scripts) for (const p of s.pipelines) for (const c of p.commands) if (commandDoes(c, what)) return true;
  return false;
}

/** Output of a download or decode run as code: `sh -c "$(curl …)"`, `eval $(… | base64 -d)`, `bash <(curl …)`. */
function checkExecutedSubstitution(words: readonly ShellWord[], cmd: ShellCommand, state: State): void {
  const subs = substitutionsOf(words);
  if (subs.length === 0) return;
  if (scriptDoes(subs, 'download')) addFact(state, { kind: 'pipe-to-shell', line: cmd.line, evidence: evidenceOf(cmd) });
  if (scriptDoes(subs, 'decode')) addFact(state, { kind: 'decode-execute', line: cmd.line, evidence: evidenceOf(cmd) });
}

const joinPath = joinInsidePackage;

/** A path inside the package: relative, literal (no expansion), not an option. */
function packagePath(w: ShellWord | undefined, cwd: string | undefined): string | undefined {
  if (w === undefined || cwd === undefined) return undefined;
  const t = w.text;
  if (t === '' || t.startsWith('-') || t.startsWith('/') || t.startsWith('~') || /[$`%*?]/.test(t) || /^[A-Za-z]:[\\/]/.test(t)) return undefined;
  return joinPath(cwd, t);
}

const FAMILY_LANGUAGE: Record<InterpreterCall['family'], Exclude<CodeLanguage, 'shell'> | 'shell'> = {
  shell: 'shell',
  node: 'js',
  python: 'python',
  powershell: 'powershell',
  other: 'perl',
};

/** `env`, `printenv`, `set`, `export -p`, `/proc/self/environ`: the whole environment printed. */
function dumpsEnvironment(r: Resolved): boolean {
  const p = r.program;
  const texts = r.args.map((a) => a.text);
  const noOperands = r.args.every(isOption);
  if (p === 'env' || p === 'printenv') return noOperands;
  if (p === 'set') return r.args.length === 0;
  if (p === 'export' || p === 'declare' || p === 'typeset') return r.args.length === 0 || (noOperands && texts.some((t) => /^-[a-z]*[px]/.test(t)));
  if (p === 'compgen') return texts.includes('-e');
  return texts.some((t) => /\/proc\/[^/\s]+\/environ/.test(t));
}

function checkProgram(r: Resolved, cmd: ShellCommand, state: State, nesting: number, cwd: string | undefined): string | undefined {
  const p = r.program;
  const evidence = evidenceOf(cmd);
  const texts = r.args.map((a) => a.text);

  // A command whose name is a substitution runs the substitution's output.
  if (r.programWord.substitutions.length > 0 && /^(?:\$\(|`)/.test(r.programWord.text)) checkExecutedSubstitution([r.programWord], cmd, state);

  if (p === 'cd') {
    // Leaving the package (`cd ..`, `cd` alone, `cd /tmp`) makes later relative paths unknown.
    return packagePath(r.args[0], cwd);
  }

  if (isDownload(r)) {
    addFact(state, { kind: 'download-tool', line: cmd.line, evidence, what: p });
    recordDownloadTarget(r, cmd, state);
  } else if (SOCKET_TOOLS.has(p)) {
    addFact(state, { kind: 'socket-tool', line: cmd.line, evidence, what: p });
  } else if (REMOTE_TOOLS.has(p)) {
    addFact(state, { kind: 'network-tool', line: cmd.line, evidence, what: p });
  }
  if (isDecode(r)) addFact(state, { kind: 'decode', line: cmd.line, evidence, what: p });

  // Environment dumps: `env`, `printenv`, `set`, `export -p`, /proc/*/environ.
  if (dumpsEnvironment(r)) addFact(state, { kind: 'env-dump', line: cmd.line, evidence, what: p });
  // `uname` is left out: platform detection is what benign installers do.
  if (p === 'whoami' || p === 'hostname' || p === 'id') addFact(state, { kind: 'sysinfo', line: cmd.line, evidence, what: p });

  if (p === 'chmod') {
    const mode = texts.find((t) => !t.startsWith('-') || /^-[rwx]/.test(t));
    if (mode !== undefined && (/\+[rwX]*x/.test(mode) || /^0?[0-7]?[1357][0-7]{2}$|^0?[0-7]?[0-7][1357][0-7]$|^0?[0-7]?[0-7]{2}[1357]$/.test(mode))) {
      for (const t of texts.slice(texts.indexOf(mode) + 1)) state.chmodTargets.push({ name: baseName(t), line: cmd.line, evidence });
    }
  }

  if (p === 'eval' || p === 'iex' || p === 'invoke-expression') {
    checkExecutedSubstitution(r.args, cmd, state);
    if (nesting < MAX_NESTING && p === 'eval') walkScript(parseShell(texts.join(' '), { lineOffset: cmd.line - 1 }), state, nesting + 1, cwd);
  }
  if (p === 'source' || p === '.') {
    checkExecutedSubstitution(r.args.slice(0, 1), cmd, state);
    const path = packagePath(r.args[0], cwd);
    if (path !== undefined) state.out.runs.push({ path, language: 'shell', line: cmd.line });
  }

  checkNpmRun(r, cmd, state, nesting, cwd);

  const call = interpreterCall(r);
  if (call !== undefined) {
    checkInterpreter(call, r, cmd, state, nesting, cwd);
  } else if (r.programWord.substitutions.length === 0) {
    const name = baseName(r.programWord.text);
    if (state.downloaded.has(name) && /[/\\]/.test(r.programWord.text)) {
      addFact(state, { kind: 'download-execute', line: cmd.line, evidence, confidence: 'high' });
    } else if (/[/\\]/.test(r.programWord.text)) {
      const path = packagePath(r.programWord, cwd);
      if (path !== undefined) state.out.runs.push({ path, language: 'auto', line: cmd.line });
    }
  }
  return cwd;
}

function checkInterpreter(call: InterpreterCall, r: Resolved, cmd: ShellCommand, state: State, nesting: number, cwd: string | undefined): void {
  const evidence = evidenceOf(cmd);
  if (call.code !== undefined) {
    checkExecutedSubstitution([call.code], cmd, state);
    if (call.encoded === true) {
      addFact(state, { kind: 'decode-execute', line: cmd.line, evidence, what: 'an encoded PowerShell command' });
      return;
    }
    const language = r.program === 'cmd' ? 'shell' : FAMILY_LANGUAGE[call.family];
    const lang = r.program === 'ruby' ? 'ruby' : language;
    let inner: Inspection;
    if (lang === 'shell') {
      inner = emptyInspection();
      if (nesting < MAX_NESTING) {
        const sub: State = { ...state, out: inner };
        walkScript(parseShell(call.code.text, { lineOffset: cmd.line - 1 }), sub, nesting + 1, cwd);
        state.commands = sub.commands;
      }
    } else {
      inner = state.options.inline(lang, call.code.text);
      // Inline code resolves relative requires against the working directory.
      inner.runs = inner.runs.flatMap((run) => {
        const path = cwd === undefined ? undefined : joinPath(cwd, run.path);
        return path === undefined ? [] : [{ ...run, path }];
      });
    }
    if (hasKind(inner, ['download-tool', 'network-tool', 'socket-tool', 'network-api', 'decode', 'decode-execute', 'pipe-to-shell'])) {
      const uses = hasKind(inner, ['download-tool', 'network-tool', 'socket-tool', 'network-api', 'pipe-to-shell']) ? 'the network' : 'decoding';
      addFact(state, { kind: 'inline-code', line: cmd.line, evidence, what: `${lang === 'js' ? 'JavaScript' : lang} code using ${uses}` });
    }
    mergeInspection(state.out, inner, cmd.line);
    return;
  }
  if (call.script !== undefined) {
    checkExecutedSubstitution([call.script], cmd, state);
    const name = baseName(call.script.text);
    if (state.downloaded.has(name)) {
      addFact(state, { kind: 'download-execute', line: cmd.line, evidence, confidence: 'high' });
      return;
    }
    const path = packagePath(call.script, cwd);
    const language = FAMILY_LANGUAGE[call.family];
    if (path !== undefined && call.family !== 'other') state.out.runs.push({ path, language: language === 'powershell' ? 'auto' : language, line: cmd.line });
  }
}

/** `npm run x`, `yarn x`, `pnpm run x`: follow the named script of the same manifest. */
function checkNpmRun(r: Resolved, cmd: ShellCommand, state: State, nesting: number, cwd: string | undefined): void {
  const scripts = state.options.scripts;
  if (scripts === undefined || !['npm', 'yarn', 'pnpm', 'bun'].includes(r.program)) return;
  const args = r.args.filter((a) => !isOption(a)).map((a) => a.text);
  let name: string | undefined;
  if (['run', 'run-script', 'rum', 'urn'].includes(args[0] ?? '')) name = args[1];
  else if ((r.program === 'yarn' || r.program === 'pnpm') && args[0] !== undefined) name = args[0];
  if (name === undefined || state.seenScripts.has(name) || nesting >= MAX_NESTING) return;
  const body = Object.hasOwn(scripts, name) ? scripts[name] : undefined;
  if (typeof body !== 'string') return;
  state.seenScripts.add(name);
  walkScript(parseShell(body, { lineOffset: cmd.line - 1 }), state, nesting + 1, cwd);
}

/** curl's short options that take a value: in a bundle (`-fsSLo FILE`), the rest of the bundle or the next word is it. */
const CURL_VALUE_OPTIONS = new Set('oudHXAeEKxTFmbcrwCYyzPQUhtD'.split(''));

/** Where a bundle of curl short options (`-fsSLo out`, `-Lo/tmp/x`, `-sO`) writes, if it says. */
function curlShortOutput(bundle: string, next: string | undefined, urlName: string | undefined): string | undefined {
  for (let j = 1; j < bundle.length; j++) {
    const option = bundle[j] as string;
    if (option === 'O') return urlName;
    if (CURL_VALUE_OPTIONS.has(option)) return option === 'o' ? (j + 1 < bundle.length ? bundle.slice(j + 1) : next) : undefined;
  }
  return undefined;
}

/** Records where a downloader writes, to recognise a later `chmod +x` or run of that file. */
function recordDownloadTarget(r: Resolved, cmd: ShellCommand, state: State): void {
  const args = r.args.map((a) => a.text);
  const url = args.find((a) => /^(?:https?|ftp):\/\//i.test(a));
  const urlName = url === undefined ? undefined : baseName(url.replace(/[?#].*$/, ''));
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (r.program === 'curl') {
      if (a === '--output') target = args[i + 1];
      else if (a.startsWith('--output=')) target = a.slice('--output='.length);
      else if (a === '--remote-name') target = urlName;
      else if (/^-[^-]/.test(a)) target = curlShortOutput(a, args[i + 1], urlName) ?? target;
    } else if (r.program === 'wget') {
      if (a === '-O') target = args[i + 1];
      else if (a.startsWith('--output-document=')) target = a.slice('--output-document='.length);
      else if (/^-O./.test(a)) target = a.slice(2);
    } else if (a === '-OutFile' || a === '-o' || a === '-O') target = args[i + 1];
  }
  if (r.program === 'wget' && target === undefined) target = urlName;
  const out = cmd.redirects.find((x) => x.op === '>' || x.op === '>>' || x.op === '>|');
  if (target === undefined && out !== undefined) target = out.target.text;
  if (target === undefined || target === '-' || target === '/dev/null') return;
  state.downloadsToFile = true;
  state.downloaded.add(baseName(target));
}

/** A downloaded file made executable is a dropper even when the run happens elsewhere. */
function finishDownloads(state: State): void {
  if (!state.downloadsToFile) return;
  for (const c of state.chmodTargets) {
    const confidence = state.downloaded.has(c.name) ? 'high' : 'medium';
    addFact(state, { kind: 'download-execute', line: c.line, evidence: c.evidence, confidence });
  }
}
