import type { Hit } from './findings.js';
import { inspectShellCode, type ScriptScope } from './script-rules.js';

/**
 * RPM scriptlets written in Lua (`%post -p <lua>`): rpm runs them inside its own process, as
 * root, with the standard library plus `posix` and `rpm`. Lua has no shell of its own, so what a
 * scriptlet does to the system goes through a handful of calls; each is translated into the
 * shell command with the same effect and judged by the shell rules, so `os.execute("curl … | sh")`
 * or `io.open("/etc/ld.so.preload", "w")` weigh exactly as in a shell scriptlet.
 *
 * The code is tokenized (strings decoded, comments dropped), never run. Arguments that are not
 * literals become `$LUA_VALUE`, which the shell rules treat as an unknown word.
 */

/** Lua 5.4 manual §3.1 tokens, as far as calls and their literal arguments need them. */
interface Token {
  kind: 'name' | 'string' | 'number' | 'op';
  text: string;
  line: number;
}

const MAX_TOKENS = 500_000;
/** Calls translated to shell per scriptlet; each is a small shell inspection. */
const MAX_CALLS = 5_000;
/** `load("…")` levels followed. */
const MAX_LOAD_DEPTH = 2;
const UNKNOWN = '$LUA_VALUE';
/** Lua's execution primitives: referring to them other than by a direct call hides what runs. */
const EXECUTORS: ReadonlySet<string> = new Set(['os.execute', 'io.popen', 'rpm.execute', 'posix.exec', 'posix.execp', 'rpm.spawn']);
const MARKERS = /\/dev\/(?:tcp|udp)\/|\/etc\/ld\.so\.preload|\.ssh\/authorized_keys|\/etc\/sudoers/;

export function inspectLuaCode(source: string, scope: ScriptScope, depth = 0): Hit[] {
  const { tokens, complete } = tokenize(source);
  const hits: Hit[] = [];
  const s = scope.subject;
  if (!complete) {
    // No real scriptlet comes near the cap; what lies past it would go unseen.
    hits.push({ rule: 'uninspectable-script', severity: 'high', confidence: 'high', message: `${s} has more than ${MAX_TOKENS} Lua tokens, too many to inspect.` });
  }
  let calls = 0;
  /** String tokens that are field names of a chain (`os["execute"]`). */
  const fieldNames = new Set<Token>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.kind === 'string') checkMarker(token, scope, hits);
    if (token.kind !== 'name' || (i > 0 && isMemberAccess(tokens, i))) continue;
    const chain = nameChain(tokens, i);
    if (chain === undefined) continue;
    // Field names of a resolved chain (`os["execute"]`) are judged with the chain, below.
    for (let k = i + 1; k < chain.end; k++) if (tokens[k]?.kind === 'string') fieldNames.add(tokens[k] as Token);
    const call = callArguments(tokens, chain.end);
    if (call === undefined) {
      if (EXECUTORS.has(chain.name)) {
        // `local run = os.execute; run(cmd)` or `_G.os["execute"]`: the command is out of sight.
        hits.push({ rule: 'inline-code', severity: 'high', confidence: 'medium', message: `${s} takes a reference to ${chain.name} instead of calling it.`, line: token.line, evidence: chain.name });
      }
      i = chain.end - 1;
      continue;
    }
    if (++calls > MAX_CALLS) break;
    if (calls % 100 === 0) scope.checkDeadline();
    // `local o = os; o.execute(…)`: any other table's `execute`/`popen` is taken for the real one.
    const name = EXECUTORS.has(chain.name) ? chain.name : chain.name.endsWith('.execute') ? 'os.execute' : chain.name.endsWith('.popen') ? 'io.popen' : chain.name;
    hits.push(...inspectCall(name, call.args, token.line, scope, depth));
    i = chain.end - 1;
  }
  for (const token of tokens) {
    // `_G["os"]["execute"]`, `os[ "exe" .. "cute" ]` assembled elsewhere: a literal naming an executor.
    if (token.kind === 'string' && /^(?:execute|popen)$/.test(token.text) && !fieldNames.has(token)) {
      hits.push({ rule: 'inline-code', severity: 'high', confidence: 'medium', message: `${s} looks up "${token.text}" by name, hiding what it runs.`, line: token.line, evidence: token.text });
    }
  }
  return hits;
}

function checkMarker(token: Token, scope: ScriptScope, hits: Hit[]): void {
  const marker = MARKERS.exec(token.text);
  if (marker === null) return;
  hits.push({
    rule: marker[0].startsWith('/dev/') ? 'reverse-shell' : marker[0].includes('preload') ? 'preload-hijack' : marker[0].includes('ssh') ? 'authorized-keys' : 'sudoers',
    severity: 'high',
    confidence: 'medium',
    message: `${scope.subject} refers to ${marker[0]}, a path used to take over a system.`,
    line: token.line,
    evidence: token.text,
  });
}

/** A single-quoted shell word; unknown values stay an unquoted variable. */
function shellWord(value: string): string {
  if (value === UNKNOWN) return `"${UNKNOWN}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The shell equivalent of a Lua call with system effects, judged by the shell rules. */
function inspectCall(name: string, args: string[], line: number, scope: ScriptScope, depth: number): Hit[] {
  const s = scope.subject;
  const shell = (command: string): Hit[] => inspectShellCode(command, scope, line - 1);
  const [first, second] = args;
  switch (name) {
    case 'os.execute':
    case 'io.popen': {
      if (first === undefined) return [];
      if (first === UNKNOWN) {
        return [{ rule: 'inline-code', severity: 'high', confidence: 'medium', message: `${s} runs a shell command built at run time (${name}).`, line, evidence: name }];
      }
      return shell(first);
    }
    case 'rpm.execute':
    case 'rpm.spawn':
    case 'posix.exec':
    case 'posix.execp':
      return args.length === 0 ? [] : shell(args.map(shellWord).join(' '));
    case 'io.open':
    case 'io.output': {
      if (first === undefined || first === UNKNOWN) return [];
      const mode = name === 'io.output' ? 'w' : (second ?? 'r');
      if (mode === UNKNOWN || !/[wa+]/.test(mode)) return [];
      return shell(`: ${mode.includes('a') ? '>>' : '>'} ${shellWord(first)}`);
    }
    case 'os.remove':
      return first === undefined ? [] : shell(`rm -f ${shellWord(first)}`);
    case 'os.rename':
      return first === undefined || second === undefined ? [] : shell(`mv ${shellWord(first)} ${shellWord(second)}`);
    case 'posix.chmod':
      return first === undefined || second === undefined ? [] : shell(`chmod ${shellWord(second)} ${shellWord(first)}`);
    case 'posix.mkfifo':
      return first === undefined ? [] : shell(`mkfifo ${shellWord(first)}`);
    case 'posix.symlink':
    case 'posix.link':
      return first === undefined || second === undefined ? [] : shell(`ln -s ${shellWord(first)} ${shellWord(second)}`);
    case 'rpm.expand': {
      // `%(cmd)` in a macro is run by /bin/sh while expanding.
      if (first === undefined) return [];
      const hits: Hit[] = [];
      for (const m of first.matchAll(/%\(([^)]{1,4000})\)/g)) hits.push(...shell(m[1] as string));
      return hits;
    }
    case 'load':
    case 'loadstring': {
      if (first === undefined) return [];
      if (first === UNKNOWN || depth >= MAX_LOAD_DEPTH) {
        return [{ rule: 'inline-code', severity: 'high', confidence: 'medium', message: `${s} runs Lua code built at run time (${name}).`, line, evidence: name }];
      }
      return inspectLuaCode(first, scope, depth + 1).map((h) => ({ ...h, line }));
    }
    case 'require': {
      if (first === undefined || !/^(?:socket|ssl|http|curl|lcurl|cURL|luasocket)(?:\.|$)/.test(first)) return [];
      return [{ rule: 'network', severity: 'medium', confidence: 'medium', message: `${s} loads the network module ${first} at install time.`, line, evidence: `require ${first}` }];
    }
    default:
      return [];
  }
}

/** True when the name at `i` follows `.` or `:` (a field, not the start of a chain). */
function isMemberAccess(tokens: readonly Token[], i: number): boolean {
  const prev = tokens[i - 1];
  return prev !== undefined && prev.kind === 'op' && (prev.text === '.' || prev.text === ':');
}

/** `os.execute`, `os["execute"]`, `obj:method` from `start`; `end` is the index after the chain. */
function nameChain(tokens: readonly Token[], start: number): { name: string; end: number } | undefined {
  const parts = [(tokens[start] as Token).text];
  let i = start + 1;
  for (;;) {
    const t = tokens[i];
    const next = tokens[i + 1];
    if (t?.kind === 'op' && (t.text === '.' || t.text === ':') && next?.kind === 'name') {
      parts.push(next.text);
      i += 2;
    } else if (t?.kind === 'op' && t.text === '[' && next?.kind === 'string' && tokens[i + 2]?.text === ']') {
      parts.push(next.text);
      i += 3;
    } else break;
  }
  // `_G.os.execute` and `_ENV.os.execute` are the same function.
  while (parts.length > 2 && (parts[0] === '_G' || parts[0] === '_ENV')) parts.shift();
  return { name: parts.join('.'), end: i };
}

/** The arguments of a call at `i`: `(a, b)`, `"str"`, `[[str]]`, `{…}`; each reduced to its literal value or UNKNOWN. */
function callArguments(tokens: readonly Token[], i: number): { args: string[] } | undefined {
  const t = tokens[i];
  if (t === undefined) return undefined;
  if (t.kind === 'string') return { args: [t.text] };
  if (t.kind !== 'op' || (t.text !== '(' && t.text !== '{')) return undefined;
  if (t.text === '{') return { args: [UNKNOWN] };
  const args: Token[][] = [[]];
  let nesting = 0;
  for (let j = i + 1; j < tokens.length; j++) {
    const u = tokens[j] as Token;
    if (u.kind === 'op') {
      if (u.text === '(' || u.text === '{' || u.text === '[') nesting++;
      else if (u.text === ')' || u.text === '}' || u.text === ']') {
        if (nesting === 0) return { args: args.filter((a) => a.length > 0).map(valueOf) };
        nesting--;
      } else if (u.text === ',' && nesting === 0) {
        args.push([]);
        continue;
      }
    }
    (args[args.length - 1] as Token[]).push(u);
  }
  return { args: args.filter((a) => a.length > 0).map(valueOf) };
}

/** `"curl " .. url .. " | sh"` → `curl $LUA_VALUE | sh`; a lone non-literal → UNKNOWN. */
function valueOf(expr: readonly Token[]): string {
  const parts: Token[][] = [[]];
  let nesting = 0;
  for (const t of expr) {
    if (t.kind === 'op' && (t.text === '(' || t.text === '{' || t.text === '[')) nesting++;
    if (t.kind === 'op' && (t.text === ')' || t.text === '}' || t.text === ']')) nesting--;
    if (t.kind === 'op' && t.text === '..' && nesting === 0) parts.push([]);
    else (parts[parts.length - 1] as Token[]).push(t);
  }
  const values = parts.map((p) => (p.length === 1 && (p[0]?.kind === 'string' || p[0]?.kind === 'number') ? (p[0] as Token).text : UNKNOWN));
  if (values.every((v) => v === UNKNOWN)) return UNKNOWN;
  return values.join('');
}

const LONG_BRACKET = /\[(=*)\[/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /0[xX][0-9A-Fa-f.]+(?:[pP][+-]?\d+)?|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?/y;
const OPERATORS = ['...', '..', '==', '~=', '<=', '>=', '//', '::', '<<', '>>'];

/** Lua 5.4 lexer (§3.1): names, numbers, strings with their escapes decoded, long brackets, comments. */
function tokenize(source: string): { tokens: Token[]; complete: boolean } {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = source.length;
  const longBracket = (at: number): { body: string; end: number } | undefined => {
    LONG_BRACKET.lastIndex = at;
    const open = LONG_BRACKET.exec(source);
    if (open === null) return undefined;
    const close = `]${open[1] ?? ''}]`;
    const start = at + open[0].length;
    const stop = source.indexOf(close, start);
    const end = stop === -1 ? n : stop + close.length;
    // A newline right after the opening bracket is not part of the string.
    const body = source.slice(start, stop === -1 ? n : stop).replace(/^\r?\n/, '');
    return { body, end };
  };
  const countLines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (source.charCodeAt(k) === 10) line++;
  };
  while (i < n && tokens.length < MAX_TOKENS) {
    const c = source[i] as string;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#' && i === 0 && source[1] === '!') {
      // A shebang line, which lua(1) skips.
      const eol = source.indexOf('\n');
      i = eol === -1 ? n : eol;
      continue;
    }
    if (c === '-' && source[i + 1] === '-') {
      const long = source[i + 2] === '[' ? longBracket(i + 2) : undefined;
      const end = long !== undefined ? long.end : source.indexOf('\n', i) === -1 ? n : source.indexOf('\n', i);
      countLines(i, end);
      i = end;
      continue;
    }
    if (c === '[' && (source[i + 1] === '[' || source[i + 1] === '=')) {
      const long = longBracket(i);
      if (long !== undefined) {
        tokens.push({ kind: 'string', text: long.body, line });
        countLines(i, long.end);
        i = long.end;
        continue;
      }
    }
    if (c === '"' || c === "'") {
      const start = line;
      const { text, end, lines } = quotedString(source, i);
      tokens.push({ kind: 'string', text, line: start });
      line += lines;
      i = end;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(source);
    if (name !== null) {
      tokens.push({ kind: 'name', text: name[0], line });
      i += name[0].length;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = /[0-9.]/.test(c) ? NUMBER.exec(source) : null;
    if (number !== null && number[0] !== '.') {
      tokens.push({ kind: 'number', text: number[0], line });
      i += number[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i)) ?? c;
    tokens.push({ kind: 'op', text: op, line });
    i += op.length;
  }
  return { tokens, complete: i >= n };
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'", '\n': '\n' };

/** A short string from the quote at `start`: escapes decoded (`\99\117` spells `cu`), ends at the quote or line end. */
function quotedString(source: string, start: number): { text: string; end: number; lines: number } {
  const quote = source[start];
  let out = '';
  let lines = 0;
  let i = start + 1;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === quote) return { text: out, end: i + 1, lines };
    if (c === '\n') return { text: out, end: i, lines };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = source[i + 1] ?? '';
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
      out += SIMPLE_ESCAPES[e];
      if (e === '\n') lines++;
      i += 2;
    } else if (e === 'x' && /^[0-9A-Fa-f]{2}$/.test(source.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(source.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (/[0-9]/.test(e)) {
      const digits = /^[0-9]{1,3}/.exec(source.slice(i + 1, i + 4))?.[0] ?? '0';
      out += String.fromCharCode(Number(digits) & 0xff);
      i += 1 + digits.length;
    } else if (e === 'u' && source[i + 2] === '{') {
      const close = source.indexOf('}', i + 3);
      const code = close === -1 ? NaN : parseInt(source.slice(i + 3, close), 16);
      if (Number.isFinite(code) && code <= 0x10ffff) out += String.fromCodePoint(code);
      i = close === -1 ? source.length : close + 1;
    } else if (e === 'z') {
      // `\z` skips the following whitespace, newlines included.
      i += 2;
      while (i < source.length && /\s/.test(source[i] as string)) {
        if (source[i] === '\n') lines++;
        i++;
      }
    } else {
      out += e;
      i += 2;
    }
  }
  return { text: out, end: i, lines };
}
