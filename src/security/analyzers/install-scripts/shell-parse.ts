/**
 * A small POSIX-shell (and cmd.exe-compatible) parser for install hooks and shipped shell
 * scripts. It never executes or expands anything: words keep their expansions as written, and
 * command substitutions are parsed into nested scripts so rules can look inside them. It is
 * linear in the input and bounded in nesting, so hostile input cannot stall the gate.
 */

export interface ShellWord {
  /** The word with quotes and escapes removed; `$NAME`, `$(…)` and `` `…` `` kept as written. */
  text: string;
  /** Command and process substitutions inside the word (`$(…)`, `` `…` ``, `<(…)`). */
  substitutions: ShellScript[];
  /** Parameter names the word expands: `$NAME`, `${NAME…}`, cmd's `%NAME%`. */
  variables: string[];
}

export interface ShellRedirect {
  /** `>`, `>>`, `<`, `<<`, `<<<`, `>&`, `&>`, … without the fd number. */
  op: string;
  target: ShellWord;
  /** Body of a here-document. */
  heredoc?: string;
}

export interface ShellCommand {
  /** `NAME=value` words before the command name. */
  assignments: ShellWord[];
  words: ShellWord[];
  redirects: ShellRedirect[];
  /** The body of a `( … )` subshell. */
  group?: ShellScript;
  /** 1-based line in the parsed source, plus the caller's line offset. */
  line: number;
}

export interface ShellPipeline {
  commands: ShellCommand[];
  line: number;
}

export interface ShellScript {
  pipelines: ShellPipeline[];
}

export interface ShellParseOptions {
  /** Added to every line number (a script that starts on line 10 of a file passes 9). */
  lineOffset?: number;
}

/** Deeper nesting than this is kept as plain text: no real script needs it, hostile ones might. */
const MAX_DEPTH = 12;

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'in', 'case', 'esac', '!', '{', '}', 'function', 'select']);

interface PendingHeredoc {
  delimiter: string;
  stripTabs: boolean;
  redirect: ShellRedirect;
}

/** Parses shell source into pipelines of simple commands. Never throws on malformed input. */
export function parseShell(source: string, options: ShellParseOptions = {}): ShellScript {
  const parser = createParser(source, options.lineOffset ?? 0);
  return parser.script(undefined, 0);
}

function createParser(src: string, lineOffset: number) {
  let pos = 0;
  let line = 1 + lineOffset;
  let pendingHeredocs: PendingHeredoc[] = [];

  const peek = (offset = 0): string => src.charAt(pos + offset);
  const advance = (): string => {
    const ch = src.charAt(pos++);
    if (ch === '\n') line++;
    return ch;
  };

  function skipBlanks(): void {
    for (;;) {
      const ch = peek();
      if (ch === ' ' || ch === '\t' || ch === '\r') advance();
      else if (ch === '\\' && peek(1) === '\n') {
        advance();
        advance();
      } else if (ch === '#') {
        while (pos < src.length && peek() !== '\n') advance();
      } else return;
    }
  }

  /** Reads here-document bodies queued on the line that just ended. */
  function readHeredocs(): void {
    const queued = pendingHeredocs;
    pendingHeredocs = [];
    for (const pending of queued) {
      const lines: string[] = [];
      while (pos < src.length) {
        const end = src.indexOf('\n', pos);
        const raw = end === -1 ? src.slice(pos) : src.slice(pos, end);
        pos = end === -1 ? src.length : end + 1;
        line++;
        const text = pending.stripTabs ? raw.replace(/^\t+/, '') : raw;
        if (text.replace(/\r$/, '') === pending.delimiter) break;
        lines.push(text);
      }
      pending.redirect.heredoc = lines.join('\n');
    }
  }

  /** A list of pipelines, until end of input or `terminator` (consumed). */
  function script(terminator: string | undefined, depth: number): ShellScript {
    const pipelines: ShellPipeline[] = [];
    for (;;) {
      skipBlanks();
      if (pos >= src.length) break;
      const ch = peek();
      if (terminator !== undefined && ch === terminator) {
        advance();
        break;
      }
      if (ch === '\n') {
        advance();
        readHeredocs();
        continue;
      }
      if (ch === ';' || ch === '&' || (ch === '|' && peek(1) === '|')) {
        // Separators (`;`, `&`, `&&`, `||`, `;;`) between pipelines.
        advance();
        if (peek() === ch) advance();
        continue;
      }
      if (ch === ')' || ch === '`') {
        // Unbalanced closer: skip it rather than loop.
        advance();
        continue;
      }
      const p = pipeline(terminator, depth);
      if (p.commands.length > 0) pipelines.push(p);
      else if (pos < src.length && peek() !== '\n') advance();
    }
    return { pipelines };
  }

  function pipeline(terminator: string | undefined, depth: number): ShellPipeline {
    const startLine = line;
    const commands: ShellCommand[] = [];
    for (;;) {
      const cmd = command(terminator, depth);
      if (cmd !== undefined) commands.push(cmd);
      skipBlanks();
      if (peek() === '|' && peek(1) !== '|') {
        advance();
        if (peek() === '&') advance();
        // A pipe may be followed by newlines before the next command.
        while (peek() === '\n' || peek() === ' ' || peek() === '\t') advance();
        continue;
      }
      break;
    }
    return { commands, line: startLine };
  }

  function atCommandEnd(terminator: string | undefined): boolean {
    const ch = peek();
    return pos >= src.length || ch === '\n' || ch === ';' || ch === '&' || ch === '|' || ch === ')' || (terminator !== undefined && ch === terminator);
  }

  function command(terminator: string | undefined, depth: number): ShellCommand | undefined {
    skipBlanks();
    const startLine = line;
    const cmd: ShellCommand = { assignments: [], words: [], redirects: [], line: startLine };
    if (peek() === '(' && peek(1) !== '(') {
      advance();
      cmd.group = depth < MAX_DEPTH ? script(')', depth + 1) : { pipelines: [] };
    }
    for (;;) {
      skipBlanks();
      // `&>` and `&>>` redirect both streams; a lone `&` ends the command.
      if (peek() === '&' && peek(1) === '>') {
        advance();
        readRedirect(cmd, depth);
        continue;
      }
      if (atCommandEnd(terminator)) break;
      const ch = peek();
      if ((ch === '<' || ch === '>') && !(peek(1) === '(')) {
        readRedirect(cmd, depth);
        continue;
      }
      if (/[0-9]/.test(ch)) {
        // `2>&1`, `2>/dev/null`: an fd number glued to a redirection operator.
        let k = pos;
        while (/[0-9]/.test(src.charAt(k))) k++;
        const next = src.charAt(k);
        if ((next === '<' || next === '>') && src.charAt(k + 1) !== '(') {
          pos = k;
          readRedirect(cmd, depth);
          continue;
        }
      }
      const before = pos;
      const w = word(terminator, depth);
      if (pos === before) {
        advance();
        continue;
      }
      if (cmd.words.length === 0 && cmd.group === undefined) {
        if (/^[A-Za-z_][A-Za-z0-9_]*\+?=/.test(w.text)) {
          cmd.assignments.push(w);
          continue;
        }
        if (RESERVED.has(w.text)) continue;
      }
      cmd.words.push(w);
    }
    if (cmd.words.length === 0 && cmd.assignments.length === 0 && cmd.redirects.length === 0 && cmd.group === undefined) return undefined;
    return cmd;
  }

  function readRedirect(cmd: ShellCommand, depth: number): void {
    let op = '';
    while (op.length < 3 && /[<>&|-]/.test(peek())) {
      // `-` only belongs to `<<-`.
      if (peek() === '-' && op !== '<<') break;
      op += advance();
    }
    skipBlanks();
    const target = word(undefined, depth);
    const redirect: ShellRedirect = { op, target };
    cmd.redirects.push(redirect);
    if (op === '<<' || op === '<<-') {
      pendingHeredocs.push({ delimiter: target.text, stripTabs: op === '<<-', redirect });
    }
  }

  function word(terminator: string | undefined, depth: number): ShellWord {
    const w: ShellWord = { text: '', substitutions: [], variables: [] };
    // Process substitution `<(…)` / `>(…)` stands for a file name.
    if ((peek() === '<' || peek() === '>') && peek(1) === '(') {
      const start = pos;
      advance();
      advance();
      w.substitutions.push(depth < MAX_DEPTH ? script(')', depth + 1) : skipBalanced());
      w.text = src.slice(start, pos);
      return w;
    }
    for (;;) {
      if (pos >= src.length) break;
      const ch = peek();
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === ';' || ch === '|' || ch === '&' || ch === '<' || ch === '>' || ch === '(' || ch === ')') break;
      if (terminator !== undefined && ch === terminator) break;
      if (ch === '\\') {
        advance();
        if (pos < src.length) {
          const next = advance();
          if (next !== '\n') w.text += next;
        }
      } else if (ch === "'") {
        advance();
        const end = src.indexOf("'", pos);
        const stop = end === -1 ? src.length : end;
        while (pos < stop) w.text += advance();
        if (end !== -1) advance();
      } else if (ch === '"') {
        advance();
        doubleQuoted(w, depth);
      } else if (ch === '$' || ch === '`') {
        expansion(w, depth);
      } else if (ch === '%') {
        // cmd.exe expands %NAME%.
        const m = /^%([A-Za-z_][A-Za-z0-9_]*)%/.exec(src.slice(pos, pos + 130));
        if (m !== null && m[1] !== undefined) {
          w.variables.push(m[1]);
          for (let k = 0; k < m[0].length; k++) w.text += advance();
        } else w.text += advance();
      } else {
        w.text += advance();
      }
    }
    return w;
  }

  function doubleQuoted(w: ShellWord, depth: number): void {
    while (pos < src.length) {
      const ch = peek();
      if (ch === '"') {
        advance();
        return;
      }
      if (ch === '\\' && /[$`"\\\n]/.test(peek(1))) {
        advance();
        const next = advance();
        if (next !== '\n') w.text += next;
      } else if (ch === '$' || ch === '`') {
        expansion(w, depth);
      } else {
        w.text += advance();
      }
    }
  }

  /** `$(…)`, `$((…))`, `${…}`, `$NAME`, `` `…` ``: recorded, kept in the text as written. */
  function expansion(w: ShellWord, depth: number): void {
    const start = pos;
    if (peek() === '`') {
      advance();
      let inner = '';
      while (pos < src.length && peek() !== '`') {
        if (peek() === '\\' && /[`$\\]/.test(peek(1))) advance();
        inner += advance();
      }
      advance();
      w.substitutions.push(depth < MAX_DEPTH ? parseShell(inner, { lineOffset: line - 1 }) : { pipelines: [] });
    } else if (peek(1) === '(' && peek(2) === '(') {
      // Arithmetic expansion: no commands inside.
      advance();
      advance();
      advance();
      skipBalanced(2);
    } else if (peek(1) === '(') {
      advance();
      advance();
      w.substitutions.push(depth < MAX_DEPTH ? script(')', depth + 1) : skipBalanced());
    } else if (peek(1) === '{') {
      advance();
      advance();
      const m = /^[#!]?([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(pos, pos + 128));
      if (m !== null && m[1] !== undefined) w.variables.push(m[1]);
      let level = 1;
      while (pos < src.length && level > 0) {
        const ch = advance();
        if (ch === '{') level++;
        else if (ch === '}') level--;
      }
    } else {
      advance();
      const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(src.slice(pos, pos + 128));
      if (m !== null && m[1] !== undefined) {
        if (/^[A-Za-z_]/.test(m[1])) w.variables.push(m[1]);
        for (let k = 0; k < m[1].length; k++) advance();
      }
    }
    w.text += src.slice(start, pos);
  }

  /** Skips to the parenthesis closing the `open` ones already consumed; returns an empty script. */
  function skipBalanced(open = 1): ShellScript {
    let level = open;
    while (pos < src.length && level > 0) {
      const ch = advance();
      if (ch === '(') level++;
      else if (ch === ')') level--;
    }
    return { pipelines: [] };
  }

  return { script };
}

/** Every command in a script, including those inside groups and substitutions, depth first. */
export function* allCommands(script: ShellScript): Generator<ShellCommand> {
  for (const p of script.pipelines) {
    for (const cmd of p.commands) {
      yield cmd;
      if (cmd.group !== undefined) yield* allCommands(cmd.group);
      for (const w of [...cmd.assignments, ...cmd.words, ...cmd.redirects.map((r) => r.target)]) {
        for (const sub of w.substitutions) yield* allCommands(sub);
      }
    }
  }
}
